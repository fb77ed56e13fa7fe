/**
 * Text generation over the exported generation graph (`onnx/model.onnx` or the q8 file) with its
 * key/value cache, run directly on onnxruntime-node. The loop is ours rather than
 * transformers.js's so that sampling is seeded per request and position ids are what the graph
 * was traced with (0-based, as in PyTorch, also for Gemma 3, where transformers.js would send
 * 1-based ones).
 */
import { randomInt } from "node:crypto"
import { type ort, runSession } from "./internal/sessions.ts"
import { emptyPast, int64, nextTokenLogits } from "./internal/tensors.ts"
import type { ModelConfig } from "./ModelDir.ts"
import { argmax, type SamplingOptions, sampleToken, seededUniform } from "./Sampling.ts"
import type { Tokenizer } from "./Tokenizer.ts"

/** What to generate. */
export interface GenerateOptions {
  /** Tokens to generate at most (default 64). */
  readonly maxNewTokens?: number
  /** Sample with these settings; absent means greedy decoding. */
  readonly sampling?: SamplingOptions
  /** Stop after an end-of-sequence token (default true); false always generates `maxNewTokens`. */
  readonly stopAtEos?: boolean
  /** The end-of-sequence ids (default: the model's, from generation_config.json and config.json). */
  readonly eosTokenIds?: ReadonlyArray<number>
  /** Stops between two tokens when aborted. */
  readonly signal?: AbortSignal
}

/** One generated token and the text it completes (empty while a multi-byte character is incomplete). */
export interface GeneratedToken {
  readonly index: number
  readonly id: number
  readonly text: string
}

/** A finished generation. */
export interface Generation {
  readonly promptIds: ReadonlyArray<number>
  /** The generated ids (an end-of-sequence token, when one stopped the run, included). */
  readonly ids: ReadonlyArray<number>
  /** The generated text, special tokens skipped. */
  readonly text: string
  readonly finishReason: "eos" | "length"
  /** The seed the sampler used (absent for greedy decoding). */
  readonly seed?: number
  /** Time to the first token (the prompt's forward pass), ms. */
  readonly prefillMs: number
  /** Time of the remaining tokens, ms. */
  readonly decodeMs: number
}

/** The loaded generation graph of one model directory. */
export interface GenerationGraph {
  readonly path: string
  readonly session: ort.InferenceSession
  readonly config: ModelConfig
}

const abortError = (signal: AbortSignal) =>
  signal.reason instanceof Error ? signal.reason : new DOMException("generation aborted", "AbortError")

/**
 * Token ids one by one: the prompt in one forward pass, then one token per pass with the cache.
 * Returns the finish reason and the seed used.
 */
export async function* decodeIds(
  graph: GenerationGraph,
  promptIds: ReadonlyArray<number>,
  options: GenerateOptions = {}
): AsyncGenerator<number, { finishReason: "eos" | "length"; seed?: number }> {
  const { session, config, path } = graph
  const maxNewTokens = options.maxNewTokens ?? 64
  const stopAtEos = options.stopAtEos ?? true
  const eos = new Set(options.eosTokenIds ?? config.eosTokenIds)
  const seed = options.sampling ? (options.sampling.seed ?? randomInt(2 ** 31)) : undefined
  const uniform = seed === undefined ? undefined : seededUniform(seed)
  const withSeed = seed === undefined ? {} : { seed }

  const inputNames = session.inputNames
  const hasPositions = inputNames.includes("position_ids")
  const pastNames = inputNames.filter((n) => n.startsWith("past_key_values."))
  let past: Record<string, ort.Tensor> = emptyPast(pastNames, 1, config)
  let current: ReadonlyArray<number> = promptIds
  let pastLength = 0
  for (let step = 0; step < maxNewTokens; step++) {
    if (options.signal?.aborted) throw abortError(options.signal)
    const t = current.length
    const feeds: Record<string, ort.Tensor> = {
      input_ids: int64(current, [1, t]),
      attention_mask: int64(new Array<number>(pastLength + t).fill(1), [1, pastLength + t]),
      ...past
    }
    if (hasPositions) {
      feeds.position_ids = int64(
        Array.from({ length: t }, (_, i) => pastLength + i),
        [1, t]
      )
    }
    const out = await runSession(session, path, feeds)
    const logits = out.logits
    if (!logits) throw new Error(`${path}: the graph has no "logits" output`)
    const row = nextTokenLogits(logits, 0)
    const next = uniform ? sampleToken(row, options.sampling ?? {}, uniform) : argmax(row)
    const nextPast: Record<string, ort.Tensor> = {}
    for (const n of pastNames) nextPast[n] = out[n.replace("past_key_values.", "present.")]!
    past = nextPast
    pastLength += t
    current = [next]
    yield next
    if (stopAtEos && eos.has(next)) return { finishReason: "eos", ...withSeed }
  }
  return { finishReason: "length", ...withSeed }
}

/**
 * Generate from prompt ids, calling `onToken` with each token and its text as it arrives.
 * The text of a token is what it adds to the decoded generation so far.
 */
export const generateIds = async (
  graph: GenerationGraph,
  tokenizer: Tokenizer,
  promptIds: ReadonlyArray<number>,
  options: GenerateOptions = {},
  onToken?: (token: GeneratedToken) => void
): Promise<Generation> => {
  const ids: Array<number> = []
  const maxNewTokens = options.maxNewTokens ?? 64
  const stopAtEos = options.stopAtEos ?? true
  const eos = new Set(options.eosTokenIds ?? graph.config.eosTokenIds)
  let emitted = ""
  const start = performance.now()
  let firstAt = start
  const it = decodeIds(graph, promptIds, options)
  for (;;) {
    const r = await it.next()
    if (r.done) {
      const end = performance.now()
      return {
        promptIds: [...promptIds],
        ids,
        text: tokenizer.decode(ids),
        finishReason: r.value.finishReason,
        ...(r.value.seed === undefined ? {} : { seed: r.value.seed }),
        prefillMs: firstAt - start,
        decodeMs: ids.length > 0 ? end - firstAt : 0
      }
    }
    if (ids.length === 0) firstAt = performance.now()
    ids.push(r.value)
    if (onToken) {
      const text = tokenizer.decode(ids)
      const last = ids.length === maxNewTokens || (stopAtEos && eos.has(r.value))
      // hold back text that ends in an incomplete multi-byte character, unless nothing follows
      const ready = (last || !text.endsWith("\uFFFD")) && text.startsWith(emitted)
      onToken({ index: ids.length - 1, id: r.value, text: ready ? text.slice(emitted.length) : "" })
      if (ready) emitted = text
    }
  }
}
