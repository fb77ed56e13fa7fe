/**
 * Sampled generation of several prompts in one batch over the generation graph's key/value cache.
 * Each decode step reads the whole output projection once for the batch instead of once per
 * prompt (Gemma's is 262k x 640 floats: most of a step's cost), so scenes come several times
 * faster than one by one. Rows are left-padded; each row samples from its own seeded stream, so a
 * row's tokens depend on its seed and the batch it runs in, both fixed by the caller's seed.
 */
import type { Model } from "@hyperwords/models/Model"
import { sampleToken, seededUniform } from "@hyperwords/models/Sampling"
import * as ort from "onnxruntime-node"

/** How to generate a batch. */
export interface BatchOptions {
  readonly maxNewTokens: number
  readonly temperature: number
  readonly topP: number
  /** One seed per prompt. */
  readonly seeds: ReadonlyArray<number>
  /** Ids that end a row (besides the model's end-of-sequence ids). */
  readonly stopIds?: ReadonlyArray<number>
}

const int64 = (values: ArrayLike<number>, dims: ReadonlyArray<number>) =>
  new ort.Tensor("int64", BigInt64Array.from(Array.from(values, (v) => BigInt(v))), dims)

/** The generated text of each prompt (stop tokens excluded). */
export const generateBatch = async (
  model: Model,
  prompts: ReadonlyArray<string>,
  options: BatchOptions
): Promise<Array<string>> => {
  const graph = await model.generationGraph()
  const { session, config } = graph
  const b = prompts.length
  const rows = prompts.map((p) => model.encode(p))
  const t0 = Math.max(...rows.map((r) => r.length))
  const pad = config.padTokenId ?? 0
  const stop = new Set([...config.eosTokenIds, ...(options.stopIds ?? [])])
  const uniforms = options.seeds.map((s) => seededUniform(s))
  const sampling = { temperature: options.temperature, topP: options.topP }

  const mask: Array<Array<number>> = rows.map((r) => [
    ...new Array<number>(t0 - r.length).fill(0),
    ...r.map(() => 1)
  ])
  const positions = mask.map((m) => {
    let p = -1
    return m.map((x) => (x === 1 ? ++p : 0))
  })
  const names = session.inputNames
  const pastNames = names.filter((n) => n.startsWith("past_key_values."))
  let past: Record<string, ort.Tensor> = Object.fromEntries(
    pastNames.map((n) => [
      n,
      new ort.Tensor("float32", new Float32Array(0), [b, config.numKeyValueHeads, 0, config.headDim])
    ])
  )
  let input: Array<Array<number>> = rows.map((r) => [...new Array<number>(t0 - r.length).fill(pad), ...r])
  let pos: Array<Array<number>> = positions
  const out: Array<Array<number>> = rows.map(() => [])
  const done = rows.map(() => false)
  for (let step = 0; step < options.maxNewTokens && done.some((d) => !d); step++) {
    const t = input[0]!.length
    const feeds: Record<string, ort.Tensor> = {
      input_ids: int64(input.flat(), [b, t]),
      attention_mask: int64(mask.flat(), [b, mask[0]!.length]),
      ...past
    }
    if (names.includes("position_ids")) feeds.position_ids = int64(pos.flat(), [b, t])
    const res = await session.run(feeds)
    const logits = res.logits!
    const vocab = logits.dims[2]!
    const data = logits.data as Float32Array
    const next: Array<number> = []
    for (let i = 0; i < b; i++) {
      const row = data.subarray((i * t + t - 1) * vocab, (i * t + t) * vocab)
      const id = sampleToken(row, sampling, uniforms[i]!)
      next.push(id)
      if (!done[i]) {
        if (stop.has(id)) done[i] = true
        else out[i]!.push(id)
      }
    }
    const nextPast: Record<string, ort.Tensor> = {}
    for (const n of pastNames) nextPast[n] = res[n.replace("past_key_values.", "present.")]!
    past = nextPast
    input = next.map((id) => [id])
    for (const m of mask) m.push(1)
    pos = positions.map((p) => [lastPosition(p, step)])
  }
  return out.map((ids) => model.decode(ids))
}

/** The position of the token fed at `step` (0-based) after a prompt whose positions end at max. */
const lastPosition = (promptPositions: ReadonlyArray<number>, step: number): number =>
  Math.max(...promptPositions) + 1 + step
