/**
 * How long each stage of the last pipeline took: the stages `pipeline.lock.json` names, each with
 * the duration its run record kept (a restored stage keeps the time of the run that made it), as a
 * Markdown table with the total — what `hyperwords store times` prints and the README quotes.
 */
import { formatSeconds } from "./Progress.ts"

/** One stage's line: its id, when its run started, and how long it took (none: no run record). */
export interface StageTime {
  readonly stage: string
  readonly startedAt?: string
  readonly durationMs?: number
  /** `ran` in the last pipeline, or `restored` from an earlier run. */
  readonly status: string
}

/** The table: a row per stage in pipeline order, then the total of the stages with a record. */
export const stageTimesTable = (rows: ReadonlyArray<StageTime>, profile?: string): string => {
  const known = rows.filter((r) => r.durationMs !== undefined)
  const total = known.reduce((s, r) => s + r.durationMs!, 0)
  const cell = (r: StageTime) =>
    r.durationMs === undefined ? "no record" : formatSeconds(r.durationMs / 1000)
  return [
    `| stage${profile === undefined ? "" : ` (${profile} profile)`} | time | last run |`,
    "|---|---:|---|",
    ...rows.map(
      (r) => `| ${r.stage} | ${cell(r)} | ${r.status}${r.startedAt ? ` ${r.startedAt.slice(0, 16)}Z` : ""} |`
    ),
    `| **total** | **${formatSeconds(total / 1000)}** | ${known.length} of ${rows.length} stages |`
  ].join("\n")
}
