/**
 * Vectors of hyperwords and their parts: hidden states of the model (its embedding graph, else its
 * probe graph) at chosen layers, pooled over each text's own tokens. A sequence always starts with the model's BOS token
 * (added when the tokenizer does not add one) so that no word's first token plays the attention
 * sink, and special tokens are left out of the pooling: the sink's huge activations would
 * otherwise make every pair of vectors look alike.
 */
import type { Model } from "@hyperwords/models/Model"
import { readProbeSpec, runProbeOutputs } from "@hyperwords/models/Probe"

/** How a text's token states become one vector: their mean, or the state at its last token. */
export type Pooling = "mean" | "last"

/** Pooled vectors of N texts at one layer: `[N, dim]` row-major. */
export interface LayerVectors {
  readonly layer: number
  readonly pooling: Pooling
  readonly dim: number
  readonly data: Float32Array
}

/** What to compute. */
export interface PoolOptions {
  /** `hidden_states` indices (0 = embedding output, j = after decoder layer j). */
  readonly layers: ReadonlyArray<number>
  readonly poolings: ReadonlyArray<Pooling>
  /** Texts per forward pass (default 16). */
  readonly batchSize?: number
  /** Called after each batch with the number of texts done. */
  readonly onProgress?: (done: number) => void
}

/**
 * The prompt that reads a word for its meaning (PromptEOL, Jiang et al. 2023): the state at its
 * last token is where a causal model gathers what the word means.
 */
export const meaningTemplate = 'This word: "{}" means in one word: "'

/** A text in a template (`{}` stands for the text). */
export const applyTemplate = (template: string, text: string): string => template.split("{}").join(text)

/** Token ids of a text as the field embeds it: BOS first, then the text's tokens. */
export const textIds = (model: Model, text: string): Array<number> => {
  const ids = model.encode(text)
  const bos = model.config.bosTokenId
  if (bos !== undefined && ids[0] !== bos) ids.unshift(bos)
  return ids
}

/** Pooled hidden states of texts at several layers and poolings, from one pass per batch. */
export const poolTexts = async (
  model: Model,
  texts: ReadonlyArray<string>,
  options: PoolOptions
): Promise<Array<LayerVectors>> => {
  const { numLayers } = readProbeSpec(model.dir).spec
  for (const layer of options.layers) {
    if (!Number.isInteger(layer) || layer < 0 || layer > numLayers)
      throw new RangeError(`layer ${layer} is outside 0..${numLayers} of ${model.name}`)
  }
  // the smallest graph that reaches the deepest layer asked for
  const graph = await model.hiddenStatesGraph(Math.max(0, ...options.layers))
  const h = graph.spec.hiddenSize
  const special = model.tokenizer.specialIds
  const rows = texts.map((t) => textIds(model, t))
  const out = options.layers.flatMap((layer) =>
    options.poolings.map(
      (pooling): LayerVectors => ({ layer, pooling, dim: h, data: new Float32Array(texts.length * h) })
    )
  )
  // similar lengths in a batch keep padding small
  const order = rows.map((_, i) => i).sort((a, b) => rows[a]!.length - rows[b]!.length || a - b)
  const batchSize = options.batchSize ?? 16
  let done = 0
  for (let s = 0; s < order.length; s += batchSize) {
    const batch = order.slice(s, s + batchSize)
    const res = await runProbeOutputs(graph, { ids: batch.map((i) => rows[i]!) }, ["hidden_states"])
    const hs = res.hidden_states!
    const data = hs.data as Float32Array
    const [, b, t] = hs.dims as [number, number, number, number]
    batch.forEach((rowIndex, bi) => {
      const row = rows[rowIndex]!
      const own = row.flatMap((id, ti) => (special.has(id) ? [] : [ti]))
      // a text made only of special tokens pools over everything it has
      const positions = own.length > 0 ? own : row.map((_, ti) => ti)
      for (const target of out) {
        const base = (target.layer * b + bi) * t * h
        const dst = rowIndex * h
        if (target.pooling === "last") {
          const p = positions[positions.length - 1]!
          for (let j = 0; j < h; j++) target.data[dst + j] = data[base + p * h + j]!
          continue
        }
        // accumulate in float64 for stability across tokens
        const sum = new Float64Array(h)
        for (const p of positions) for (let j = 0; j < h; j++) sum[j]! += data[base + p * h + j]!
        for (let j = 0; j < h; j++) target.data[dst + j] = sum[j]! / positions.length
      }
    })
    done += batch.length
    options.onProgress?.(done)
  }
  return out
}
