/**
 * `pnpm bench answer-workers`: the evaluate stage's answers in worker threads (`answerWorkers`:
 * two workers of half the cores on a machine of two or more) against the same batches in one
 * process with all the cores, the anchor. The jobs are the default profile's (every
 * BENCH_EVERY-th of the built-in prompt set, three samples, eight for ten-words) in the stage's
 * batches; session opening is inside the timing on both sides. Sides alternate, BENCH_RUNS
 * times, medians; the answers of the two sides are compared one by one.
 * Environment: BENCH_MODEL (default gemma-3-270m), BENCH_RUNS (2), BENCH_EVERY (2).
 */
import { availableParallelism } from "node:os"
import { batchesOf, batchRequest, evaluateDefaults, jobsOf } from "@hyperwords/eval/EvaluateStage"
import { loadPromptSet } from "@hyperwords/eval/PromptSet"
import { answerWorkers, generateBatches } from "@hyperwords/models/BatchWorkers"
import { releaseModel } from "@hyperwords/models/Model"
import { resolveModelDir } from "@hyperwords/models/ModelDir"
import { Effect } from "effect"
import { median, table } from "./table.ts"

export const answerWorkersOptions = () => ({
  model: process.env.BENCH_MODEL ?? "gemma-3-270m",
  runs: Number(process.env.BENCH_RUNS ?? 2),
  every: Number(process.env.BENCH_EVERY ?? 2)
})

export const answerWorkersSuite = async (o = answerWorkersOptions()): Promise<string> => {
  const dir = resolveModelDir(o.model)
  const pool = answerWorkers()
  if (pool.workers < 2)
    return `${o.model}: answerWorkers gives one worker on this machine; nothing to compare`
  const set = await Effect.runPromise(loadPromptSet())
  const p = { ...evaluateDefaults, taskSamples: { "ten-words": 8 } }
  const all = jobsOf(set, p)
  const jobs = all.filter((_, i) => i % o.every === 0)
  const batches = batchesOf(jobs, p.batchSize).map((b) => batchRequest(b, p))
  const sides = {
    one: { workers: 1, threads: availableParallelism() },
    workers: pool
  } as const
  const times = { one: [] as Array<number>, workers: [] as Array<number> }
  const answers: Record<string, Array<string>> = {}
  let differ = 0
  for (let r = 0; r < o.runs; r++) {
    for (const side of ["one", "workers"] as const) {
      const t0 = performance.now()
      answers[side] = (await generateBatches(dir, batches, sides[side])).flat()
      times[side].push((performance.now() - t0) / 1000)
      await releaseModel(dir)
    }
    differ = Math.max(differ, answers.one!.filter((t, i) => t !== answers.workers![i]).length)
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
      `${jobs.length} answers of ${all.length}, ${batches.length} batches of ≤ ${p.batchSize}`,
      `${one.toFixed(1)} s`,
      `${workers.toFixed(1)} s`,
      (workers / one).toFixed(3),
      `${differ} of ${jobs.length}`
    ]
  ]
  return `${o.model}, ${o.runs} runs (medians; each run: ${times.one.map((t) => t.toFixed(1)).join(", ")} s against ${times.workers.map((t) => t.toFixed(1)).join(", ")} s)\n${table(rows)}`
}
