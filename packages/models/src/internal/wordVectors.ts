/**
 * Word vectors for the sensory estimator and the generator: a text's hidden state at one layer,
 * averaged over the text's own tokens after a short context prefix ("A word:"), so that a single
 * word is not read at the first position, where the residual stream is an attention sink.
 *
 * The hidden states come from the smallest embedding graph cut that reaches the layer
 * (`onnx/embed-upto-N.onnx`: N layers computed, not all), else `onnx/embed.onnx` (the probe graph
 * with only `hidden_states` kept: ~8x faster, since the probe graph computes the logit lens over
 * the whole vocabulary at every layer), else the probe graph itself (`Model.hiddenStatesGraph`).
 */

import type * as ort from "onnxruntime-node"
import type { Model } from "../Model.ts"
import { runProbeOutputs } from "../Probe.ts"

/** The context every text is read in (validated on the Lancaster norms, see `Senses.ts`). */
export const contextPrefix = "A word:"

/** Word vectors of one model at one layer, cached per text for the life of the object. */
export class WordVectors {
  readonly model: Model
  readonly layer: number
  readonly hiddenSize: number
  private readonly cache = new Map<string, Float32Array>()
  private readonly prefixIds: ReadonlyArray<number>

  constructor(model: Model, layer: number, hiddenSize: number) {
    this.model = model
    this.layer = layer
    this.hiddenSize = hiddenSize
    this.prefixIds = model.encode(contextPrefix)
  }

  private async hiddenStates(rows: ReadonlyArray<ReadonlyArray<number>>): Promise<ort.Tensor> {
    const graph = await this.model.hiddenStatesGraph(this.layer)
    const out = await runProbeOutputs(graph, { ids: rows }, ["hidden_states"])
    return out.hidden_states as ort.Tensor
  }

  /** One vector per text (`[H]` each), in input order. */
  async vectors(texts: ReadonlyArray<string>, batchSize = 32): Promise<Array<Float32Array>> {
    const todo = [...new Set(texts.filter((t) => !this.cache.has(t)))]
    const rows = todo.map((text) => {
      const own = this.model.encode(` ${text.trim()}`, { addSpecialTokens: false })
      return { text, ids: [...this.prefixIds, ...own], from: this.prefixIds.length }
    })
    rows.sort((a, b) => a.ids.length - b.ids.length)
    const h = this.hiddenSize
    for (let s = 0; s < rows.length; s += batchSize) {
      const batch = rows.slice(s, s + batchSize)
      const hs = await this.hiddenStates(batch.map((r) => r.ids))
      const data = hs.data as Float32Array
      const [, bDim, tDim] = hs.dims as ReadonlyArray<number>
      batch.forEach((r, b) => {
        const v = new Float64Array(h)
        const n = r.ids.length - r.from
        for (let t = r.from; t < r.ids.length; t++) {
          const base = ((this.layer * bDim! + b) * tDim! + t) * h
          for (let j = 0; j < h; j++) v[j]! += data[base + j]!
        }
        this.cache.set(
          r.text,
          Float32Array.from(v, (x) => x / Math.max(1, n))
        )
      })
    }
    return texts.map((t) => this.cache.get(t)!)
  }
}
