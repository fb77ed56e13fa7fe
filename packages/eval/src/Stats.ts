/**
 * The statistics of evaluation: means with percentile-bootstrap confidence intervals, paired
 * bootstrap of the difference between a model version and its base on the same prompts, and
 * length control. Every resampling draws from a seeded generator, so a report is reproducible.
 */

import { mulberry32 } from "@hyperwords/core/Random"

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

/** The paired difference of a version against its base. */
export interface PairedDelta {
  /** Mean of (version − base) over shared items. */
  readonly delta: number
  readonly ci: readonly [number, number]
  /** Two-sided bootstrap p-value of "no difference". */
  readonly p: number
  /** Number of shared items. */
  readonly n: number
}

/**
 * Paired bootstrap of the mean difference between two score sets on the items (prompt ids) they
 * share. Scores of several samples of one prompt are averaged first, so the prompt is the unit
 * that is resampled. The interval is the bootstrap's; the p-value is a paired sign-flip
 * (randomisation) test of "no difference", exact over all 2^n sign patterns for up to 20 items,
 * else (1 + #{|mean of sign-flipped d| ≥ |d̄|}) / (B + 1) over B random patterns. A bootstrap
 * p-value would be 1/(B + 1) for a single prompt, whose resamples are all the same point.
 */
export const pairedBootstrap = (
  version: ReadonlyArray<{ readonly item: string; readonly score: number }>,
  base: ReadonlyArray<{ readonly item: string; readonly score: number }>,
  options: BootstrapOptions = {}
): PairedDelta => {
  const a = meanByItem(version)
  const b = meanByItem(base)
  const diffs: Array<number> = []
  for (const [item, v] of [...a.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
    const w = b.get(item)
    if (w !== undefined) diffs.push(v - w)
  }
  if (diffs.length === 0) return { delta: Number.NaN, ci: [Number.NaN, Number.NaN], p: Number.NaN, n: 0 }
  const d = mean(diffs)
  const boots = bootstrapMeans(diffs, options)
  const alpha = 1 - (options.level ?? 0.95)
  return {
    delta: d,
    ci: [quantileSorted(boots, alpha / 2), quantileSorted(boots, 1 - alpha / 2)],
    p: signFlipP(diffs, options),
    n: diffs.length
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

const meanByItem = (
  scores: ReadonlyArray<{ readonly item: string; readonly score: number }>
): Map<string, number> => {
  const sums = new Map<string, { s: number; n: number }>()
  for (const { item, score } of scores) {
    const e = sums.get(item) ?? { s: 0, n: 0 }
    e.s += score
    e.n++
    sums.set(item, e)
  }
  return new Map([...sums].map(([k, e]) => [k, e.s / e.n]))
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
