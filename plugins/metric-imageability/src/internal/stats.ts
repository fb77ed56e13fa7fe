/**
 * Statistics the validation needs beyond `@hyperwords/eval/Stats`: rank correlation, AUC, and a
 * seeded percentile bootstrap of any statistic over items.
 */
import { Stats } from "@hyperwords/eval"

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
  Stats.pearson(ranks(x), ranks(y))

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
  const rng = Stats.makeRng(options.seed ?? 1)
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
    ci: [Stats.quantileSorted(boots, 0.025), Stats.quantileSorted(boots, 0.975)]
  }
}
