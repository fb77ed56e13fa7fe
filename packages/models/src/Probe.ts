/**
 * The probe graph (`onnx/probe.onnx`, described by `onnx/probe.json`): one forward pass that
 * returns the residual stream after every layer, the attention probabilities, the logit lens
 * (top-k ids and log-probs, and log-probs of tracked tokens, computed inside the graph) and the
 * model's next-token logits, with an optional patch that overwrites one hidden state. Results are
 * typed tensors: flat typed arrays in row-major order with their dims, and `view` for slices.
 */
import { ModelDirError, ModelInputError } from "./Errors.ts"
import { ort, runSession } from "./internal/sessions.ts"
import { checkOnnxFile, pullCommand, readJsonFile } from "./ModelDir.ts"

/** A row-major float32 tensor. */
export interface Float32Tensor {
  readonly data: Float32Array
  readonly dims: ReadonlyArray<number>
}

/** A row-major int32 tensor (token ids). */
export interface Int32Tensor {
  readonly data: Int32Array
  readonly dims: ReadonlyArray<number>
}

/** The slice of a tensor at leading indices, as a view (no copy): `view(hiddenStates, layer, row, token)` is `[H]`. */
export const view = <T extends Float32Array | Int32Array>(
  tensor: { readonly data: T; readonly dims: ReadonlyArray<number> },
  ...index: ReadonlyArray<number>
): T => {
  const { dims } = tensor
  if (index.length > dims.length)
    throw new RangeError(`${index.length} indices for a ${dims.length}-d tensor`)
  let offset = 0
  let size = 1
  for (let d = dims.length - 1; d >= 0; d--) {
    if (d < index.length) {
      const i = index[d]!
      if (!Number.isInteger(i) || i < 0 || i >= dims[d]!) {
        throw new RangeError(`index ${i} out of range for dim ${d} of size ${dims[d]}`)
      }
      offset += i * size
    }
    size *= dims[d]!
  }
  let inner = 1
  for (let d = index.length; d < dims.length; d++) inner *= dims[d]!
  return tensor.data.subarray(offset, offset + inner) as T
}

/** The probe graph's contract, read from `onnx/probe.json`. */
export interface ProbeSpec {
  readonly modelType: string
  readonly numLayers: number
  readonly hiddenSize: number
  readonly numHeads: number
  readonly vocabSize: number
  /** Lens top-k, fixed at export. */
  readonly k: number
  readonly layerTypes: ReadonlyArray<string>
}

export const probeInputs = [
  "input_ids",
  "attention_mask",
  "tracked_ids",
  "patch_vector",
  "patch_layer",
  "patch_position"
] as const
export const probeOutputs = [
  "hidden_states",
  "attentions",
  "lens_topk_ids",
  "lens_topk_logprobs",
  "tracked_logprobs",
  "logits"
] as const
export type ProbeOutput = (typeof probeOutputs)[number]

const probeError = (dir: string, detail: string) =>
  new ModelDirError({ path: dir, missing: "onnx/probe.json", detail, fix: pullCommand(dir) })

/** Check `onnx/probe.onnx` and read `onnx/probe.json` of a model directory. */
export const readProbeSpec = (dir: string): { readonly path: string; readonly spec: ProbeSpec } => {
  const path = checkOnnxFile(dir, "onnx/probe.onnx")
  const raw = readJsonFile(dir, "onnx/probe.json")
  if (raw.schemaVersion !== 1)
    throw probeError(dir, `has schemaVersion ${String(raw.schemaVersion)}, expected 1`)
  const names = (key: string) =>
    Array.isArray(raw[key]) ? (raw[key] as Array<{ name?: unknown }>).map((x) => String(x.name)) : []
  for (const [key, expected] of [
    ["inputs", probeInputs],
    ["outputs", probeOutputs]
  ] as const) {
    const got = names(key)
    const absent = expected.filter((n) => !got.includes(n))
    if (absent.length > 0) throw probeError(dir, `lists no ${key} ${absent.join(", ")}`)
  }
  const int = (key: string) => {
    const v = raw[key]
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0)
      throw probeError(dir, `has no positive "${key}"`)
    return v
  }
  const numLayers = int("num_layers")
  return {
    path,
    spec: {
      modelType: String(raw.model_type),
      numLayers,
      hiddenSize: int("hidden_size"),
      numHeads: int("num_heads"),
      vocabSize: int("vocab_size"),
      k: int("k"),
      layerTypes: Array.isArray(raw.layer_types)
        ? raw.layer_types.map(String)
        : new Array<string>(numLayers).fill("full_attention")
    }
  }
}

/** A patch: overwrite `hidden_states[layer]` at `position` with `vector` before layer `layer` runs. */
export interface Patch {
  /** `[H]` for every row, or one `[H]` per row. */
  readonly vector: ArrayLike<number> | ReadonlyArray<ArrayLike<number>>
  /** 0 = the embedding output, j = the output of decoder layer j-1; at most the number of layers. */
  readonly layer: number
  /** The token index, for every row or per row; a negative index leaves that row unpatched. */
  readonly position: number | ReadonlyArray<number>
}

/** What to probe: token ids per prompt (unpadded; rows are right-padded into one batch). */
export interface ProbeInput {
  readonly ids: ReadonlyArray<ReadonlyArray<number>>
  /** Token ids whose lens log-probs are returned: for every row, or one list per row (equal lengths). */
  readonly tracked?: ReadonlyArray<number> | ReadonlyArray<ReadonlyArray<number>>
  readonly patch?: Patch
}

/** Everything the probe graph returns for a batch (B rows, T tokens after padding, L layers). */
export interface ProbeResult {
  /** Real tokens per row; positions at or after a row's length are padding. */
  readonly lengths: ReadonlyArray<number>
  /** `[L+1, B, T, H]`: the embedding output, then the residual stream after each layer, before the final norm. */
  readonly hiddenStates: Float32Tensor
  /** `[L, B, heads, T, T]` attention probabilities. */
  readonly attentions: Float32Tensor
  /** `[L+1, B, T, k]` logit-lens top-k token ids per layer and position. */
  readonly lensTopkIds: Int32Tensor
  /** `[L+1, B, T, k]` their log-probs. */
  readonly lensTopkLogprobs: Float32Tensor
  /** `[L+1, B, T, K]` lens log-probs of the tracked ids. */
  readonly trackedLogprobs: Float32Tensor
  /** `[B, V]` the model's next-token logits at each row's last real token. */
  readonly logits: Float32Tensor
}

/** The loaded probe graph of one model directory. */
export interface ProbeGraph {
  readonly dir: string
  readonly path: string
  readonly session: ort.InferenceSession
  readonly spec: ProbeSpec
  readonly padTokenId: number
}

const int64 = (values: ArrayLike<number>, dims: ReadonlyArray<number>) =>
  new ort.Tensor("int64", BigInt64Array.from(Array.from(values, (v) => BigInt(v))), dims)

const isRows = <T>(x: ArrayLike<T> | ReadonlyArray<ArrayLike<T>>): x is ReadonlyArray<ArrayLike<T>> =>
  x.length > 0 && typeof x[0] === "object"

/** Build the graph's feeds for a batch, checking every input against the spec. */
const feedsFor = (graph: ProbeGraph, input: ProbeInput): Record<string, ort.Tensor> => {
  const { spec, dir } = graph
  const bad = (detail: string) => new ModelInputError({ path: dir, detail })
  const rows = input.ids
  const b = rows.length
  if (b === 0) throw bad("probe needs at least one prompt")
  const lengths = rows.map((r) => r.length)
  if (lengths.some((n) => n === 0)) throw bad("probe got an empty prompt")
  const t = Math.max(...lengths)
  const ids = new Array<number>(b * t).fill(graph.padTokenId)
  const mask = new Array<number>(b * t).fill(0)
  for (const [i, row] of rows.entries()) {
    for (const [j, id] of row.entries()) {
      if (!Number.isInteger(id) || id < 0 || id >= spec.vocabSize) {
        throw bad(`token id ${id} is outside the vocabulary (0..${spec.vocabSize - 1})`)
      }
      ids[i * t + j] = id
      mask[i * t + j] = 1
    }
  }

  const trackedRows: ReadonlyArray<ArrayLike<number>> =
    input.tracked === undefined
      ? rows.map(() => [0])
      : isRows(input.tracked)
        ? input.tracked
        : rows.map(() => input.tracked as ReadonlyArray<number>)
  if (trackedRows.length !== b) throw bad(`tracked has ${trackedRows.length} rows for ${b} prompts`)
  const k = trackedRows[0]!.length
  if (k === 0 || trackedRows.some((r) => r.length !== k))
    throw bad("tracked rows must be non-empty and of equal length")
  const tracked: Array<number> = []
  for (const r of trackedRows) {
    for (let i = 0; i < k; i++) {
      const id = r[i]!
      if (!Number.isInteger(id) || id < 0 || id >= spec.vocabSize)
        throw bad(`tracked id ${id} is outside the vocabulary`)
      tracked.push(id)
    }
  }

  const h = spec.hiddenSize
  const vector = new Float32Array(b * h)
  const positions = new Array<number>(b).fill(-1)
  let layer = -1
  const patch = input.patch
  if (patch) {
    layer = patch.layer
    if (!Number.isInteger(layer) || layer < 0 || layer > spec.numLayers) {
      throw bad(`patch layer ${layer} is outside 0..${spec.numLayers}`)
    }
    const vectors = isRows(patch.vector) ? patch.vector : rows.map(() => patch.vector as ArrayLike<number>)
    if (vectors.length !== b) throw bad(`patch has ${vectors.length} vectors for ${b} prompts`)
    vectors.forEach((v, i) => {
      if (v.length !== h) throw bad(`patch vector has ${v.length} values, the hidden size is ${h}`)
      vector.set(Array.from(v), i * h)
    })
    const pos = typeof patch.position === "number" ? rows.map(() => patch.position as number) : patch.position
    if (pos.length !== b) throw bad(`patch has ${pos.length} positions for ${b} prompts`)
    pos.forEach((p, i) => {
      if (!Number.isInteger(p) || p >= lengths[i]!) {
        throw bad(`patch position ${p} is outside prompt ${i} (${lengths[i]} tokens)`)
      }
      positions[i] = p
    })
  }
  return {
    input_ids: int64(ids, [b, t]),
    attention_mask: int64(mask, [b, t]),
    tracked_ids: int64(tracked, [b, k]),
    patch_vector: new ort.Tensor("float32", vector, [b, h]),
    patch_layer: int64([layer], [1]),
    patch_position: int64(positions, [b])
  }
}

/** A float32 output of the probe graph as a typed tensor. */
export const float32Output = (t: ort.Tensor | undefined, name: string): Float32Tensor => {
  if (t?.type !== "float32") throw new Error(`probe graph output ${name} is missing or not float32`)
  return { data: t.data as Float32Array, dims: [...t.dims] }
}

/** An int64 output of the probe graph (token ids) as an int32 tensor. */
export const int32Output = (t: ort.Tensor | undefined, name: string): Int32Tensor => {
  if (t?.type !== "int64") throw new Error(`probe graph output ${name} is missing or not int64`)
  return { data: Int32Array.from(t.data as BigInt64Array, Number), dims: [...t.dims] }
}

/** Run the probe graph on a batch and return only the outputs named in `fetches`. */
export const runProbeOutputs = async (
  graph: ProbeGraph,
  input: ProbeInput,
  fetches: ReadonlyArray<ProbeOutput>
): Promise<Partial<Record<ProbeOutput, ort.Tensor>>> => {
  const all = feedsFor(graph, input)
  // a cut graph (embed.onnx) takes only the inputs its outputs depend on
  const feeds = Object.fromEntries(graph.session.inputNames.map((n) => [n, all[n as keyof typeof all]!]))
  const out = await runSession(graph.session, graph.path, feeds, fetches)
  return out as Partial<Record<ProbeOutput, ort.Tensor>>
}

/** Run the probe graph on a batch and return every output. */
export const runProbe = async (graph: ProbeGraph, input: ProbeInput): Promise<ProbeResult> => {
  const out = await runProbeOutputs(graph, input, probeOutputs)
  return {
    lengths: input.ids.map((r) => r.length),
    hiddenStates: float32Output(out.hidden_states, "hidden_states"),
    attentions: float32Output(out.attentions, "attentions"),
    lensTopkIds: int32Output(out.lens_topk_ids, "lens_topk_ids"),
    lensTopkLogprobs: float32Output(out.lens_topk_logprobs, "lens_topk_logprobs"),
    trackedLogprobs: float32Output(out.tracked_logprobs, "tracked_logprobs"),
    logits: float32Output(out.logits, "logits")
  }
}
