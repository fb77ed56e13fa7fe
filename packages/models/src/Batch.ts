/**
 * Sampled generation of several prompts in one batch over the generation graph's key/value cache.
 * Each decode step reads the whole output projection once for the batch instead of once per
 * prompt (Gemma's is 262k x 640 floats: most of a step's cost), so scenes come several times
 * faster than one by one.
 *
 * Three more things keep a batch cheap:
 * - the text every prompt starts with (`prefix`, the generator's examples) is run once per model
 *   and its cache reused by every batch (a graph exported before `hyperwords_bridge.last_logits`
 *   computes logits at every position it is fed, so there a long prompt's forward pass costs
 *   more than its whole scene);
 * - rows with the same prompt (the samples of one) are run once in the first step, the prompt's
 *   whole forward pass, and each samples from it with its own seed;
 * - a row that has stopped leaves the batch: it is neither run nor sampled again.
 *
 * Rows are left-padded, each token at the position it has alone, and each row samples from its
 * own seeded stream, so a row's tokens are those of its prompt and seed generated alone.
 */

import { ort, runSession } from "./internal/sessions.ts"
import { emptyPast, int64, nextTokenLogits } from "./internal/tensors.ts"
import type { Model } from "./Model.ts"
import { sampleToken, seededUniform } from "./Sampling.ts"

/** How to generate a batch. */
export interface BatchOptions {
  readonly maxNewTokens: number
  readonly temperature: number
  readonly topP: number
  /** One seed per prompt. */
  readonly seeds: ReadonlyArray<number>
  /** Ids that end a row (besides the model's end-of-sequence ids). */
  readonly stopIds?: ReadonlyArray<number>
  /** Text every prompt starts with; its cache is computed once per model and reused. */
  readonly prefix?: string
  /** Asked before each step: true stops the batch with a `BatchStopped` error. */
  readonly stopped?: () => boolean
}

/** A batch stopped by its `stopped` option before it was done. */
export class BatchStopped extends Error {
  constructor() {
    super("answering stopped")
    this.name = "BatchStopped"
  }
}

/** A `[1, H, T, D]` key/value cache, by graph input name. */
type Cache = Readonly<Record<string, ort.Tensor>>

const presentsOf = (res: ort.InferenceSession.ReturnType, pastNames: ReadonlyArray<string>) =>
  Object.fromEntries(pastNames.map((n) => [n, res[n.replace("past_key_values.", "present.")]!]))

/** The first `length` slots of a `[1, H, T, D]` cache tensor. */
const firstSlots = (tensor: ort.Tensor, length: number): ort.Tensor => {
  const [, heads, t, dim] = tensor.dims as [number, number, number, number]
  const data = tensor.data as Float32Array
  const out = new Float32Array(heads * length * dim)
  for (let h = 0; h < heads; h++)
    out.set(data.subarray(h * t * dim, (h * t + length) * dim), h * length * dim)
  return new ort.Tensor("float32", out, [1, heads, length, dim])
}

/** Prefix caches per session (dropped with it), by shift and prefix text. */
const prefixCaches = new WeakMap<ort.InferenceSession, Map<string, Promise<Cache>>>()

/**
 * The cache of `ids` after `shift` pad tokens, cut to `ids.length` slots: the first slots of a
 * row left-padded by `shift`. The pads are run, not left as zeros: what the masked slots hold
 * changes the graph's result, so they must hold what a left-padded row computes there.
 */
const prefixCache = (model: Model, prefix: string, ids: ReadonlyArray<number>, shift: number) =>
  model.generationGraph().then(({ session, config, path }) => {
    let bySession = prefixCaches.get(session)
    if (bySession === undefined) {
      bySession = new Map()
      prefixCaches.set(session, bySession)
    }
    const entries = bySession
    const key = `${shift}\0${prefix}`
    let cached = entries.get(key)
    if (cached === undefined) {
      const pastNames = session.inputNames.filter((n) => n.startsWith("past_key_values."))
      const row = [...new Array<number>(shift).fill(config.padTokenId ?? 0), ...ids]
      const feeds: Record<string, ort.Tensor> = {
        input_ids: int64(row, [1, row.length]),
        attention_mask: int64(
          row.map((_, j) => (j < shift ? 0 : 1)),
          [1, row.length]
        ),
        ...emptyPast(pastNames, 1, config)
      }
      if (session.inputNames.includes("position_ids"))
        feeds.position_ids = int64(
          row.map((_, j) => Math.max(0, j - shift)),
          [1, row.length]
        )
      cached = runSession(session, path, feeds).then((res) => {
        const presents = presentsOf(res, pastNames)
        return Object.fromEntries(pastNames.map((n) => [n, firstSlots(presents[n]!, ids.length)]))
      })
      cached.catch(() => entries.delete(key))
      entries.set(key, cached)
    }
    return cached
  })

/** The rows `keep` of a `[B, ...]` float tensor, in that order (the tensor itself for 0..B-1). */
const selectRows = (tensor: ort.Tensor, keep: ReadonlyArray<number>): ort.Tensor => {
  const [b, ...rest] = tensor.dims as ReadonlyArray<number>
  if (keep.length === b && keep.every((row, i) => row === i)) return tensor
  const size = rest.reduce((n, d) => n * d, 1)
  const data = tensor.data as Float32Array
  const out = new Float32Array(keep.length * size)
  keep.forEach((row, i) => {
    out.set(data.subarray(row * size, (row + 1) * size), i * size)
  })
  return new ort.Tensor("float32", out, [keep.length, ...rest])
}

/** `[1, ...]` caches stacked into one `[B, ...]` cache. */
const stackRows = (names: ReadonlyArray<string>, rows: ReadonlyArray<Cache>): Record<string, ort.Tensor> =>
  Object.fromEntries(
    names.map((n) => {
      const [, ...rest] = rows[0]![n]!.dims as ReadonlyArray<number>
      const size = rest.reduce((k, d) => k * d, 1)
      const out = new Float32Array(rows.length * size)
      rows.forEach((r, i) => {
        out.set(r[n]!.data as Float32Array, i * size)
      })
      return [n, new ort.Tensor("float32", out, [rows.length, ...rest])]
    })
  )

const startsWith = (ids: ReadonlyArray<number>, prefix: ReadonlyArray<number>): boolean =>
  ids.length > prefix.length && prefix.every((id, i) => ids[i] === id)

/** The generated text of each prompt (stop tokens excluded). */
export const generateBatch = async (
  model: Model,
  prompts: ReadonlyArray<string>,
  options: BatchOptions
): Promise<Array<string>> => {
  const { session, config, path } = await model.generationGraph()
  const b = prompts.length
  const rows = prompts.map((p) => model.encode(p))
  const pastNames = session.inputNames.filter((n) => n.startsWith("past_key_values."))
  const hasPositions = session.inputNames.includes("position_ids")
  const pad = config.padTokenId ?? 0
  const stop = new Set([...config.eosTokenIds, ...(options.stopIds ?? [])])
  const uniforms = options.seeds.map((s) => seededUniform(s))
  const sampling = { temperature: options.temperature, topP: options.topP }

  // A row shorter than the longest by d tokens is left-padded by d. With a prefix of p tokens,
  // its cache is the prefix's after d pads, cut to p slots, and it feeds the prefix's last d
  // tokens again: every row then has p cached slots and the same number of tokens to feed.
  const longest = Math.max(...rows.map((r) => r.length))
  const shift = rows.map((r) => longest - r.length)
  const prefix = options.prefix
  const prefixIds = prefix === undefined ? [] : model.encode(prefix)
  const p =
    prefix !== undefined && rows.every((r, i) => startsWith(r, prefixIds) && shift[i]! <= prefixIds.length)
      ? prefixIds.length
      : 0
  let past =
    p > 0
      ? stackRows(pastNames, await Promise.all(shift.map((d) => prefixCache(model, prefix!, prefixIds, d))))
      : emptyPast(pastNames, b, config)
  let input: Array<Array<number>> = rows.map((r, i) =>
    p > 0
      ? [...prefixIds.slice(p - shift[i]!), ...r.slice(p)]
      : [...new Array<number>(shift[i]!).fill(pad), ...r]
  )
  let mask: Array<Array<number>> = rows.map((_, i) =>
    p > 0
      ? [
          ...new Array<number>(shift[i]!).fill(0),
          ...new Array<number>(p - shift[i]! + input[i]!.length).fill(1)
        ]
      : input[i]!.map((_, j) => (j < shift[i]! ? 0 : 1))
  )
  let pos: Array<Array<number>> = input.map((r, i) => r.map((_, j) => Math.max(0, p + j - shift[i]!)))
  // Rows fed the same tokens after the same cache (the samples of one prompt) are run once in
  // the first step, the prompts' whole forward pass: `runOf[k]` is the row run for row k, and
  // each row then samples from it with its own seed.
  const distinct: Array<number> = []
  const byKey = new Map<string, number>()
  const runOf = input.map((r, k) => {
    const key = `${mask[k]!.join(",")}|${r.join(",")}`
    let run = byKey.get(key)
    if (run === undefined) {
      run = distinct.length
      byKey.set(key, run)
      distinct.push(k)
    }
    return run
  })
  // the rows still running, by prompt index
  let active = rows.map((_, i) => i)
  const out: Array<Array<number>> = rows.map(() => [])
  for (let step = 0; step < options.maxNewTokens && active.length > 0; step++) {
    if (options.stopped?.()) throw new BatchStopped()
    const shared = step === 0 && distinct.length < active.length
    const fed = shared ? distinct : active.map((_, k) => k)
    const n = fed.length
    const t = input[0]!.length
    const feeds: Record<string, ort.Tensor> = {
      input_ids: int64(
        fed.flatMap((k) => input[k]!),
        [n, t]
      ),
      attention_mask: int64(
        fed.flatMap((k) => mask[k]!),
        [n, mask[0]!.length]
      ),
      ...(shared ? Object.fromEntries(pastNames.map((name) => [name, selectRows(past[name]!, fed)])) : past)
    }
    if (hasPositions)
      feeds.position_ids = int64(
        fed.flatMap((k) => pos[k]!),
        [n, t]
      )
    const res = await runSession(session, path, feeds)
    const logits = res.logits!
    const runRow = (k: number) => (shared ? runOf[k]! : k)
    const keep: Array<number> = []
    const next: Array<number> = []
    for (const [k, i] of active.entries()) {
      const id = sampleToken(nextTokenLogits(logits, runRow(k)), sampling, uniforms[i]!)
      if (stop.has(id)) continue
      out[i]!.push(id)
      keep.push(k)
      next.push(id)
    }
    const presents = presentsOf(res, pastNames)
    past = Object.fromEntries(pastNames.map((name) => [name, selectRows(presents[name]!, keep.map(runRow))]))
    mask = keep.map((k) => [...mask[k]!, 1])
    pos = keep.map((k) => [pos[k]!.at(-1)! + 1])
    input = next.map((id) => [id])
    active = keep.map((k) => active[k]!)
  }
  return out.map((ids) => model.decode(ids))
}
