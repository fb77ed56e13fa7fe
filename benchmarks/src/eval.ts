/**
 * `pnpm bench eval`: scoring throughput of every metric plugin (samples/s, the median of `runs`
 * passes over the stored answers of the last `evaluate` run, each pass in a fresh child process
 * where the plugin runs in one, so model loading is included as a user sees it), and the time of
 * each stage of the pipeline's last run (from the store's run records), in one table.
 */
import { join, resolve } from "node:path"
import { Artifacts } from "@hyperwords/core"
import { loadConfig } from "@hyperwords/core/Config"
import { decodeJsonlFile, decodeValue } from "@hyperwords/core/Decode"
import { lockFileOf, readLock } from "@hyperwords/core/Runner"
import { makeStore } from "@hyperwords/core/Store"
import { pipelineContext } from "@hyperwords/eval/Commands"
import { runMetric } from "@hyperwords/eval/Harness"
import { loadMetric, type MetricEntry } from "@hyperwords/eval/Metric"
import { GenerationRecord, toSampleInput } from "@hyperwords/eval/Scoring"
import associativeBreadth from "@hyperwords/metric-associative-breadth"
import coherence from "@hyperwords/metric-coherence"
import hyperwordUsage from "@hyperwords/metric-hyperword-usage"
import imageability from "@hyperwords/metric-imageability"
import resonance from "@hyperwords/metric-resonance"
import { Effect } from "effect"
import { median, table } from "./table.ts"

const repo = resolve(import.meta.dirname, "..", "..")

/** Options of the suite. */
export interface EvalSuiteOptions {
  readonly runs: number
  /** The evaluate stage whose answers are scored. */
  readonly stage: string
  readonly metrics: ReadonlyArray<MetricEntry>
}

/** From the environment: BENCH_RUNS (default 3), BENCH_EVAL_STAGE (default `evaluate-finetune`). */
export const evalOptions = (): EvalSuiteOptions => ({
  runs: Number(process.env.BENCH_RUNS ?? 3),
  stage: process.env.BENCH_EVAL_STAGE ?? "evaluate-finetune",
  metrics: [associativeBreadth, imageability, resonance, coherence, hyperwordUsage]
})

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

/** The suite's table. */
export const evalSuite = (options: EvalSuiteOptions): Promise<string> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const loaded = yield* loadConfig(join(repo, "pipeline.config.ts"))
      const store = makeStore(loaded.storeDir)
      const lock = yield* readLock(lockFileOf(loaded.file))
      if (lock === undefined) return `no ${lockFileOf(loaded.file)}: run \`pnpm pipeline\` first`
      const hash = lock.stages[options.stage]?.outputs.generations
      if (hash === undefined)
        return `the last pipeline run has no ${options.stage} stage: run \`pnpm pipeline\` first`
      const manifest = yield* store.readArtifact(hash)
      const data = yield* Effect.fromResult(decodeValue(Artifacts.Generations, manifest.data, { file: hash }))
      const file = manifest.files.find((f) => f.path === data.file)!
      const records = yield* decodeJsonlFile(GenerationRecord, store.objectPath(file.sha256))
      const inputs = records.map(toSampleInput)
      const context = yield* pipelineContext(lockFileOf(loaded.file), store)

      const rows: Array<Array<string>> = [["what", "samples", "median time", "samples/s", "runs", "note"]]
      for (const entry of options.metrics) {
        const metric = yield* loadMetric(entry)
        const times: Array<number> = []
        let note = ""
        let scored = 0
        for (let r = 0; r < options.runs; r++) {
          const started = performance.now()
          const column = yield* runMetric(metric, inputs, { seed: 1, ...context })
          times.push(performance.now() - started)
          scored = column.samples.filter((s) => s.score !== null).length
          note =
            column.status === "ok"
              ? `${scored} scored (others n/a), ${metric.isolation}`
              : `FAILED: ${column.reason}`
        }
        const t = median(times)
        rows.push([
          `metric ${metric.metric.name}`,
          String(inputs.length),
          seconds(t),
          (inputs.length / (t / 1000)).toFixed(2),
          String(options.runs),
          note
        ])
      }
      let total = 0
      for (const [stage, entry] of Object.entries(lock.stages)) {
        const record = yield* store.findRun(entry.key)
        const ms = record?.durationMs
        if (ms !== undefined) total += ms
        rows.push([
          `stage ${stage}`,
          "",
          ms === undefined ? "n/a" : seconds(ms),
          "",
          "1",
          record === undefined ? "no run record (restored from another store?)" : `ran ${record.finishedAt}`
        ])
      }
      rows.push([
        `pipeline (profile ${lock.profile})`,
        "",
        seconds(total),
        "",
        "1",
        "sum of the stages' last runs"
      ])
      return `answers of ${options.stage} (${hash.slice(0, 12)}; judge ${context.model ?? "none"})\n\n${table(rows)}`
    }).pipe(Effect.catch((e) => Effect.succeed(`error: ${(e as Error).message ?? String(e)}`)))
  )
