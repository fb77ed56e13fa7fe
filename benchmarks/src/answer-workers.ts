/**
 * `pnpm bench answer-workers`: the evaluate stage's answers as the stage gives them to worker
 * threads (`answerWorkers`: two workers of half the cores on a machine of two or more; `batchesOf`
 * with that many workers: each token budget's batches a multiple of them, prompts of like length
 * together, longest first) against one process with all the cores and the batches it would get,
 * the anchor. The jobs and params are a profile's from `pipeline.config.ts` (BENCH_PROFILE, default
 * `default`: every BENCH_EVERY-th job of the built-in prompt set); session opening is inside the
 * timing on both sides. Sides alternate, BENCH_RUNS times, medians; the answers of the two sides
 * are compared job by job.
 * Environment: BENCH_PROFILE (default, quick), BENCH_MODEL (the profile's model), BENCH_RUNS (2),
 * BENCH_EVERY (2 for the default profile, 1 for quick).
 */
import { availableParallelism } from "node:os"
import { join } from "node:path"
import { loadConfig, type Profile, paramsFor } from "@hyperwords/core/Config"
import { batchesOf, batchRequest, evaluateDefaults, jobsOf } from "@hyperwords/eval/EvaluateStage"
import { loadPromptSet } from "@hyperwords/eval/PromptSet"
import { answerWorkers, generateBatches } from "@hyperwords/models/BatchWorkers"
import { releaseModel } from "@hyperwords/models/Model"
import { resolveModelDir } from "@hyperwords/models/ModelDir"
import { Effect } from "effect"
import { median, table } from "./table.ts"

const repo = join(import.meta.dirname, "..", "..")

export const answerWorkersOptions = () => {
  const profile = (process.env.BENCH_PROFILE ?? "default") as Profile
  return {
    profile,
    model: process.env.BENCH_MODEL,
    runs: Number(process.env.BENCH_RUNS ?? 2),
    every: Number(process.env.BENCH_EVERY ?? (profile === "quick" ? 1 : 2))
  }
}

/** The profile's evaluate params over the stage's defaults, and its model. */
const profileParams = (profile: Profile) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const { config } = yield* loadConfig(join(repo, "pipeline.config.ts"), { profile, corpus: [] })
      const base =
        typeof config.params === "function" ? config.params({ profile, corpus: [] }) : config.params
      const layers = [base, config.profiles?.[profile]]
      const evaluate = paramsFor("evaluate-base", layers) as Partial<typeof evaluateDefaults> & {
        taskSamples?: Record<string, number>
        taskMaxNewTokens?: Record<string, number>
      }
      return {
        p: { ...evaluateDefaults, ...evaluate },
        model: paramsFor("models", layers).model as string
      }
    })
  )

/** Batch sizes, `3×16 + 10` style. */
const sizes = (batches: ReadonlyArray<ReadonlyArray<unknown>>) => {
  const count = new Map<number, number>()
  for (const b of batches) count.set(b.length, (count.get(b.length) ?? 0) + 1)
  return [...count].map(([size, n]) => (n === 1 ? `${size}` : `${n}×${size}`)).join(" + ")
}

export const answerWorkersSuite = async (o = answerWorkersOptions()): Promise<string> => {
  const { p, model } = await profileParams(o.profile)
  const name = o.model ?? model
  const dir = resolveModelDir(name)
  const pool = answerWorkers()
  if (pool.workers < 2) return `${name}: answerWorkers gives one worker on this machine; nothing to compare`
  const set = await Effect.runPromise(loadPromptSet())
  const all = jobsOf(set, p)
  const jobs = all.filter((_, i) => i % o.every === 0)
  const batched = {
    one: batchesOf(jobs, p.batchSize, 1),
    workers: batchesOf(jobs, p.batchSize, pool.workers)
  }
  const sides = {
    one: { workers: 1, threads: availableParallelism() },
    workers: pool
  } as const
  const times = { one: [] as Array<number>, workers: [] as Array<number> }
  const answers = { one: new Map<string, string>(), workers: new Map<string, string>() }
  let differ = 0
  for (let r = 0; r < o.runs; r++) {
    for (const side of ["one", "workers"] as const) {
      const batches = batched[side]
      const t0 = performance.now()
      const texts = await generateBatches(
        dir,
        batches.map((b) => batchRequest(b, p)),
        sides[side]
      )
      times[side].push((performance.now() - t0) / 1000)
      for (const [i, b] of batches.entries())
        for (const [k, job] of b.entries()) answers[side].set(job.id, texts[i]![k]!)
      await releaseModel(dir)
    }
    differ = Math.max(differ, jobs.filter((j) => answers.one.get(j.id) !== answers.workers.get(j.id)).length)
  }
  const [one, workers] = [median(times.one), median(times.workers)]
  const rows = [
    [
      "what",
      "one process",
      `${pool.workers} workers of ${pool.threads} thread(s)`,
      "ratio",
      "answers that differ"
    ],
    [
      `${o.profile} profile: ${jobs.length} answers of ${all.length}; batches ${sizes(batched.one)} against ${sizes(batched.workers)}`,
      `${one.toFixed(1)} s`,
      `${workers.toFixed(1)} s`,
      (workers / one).toFixed(3),
      `${differ} of ${jobs.length}`
    ]
  ]
  return `${name}, ${o.runs} runs (medians; each run: ${times.one.map((t) => t.toFixed(1)).join(", ")} s against ${times.workers.map((t) => t.toFixed(1)).join(", ")} s)\n${table(rows)}`
}
