/**
 * A probe of some layers only. `python -m hyperwords_bridge.graph_cuts DIR --probe-layers A,B,C`
 * writes `onnx/probe-layers-A-B-C.onnx` and its `.json`: the probe graph cut to hidden-states
 * entries A, B, C (their lens, the attention of the decoder layers making them, no layer above the
 * deepest), far cheaper than the whole graph on a bigger model or a long prompt. A probe that
 * names its layers reads the smallest such cut covering them, else the whole probe graph, and
 * gets the same entries either way: each output holds the asked layers only, `layers` and
 * `attentionLayers` say which, and `layerView` reads them by their real layer number.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { basename, join } from "node:path"
import { ModelInputError } from "./Errors.ts"
import {
  type Float32Tensor,
  float32Output,
  type Int32Tensor,
  int32Output,
  type ProbeGraph,
  type ProbeInput,
  type ProbeOutput,
  probeOutputs,
  runProbeOutputs,
  view
} from "./Probe.ts"

/** The file of the probe graph cut to hidden-states entries `layers` (ascending). */
export const probeLayersFile = (layers: ReadonlyArray<number>): string =>
  `probe-layers-${layers.join("-")}.onnx`

/** The command line that cuts a folder's probe graph to `layers` (run from the repository root). */
export const probeLayersCommand = (dir: string, layers: ReadonlyArray<number>): string =>
  `packages/train-bridge/python/.venv/bin/python -m hyperwords_bridge.graph_cuts ${dir} --probe-layers ${layers.join(",")}`

/** A probe-layers cut of a folder, as its `.json` describes it. */
export interface ProbeLayersCut {
  /** The graph's file name under `onnx/`. */
  readonly file: string
  /** Its hidden-states and lens entries: entry i is the probe graph's entry `layers[i]`. */
  readonly layers: ReadonlyArray<number>
  /** Its attention entries: entry i is decoder layer `attentionLayers[i]`. */
  readonly attentionLayers: ReadonlyArray<number>
}

const ascendingInts = (v: unknown): Array<number> | undefined =>
  Array.isArray(v) &&
  v.every((x, i) => typeof x === "number" && Number.isInteger(x) && x >= 0 && (i === 0 || x > v[i - 1]))
    ? (v as Array<number>)
    : undefined

/**
 * The probe-layers cuts a folder has: every `onnx/probe-layers-*.json` that lists its layers and
 * sits beside its graph. A description that cannot be read is passed over (the reader falls back
 * to the whole graph), as the bridge deletes a cut that fails its check against the probe graph.
 */
export const probeLayersCuts = (dir: string): Array<ProbeLayersCut> => {
  const onnx = join(dir, "onnx")
  if (!existsSync(onnx)) return []
  const cuts: Array<ProbeLayersCut> = []
  for (const name of readdirSync(onnx)) {
    if (!/^probe-layers-[\d-]+\.json$/.test(name)) continue
    let raw: Record<string, unknown>
    try {
      raw = JSON.parse(readFileSync(join(onnx, name), "utf8")) as Record<string, unknown>
    } catch {
      continue
    }
    const layers = ascendingInts(raw?.layers)
    const attentionLayers = ascendingInts(raw?.attention_layers ?? [])
    const file = typeof raw?.file === "string" ? basename(raw.file) : name.replace(/\.json$/, ".onnx")
    if (!layers || layers.length === 0 || !attentionLayers || !existsSync(join(onnx, file))) continue
    cuts.push({ file, layers, attentionLayers })
  }
  return cuts
}

/** The cut to read for `layers`: the one covering them that stops lowest, then holds fewest entries. */
export const pickProbeLayersCut = (
  cuts: ReadonlyArray<ProbeLayersCut>,
  layers: ReadonlyArray<number>
): ProbeLayersCut | undefined =>
  cuts
    .filter((c) => layers.every((l) => c.layers.includes(l)))
    .sort((a, b) => a.layers.at(-1)! - b.layers.at(-1)! || a.layers.length - b.layers.length)[0]

/** Asked layers as the probe reads them: unique, ascending, each a hidden-states entry 0..numLayers. */
export const checkProbeLayers = (
  dir: string,
  layers: ReadonlyArray<number>,
  numLayers: number
): Array<number> => {
  if (layers.length === 0)
    throw new ModelInputError({ path: dir, detail: "a probe of layers needs at least one layer" })
  for (const l of layers) {
    if (!Number.isInteger(l) || l < 0 || l > numLayers)
      throw new ModelInputError({ path: dir, detail: `probe layer ${l} is outside 0..${numLayers}` })
  }
  return [...new Set(layers)].sort((a, b) => a - b)
}

/** The decoder layers whose attention a probe of hidden-states entries `layers` returns: j-1 for each j ≥ 1. */
export const attentionLayersOf = (layers: ReadonlyArray<number>): Array<number> =>
  layers.filter((j) => j >= 1).map((j) => j - 1)

/** The graph a probe of some layers reads, and what its outputs hold. */
export interface ProbeLayersSource {
  readonly graph: ProbeGraph
  /** The cut read, or undefined for the whole probe graph. */
  readonly cut: ProbeLayersCut | undefined
}

/** What a probe of some layers returns (B rows, T tokens after padding; n layers asked, m of them ≥ 1). */
export interface LayerProbeResult {
  /** The graph file read: `probe.onnx`, or the cut `probe-layers-….onnx`. */
  readonly graph: string
  /** Real tokens per row; positions at or after a row's length are padding. */
  readonly lengths: ReadonlyArray<number>
  /** The hidden-states entries held, ascending: entry i of the per-layer outputs is layer `layers[i]`. */
  readonly layers: ReadonlyArray<number>
  /** The decoder layers whose attention is held (j-1 for each asked layer j ≥ 1): entry i of `attentions`. */
  readonly attentionLayers: ReadonlyArray<number>
  /** `[n, B, T, H]` the residual stream at the asked layers, before the final norm. */
  readonly hiddenStates: Float32Tensor
  /** `[m, B, heads, T, T]`; undefined when only layer 0 is asked. */
  readonly attentions: Float32Tensor | undefined
  /** `[n, B, T, k]` logit-lens top-k ids at the asked layers. */
  readonly lensTopkIds: Int32Tensor
  /** `[n, B, T, k]` their log-probs. */
  readonly lensTopkLogprobs: Float32Tensor
  /** `[n, B, T, K]` lens log-probs of the tracked ids. */
  readonly trackedLogprobs: Float32Tensor
  /** `[B, V]` next-token logits, when the graph read runs every layer (the whole graph, or a cut to the last one). */
  readonly logits: Float32Tensor | undefined
}

type Tensor<T extends Float32Array | Int32Array> = { readonly data: T; readonly dims: ReadonlyArray<number> }

/** Entries `want` (real layer numbers) of a stacked tensor whose entries are layers `from`; no copy when they are all. */
const entries = <T extends Float32Array | Int32Array>(
  tensor: Tensor<T>,
  from: ReadonlyArray<number>,
  want: ReadonlyArray<number>
): Tensor<T> => {
  const index = want.map((l) => from.indexOf(l))
  if (index.some((i) => i < 0))
    throw new Error(`the graph's entries ${from.join(",")} lack ${want.join(",")}`)
  if (index.length === tensor.dims[0] && index.every((i, j) => i === j)) return tensor
  const inner = tensor.data.length / tensor.dims[0]!
  const data = new (tensor.data.constructor as new (n: number) => T)(index.length * inner)
  index.forEach((i, j) => {
    data.set(tensor.data.subarray(i * inner, (i + 1) * inner), j * inner)
  })
  return { data, dims: [index.length, ...tensor.dims.slice(1)] }
}

/** Run a probe of `layers` (checked, ascending) on the source's graph and keep those layers' entries. */
export const runProbeLayers = async (
  source: ProbeLayersSource,
  input: ProbeInput,
  layers: ReadonlyArray<number>
): Promise<LayerProbeResult> => {
  const { graph, cut } = source
  const numLayers = graph.spec.numLayers
  const from = cut?.layers ?? Array.from({ length: numLayers + 1 }, (_, l) => l)
  const fromAttention = cut?.attentionLayers ?? Array.from({ length: numLayers }, (_, l) => l)
  const attentionLayers = attentionLayersOf(layers)
  const fetches = probeOutputs.filter(
    (n): n is ProbeOutput =>
      graph.session.outputNames.includes(n) && (n !== "attentions" || attentionLayers.length > 0)
  )
  const out = await runProbeOutputs(graph, input, fetches)
  return {
    graph: basename(graph.path),
    lengths: input.ids.map((r) => r.length),
    layers,
    attentionLayers,
    hiddenStates: entries(float32Output(out.hidden_states, "hidden_states"), from, layers),
    attentions:
      attentionLayers.length === 0
        ? undefined
        : entries(float32Output(out.attentions, "attentions"), fromAttention, attentionLayers),
    lensTopkIds: entries(int32Output(out.lens_topk_ids, "lens_topk_ids"), from, layers),
    lensTopkLogprobs: entries(float32Output(out.lens_topk_logprobs, "lens_topk_logprobs"), from, layers),
    trackedLogprobs: entries(float32Output(out.tracked_logprobs, "tracked_logprobs"), from, layers),
    logits: out.logits === undefined ? undefined : float32Output(out.logits, "logits")
  }
}

/** The per-layer outputs of a `LayerProbeResult`. */
export type LayerOutput =
  | "hiddenStates"
  | "attentions"
  | "lensTopkIds"
  | "lensTopkLogprobs"
  | "trackedLogprobs"

/**
 * The slice of a per-layer output at real layer `layer` (a decoder layer for `attentions`, a
 * hidden-states entry for the others), then `index` as in `view`: `layerView(r, "hiddenStates", 6,
 * row, token)` is what `view(full.hiddenStates, 6, row, token)` is on the whole graph's result.
 */
export function layerView(
  result: LayerProbeResult,
  output: "lensTopkIds",
  layer: number,
  ...index: ReadonlyArray<number>
): Int32Array
export function layerView(
  result: LayerProbeResult,
  output: Exclude<LayerOutput, "lensTopkIds">,
  layer: number,
  ...index: ReadonlyArray<number>
): Float32Array
export function layerView(
  result: LayerProbeResult,
  output: LayerOutput,
  layer: number,
  ...index: ReadonlyArray<number>
): Float32Array | Int32Array {
  const held = output === "attentions" ? result.attentionLayers : result.layers
  const entry = held.indexOf(layer)
  const tensor = result[output]
  if (entry < 0 || tensor === undefined)
    throw new RangeError(`${output} holds layers ${held.join(",") || "none"}, not ${layer}`)
  return output === "lensTopkIds"
    ? view(tensor as Int32Tensor, entry, ...index)
    : view(tensor as Float32Tensor, entry, ...index)
}
