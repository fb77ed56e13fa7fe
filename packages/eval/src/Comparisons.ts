/**
 * Which rows of the leaderboard are compared with which, and the comparisons themselves.
 *
 * A hyperwords version (the one under test) is compared with its base and with every control and
 * placebo of its experiment that was tuned from the same base; a control or placebo only with
 * its base; the base with nothing. Each comparison is paired by prompt (the versions answered the
 * same prompts with the same seeds): the mean difference with its bootstrap interval and a
 * sign-flip p-value per metric. The p-values of one comparison (one row against one other, over
 * all its metrics) are Holm-adjusted together, and the significance mark reads the adjusted one.
 *
 * A difference is within noise — **tied**, no direction claimed — when its Holm-adjusted p is
 * at least 0.05 (`isTied`). The rule is the test rather than "the interval holds 0" because the
 * sign-flip test is exact at the prompt level for any number of prompts (no normality, no
 * large-sample approximation) and Holm keeps the chance of calling any metric of a comparison
 * different when none is at 5%; the percentile interval is approximate (loose with few prompts)
 * and not adjusted for the several metrics, so it is shown as the size of the difference, not
 * used for the verdict. Each comparison also states its minimum detectable effect
 * (`Stats.minimumDetectableEffect` with the family's size as `tests`).
 */
import type { Arm, Comparison, LeaderboardEntry } from "./Leaderboard.ts"
import {
  type BootstrapOptions,
  holm,
  minimumDetectableEffect,
  pairedBootstrap,
  significanceMark
} from "./Stats.ts"
import { metricScores } from "./Tables.ts"

/** The family-wise level: a Holm-adjusted p below it is a detected difference. */
export const ALPHA = 0.05

/** Whether a difference is within noise: its Holm-adjusted p is not below `ALPHA` (or is not a number). */
export const isTied = (pHolm: number): boolean => !(pHolm < ALPHA)

/** The arm of an entry: its own, else (a board from before arms) `hyperwords` if it has a base, `base` if not. */
export const armOf = (e: LeaderboardEntry): Arm => e.arm ?? (e.base === undefined ? "base" : "hyperwords")

/** The experiment an entry belongs to: its own, else its name for a hyperwords version (none for the rest). */
export const experimentOf = (e: LeaderboardEntry): string | undefined =>
  e.experiment ?? (armOf(e) === "hyperwords" ? e.name : undefined)

/**
 * The entries a row is compared with, in order: its base first, then (for a hyperwords version)
 * the controls and then the placebos of its experiment with the same base; a superwords version
 * (the control's text read with superword tokens) with its base and the controls.
 */
export const comparisonTargets = (
  e: LeaderboardEntry,
  entries: ReadonlyArray<LeaderboardEntry>
): Array<LeaderboardEntry> => {
  const arm = armOf(e)
  if (arm === "base") return []
  const base = e.base === undefined ? undefined : entries.find((o) => o.name === e.base && o !== e)
  const out = base === undefined ? [] : [base]
  if (arm !== "hyperwords" && arm !== "superwords") return out
  for (const kind of arm === "superwords" ? (["control"] as const) : (["control", "placebo"] as const)) {
    for (const o of entries) {
      if (o !== e && armOf(o) === kind && experimentOf(o) === experimentOf(e) && o.base === e.base)
        out.push(o)
    }
  }
  return out
}

/**
 * A row's comparisons with each of its targets, by metric: only metrics both sides scored
 * (status ok, per-sample rows, at least one shared prompt). Holm runs over the metrics of each
 * target separately.
 */
export const compareRow = (
  e: LeaderboardEntry,
  entries: ReadonlyArray<LeaderboardEntry>,
  metrics: ReadonlyArray<{ readonly name: string; readonly higherIsBetter: boolean }>,
  options: BootstrapOptions
): Map<string, Array<Comparison>> => {
  const out = new Map<string, Array<Comparison>>()
  if (e.rows === undefined) return out
  for (const target of comparisonTargets(e, entries)) {
    if (target.rows === undefined) continue
    const raw = metrics.flatMap((m) => {
      const mine = e.summaries.find((s) => s.name === m.name)
      const theirs = target.summaries.find((s) => s.name === m.name)
      if (mine?.status !== "ok" || theirs?.status !== "ok") return []
      const d = pairedBootstrap(metricScores(e.rows!, m.name), metricScores(target.rows!, m.name), options)
      return d.n > 0 ? [{ metric: m, d }] : []
    })
    const adjusted = holm(raw.map((r) => r.d.p))
    raw.forEach(({ metric, d }, i) => {
      const pHolm = adjusted[i]!
      const tied = isTied(pHolm)
      const mark = tied ? "" : significanceMark(pHolm)
      const mde = minimumDetectableEffect(d.sd, d.n, {
        alpha: ALPHA,
        tests: raw.length,
        ...(options.resamples === undefined ? {} : { resamples: options.resamples })
      })
      const comparison: Comparison = {
        vs: target.name,
        vsArm: armOf(target),
        delta: d.delta,
        ci: d.ci,
        p: d.p,
        pHolm,
        n: d.n,
        mark,
        better: tied ? null : d.delta > 0 === metric.higherIsBetter,
        tied,
        sd: d.sd,
        mde: Number.isFinite(mde) ? mde : null
      }
      out.set(metric.name, [...(out.get(metric.name) ?? []), comparison])
    })
  }
  return out
}
