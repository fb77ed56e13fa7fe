/**
 * `pnpm bench tables`: the table computation of the evaluate and report stages on synthetic
 * scores, without models or metric plugins — the evaluate stage's per-metric summaries (bootstrap
 * means, length control) and per-sample rows (`scoreSamples` over kept columns, so no plugin
 * runs), and the report stage's `buildLeaderboard` (clustered means, paired comparisons, Holm).
 * Medians of BENCH_RUNS (default 5) passes at two sizes. `--dump FILE` also writes every result
 * as JSON, to check that a rewrite gives identical figures.
 */
import { writeFileSync } from "node:fs"
import type { MetricColumn } from "@hyperwords/eval/Harness"
import { buildLeaderboard, type LeaderboardEntry } from "@hyperwords/eval/Leaderboard"
import type { LoadedMetric, SampleInput } from "@hyperwords/eval/Metric"
import { type ScoredSet, scoreSamples } from "@hyperwords/eval/Scoring"
import { makeRng } from "@hyperwords/eval/Stats"
import { Effect } from "effect"
import { median, table } from "./table.ts"

const METRICS = ["breadth", "imageability", "resonance", "coherence", "usage"]
const VERSIONS = [
  { name: "base", arm: "base" as const },
  { name: "finetune", arm: "hyperwords" as const },
  { name: "control", arm: "control" as const },
  { name: "placebo", arm: "placebo" as const }
]

/** One size of the synthetic design. */
export interface Size {
  readonly prompts: number
  readonly answers: number
}

const inputsOf = (size: Size, version: number): Array<SampleInput> => {
  const rng = makeRng(1000 + version)
  const out: Array<SampleInput> = []
  for (let p = 0; p < size.prompts; p++)
    for (let a = 0; a < size.answers; a++) {
      const words = 5 + Math.floor(rng() * 40)
      out.push({
        id: `p${p}-s${a}`,
        promptId: `p${p}`,
        text: Array.from({ length: words }, (_, i) => `w${i}`).join(" ")
      })
    }
  return out
}

const columnsOf = (inputs: ReadonlyArray<SampleInput>, version: number): Array<MetricColumn> =>
  METRICS.map((name, m) => {
    const rng = makeRng(7 + 31 * version + m)
    return {
      name,
      version: "1",
      id: `${name}@1#bench`,
      description: "",
      higherIsBetter: m !== 3,
      status: "ok" as const,
      samples: inputs.map((i) => ({
        id: i.id,
        promptId: i.promptId!,
        // some null scores (a metric that does not apply), a length trend on one metric
        score:
          m === 4 && rng() < 0.2 ? null : rng() + 0.05 * version + (m === 1 ? 0.02 * i.text.length ** 0.5 : 0)
      })),
      ...(m === 0 ? { corpus: { score: 0.5, control: 0.4, controlCi: [0.35, 0.45] as const } } : {}),
      durationMs: 0
    }
  })

/** The functions measured (the current ones by default; another copy to compare two versions). */
export interface TablesImpl {
  readonly scoreSamples: typeof scoreSamples
  readonly buildLeaderboard: typeof buildLeaderboard
}
const current: TablesImpl = { scoreSamples, buildLeaderboard }

/** The evaluate stage's table computation for four versions. */
export const evaluate = (size: Size, impl: TablesImpl = current): Array<ScoredSet> =>
  VERSIONS.map((_, v) => {
    const inputs = inputsOf(size, v)
    const keep = columnsOf(inputs, v)
    // the metrics are only looked up by id: every column is kept, so no plugin runs
    const metrics = keep.map((c) => ({ id: c.id }) as unknown as LoadedMetric)
    return Effect.runSync(impl.scoreSamples(inputs, metrics, { keep, resamples: 2000, seed: 1 }))
  })

/** The report stage's table computation over the four versions. */
export const report = (sets: ReadonlyArray<ScoredSet>, impl: TablesImpl = current) =>
  impl.buildLeaderboard({
    entries: VERSIONS.map(
      (v, i): LeaderboardEntry => ({
        name: v.name,
        model: { id: "bench", revision: "0" },
        arm: v.arm,
        ...(v.arm === "base" ? {} : { base: "base", experiment: "finetune" }),
        summaries: sets[i]!.summaries,
        rows: sets[i]!.rows
      })
    ),
    resamples: 2000,
    seed: 1,
    generatedAt: "2026-01-01T00:00:00.000Z"
  })

/** Milliseconds a call takes. */
export const time = (f: () => unknown): number => {
  const t = performance.now()
  f()
  return performance.now() - t
}

/** The suite's table (and the results, for `--dump`). */
export const tablesSuite = (options: { readonly runs: number; readonly dump?: string }): Promise<string> => {
  const sizes: Array<Size> = [
    { prompts: 34, answers: 3 },
    { prompts: 200, answers: 5 }
  ]
  const rows: Array<Array<string>> = [["stage computation", "samples per version", "median ms", "runs"]]
  const dump: Array<unknown> = []
  for (const size of sizes) {
    const samples = String(size.prompts * size.answers)
    const sets = evaluate(size)
    const board = report(sets)
    dump.push({ size, sets: sets.map((s) => ({ summaries: s.summaries, rows: s.rows })), board })
    const ev: Array<number> = []
    const rep: Array<number> = []
    for (let r = 0; r < options.runs; r++) {
      ev.push(time(() => evaluate(size)))
      rep.push(time(() => report(sets)))
    }
    rows.push(["evaluate (4 versions × 5 metrics)", samples, median(ev).toFixed(1), String(options.runs)])
    rows.push(["report (buildLeaderboard)", samples, median(rep).toFixed(1), String(options.runs)])
  }
  if (options.dump !== undefined) writeFileSync(options.dump, `${JSON.stringify(dump, null, 1)}\n`)
  return Promise.resolve(table(rows))
}

if (import.meta.main) {
  const i = process.argv.indexOf("--dump")
  const dump = i >= 0 ? process.argv[i + 1] : undefined
  console.log(
    await tablesSuite({ runs: Number(process.env.BENCH_RUNS ?? 5), ...(dump === undefined ? {} : { dump }) })
  )
}
