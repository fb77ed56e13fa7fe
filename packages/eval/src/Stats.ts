/**
 * The statistics of evaluation: means with percentile-bootstrap confidence intervals, paired
 * bootstrap of the difference between a model version and its base on the same prompts, and
 * length control. Every resampling draws from a seeded generator, so a report is reproducible.
 */

import { mulberry32 } from "@hyperwords/core/Random"
import { groupedByItem, pairedByItem } from "./Tables.ts"

/** A uniform generator on [0, 1) from a 32-bit seed (core's mulberry32). */
export const makeRng = mulberry32

/** Options shared by the bootstrap functions. */
export interface BootstrapOptions {
  /** Number of resamples (default 2000). */
  readonly resamples?: number
  /** Confidence level of the interval (default 0.95). */
  readonly level?: number
  /** Seed of the resampling (default 1). */
  readonly seed?: number
}

/** The arithmetic mean (NaN for no values). */
export const mean = (values: ReadonlyArray<number>): number => {
  if (values.length === 0) return Number.NaN
  let s = 0
  for (const v of values) s += v
  return s / values.length
}

/** The sample standard deviation (n − 1). */
export const sd = (values: ReadonlyArray<number>): number => {
  if (values.length < 2) return 0
  const m = mean(values)
  let s = 0
  for (const v of values) s += (v - m) ** 2
  return Math.sqrt(s / (values.length - 1))
}

/** The q-quantile of sorted values, interpolated between order statistics (R type 7). */
export const quantileSorted = (sorted: ArrayLike<number>, q: number): number => {
  if (sorted.length === 0) return Number.NaN
  const h = (sorted.length - 1) * q
  const lo = Math.floor(h)
  const hi = Math.ceil(h)
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!)
}

const bootstrapMeans = (values: ReadonlyArray<number>, options: BootstrapOptions): Float64Array => {
  const b = options.resamples ?? 2000
  const rng = makeRng(options.seed ?? 1)
  const n = values.length
  const out = new Float64Array(b)
  for (let r = 0; r < b; r++) {
    let s = 0
    for (let i = 0; i < n; i++) s += values[Math.floor(rng() * n)]!
    out[r] = s / n
  }
  return out.sort()
}

/** A mean with its confidence interval. */
export interface MeanCI {
  readonly mean: number
  readonly ci: readonly [number, number]
  readonly n: number
}

/** Mean with a percentile-bootstrap confidence interval. */
export const bootstrapMean = (values: ReadonlyArray<number>, options: BootstrapOptions = {}): MeanCI => {
  const m = mean(values)
  if (values.length === 0) return { mean: Number.NaN, ci: [Number.NaN, Number.NaN], n: 0 }
  const alpha = 1 - (options.level ?? 0.95)
  const boots = bootstrapMeans(values, options)
  return {
    mean: m,
    ci: [quantileSorted(boots, alpha / 2), quantileSorted(boots, 1 - alpha / 2)],
    n: values.length
  }
}

/**
 * An answer's score with the prompt it answers (`cluster`) and, optionally, the answer it is across
 * versions (`unit`: the prompt's sample k, answered with the same seed by every version).
 */
export interface ClusteredScore {
  readonly cluster: string
  readonly score: number
  readonly unit?: string
}

/** A mean over answers with a CI that resamples prompts, then answers within them. */
export interface ClusteredMeanCI extends MeanCI {
  /** Number of prompts (clusters) the answers come from. */
  readonly clusters: number
}

const byKey = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0)

/** The scores grouped by cluster, the clusters in a fixed (sorted) order. */
const groupScores = (scores: ReadonlyArray<ClusteredScore>): Array<Array<number>> =>
  groupedByItem(scores.map((s) => ({ item: s.cluster, score: s.score }))).map((g) => g.map((x) => x.score))

/**
 * The mean over answers with a two-stage (hierarchical) percentile-bootstrap CI: each resample
 * draws as many prompts as there are, with replacement, and then, inside each drawn prompt, as
 * many of its answers as it has, with replacement; the statistic is the mean over the drawn
 * answers (so, like the point value, a prompt weighs by its number of answers). Several answers
 * to one prompt share the prompt's difficulty, so they are not independent: resampling answers
 * as if they were (`bootstrapMean`) gives an interval too narrow by about the design effect
 * √(1 + (m − 1)·ICC). Resampling at both stages errs the other way, slightly: the within-prompt
 * spread enters the spread of the prompt means and is drawn again in the second stage, which
 * widens the interval by about σ²_within / m on the variance (Davison & Hinkley 1997, §3.8);
 * with one answer per prompt it is the ordinary bootstrap of prompts.
 */
export const clusteredBootstrapMean = (
  scores: ReadonlyArray<ClusteredScore>,
  options: BootstrapOptions = {}
): ClusteredMeanCI => {
  const groups = groupScores(scores)
  const m = mean(scores.map((s) => s.score))
  if (scores.length === 0) return { mean: Number.NaN, ci: [Number.NaN, Number.NaN], n: 0, clusters: 0 }
  const b = options.resamples ?? 2000
  const rng = makeRng(options.seed ?? 1)
  const a = groups.length
  const boots = new Float64Array(b)
  for (let r = 0; r < b; r++) {
    let s = 0
    let count = 0
    for (let i = 0; i < a; i++) {
      const g = groups[Math.floor(rng() * a)]!
      for (let j = 0; j < g.length; j++) s += g[Math.floor(rng() * g.length)]!
      count += g.length
    }
    boots[r] = s / count
  }
  boots.sort()
  const alpha = 1 - (options.level ?? 0.95)
  return {
    mean: m,
    ci: [quantileSorted(boots, alpha / 2), quantileSorted(boots, 1 - alpha / 2)],
    n: scores.length,
    clusters: a
  }
}

/** The paired difference of a version against its base. */
export interface PairedDelta {
  /** Mean over shared prompts of (version's mean − base's mean on the prompt). */
  readonly delta: number
  readonly ci: readonly [number, number]
  /** Two-sided sign-flip p-value of "no difference". */
  readonly p: number
  /** Number of shared prompts. */
  readonly n: number
  /**
   * Standard deviation of the per-prompt differences: the between-prompt SD the minimum
   * detectable effect is computed from (0 for fewer than two prompts).
   */
  readonly sd: number
}

/** The answers two versions gave to one prompt. */
interface PromptPair {
  readonly a: Array<number>
  readonly b: Array<number>
  /** Whether `a[j]` and `b[j]` are the same answer unit (the same seed) for every j. */
  readonly paired: boolean
}

const pairOf = (
  a: ReadonlyArray<{ readonly score: number; readonly unit?: string | undefined }>,
  b: ReadonlyArray<{ readonly score: number; readonly unit?: string | undefined }>
): PromptPair => {
  const units = (xs: typeof a) => new Map(xs.map((x) => [x.unit, x.score]))
  const ua = units(a)
  const ub = units(b)
  const paired =
    a.every((x) => x.unit !== undefined) &&
    ua.size === a.length &&
    ub.size === b.length &&
    a.length === b.length &&
    [...ua.keys()].every((u) => ub.has(u))
  if (!paired) return { a: a.map((x) => x.score), b: b.map((x) => x.score), paired }
  const keys = [...ua.keys()].sort((x, y) => byKey(x!, y!))
  return { a: keys.map((u) => ua.get(u)!), b: keys.map((u) => ub.get(u)!), paired }
}

/**
 * Paired comparison of two score sets on the prompts (`item`) they share. The difference of a
 * prompt is the version's mean over its answers minus the base's; `delta` is the mean of these
 * over prompts, so the prompt is the unit, however many answers it has.
 *
 * The interval is the cluster bootstrap of the design: it resamples the shared prompts with
 * replacement, each with its difference of means. A prompt's difference already carries the
 * spread of its answers, so the answers are not drawn again: drawing them a second time (a
 * two-stage bootstrap) adds that spread twice and gave intervals too wide — 98.5% coverage in
 * simulation, and cells marked significant by the test whose interval held 0. Answers to one
 * prompt still count once each in their prompt's mean, paired by seed or not.
 *
 * The p-value is a paired sign-flip (randomisation) test of "no difference" on the per-prompt
 * differences, exact over all 2^n sign patterns for up to 20 prompts, else
 * (1 + #{|mean of sign-flipped d| ≥ |d̄|}) / (B + 1) over B random patterns. It treats prompts as
 * the independent units (answers enter through their prompt's mean), which is what the design
 * makes independent; it is exact in finite samples, with no normality assumed. A bootstrap
 * p-value would be 1/(B + 1) for a single prompt, whose resamples are all the same point.
 */
export const pairedBootstrap = (
  version: ReadonlyArray<{ readonly item: string; readonly score: number; readonly unit?: string }>,
  base: ReadonlyArray<{ readonly item: string; readonly score: number; readonly unit?: string }>,
  options: BootstrapOptions = {}
): PairedDelta => {
  const pairs = pairedByItem(version, base).map((q) => pairOf(q.a, q.b))
  if (pairs.length === 0)
    return { delta: Number.NaN, ci: [Number.NaN, Number.NaN], p: Number.NaN, n: 0, sd: 0 }
  const diffs = pairs.map((q) => mean(q.a) - mean(q.b))
  const d = mean(diffs)
  const n = pairs.length
  const resamples = options.resamples ?? 2000
  const rng = makeRng(options.seed ?? 1)
  const boots = new Float64Array(resamples)
  for (let r = 0; r < resamples; r++) {
    let s = 0
    for (let i = 0; i < n; i++) s += diffs[Math.floor(rng() * n)]!
    boots[r] = s / n
  }
  boots.sort()
  const alpha = 1 - (options.level ?? 0.95)
  return {
    delta: d,
    ci: [quantileSorted(boots, alpha / 2), quantileSorted(boots, 1 - alpha / 2)],
    p: signFlipP(diffs, options),
    n,
    // differences equal in exact arithmetic may differ in the last bits: their SD is 0
    sd: sd(diffs) <= 1e-12 * mean(diffs.map(Math.abs)) ? 0 : sd(diffs)
  }
}

/** Up to this many paired items the sign-flip test enumerates every pattern (2^20 ≈ 1M sums). */
const EXACT_SIGN_FLIP_ITEMS = 20

/** Two-sided p-value of a paired sign-flip test on the differences (see `pairedBootstrap`). */
const signFlipP = (diffs: ReadonlyArray<number>, options: BootstrapOptions): number => {
  const n = diffs.length
  const b = options.resamples ?? 2000
  const observed = Math.abs(diffs.reduce((s, x) => s + x, 0))
  // sums equal in exact arithmetic may differ in the last bits
  const tol = 1e-9 * diffs.reduce((s, x) => s + Math.abs(x), 0)
  const flippedSum = (signs: (i: number) => boolean): number => {
    let s = 0
    for (let i = 0; i < n; i++) s += signs(i) ? -diffs[i]! : diffs[i]!
    return Math.abs(s)
  }
  if (n <= EXACT_SIGN_FLIP_ITEMS) {
    let extreme = 0
    for (let mask = 0; mask < 2 ** n; mask++)
      if (flippedSum((i) => ((mask >> i) & 1) === 1) >= observed - tol) extreme++
    return extreme / 2 ** n
  }
  const rng = makeRng((options.seed ?? 1) + 7919)
  let extreme = 0
  for (let r = 0; r < b; r++) if (flippedSum(() => rng() < 0.5) >= observed - tol) extreme++
  return (1 + extreme) / (b + 1)
}

/** Pearson's correlation (NaN when either side has no variance). */
export const pearson = (x: ReadonlyArray<number>, y: ReadonlyArray<number>): number => {
  const n = Math.min(x.length, y.length)
  if (n < 2) return Number.NaN
  const mx = mean(x.slice(0, n))
  const my = mean(y.slice(0, n))
  let sxy = 0
  let sxx = 0
  let syy = 0
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx
    const dy = y[i]! - my
    sxy += dx * dy
    sxx += dx * dx
    syy += dy * dy
  }
  return sxx === 0 || syy === 0 ? Number.NaN : sxy / Math.sqrt(sxx * syy)
}

/** What length control found for one metric. */
export interface LengthControl {
  /** Pearson r of the score with log length. */
  readonly r: number
  /** Whether |r| exceeded the threshold, so the adjusted scores are the ones to compare. */
  readonly applied: boolean
  /** Slope of the score on log length. */
  readonly slope: number
  /**
   * Scores with the part explained by log length removed, re-centred on the raw mean
   * (equal to the raw scores when not applied).
   */
  readonly adjusted: ReadonlyArray<number>
}

/**
 * Length control: residualise scores on log length when |r| with log length exceeds `threshold`
 * (default 0.3). Both raw and adjusted scores are reported; lengths below 1 count as 1.
 */
export const lengthControl = (
  scores: ReadonlyArray<number>,
  lengths: ReadonlyArray<number>,
  threshold = 0.3
): LengthControl => {
  const logs = lengths.map((l) => Math.log(Math.max(1, l)))
  const r = pearson(scores, logs)
  if (!Number.isFinite(r) || Math.abs(r) <= threshold) {
    return { r, applied: false, slope: 0, adjusted: scores }
  }
  const mx = mean(logs)
  const my = mean(scores)
  let sxy = 0
  let sxx = 0
  for (let i = 0; i < scores.length; i++) {
    sxy += (logs[i]! - mx) * (scores[i]! - my)
    sxx += (logs[i]! - mx) ** 2
  }
  const slope = sxy / sxx
  return { r, applied: true, slope, adjusted: scores.map((s, i) => s - slope * (logs[i]! - mx)) }
}

/** Significance marks for a p-value: `***` < 0.001, `**` < 0.01, `*` < 0.05, else empty. */
export const significanceMark = (p: number): string =>
  !Number.isFinite(p) ? "" : p < 0.001 ? "***" : p < 0.01 ? "**" : p < 0.05 ? "*" : ""

/**
 * Holm's step-down adjustment of p-values for testing several hypotheses at once (here: the
 * metrics of one comparison). The k-th smallest of m p-values is multiplied by m − k + 1, the
 * results are made non-decreasing in that order and capped at 1; rejecting where the adjusted
 * p < α keeps the family-wise error rate at α. Non-finite p-values are not counted in m and
 * stay NaN. The output is in the order of the input.
 */
export const holm = (ps: ReadonlyArray<number>): Array<number> => {
  const order = ps
    .map((p, i) => [p, i] as const)
    .filter(([p]) => Number.isFinite(p))
    .sort((a, b) => a[0] - b[0] || a[1] - b[1])
  const m = order.length
  const out = ps.map(() => Number.NaN)
  let running = 0
  order.forEach(([p, i], k) => {
    running = Math.max(running, Math.min(1, (m - k) * p))
    out[i] = running
  })
  return out
}

/** The smallest two-sided p-value the sign-flip test of `pairedBootstrap` can give with n prompts. */
export const smallestSignFlipP = (n: number, resamples = 2000): number =>
  n < 1 ? 1 : n <= EXACT_SIGN_FLIP_ITEMS ? Math.min(1, 2 / 2 ** n) : 1 / (resamples + 1)

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; about 15 digits). */
const lnGamma = (x: number): number => {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7
  ]
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x)
  const y = x - 1
  let a = c[0]!
  const t = y + 7.5
  for (let i = 1; i < 9; i++) a += c[i]! / (y + i)
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a)
}

/** The continued fraction of the incomplete beta function (modified Lentz). */
const betaFraction = (a: number, b: number, x: number): number => {
  const tiny = 1e-300
  let c = 1
  let d = 1 - ((a + b) * x) / (a + 1)
  if (Math.abs(d) < tiny) d = tiny
  d = 1 / d
  let h = d
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2))
    d = 1 + aa * d
    if (Math.abs(d) < tiny) d = tiny
    c = 1 + aa / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    h *= d * c
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1))
    d = 1 + aa * d
    if (Math.abs(d) < tiny) d = tiny
    c = 1 + aa / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    const delta = d * c
    h *= delta
    if (Math.abs(delta - 1) < 1e-15) break
  }
  return h
}

/** The regularised incomplete beta function I_x(a, b). */
const incompleteBeta = (x: number, a: number, b: number): number => {
  if (x <= 0) return 0
  if (x >= 1) return 1
  const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x))
  return x < (a + 1) / (a + b + 2)
    ? (front * betaFraction(a, b, x)) / a
    : 1 - (front * betaFraction(b, a, 1 - x)) / b
}

/** The CDF of Student's t with `df` degrees of freedom. */
export const studentTCdf = (t: number, df: number): number => {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5)
  return t >= 0 ? 1 - tail : tail
}

/** The q-quantile of Student's t with `df` degrees of freedom (bisection on the CDF to 1e-12). */
export const studentTQuantile = (q: number, df: number): number => {
  if (!(q > 0 && q < 1) || !(df > 0)) return Number.NaN
  if (q === 0.5) return 0
  let lo = -1
  let hi = 1
  while (studentTCdf(lo, df) > q) lo *= 2
  while (studentTCdf(hi, df) < q) hi *= 2
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, Math.abs(lo)); i++) {
    const mid = (lo + hi) / 2
    if (studentTCdf(mid, df) < q) lo = mid
    else hi = mid
  }
  return (lo + hi) / 2
}

/** Options of `minimumDetectableEffect`. */
export interface MdeOptions {
  /** Family-wise level (default 0.05). */
  readonly alpha?: number
  /** Power (default 0.8). */
  readonly power?: number
  /** Hypotheses tested together (the metrics of a Holm family; default 1). */
  readonly tests?: number
  /** Random sign patterns of the sign-flip test when it is not exact (default 2000). */
  readonly resamples?: number
}

/**
 * The minimum detectable effect of a paired comparison over n prompts: the smallest true mean
 * difference the test finds with the given power (80%) at two-sided level α / tests (0.05 over
 * the metrics of a Holm family: Holm's strictest step, so it holds whatever the other metrics
 * do), from `sd`, the SD of the per-prompt differences:
 *
 *     MDE = (t[1 − α / (2·tests), n − 1] + t[power, n − 1]) · sd / √n
 *
 * (the paired t-test's power formula; the sign-flip test has the same power to first order).
 * The prompt is the unit: `sd` is the spread of the prompts' mean differences, which carries
 * the between-prompt spread and the within-prompt spread divided by the answers per prompt, so
 * the clustering is in it and n counts prompts, not answers. Infinite when no p-value the
 * sign-flip test can give with n prompts is below α / tests (e.g. 5 prompts: 2/32 > 0.05).
 */
export const minimumDetectableEffect = (sdDiff: number, n: number, options: MdeOptions = {}): number => {
  const level = (options.alpha ?? 0.05) / Math.max(1, options.tests ?? 1)
  if (n < 2 || smallestSignFlipP(n, options.resamples) >= level) return Number.POSITIVE_INFINITY
  if (!Number.isFinite(sdDiff)) return Number.NaN
  const t = studentTQuantile(1 - level / 2, n - 1) + studentTQuantile(options.power ?? 0.8, n - 1)
  return (t * sdDiff) / Math.sqrt(n)
}

/** Average ranks (ties share the mean of their ranks). */
export const ranks = (values: ReadonlyArray<number>): Array<number> => {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0])
  const out = new Array<number>(values.length)
  for (let i = 0; i < order.length; ) {
    let j = i
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++
    for (let k = i; k <= j; k++) out[order[k]![1]] = (i + j) / 2 + 1
    i = j + 1
  }
  return out
}

/** Spearman's ρ: Pearson's r of the average ranks. */
export const spearman = (x: ReadonlyArray<number>, y: ReadonlyArray<number>): number =>
  pearson(ranks(x), ranks(y))

/** The probability that a positive outscores a negative (ties count half): the AUC. */
export const auc = (positives: ReadonlyArray<number>, negatives: ReadonlyArray<number>): number => {
  const all = [...positives, ...negatives]
  const r = ranks(all)
  let sum = 0
  for (let i = 0; i < positives.length; i++) sum += r[i]!
  const p = positives.length
  return (sum - (p * (p + 1)) / 2) / (p * negatives.length)
}

/** A statistic with its 95% percentile-bootstrap interval over items (seeded). */
export const bootstrapStatistic = <A>(
  items: ReadonlyArray<A>,
  statistic: (sample: ReadonlyArray<A>) => number,
  options: { readonly resamples?: number; readonly seed?: number } = {}
): { readonly value: number; readonly ci: readonly [number, number] } => {
  const rng = makeRng(options.seed ?? 1)
  const b = options.resamples ?? 1000
  const boots: Array<number> = []
  for (let r = 0; r < b; r++) {
    const sample = Array.from({ length: items.length }, () => items[Math.floor(rng() * items.length)]!)
    const v = statistic(sample)
    if (Number.isFinite(v)) boots.push(v)
  }
  boots.sort((a, c) => a - c)
  return {
    value: statistic(items),
    ci: [quantileSorted(boots, 0.025), quantileSorted(boots, 0.975)]
  }
}
