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
import type { RowProvenance } from "./BoardHistory.ts"
import type { ValidationCard } from "./Card.ts"
import { armOf, compareRow, experimentOf } from "./Comparisons.ts"
import { findingsOf } from "./Findings.ts"
import { renderHtml, renderMarkdown } from "./LeaderboardPage.ts"
import type { MetricSummary, SampleScores } from "./Scoring.ts"
import { type SeedGroup, seedGroups } from "./SeedGroups.ts"
import { type BootstrapOptions, clusteredBootstrapMean } from "./Stats.ts"
import { metricScores } from "./Tables.ts"

export { formatNumber, renderHtml, renderMarkdown } from "./LeaderboardPage.ts"

/** The arm of the experiment a version is. */
export type Arm = "base" | "hyperwords" | "control" | "placebo" | "superwords"

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
  /** Tokens per byte of the held-out text under the version's tokenizer, and its base's. */
  readonly tokensPerByte?: number
  readonly baseTokensPerByte?: number
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
  /** The untouched base model this version descends from, by its row name (`Bases.ts`; itself for a base). */
  readonly baseModel?: string
  /** Where the row came from: this run or an earlier one, date, commit, key, hashes, config (`BoardHistory.ts`). */
  readonly provenance?: RowProvenance
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
  /**
   * The metric's computed validation card for each judge the rows were scored with (`Card.ts`,
   * written by `pnpm validate`); a judge with no card has none here and shows "not validated".
   */
  readonly validation?: ReadonlyArray<MetricValidation>
}

/** A metric's card for one judge, as the leaderboard shows it. */
export interface MetricValidation {
  /** The judge model (its registered name), or "unknown" for runs that do not say. */
  readonly judge: string
  /** The card file, relative to the repository, when there is one. */
  readonly file?: string
  readonly card?: ValidationCard
}

/** Input of the leaderboard. */
export interface LeaderboardInput extends BootstrapOptions {
  readonly title?: string
  readonly generatedAt?: string
  readonly entries: ReadonlyArray<LeaderboardEntry>
  readonly metrics?: ReadonlyArray<MetricInfo>
  /** The judges the runs were scored with: one, so scores compare across base models. */
  readonly judges?: ReadonlyArray<string>
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
  /** Whether the change is in the metric's good direction (null when tied). */
  readonly better: boolean | null
  /** Within noise: Holm-adjusted p ≥ 0.05 (see `Comparisons.isTied`); no direction is claimed. */
  readonly tied: boolean
  /** SD over the shared prompts of the per-prompt differences (the MDE's input). */
  readonly sd: number
  /**
   * Minimum detectable effect: the |Δ| this many prompts find with 80% power at α 0.05 over the
   * metrics of the comparison (`Stats.minimumDetectableEffect`); null when no effect can be
   * detected with this many prompts.
   */
  readonly mde: number | null
}

/** A cell: a metric's result for one model version. */
export type Cell =
  | {
      readonly status: "ok"
      readonly mean: number | null
      /**
       * The interval: from the per-answer rows when the board has them, a two-stage bootstrap
       * over prompts and then answers within them (`Stats.clusteredBootstrapMean`); otherwise
       * the one the evaluation stored.
       */
      readonly ci: readonly [number, number] | null
      /** Answers with a score. */
      readonly n: number
      /** Prompts those answers come from (when the board has the per-answer rows). */
      readonly prompts?: number
      readonly length?: MetricSummary["length"]
      /**
       * The metric's random-word control on the same judge, when its corpus result gives one
       * (`corpus.control`, e.g. associative breadth's random nouns): `above` is the mean minus the
       * control (0 = chance; better in the metric's direction), its interval the mean's and the
       * control's half-widths combined in quadrature (independent samples).
       */
      readonly control?: {
        readonly value: number
        readonly ci?: readonly [number, number]
        readonly above: number
        readonly aboveCi?: readonly [number, number]
      }
      /** The comparison with the base (as in `comparisons`; kept for readers of older boards). */
      readonly delta?: Comparison
      /** Every comparison of the row: its base, then its experiment's controls and placebos. */
      readonly comparisons?: ReadonlyArray<Comparison>
      /** Held-out bits per byte only: the ratio to the base's, how much text, what text. */
      readonly ratio?: { readonly value: number; readonly ci?: readonly [number, number] }
      readonly docs?: number
      readonly source?: string
      /** Held-out bits per byte only: tokens per byte of the text under this version's tokenizer (and its base's). */
      readonly tokensPerByte?: { readonly value: number; readonly base?: number }
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
    readonly validation?: ReadonlyArray<MetricValidation>
  }>
  readonly rows: ReadonlyArray<{
    readonly name: string
    readonly model: { readonly id: string; readonly revision: string }
    readonly base?: string
    readonly arm: Arm
    readonly experiment?: string
    readonly probeReport?: string
    /** The base model the row descends from (`Bases.ts`): the board filters by it. */
    readonly baseModel?: string
    /** Where the row came from (`BoardHistory.ts`): boards before it have none. */
    readonly provenance?: RowProvenance
    readonly cells: Readonly<Record<string, Cell>>
  }>
  /** The judges the rows were scored with (one for a board that compares base models). */
  readonly judges?: ReadonlyArray<string>
  /** What the experiment supports, a sentence per comparison and metric, and per tuned row on held-out text. */
  readonly findings: ReadonlyArray<Finding>
  readonly examples: ReadonlyArray<Example & { readonly model: string }>
  /** Settings trained with several seeds (a sweep over `seed`): their means over the runs (`SeedGroups.ts`). */
  readonly seedGroups?: ReadonlyArray<SeedGroup>
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
        ...(h.tokensPerByte === undefined
          ? {}
          : {
              tokensPerByte: {
                value: h.tokensPerByte,
                ...(h.baseTokensPerByte === undefined ? {} : { base: h.baseTokensPerByte })
              }
            }),
        ...(h.source === undefined ? {} : { source: h.source })
      }

/**
 * A version's mean on a metric with the two-stage interval over prompts and their answers, from
 * its per-answer rows; undefined when the rows do not hold the summary's answers (a board without
 * rows, or a summary made some other way), so the stored interval stays.
 */
const clusteredMean = (
  rows: ReadonlyArray<SampleScores> | undefined,
  s: MetricSummary,
  options: BootstrapOptions
) => {
  if (rows === undefined) return undefined
  const scores = metricScores(rows, s.name).map((x) => ({ cluster: x.item, score: x.score }))
  if (scores.length === 0 || scores.length !== s.n) return undefined
  return clusteredBootstrapMean(scores, options)
}

const finite = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x)
const interval = (x: unknown): readonly [number, number] | undefined =>
  Array.isArray(x) && x.length === 2 && finite(x[0]) && finite(x[1]) ? [x[0], x[1]] : undefined

/**
 * The random-word control of a metric's corpus result (`corpus.control`, with `corpus.controlCi`
 * when given) against the version's mean: `above` = mean − control, its interval from the two
 * half-widths in quadrature (the answers and the random lists are independent samples).
 */
export const controlOf = (
  mean: number | null,
  ci: readonly [number, number] | null,
  corpus: MetricSummary["corpus"]
): NonNullable<Extract<Cell, { status: "ok" }>["control"]> | undefined => {
  const value = corpus?.control
  if (mean === null || !finite(value)) return undefined
  const controlCi = interval(corpus?.controlCi)
  const half = (x: readonly [number, number]) => (x[1] - x[0]) / 2
  const aboveCi: readonly [number, number] | undefined =
    ci === null || controlCi === undefined
      ? undefined
      : (() => {
          const h = Math.hypot(half(ci), half(controlCi))
          const centre = (ci[0] + ci[1]) / 2 - (controlCi[0] + controlCi[1]) / 2
          return [centre - h, centre + h]
        })()
  return {
    value,
    ...(controlCi === undefined ? {} : { ci: controlCi }),
    above: mean - value,
    ...(aboveCi === undefined ? {} : { aboveCi })
  }
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
      ...(i?.validation ? { validation: i.validation } : {})
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
      const clustered = clusteredMean(e.rows, s, input)
      const mean = finiteOrNull(s.mean)
      const ci = clustered?.ci ?? s.ci ?? null
      const control = controlOf(mean, ci, s.corpus)
      cells[name] = {
        status: "ok",
        mean,
        ci,
        n: s.n,
        ...(clustered === undefined ? {} : { prompts: clustered.clusters }),
        ...(control === undefined ? {} : { control }),
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
      ...(e.baseModel === undefined ? {} : { baseModel: e.baseModel }),
      ...(e.provenance === undefined ? {} : { provenance: e.provenance }),
      cells
    }
  })
  const groups = seedGroups(rows, metrics)
  return {
    schemaVersion: 1,
    title: input.title ?? "hyperwords leaderboard",
    generatedAt: input.generatedAt ?? new Date().toISOString(),
    metrics,
    rows,
    ...(input.judges === undefined ? {} : { judges: input.judges }),
    findings: findingsOf(metrics, rows, HELD_OUT_METRIC),
    examples: entries.flatMap((e) => (e.examples ?? []).map((x) => ({ model: e.name, ...x }))),
    ...(groups.length === 0 ? {} : { seedGroups: groups })
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
