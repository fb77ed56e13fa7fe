/**
 * The plugin harness: runs each metric over a set of samples with a hard timeout per call, by
 * default in a worker thread (or a forked Node process, for native or heavy code), and turns
 * anything a plugin does wrong (throws, fails, hangs, spins, calls `process.exit`, returns
 * garbage, dies) into a failed column with the reason, while the other columns fill. What a
 * failed column scored before it failed is kept.
 */
import { Effect, Exit, Option, Result } from "effect"
import {
  callPlugin,
  type DecodedScore,
  decodeCorpusScore,
  decodeSampleScore,
  exitReason
} from "./internal/outcome.ts"
import { type PluginWorker, park, startWorker, unpark, type WorkerKind } from "./internal/pluginWorker.ts"
import type { CorpusScore, LoadedMetric, MetricContext, SampleInput } from "./Metric.ts"

/** One sample's score in a column. */
export interface ScoredSample {
  readonly id: string
  readonly promptId?: string
  /** `null` when the metric does not apply to this sample. */
  readonly score: number | null
  readonly details?: Readonly<Record<string, unknown>>
}

/** A metric's column: every sample's score, or the reason it failed and what it scored before. */
export interface MetricColumn {
  readonly name: string
  readonly version: string
  /** `name@version#confighash`. */
  readonly id: string
  readonly description: string
  readonly higherIsBetter: boolean
  readonly status: "ok" | "failed"
  readonly reason?: string
  /**
   * Every sample when the column is ok; when it failed, the samples it scored before (partial:
   * fewer than the inputs, and no corpus score).
   */
  readonly samples: ReadonlyArray<ScoredSample>
  readonly corpus?: CorpusScore
  readonly durationMs: number
}

type Outcome =
  | { readonly ok: true; readonly samples: Array<ScoredSample>; readonly corpus?: CorpusScore }
  | { readonly ok: false; readonly reason: string; readonly samples: Array<ScoredSample> }

const sampleRef = (input: SampleInput | undefined): string =>
  input === undefined ? "" : ` on sample ${JSON.stringify(input.id)}`

const scored = (input: SampleInput, d: DecodedScore): ScoredSample => ({
  id: input.id,
  ...(input.promptId === undefined ? {} : { promptId: input.promptId }),
  score: d.score,
  ...(d.details === undefined ? {} : { details: d.details })
})

const timedCall = (f: () => unknown, timeoutMs: number) =>
  callPlugin(f).pipe(Effect.timeoutOption(timeoutMs), Effect.exit)

/**
 * In the host (`isolation: "in-process"`, opt-in): the timeout stops a plugin that waits, not
 * one that spins, and `process.exit` ends the host.
 */
const runInProcess = (loaded: LoadedMetric, inputs: ReadonlyArray<SampleInput>, ctx: MetricContext) =>
  Effect.gen(function* () {
    const { metric, config, timeoutMs } = loaded
    const samples: Array<ScoredSample> = []
    const failed = (reason: string): Outcome => ({ ok: false, reason, samples })
    if (metric.sample) {
      for (const input of inputs) {
        const exit = yield* timedCall(() => metric.sample!(input, config, ctx), timeoutMs)
        const reason = callFailure(exit, timeoutMs)
        if (reason) return failed(`${reason}${sampleRef(input)}`)
        const value = (exit as Exit.Success<Option.Option<unknown>>).value
        const decoded = decodeSampleScore(Option.getOrUndefined(value))
        if (Result.isFailure(decoded)) return failed(`${decoded.failure}${sampleRef(input)}`)
        samples.push(scored(input, decoded.success))
      }
    }
    if (metric.corpus) {
      const exit = yield* timedCall(() => metric.corpus!(inputs, config, ctx), timeoutMs)
      const reason = callFailure(exit, timeoutMs)
      if (reason) return failed(`${reason} on the corpus`)
      const value = Option.getOrUndefined((exit as Exit.Success<Option.Option<unknown>>).value)
      const decoded = decodeCorpusScore(value)
      if (Result.isFailure(decoded)) return failed(decoded.failure)
      return { ok: true, samples, corpus: decoded.success } as Outcome
    }
    return { ok: true, samples } as Outcome
  })

const callFailure = (
  exit: Exit.Exit<Option.Option<unknown>, unknown>,
  timeoutMs: number
): string | undefined => {
  if (Exit.isFailure(exit)) return exitReason(exit)
  return Option.isNone(exit.value) ? `timed out after ${timeoutMs} ms` : undefined
}

/**
 * How many times a column's worker may be lost (timed out and stopped, crashed) before the
 * column gives up; after each loss but the last a new worker loads the plugin and goes on with
 * the next sample.
 */
export const MAX_WORKER_LOSSES = 2

/**
 * Time allowed to start a worker and import the plugin into it, at least: starting a thread and
 * importing a module tree takes seconds on a busy machine, more than many plugins allow a call.
 */
export const LOAD_TIMEOUT_MS = 60_000

/**
 * In a long-lived worker (thread or process) that loads the plugin once. A sample the plugin
 * fails (throws, a typed error, garbage) ends the column; a sample on which the worker is lost
 * (timeout, crash, exit) is skipped, and a new worker goes on, up to `MAX_WORKER_LOSSES`.
 */
const runIsolated = (loaded: LoadedMetric, inputs: ReadonlyArray<SampleInput>, ctx: MetricContext) =>
  Effect.suspend(() => {
    const { metric, timeoutMs } = loaded
    const kind = loaded.isolation as WorkerKind
    const key = [kind, metric.module, metric.name, JSON.stringify(loaded.encodedConfig)].join("\0")
    let worker: PluginWorker | undefined
    const run = async (signal: AbortSignal): Promise<Outcome> => {
      const samples: Array<ScoredSample> = []
      const failures: Array<string> = []
      let losses = 0
      /** A worker with the plugin loaded, or the reason there is none. */
      const ready = async (): Promise<PluginWorker | string> => {
        if (worker?.alive()) return worker
        // a worker an earlier stage left with the plugin (and its judge) loaded
        worker = unpark(key)
        if (worker !== undefined) return worker
        worker = startWorker(kind)
        const r = await worker.load(
          metric.module!,
          metric.name,
          loaded.encodedConfig,
          Math.max(timeoutMs, LOAD_TIMEOUT_MS)
        )
        if (r.ok) return worker
        return r.gone ? r.reason(" while loading") : r.reason
      }
      if (metric.sample) {
        for (const input of inputs) {
          if (signal.aborted) break
          const w = await ready()
          if (typeof w === "string") {
            failures.push(w)
            break
          }
          const r = await w.sample(input, ctx, timeoutMs)
          if (r.ok) {
            const decoded = decodeSampleScore(r.value)
            if (Result.isSuccess(decoded)) {
              samples.push(scored(input, decoded.success))
              continue
            }
            failures.push(`${decoded.failure}${sampleRef(input)}`)
            break
          }
          if (!r.gone) {
            failures.push(`${r.reason}${sampleRef(input)}`)
            break
          }
          failures.push(r.reason(sampleRef(input)))
          if (++losses >= MAX_WORKER_LOSSES) {
            if (samples.length + failures.length < inputs.length)
              failures.push(`gave up after ${losses} lost workers`)
            break
          }
        }
      }
      let corpus: CorpusScore | undefined
      if (metric.corpus && failures.length === 0 && !signal.aborted) {
        const w = await ready()
        const r = typeof w === "string" ? undefined : await w.corpus(inputs, ctx, timeoutMs)
        if (typeof w === "string") failures.push(w)
        else if (r!.ok) {
          const decoded = decodeCorpusScore(r!.value)
          if (Result.isSuccess(decoded)) corpus = decoded.success
          else failures.push(decoded.failure)
        } else failures.push(r!.gone ? r!.reason(" on the corpus") : `${r!.reason} on the corpus`)
      }
      if (failures.length > 0) return { ok: false, reason: failures.join("; then "), samples }
      return corpus === undefined ? { ok: true, samples } : { ok: true, samples, corpus }
    }
    return Effect.promise(run).pipe(
      Effect.onExit((exit) =>
        Effect.sync(() => {
          if (worker === undefined) return
          if (exit._tag === "Success") park(key, worker)
          else worker.stop()
        })
      )
    )
  })

/** Run one metric over the samples; never fails: a plugin's failure becomes its column's reason. */
export const runMetric = (
  loaded: LoadedMetric,
  inputs: ReadonlyArray<SampleInput>,
  ctx: MetricContext
): Effect.Effect<MetricColumn> =>
  Effect.gen(function* () {
    const started = Date.now()
    const run = loaded.isolation === "in-process" ? runInProcess : runIsolated
    const outcome = yield* run(loaded, inputs, ctx).pipe(
      Effect.catchCause((cause) =>
        Effect.succeed<Outcome>({
          ok: false,
          reason: `host error: ${exitReason(Exit.failCause(cause))}`,
          samples: []
        })
      )
    )
    const { metric } = loaded
    const base = {
      name: metric.name,
      version: metric.version,
      id: loaded.id,
      description: metric.description,
      higherIsBetter: metric.higherIsBetter ?? true,
      durationMs: Date.now() - started
    }
    return outcome.ok
      ? {
          ...base,
          status: "ok" as const,
          samples: outcome.samples,
          ...(outcome.corpus === undefined ? {} : { corpus: outcome.corpus })
        }
      : { ...base, status: "failed" as const, reason: outcome.reason, samples: outcome.samples }
  })

/** Run every metric over the samples (`concurrency` columns at a time, default 2). */
export const runMetrics = (
  loaded: ReadonlyArray<LoadedMetric>,
  inputs: ReadonlyArray<SampleInput>,
  ctx: MetricContext,
  options: { readonly concurrency?: number } = {}
): Effect.Effect<Array<MetricColumn>> =>
  Effect.forEach(loaded, (l) => runMetric(l, inputs, ctx), { concurrency: options.concurrency ?? 2 })
