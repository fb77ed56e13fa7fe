/**
 * The leaderboard's summary as the README shows it, computed from `leaderboard.json` (never typed
 * in): a row per version with each metric's mean, interval and number of answers, the held-out
 * poetry bits per byte with the ratio to the base, then what the experiment supports — every
 * comparison of a tuned version with its controls, every held-out verdict, and any comparison
 * with the base where a difference was detected. `hyperwords readme` writes it into the README's
 * `<!-- generated:board -->` block.
 */
import { decodeJsonText, readText } from "@hyperwords/core/Decode"
import type { DecodeError } from "@hyperwords/core/Errors"
import { escapeMarkdown as md } from "@hyperwords/core/Html"
import { Effect, Schema } from "effect"
import { type Cell, HELD_OUT_METRIC, type LeaderboardData } from "./Leaderboard.ts"
import { formatNumber } from "./LeaderboardPage.ts"

const interval = (ci: readonly [number, number] | null | undefined): string =>
  ci ? ` [${formatNumber(ci[0])}, ${formatNumber(ci[1])}]` : ""

const metricCell = (c: Cell | undefined): string => {
  if (c === undefined || c.status === "missing") return "–"
  if (c.status === "failed") return "failed"
  const chance = c.control ? `; ${formatNumber(c.control.above)} above chance` : ""
  return `${formatNumber(c.mean)}${interval(c.ci)} (n ${c.n}${chance})`
}

const heldOutCells = (c: Cell | undefined): [string, string] => {
  if (c === undefined || c.status !== "ok") return [c?.status === "failed" ? "failed" : "–", "–"]
  const docs = c.docs === undefined ? "" : ` (${c.docs} docs)`
  return [
    `${formatNumber(c.mean)}${interval(c.ci)}${docs}`,
    c.ratio ? `${formatNumber(c.ratio.value)}${interval(c.ratio.ci)}` : "–"
  ]
}

/** The README's summary of a leaderboard, as Markdown. */
export const readmeBoard = (
  data: LeaderboardData,
  source = "reports/leaderboard/leaderboard.json"
): string => {
  const metrics = data.metrics.filter((m) => m.name !== HELD_OUT_METRIC)
  const heldOut = data.metrics.some((m) => m.name === HELD_OUT_METRIC)
  const header = [
    "version",
    "arm",
    ...metrics.map((m) => `${md(m.label ?? m.name)} ${m.higherIsBetter ? "↑" : "↓"}`),
    ...(heldOut ? ["held-out poetry bpb ↓", "ratio to base"] : [])
  ]
  // the run the README describes: the board's earlier runs' rows (`BoardHistory.ts`) stay on the board
  const current = data.rows.filter((r) => r.provenance?.run !== "earlier")
  const currentNames = new Set(current.map((r) => r.name))
  const rows = current.map((r) => [
    md(r.name),
    md(r.arm),
    ...metrics.map((m) => metricCell(r.cells[m.name])),
    ...(heldOut ? heldOutCells(r.cells[HELD_OUT_METRIC]) : [])
  ])
  const armOf = new Map(data.rows.map((r) => [r.name, r.arm]))
  const shown = data.findings.filter(
    (f) =>
      (f.row === undefined || currentNames.has(f.row)) &&
      (f.supported || f.metric === HELD_OUT_METRIC || armOf.get(f.vs) !== "base")
  )
  const line = (cells: ReadonlyArray<string>) => `| ${cells.join(" | ")} |`
  return [
    `Computed from \`${md(source)}\` (generated ${md(data.generatedAt)}) by \`pnpm hyperwords readme\`; ` +
      "means with 95% intervals that resample prompts, then answers; n answers scored.",
    "",
    line(header),
    line(header.map(() => "---")),
    ...rows.map(line),
    "",
    ...(shown.length === 0
      ? []
      : [
          "What it supports (comparisons paired over prompts, Holm over the metrics of each comparison; " +
            "comparisons with the base are listed where a difference was detected):",
          "",
          ...shown.map((f) => `- ${md(f.text)}`)
        ])
  ].join("\n")
}

/** The shape `readmeBoard` reads: enough to refuse a file that is not a leaderboard, naming it. */
const BoardShape = Schema.Struct({
  schemaVersion: Schema.Literal(1),
  generatedAt: Schema.String,
  metrics: Schema.Array(Schema.Struct({ name: Schema.String, higherIsBetter: Schema.Boolean })),
  rows: Schema.Array(Schema.Struct({ name: Schema.String, arm: Schema.String })),
  findings: Schema.Array(Schema.Struct({ text: Schema.String }))
})

/** A `leaderboard.json`, or a `DecodeError` naming the file (and where in it) when it is not one. */
export const readLeaderboard = (file: string): Effect.Effect<LeaderboardData, DecodeError> =>
  Effect.gen(function* () {
    const text = yield* readText(file)
    yield* Effect.fromResult(decodeJsonText(BoardShape, text, file))
    return JSON.parse(text) as LeaderboardData
  })
