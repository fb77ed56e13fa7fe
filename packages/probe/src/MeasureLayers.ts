/**
 * One hyperword read at some layers only (`hyperwords probe WORD --layers 0,6,12`): the fused
 * word, its phrase and each part alone, after BOS, in one pass of the probe graph cut to those
 * layers when the model folder has such a cut (`onnx/probe-layers-….onnx`, made by the bridge's
 * `graph_cuts --probe-layers`), else of the whole probe graph. Per asked layer: the residual norm,
 * the lens's top token at the last position and the assembly cosines, the values `measureItems`
 * gives for those layers, at a fraction of the memory on a bigger model.
 */
import type { Model } from "@hyperwords/models/Model"
import { layerView } from "@hyperwords/models/ProbeLayers"
import { cosine, meanVector, norm, readIds } from "./Measure.ts"

/** One asked layer of a `LayerMeasure`. */
export interface LayerRow {
  readonly layer: number
  /** Residual norm at the fused word's last position. */
  readonly norm: number
  /** The lens's top token there, its id and probability. */
  readonly topId: number
  readonly top: string
  readonly p: number
  /** Cosine of the fused last state to the phrase's. */
  readonly phrase: number
  /** Cosine of the fused last state to the mean of the parts' last states, each read alone. */
  readonly parts: number
}

/** A hyperword read at some layers of one model. */
export interface LayerMeasure {
  readonly model: string
  /** The graph file read: `probe.onnx`, or a cut `probe-layers-….onnx`. */
  readonly graph: string
  readonly text: string
  /** The fused word's tokens from its first own token (after BOS). */
  readonly tokens: ReadonlyArray<string>
  readonly rows: ReadonlyArray<LayerRow>
}

/** Read `surface` (and its `parts`) at `layers` of a model. */
export const measureLayers = async (
  model: Model,
  surface: string,
  parts: ReadonlyArray<string>,
  layers: ReadonlyArray<number>
): Promise<LayerMeasure> => {
  const uniqueParts = [...new Set(parts)]
  const reads = [surface, parts.join(" "), ...uniqueParts].map((t) => readIds(model, t))
  const r = await model.probeLayers({ ids: reads.map((x) => x.ids), layers })
  const last = (row: number, layer: number) => layerView(r, "hiddenStates", layer, row, r.lengths[row]! - 1)
  const fused = reads[0]!
  const end = fused.ids.length - 1
  const rows = r.layers.map((layer): LayerRow => {
    const state = last(0, layer)
    const topId = layerView(r, "lensTopkIds", layer, 0, end)[0]!
    const partsMean = meanVector(uniqueParts.map((_, i) => last(2 + i, layer)))
    return {
      layer,
      norm: norm(state),
      topId,
      top: model.decode([topId], { skipSpecialTokens: false }),
      p: Math.exp(layerView(r, "lensTopkLogprobs", layer, 0, end)[0]!),
      phrase: cosine(state, last(1, layer)),
      parts: cosine(state, partsMean)
    }
  })
  return {
    model: model.name,
    graph: r.graph,
    text: surface,
    tokens: fused.ids.slice(fused.start).map((id) => model.decode([id], { skipSpecialTokens: false })),
    rows
  }
}

/** The text view of a `LayerMeasure`: the columns of `textView`, one row per asked layer. */
export const layersTextView = (m: LayerMeasure): string =>
  [
    `${m.model}: "${m.text}" = ${m.tokens.map((t) => JSON.stringify(t)).join(" ")}`,
    `${"layer".padStart(5)} ${"norm".padStart(9)}  ${"top lens token".padEnd(18)} ${"p".padStart(5)}  ${"~phrase".padStart(7)} ${"~parts".padStart(7)}`,
    ...m.rows.map(
      (row) =>
        `${String(row.layer).padStart(5)} ${row.norm.toFixed(1).padStart(9)}  ${JSON.stringify(row.top).padEnd(18)} ${row.p.toFixed(2).padStart(5)}  ${row.phrase.toFixed(3).padStart(7)} ${row.parts.toFixed(3).padStart(7)}`
    )
  ].join("\n")
