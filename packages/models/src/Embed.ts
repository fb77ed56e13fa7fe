/**
 * Embeddings: the hidden state at one layer of the probe graph, mean-pooled over each text's real
 * tokens (padding masked out). Texts are batched by length so that padding stays small.
 */
import { ModelInputError } from "./Errors.ts"
import { type Float32Tensor, type ProbeGraph, runProbeOutputs, view } from "./Probe.ts"

/** How to embed. */
export interface EmbedOptions {
  /** `hidden_states` index: 0 = embedding output, j = after decoder layer j (default: the last layer, before the final norm). */
  readonly layer?: number
  /** Prompts per forward pass (default 8). */
  readonly batchSize?: number
}

/** `[N, H]` mean-pooled hidden states, one row per input, in input order. */
export interface Embeddings extends Float32Tensor {
  readonly layer: number
}

/** Mean-pool the hidden states of token-id rows at one layer. */
export const embedIds = async (
  graph: ProbeGraph,
  rows: ReadonlyArray<ReadonlyArray<number>>,
  options: EmbedOptions = {}
): Promise<Embeddings> => {
  const { numLayers, hiddenSize: h } = graph.spec
  const layer = options.layer ?? numLayers
  const batchSize = options.batchSize ?? 8
  if (!Number.isInteger(layer) || layer < 0 || layer > numLayers) {
    throw new ModelInputError({
      path: graph.dir,
      detail: `embedding layer ${layer} is outside 0..${numLayers}`
    })
  }
  if (!(batchSize >= 1)) throw new ModelInputError({ path: graph.dir, detail: `batch size ${batchSize} < 1` })
  const out = new Float32Array(rows.length * h)
  const order = rows.map((_, i) => i).sort((a, b) => rows[a]!.length - rows[b]!.length)
  for (let s = 0; s < order.length; s += batchSize) {
    const batch = order.slice(s, s + batchSize)
    const res = await runProbeOutputs(graph, { ids: batch.map((i) => rows[i]!) }, ["hidden_states"])
    const hs = res.hidden_states!
    const states = { data: hs.data as Float32Array, dims: [...hs.dims] }
    batch.forEach((rowIndex, b) => {
      const n = rows[rowIndex]!.length
      // accumulate in float64: long texts would lose precision in float32
      const sum = new Float64Array(h)
      for (let t = 0; t < n; t++) {
        const v = view(states, layer, b, t)
        for (let j = 0; j < h; j++) sum[j]! += v[j]!
      }
      for (let j = 0; j < h; j++) out[rowIndex * h + j] = sum[j]! / n
    })
  }
  return { data: out, dims: [rows.length, h], layer }
}
