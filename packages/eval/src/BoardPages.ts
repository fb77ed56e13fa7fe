/**
 * The files the report stage writes beside the board besides the board itself: each tuned row's
 * comparison page with its base (this run's as `compare-<stage>.html`, earlier runs' as
 * `compare/<EvalRun hash12>.html`) and the per-sample scores behind every row's cells
 * (`samples/<EvalRun hash12>.json`).
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { renderComparePage } from "./ComparePage.ts"
import { comparePairs } from "./ComparePairs.ts"
import type { LeaderboardData } from "./Leaderboard.ts"
import { renderHtml } from "./LeaderboardPage.ts"
import type { LoadedRun } from "./ReportStage.ts"

/** A row of the board as one side of a comparison page. */
export interface PageSide {
  readonly run: LoadedRun
  readonly name: string
  readonly probe?: string | undefined
}

/**
 * Each tuned row's comparison with its base (`ComparePage.ts`), written beside the board: this
 * run's as `compare-<stage>.html`, earlier runs' as `compare/<EvalRun hash12>.html`; the board's
 * index.html is written again with a link from each row to its page. Returns the links by row name.
 */
export const writeBaseComparisons = (
  dir: string,
  pairs: ReadonlyArray<{ readonly base: PageSide; readonly tuned: PageSide; readonly file: string }>,
  data: LeaderboardData
) => {
  const links: Record<string, string> = {}
  const side = (s: PageSide) => ({
    name: s.name,
    model: s.run.run.model,
    stage: s.run.stage,
    metrics: s.run.run.metrics,
    rows: s.run.rows,
    answers: s.run.generations,
    ...(s.probe === undefined ? {} : { probeReport: s.probe })
  })
  for (const { base, tuned, file } of pairs) {
    const page = comparePairs(side(base), side(tuned), { generatedAt: data.generatedAt })
    mkdirSync(join(dir, file, ".."), { recursive: true })
    writeFileSync(join(dir, file), renderComparePage(page))
    links[page.b.name] = file
  }
  writeFileSync(join(dir, "index.html"), renderHtml(data, { compare: links }))
  return links
}

/** The per-sample scores of a row, beside the board: `samples/<EvalRun hash12>.json`. */
export const samplesFileOf = (evalRun: string): string => `samples/${evalRun.slice(0, 12)}.json`

/** Write each row's per-sample scores (`samplesFileOf`), by EvalRun hash. */
export const writeSamples = (dir: string, samples: ReadonlyMap<string, LoadedRun>): void => {
  for (const [evalRun, r] of samples) {
    mkdirSync(join(dir, "samples"), { recursive: true })
    const doc = { evalRun, stage: r.stage, model: r.run.model, metrics: r.run.metrics, samples: r.rows }
    writeFileSync(join(dir, samplesFileOf(evalRun)), `${JSON.stringify(doc, null, 2)}\n`)
  }
}
