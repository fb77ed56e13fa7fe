/**
 * Two evaluated model versions, sample by sample: `hyperwords compare A B` and the report stage's
 * comparison of each row with its base. A sample is one answer (`<promptId>#<k>`): sample k of a
 * prompt has the same id and seed in every version, so the two versions' answers pair by id.
 *
 * **Which samples flipped most.** For every metric both versions scored on a sample, the change
 * is Δ = B − A, and its size is measured as a move in rank: each score is placed among every
 * score of that metric over all samples of A and B together (its mid-rank percentile, 0 to 1),
 * and the shift is B's percentile minus A's. Percentiles make metrics of different scales and
 * shapes comparable (a metric that is 0 for most answers, like hyperword usage, moves by about
 * half when one answer uses a hyperword, not by the tens of SDs a z-score would give), and one
 * outlying score cannot stretch the scale. A sample's flip is its largest |shift| over the
 * metrics; samples are shown by flip, largest first (ties: in the order A answered them), then
 * the samples only one side has, or that no metric scored on both sides.
 */
import type { GenerationRecord, SampleScores } from "./Scoring.ts"

/** What the comparison needs of a metric's aggregate (an `EvalRun`'s `metrics` entry). */
export interface CompareMetric {
  readonly name: string
  readonly status?: "ok" | "failed"
  readonly higherIsBetter?: boolean
}

/** One side of a comparison: a stored evaluate run with its answers and per-sample scores. */
export interface CompareSide {
  /** The version's name (a leaderboard row). */
  readonly name: string
  readonly model: { readonly id: string; readonly revision: string }
  /** The evaluate stage, its key and the artifacts, when the run came from the store. */
  readonly stage?: string
  readonly key?: string
  readonly scores?: string
  readonly generations?: string
  readonly createdAt?: string
  /** Link to the version's probe report (relative path or http(s) URL). */
  readonly probeReport?: string
  /** What the probe link is, e.g. `probe report` or `probe report (as the base of finetune)`. */
  readonly probeLabel?: string
  readonly metrics: ReadonlyArray<CompareMetric>
  readonly rows: ReadonlyArray<SampleScores>
  readonly answers: ReadonlyArray<GenerationRecord>
}

/** One metric on one paired sample. */
export interface MetricPair {
  readonly metric: string
  readonly a: number | null
  readonly b: number | null
  /** B − A, when both scored it. */
  readonly delta: number | null
  /** B's percentile of the metric minus A's (see the module comment); null without Δ. */
  readonly shift: number | null
  /** Whether B is better than A on it (null: equal, or not scored on both sides). */
  readonly better: boolean | null
}

/** One sample of both versions. */
export interface SamplePair {
  readonly id: string
  /** The page's element id, `sample-…` (the permalink is `#` and this). */
  readonly anchor: string
  readonly promptId: string
  readonly prompt?: string
  readonly task?: string
  readonly lang?: string
  readonly request?: string
  readonly a?: string
  readonly b?: string
  readonly metrics: ReadonlyArray<MetricPair>
  /** The largest |shift| over the metrics; null when none was scored on both sides. */
  readonly flip: number | null
  /** The metric that gave the flip. */
  readonly flipMetric?: string
}

/** A metric over the paired samples. */
export interface MetricColumnSummary {
  readonly name: string
  readonly higherIsBetter: boolean
  /** Samples both scored, and the means over them. */
  readonly n: number
  readonly meanA: number | null
  readonly meanB: number | null
  readonly meanDelta: number | null
  /** Paired samples where B is better, where A is. */
  readonly bBetter: number
  readonly aBetter: number
  /** Whether a side's run says the column failed (its scores may be partial). */
  readonly failed: boolean
}

/** The comparison as the page shows it. */
export interface CompareData {
  readonly title: string
  readonly a: CompareSide
  readonly b: CompareSide
  readonly metrics: ReadonlyArray<MetricColumnSummary>
  /** Ordered by flip, largest first. */
  readonly pairs: ReadonlyArray<SamplePair>
  readonly tasks: ReadonlyArray<string>
  readonly langs: ReadonlyArray<string>
  readonly generatedAt: string
}

/** The rule, said once on the page. */
export const FLIP_RULE =
  "Δ is B − A. Shift is the move in rank: B's score's percentile minus A's, among every score of that " +
  "metric over all samples of both versions (mid-rank, 0 to 1). A sample's flip is its largest |shift| over " +
  "the metrics both versions scored on it; samples are shown by flip, largest first, then those only one " +
  "version has."

/** Element ids for sample ids: `sample-` and the id with every other character than [A-Za-z0-9_-] as `-`, made unique. */
export const anchorsOf = (ids: ReadonlyArray<string>): Array<string> => {
  const used = new Set<string>()
  return ids.map((id) => {
    const stem = `sample-${id.replace(/[^A-Za-z0-9_-]/g, "-")}`
    let anchor = stem
    for (let k = 2; used.has(anchor); k++) anchor = `${stem}-${k}`
    used.add(anchor)
    return anchor
  })
}

/** The mid-rank percentile of a value among sorted scores: (below + equal / 2) / n. */
export const percentileOf = (sorted: ReadonlyArray<number>, x: number): number => {
  const bound = (strict: boolean) => {
    let lo = 0
    let hi = sorted.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (strict ? sorted[mid]! < x : sorted[mid]! <= x) lo = mid + 1
      else hi = mid
    }
    return lo
  }
  const below = bound(true)
  return sorted.length === 0 ? 0.5 : (below + (bound(false) - below) / 2) / sorted.length
}

const mean = (xs: ReadonlyArray<number>): number | null =>
  xs.length === 0 ? null : xs.reduce((s, x) => s + x, 0) / xs.length

const score = (row: SampleScores | undefined, metric: string): number | null => {
  const s = row?.scores[metric]
  return typeof s === "number" && Number.isFinite(s) ? s : null
}

/** The metrics of a comparison: A's in its order, then those only B has. */
const metricNames = (a: CompareSide, b: CompareSide): Array<string> => [
  ...new Set([...a.metrics.map((m) => m.name), ...b.metrics.map((m) => m.name)])
]

/** Pair two versions' samples by id, score each pair, and order them by flip. */
export const comparePairs = (
  a: CompareSide,
  b: CompareSide,
  options: { readonly title?: string; readonly generatedAt?: string } = {}
): CompareData => {
  const names = metricNames(a, b)
  const info = (name: string) =>
    a.metrics.find((m) => m.name === name) ?? b.metrics.find((m) => m.name === name)
  const higher = new Map(names.map((n) => [n, info(n)?.higherIsBetter ?? true]))
  const rowsA = new Map(a.rows.map((r) => [r.id, r]))
  const rowsB = new Map(b.rows.map((r) => [r.id, r]))
  const ansA = new Map(a.answers.map((g) => [g.id, g]))
  const ansB = new Map(b.answers.map((g) => [g.id, g]))
  const pooled = new Map(
    names.map((n) => [
      n,
      [...a.rows, ...b.rows]
        .map((r) => score(r, n))
        .filter((x): x is number => x !== null)
        .sort((x, y) => x - y)
    ])
  )
  // every id of A (answers, then scored rows) in its order, then those only B has
  const ids = [
    ...new Set([
      ...a.answers.map((g) => g.id),
      ...a.rows.map((r) => r.id),
      ...b.answers.map((g) => g.id),
      ...b.rows.map((r) => r.id)
    ])
  ]
  const anchors = anchorsOf(ids)
  const pairs = ids.map((id, order): SamplePair & { order: number } => {
    const ga = ansA.get(id)
    const gb = ansB.get(id)
    const g = ga ?? gb
    const metrics = names.map((metric): MetricPair => {
      const x = score(rowsA.get(id), metric)
      const y = score(rowsB.get(id), metric)
      const delta = x === null || y === null ? null : y - x
      const all = pooled.get(metric)!
      return {
        metric,
        a: x,
        b: y,
        delta,
        shift: x === null || y === null ? null : percentileOf(all, y) - percentileOf(all, x),
        better: delta === null || delta === 0 ? null : delta > 0 === higher.get(metric)
      }
    })
    let flip: number | null = null
    let flipMetric: string | undefined
    for (const m of metrics) {
      if (m.delta === null) continue
      const size = Math.abs(m.shift ?? 0)
      if (flip === null || size > flip) {
        flip = size
        flipMetric = m.metric
      }
    }
    const promptId = g?.promptId ?? rowsA.get(id)?.promptId ?? rowsB.get(id)?.promptId ?? id
    return {
      order,
      id,
      anchor: anchors[order]!,
      promptId,
      ...(g?.prompt === undefined ? {} : { prompt: g.prompt }),
      ...(g?.task === undefined ? {} : { task: g.task }),
      ...(g?.lang === undefined ? {} : { lang: g.lang }),
      ...(g?.request === undefined ? {} : { request: g.request }),
      ...(ga === undefined ? {} : { a: ga.text }),
      ...(gb === undefined ? {} : { b: gb.text }),
      metrics,
      flip,
      ...(flipMetric === undefined ? {} : { flipMetric })
    }
  })
  pairs.sort((p, q) => {
    if (p.flip === null || q.flip === null)
      return (p.flip === null ? 1 : 0) - (q.flip === null ? 1 : 0) || p.order - q.order
    return q.flip - p.flip || p.order - q.order
  })
  const failed = (name: string) =>
    [a, b].some((side) => side.metrics.find((m) => m.name === name)?.status === "failed")
  const metrics = names.map((name): MetricColumnSummary => {
    const both = pairs.flatMap((p) => {
      const m = p.metrics.find((x) => x.metric === name)!
      return m.delta === null ? [] : [m]
    })
    return {
      name,
      higherIsBetter: higher.get(name)!,
      n: both.length,
      meanA: mean(both.map((m) => m.a!)),
      meanB: mean(both.map((m) => m.b!)),
      meanDelta: mean(both.map((m) => m.delta!)),
      bBetter: both.filter((m) => m.better === true).length,
      aBetter: both.filter((m) => m.better === false).length,
      failed: failed(name)
    }
  })
  const distinct = (xs: ReadonlyArray<string | undefined>) =>
    [...new Set(xs.filter((x): x is string => x !== undefined))].sort()
  return {
    title: options.title ?? `${a.name} vs ${b.name}`,
    a,
    b,
    metrics,
    pairs: pairs.map(({ order: _, ...p }) => p),
    tasks: distinct(pairs.map((p) => p.task)),
    langs: distinct(pairs.map((p) => p.lang)),
    generatedAt: options.generatedAt ?? new Date().toISOString()
  }
}
