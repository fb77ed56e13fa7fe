/**
 * The leaderboard: one row per model version, a column per metric (mean with CI, paired
 * comparisons with significance), the sentences of what the experiment supports, links to the
 * probe reports and the metric cards. Rendered (`LeaderboardPage.ts`) as a self-contained
 * `index.html` (inline CSS, SVG and a few lines of JS; no network), `leaderboard.md` and
 * `leaderboard.json`. All text is escaped on the way in.
 *
 * The rows are the arms of a controlled experiment: the untouched `base`, the `hyperwords`
 * version under test, and its `control` (same texts, no added tokens) and `placebo` (as many
 * added tokens, mapped to random n-grams). See `Comparisons.ts` for who is compared with whom,
 * `Findings.ts` for the sentences.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { armOf, compareRow, experimentOf } from "./Comparisons.ts"
import { findingsOf } from "./Findings.ts"
import { renderHtml, renderMarkdown } from "./LeaderboardPage.ts"
import type { MetricCard } from "./Metric.ts"
import type { MetricSummary, SampleScores } from "./Scoring.ts"
import type { BootstrapOptions } from "./Stats.ts"

export { formatNumber, renderHtml, renderMarkdown } from "./LeaderboardPage.ts"

/** The arm of the experiment a version is. */
export type Arm = "base" | "hyperwords" | "control" | "placebo"

/** The column of held-out bits per byte (filled from `LeaderboardEntry.heldOut`). */
export const HELD_OUT_METRIC = "held-out-bpb"

/** Bits per byte on held-out text, as the fine-tune measured it for a version. */
export interface HeldOut {
  readonly bitsPerByte: number
  readonly ci?: readonly [number, number]
  /** The version's bits per byte over its base's (tuned versions only). */
  readonly ratio?: number
  readonly ratioCi?: readonly [number, number]
  readonly docs?: number
  readonly lines?: number
  readonly bytes?: number
  /** What the held-out text is, e.g. `poetry`. */
  readonly source?: string
}

/** A model version's results, as the report stage gathers them from its `EvalRun`. */
export interface LeaderboardEntry {
  /** The model version name (a row). */
  readonly name: string
  readonly model: { readonly id: string; readonly revision: string }
  /** The name of the entry this version is compared with (its base). */
  readonly base?: string
  readonly summaries: ReadonlyArray<MetricSummary>
  /** Per-sample scores: needed for paired deltas against the base. */
  readonly rows?: ReadonlyArray<SampleScores>
  /** Link to the version's probe report (relative path or http(s) URL). */
  readonly probeReport?: string
  /** A few generations to show (poems, living words). */
  readonly examples?: ReadonlyArray<Example>
  /** Its arm (none: `hyperwords` if it has a base, else `base`, as on boards before arms). */
  readonly arm?: Arm
  /** The hyperwords version whose experiment it belongs to (none for a hyperwords version: itself). */
  readonly experiment?: string
  /** Held-out bits per byte: makes the `held-out-bpb` cell unless `summaries` has one. */
  readonly heldOut?: HeldOut
}

/** A generation shown on the page. */
export interface Example {
  readonly prompt?: string
  readonly text: string
  readonly hyperwords?: ReadonlyArray<string>
}

/** What the page says about a metric. */
export interface MetricInfo {
  readonly name: string
  /** The column's heading (default: its name). */
  readonly label?: string
  readonly version?: string
  readonly description?: string
  readonly higherIsBetter?: boolean
  readonly card?: MetricCard
}

/** Input of the leaderboard. */
export interface LeaderboardInput extends BootstrapOptions {
  readonly title?: string
  readonly generatedAt?: string
  readonly entries: ReadonlyArray<LeaderboardEntry>
  readonly metrics?: ReadonlyArray<MetricInfo>
}

/** A paired comparison of a row with another on one metric. */
export interface Comparison {
  /** The row compared with. */
  readonly vs: string
  readonly vsArm: Arm
  /** Mean over shared prompts of (this row − `vs`). */
  readonly delta: number
  readonly ci: readonly [number, number]
  /** Sign-flip p-value of "no difference". */
  readonly p: number
  /** `p` Holm-adjusted over the metrics of this comparison (this row against `vs`). */
  readonly pHolm: number
  /** Shared prompts. */
  readonly n: number
  /** Significance of `pHolm`: `*` < 0.05, `**` < 0.01, `***` < 0.001. */
  readonly mark: string
  /** Whether the change is in the metric's good direction (null when not significant). */
  readonly better: boolean | null
}

/** A cell: a metric's result for one model version. */
export type Cell =
  | {
      readonly status: "ok"
      readonly mean: number | null
      readonly ci: readonly [number, number] | null
      readonly n: number
      readonly length?: MetricSummary["length"]
      /** The comparison with the base (as in `comparisons`; kept for readers of older boards). */
      readonly delta?: Comparison
      /** Every comparison of the row: its base, then its experiment's controls and placebos. */
      readonly comparisons?: ReadonlyArray<Comparison>
      /** Held-out bits per byte only: the ratio to the base's, how much text, what text. */
      readonly ratio?: { readonly value: number; readonly ci?: readonly [number, number] }
      readonly docs?: number
      readonly source?: string
    }
  | { readonly status: "failed"; readonly reason: string }
  | { readonly status: "missing" }

/** A sentence of what the experiment supports, computed from the comparisons. */
export interface Finding {
  /** The hyperwords version whose experiment it is. */
  readonly experiment: string
  /** The row it is about. */
  readonly row: string
  readonly metric: string
  /** The row compared with. */
  readonly vs: string
  readonly text: string
  /** Whether a difference was detected (Holm p < 0.05; for bits per byte, a ratio interval without 1). */
  readonly supported: boolean
  /** Whether the difference is in the good direction (null when none was detected). */
  readonly better: boolean | null
}

/** The leaderboard as data (`leaderboard.json`). */
export interface LeaderboardData {
  readonly schemaVersion: 1
  readonly title: string
  readonly generatedAt: string
  readonly metrics: ReadonlyArray<{
    readonly name: string
    readonly label?: string
    readonly version: string
    readonly description: string
    readonly higherIsBetter: boolean
    readonly card?: MetricCard
  }>
  readonly rows: ReadonlyArray<{
    readonly name: string
    readonly model: { readonly id: string; readonly revision: string }
    readonly base?: string
    readonly arm: Arm
    readonly experiment?: string
    readonly probeReport?: string
    readonly cells: Readonly<Record<string, Cell>>
  }>
  /** What the experiment supports, a sentence per comparison and metric, and per tuned row on held-out text. */
  readonly findings: ReadonlyArray<Finding>
  readonly examples: ReadonlyArray<Example & { readonly model: string }>
}

const finiteOrNull = (x: number | undefined): number | null =>
  x !== undefined && Number.isFinite(x) ? x : null

const heldOutSummary = (h: HeldOut): MetricSummary => ({
  name: HELD_OUT_METRIC,
  version: "1",
  id: `${HELD_OUT_METRIC}@1`,
  status: "ok",
  mean: h.bitsPerByte,
  ...(h.ci === undefined ? {} : { ci: h.ci }),
  n: 1,
  higherIsBetter: false
})

/** An entry with its held-out bits per byte as a summary, unless it has one already. */
const withHeldOut = (e: LeaderboardEntry): LeaderboardEntry =>
  e.heldOut === undefined || e.summaries.some((s) => s.name === HELD_OUT_METRIC)
    ? e
    : { ...e, summaries: [...e.summaries, heldOutSummary(e.heldOut)] }

const heldOutExtras = (h: HeldOut | undefined) =>
  h === undefined
    ? {}
    : {
        ...(h.ratio === undefined || !Number.isFinite(h.ratio)
          ? {}
          : { ratio: { value: h.ratio, ...(h.ratioCi === undefined ? {} : { ci: h.ratioCi }) } }),
        ...(h.docs === undefined ? {} : { docs: h.docs }),
        ...(h.source === undefined ? {} : { source: h.source })
      }

/** Gather the rows, columns, paired comparisons and findings of the leaderboard. */
export const buildLeaderboard = (input: LeaderboardInput): LeaderboardData => {
  const entries = input.entries.map(withHeldOut)
  const info = new Map((input.metrics ?? []).map((m) => [m.name, m]))
  const names: Array<string> = []
  const meta = new Map<string, { version: string; higherIsBetter: boolean }>()
  for (const e of entries) {
    for (const s of e.summaries) {
      if (!meta.has(s.name)) {
        names.push(s.name)
        meta.set(s.name, { version: s.version, higherIsBetter: s.higherIsBetter })
      }
    }
  }
  for (const m of input.metrics ?? []) {
    if (!meta.has(m.name)) {
      names.push(m.name)
      meta.set(m.name, { version: m.version ?? "", higherIsBetter: m.higherIsBetter ?? true })
    }
  }
  const heldOuts = entries.flatMap((e) => (e.heldOut === undefined ? [] : [e.heldOut]))
  const poetry = heldOuts.length > 0 && heldOuts.every((h) => h.source === "poetry")
  const metrics = names.map((name) => {
    const i = info.get(name)
    const m = meta.get(name)!
    const label = i?.label ?? (name === HELD_OUT_METRIC && poetry ? "held-out poetry bpb" : undefined)
    return {
      name,
      ...(label === undefined ? {} : { label }),
      version: m.version || i?.version || "",
      description: i?.description ?? "",
      higherIsBetter: i?.higherIsBetter ?? m.higherIsBetter,
      ...(i?.card ? { card: i.card } : {})
    }
  })
  const rows = entries.map((e) => {
    const comparisons = compareRow(e, entries, metrics, input)
    const cells: Record<string, Cell> = {}
    for (const name of names) {
      const s = e.summaries.find((x) => x.name === name)
      if (s === undefined) {
        cells[name] = { status: "missing" }
        continue
      }
      if (s.status === "failed") {
        cells[name] = { status: "failed", reason: s.reason ?? "failed" }
        continue
      }
      const all = comparisons.get(name) ?? []
      const delta = e.base === undefined ? undefined : all.find((c) => c.vs === e.base)
      cells[name] = {
        status: "ok",
        mean: finiteOrNull(s.mean),
        ci: s.ci ?? null,
        n: s.n,
        ...(s.length ? { length: s.length } : {}),
        ...(delta ? { delta } : {}),
        ...(all.length > 0 ? { comparisons: all } : {}),
        ...(name === HELD_OUT_METRIC ? heldOutExtras(e.heldOut) : {})
      }
    }
    const experiment = experimentOf(e)
    return {
      name: e.name,
      model: e.model,
      ...(e.base === undefined ? {} : { base: e.base }),
      arm: armOf(e),
      ...(experiment === undefined ? {} : { experiment }),
      ...(e.probeReport === undefined ? {} : { probeReport: e.probeReport }),
      cells
    }
  })
  return {
    schemaVersion: 1,
    title: input.title ?? "hyperwords leaderboard",
    generatedAt: input.generatedAt ?? new Date().toISOString(),
    metrics,
    rows,
    findings: findingsOf(metrics, rows, HELD_OUT_METRIC),
    examples: entries.flatMap((e) => (e.examples ?? []).map((x) => ({ model: e.name, ...x })))
  }
}

/** Write `index.html`, `leaderboard.md` and `leaderboard.json` into a folder; returns their paths. */
export const writeLeaderboard = (dir: string, data: LeaderboardData): ReadonlyArray<string> => {
  mkdirSync(dir, { recursive: true })
  const files: Array<[string, string]> = [
    ["index.html", renderHtml(data)],
    ["leaderboard.md", renderMarkdown(data)],
    ["leaderboard.json", `${JSON.stringify(data, null, 2)}\n`]
  ]
  return files.map(([name, text]) => {
    const path = join(dir, name)
    writeFileSync(path, text)
    return path
  })
}
