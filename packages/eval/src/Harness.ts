/**
 * The plugin harness: runs each metric over a set of samples with a timeout per call, in process
 * or in a forked Node process, and turns anything a plugin does wrong (throws, fails, hangs,
 * returns garbage, dies) into a failed column with the reason, while the other columns fill.
 */
import { fork } from "node:child_process"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Effect, Exit, Option, Result } from "effect"
import type { ChildEvent, ChildJob } from "./internal/childRunner.ts"
import {
  callPlugin,
  type DecodedScore,
  decodeCorpusScore,
  decodeSampleScore,
  exitReason
} from "./internal/outcome.ts"
import type { CorpusScore, LoadedMetric, MetricContext, SampleInput } from "./Metric.ts"

/** One sample's score in a column. */
export interface ScoredSample {
  readonly id: string
  readonly promptId?: string
  /** `null` when the metric does not apply to this sample. */
  readonly score: number | null
  readonly details?: Readonly<Record<string, unknown>>
}

/** A metric's column: every sample's score, or the reason it failed. */
export interface MetricColumn {
  readonly name: string
  readonly version: string
  /** `name@version#confighash`. */
  readonly id: string
  readonly description: string
  readonly higherIsBetter: boolean
  readonly status: "ok" | "failed"
  readonly reason?: string
  /** Empty when the column failed: a failed plugin contributes no numbers. */
  readonly samples: ReadonlyArray<ScoredSample>
  readonly corpus?: CorpusScore
  readonly durationMs: number
}

type Outcome =
  | { readonly ok: true; readonly samples: Array<ScoredSample>; readonly corpus?: CorpusScore }
  | { readonly ok: false; readonly reason: string }

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

const runInProcess = (loaded: LoadedMetric, inputs: ReadonlyArray<SampleInput>, ctx: MetricContext) =>
  Effect.gen(function* () {
    const { metric, config, timeoutMs } = loaded
    const samples: Array<ScoredSample> = []
    if (metric.sample) {
      for (const input of inputs) {
        const exit = yield* timedCall(() => metric.sample!(input, config, ctx), timeoutMs)
        const reason = callFailure(exit, timeoutMs)
        if (reason) return { ok: false, reason: `${reason}${sampleRef(input)}` } as Outcome
        const value = (exit as Exit.Success<Option.Option<unknown>>).value
        const decoded = decodeSampleScore(Option.getOrUndefined(value))
        if (Result.isFailure(decoded))
          return { ok: false, reason: `${decoded.failure}${sampleRef(input)}` } as Outcome
        samples.push(scored(input, decoded.success))
      }
    }
    if (metric.corpus) {
      const exit = yield* timedCall(() => metric.corpus!(inputs, config, ctx), timeoutMs)
      const reason = callFailure(exit, timeoutMs)
      if (reason) return { ok: false, reason: `${reason} on the corpus` } as Outcome
      const value = Option.getOrUndefined((exit as Exit.Success<Option.Option<unknown>>).value)
      const decoded = decodeCorpusScore(value)
      if (Result.isFailure(decoded)) return { ok: false, reason: decoded.failure } as Outcome
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

const runnerPath = (): string => {
  const ts = fileURLToPath(new URL("./internal/childRunner.ts", import.meta.url))
  return existsSync(ts) ? ts : ts.replace(/\.ts$/, ".js")
}

const TAIL = 600

const runInChild = (loaded: LoadedMetric, inputs: ReadonlyArray<SampleInput>, ctx: MetricContext) =>
  Effect.callback<Outcome>((resume) => {
    const { metric, timeoutMs } = loaded
    const child = fork(runnerPath(), [], {
      execPath: process.execPath,
      execArgv: [],
      serialization: "advanced",
      stdio: ["ignore", "pipe", "pipe", "ipc"]
    })
    let tail = ""
    const keep = (chunk: Buffer) => {
      tail = (tail + chunk.toString("utf8")).slice(-TAIL)
    }
    child.stdout?.on("data", keep)
    child.stderr?.on("data", keep)
    const samples: Array<ScoredSample> = []
    let next = 0
    let settled = false
    let timer: NodeJS.Timeout | undefined
    const where = () => (metric.sample && next < inputs.length ? sampleRef(inputs[next]) : " on the corpus")
    const finish = (outcome: Outcome) => {
      if (settled) return
      settled = true
      if (timer) clearTimeout(timer)
      child.removeAllListeners()
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
      resume(Effect.succeed(outcome))
    }
    const arm = () => {
      if (timer) clearTimeout(timer)
      timer = setTimeout(
        () =>
          finish({ ok: false, reason: `timed out after ${timeoutMs} ms${where()} (child process killed)` }),
        timeoutMs
      )
    }
    let corpus: CorpusScore | undefined
    child.on("message", (event: ChildEvent) => {
      arm()
      switch (event.type) {
        case "loaded":
          return
        case "load-error":
          return finish({ ok: false, reason: `could not be loaded in the child process: ${event.reason}` })
        case "sample": {
          const input = inputs[event.i]!
          if (!event.ok) return finish({ ok: false, reason: `${event.reason}${sampleRef(input)}` })
          const decoded = decodeSampleScore(event.value)
          if (Result.isFailure(decoded))
            return finish({ ok: false, reason: `${decoded.failure}${sampleRef(input)}` })
          samples.push(scored(input, decoded.success))
          next = event.i + 1
          return
        }
        case "corpus": {
          if (!event.ok) return finish({ ok: false, reason: `${event.reason} on the corpus` })
          const decoded = decodeCorpusScore(event.value)
          if (Result.isFailure(decoded)) return finish({ ok: false, reason: decoded.failure })
          corpus = decoded.success
          return
        }
        case "done":
          return finish(corpus === undefined ? { ok: true, samples } : { ok: true, samples, corpus })
      }
    })
    child.on("error", (e) => finish({ ok: false, reason: `child process failed: ${e.message}` }))
    child.on("exit", (code, signal) => {
      const how = signal ? `was killed (${signal})` : `exited with code ${code}`
      const said =
        tail.trim() === "" ? "" : `; its last output: ${tail.trim().split("\n").slice(-3).join(" | ")}`
      finish({ ok: false, reason: `child process ${how}${where()}${said}` })
    })
    const job: ChildJob = {
      type: "run",
      module: metric.module!,
      name: metric.name,
      config: loaded.encodedConfig,
      inputs,
      ctx
    }
    arm()
    child.send(job)
    return Effect.sync(() => finish({ ok: false, reason: "interrupted" }))
  })

/** Run one metric over the samples; never fails: a plugin's failure becomes its column's reason. */
export const runMetric = (
  loaded: LoadedMetric,
  inputs: ReadonlyArray<SampleInput>,
  ctx: MetricContext
): Effect.Effect<MetricColumn> =>
  Effect.gen(function* () {
    const started = Date.now()
    const run = loaded.isolation === "child-process" ? runInChild : runInProcess
    const outcome = yield* run(loaded, inputs, ctx).pipe(
      Effect.catchCause((cause) =>
        Effect.succeed<Outcome>({ ok: false, reason: `host error: ${exitReason(Exit.failCause(cause))}` })
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
      : { ...base, status: "failed" as const, reason: outcome.reason, samples: [] }
  })

/** Run every metric over the samples (`concurrency` columns at a time, default 2). */
export const runMetrics = (
  loaded: ReadonlyArray<LoadedMetric>,
  inputs: ReadonlyArray<SampleInput>,
  ctx: MetricContext,
  options: { readonly concurrency?: number } = {}
): Effect.Effect<Array<MetricColumn>> =>
  Effect.forEach(loaded, (l) => runMetric(l, inputs, ctx), { concurrency: options.concurrency ?? 2 })
