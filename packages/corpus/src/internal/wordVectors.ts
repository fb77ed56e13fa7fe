/**
 * Word vectors for the sensory estimator and the generator: a text's hidden state at one layer,
 * averaged over the text's own tokens after a short context prefix ("A word:"), so that a single
 * word is not read at the first position, where the residual stream is an attention sink.
 *
 * The hidden states come from `onnx/embed.onnx` when the model folder has it (the probe graph
 * with only `hidden_states` kept: ~8x faster, since the probe graph computes the logit lens over
 * the whole vocabulary at every layer), otherwise from the probe graph itself.
 */
import { existsSync } from "node:fs"
import { join } from "node:path"
import type { Model } from "@hyperwords/models/Model"
import { runProbeOutputs } from "@hyperwords/models/Probe"
import * as ort from "onnxruntime-node"

/** The context every text is read in (validated on the Lancaster norms, see `Senses.ts`). */
export const contextPrefix = "A word:"

const sessions = new Map<string, Promise<ort.InferenceSession>>()

const embedSession = (path: string): Promise<ort.InferenceSession> => {
  let s = sessions.get(path)
  if (s === undefined) {
    const threads = Number(process.env.HYPERWORDS_THREADS ?? 0)
    s = ort.InferenceSession.create(path, {
      graphOptimizationLevel: "all",
      executionMode: "sequential",
      ...(threads > 0 ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {})
    })
    s.catch(() => sessions.delete(path))
    sessions.set(path, s)
  }
  return s
}

const int64 = (values: ArrayLike<number>, dims: ReadonlyArray<number>) =>
  new ort.Tensor("int64", BigInt64Array.from(Array.from(values, (v) => BigInt(v))), dims)

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
    const embedPath = join(this.model.dir, "onnx", "embed.onnx")
    const b = rows.length
    const t = Math.max(...rows.map((r) => r.length))
    if (existsSync(embedPath)) {
      const session = await embedSession(embedPath)
      const ids = new Array<number>(b * t).fill(this.model.config.padTokenId ?? 0)
      const mask = new Array<number>(b * t).fill(0)
      rows.forEach((r, i) => {
        r.forEach((id, j) => {
          ids[i * t + j] = id
          mask[i * t + j] = 1
        })
      })
      const feeds: Record<string, ort.Tensor> = {
        input_ids: int64(ids, [b, t]),
        attention_mask: int64(mask, [b, t])
      }
      const names = session.inputNames
      if (names.includes("patch_vector")) {
        feeds.patch_vector = new ort.Tensor("float32", new Float32Array(b * this.hiddenSize), [
          b,
          this.hiddenSize
        ])
      }
      if (names.includes("patch_layer")) feeds.patch_layer = int64([-1], [1])
      if (names.includes("patch_position")) feeds.patch_position = int64(new Array<number>(b).fill(-1), [b])
      if (names.includes("tracked_ids")) feeds.tracked_ids = int64(new Array<number>(b).fill(0), [b, 1])
      const out = await session.run(feeds, ["hidden_states"])
      return out.hidden_states!
    }
    const graph = await this.model.probeGraphSession()
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
