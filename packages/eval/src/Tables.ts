/**
 * The tables of evaluation on arquero: per-sample scores as a table (one row per scored answer),
 * grouped by prompt, joined across versions by prompt, and looked up by sample id. The numeric
 * kernels (bootstrap, sign-flip, length regression) stay in `Stats.ts` and take the arrays these
 * give them, in the same order as before, so every figure is the same.
 */
import { lazyModule } from "@hyperwords/core/Lazy"
import type * as Arquero from "arquero"
import type { ColumnTable } from "arquero"
import type { SampleScores } from "./Scoring.ts"

/** arquero, loaded at the first table (a start-up that makes none does not load it). */
const aq = lazyModule<typeof Arquero>(() => import.meta.resolve("arquero"))

/** One scored answer: the prompt it answers (`item`), its own id (`unit`) and its score. */
export interface ItemScore {
  readonly item: string
  readonly score: number
  readonly unit?: string
}

/** Scores as a table with columns `row` (the index in `scores`), `item`, `unit` and `score`. */
export const itemTable = (scores: ReadonlyArray<ItemScore>): ColumnTable =>
  aq().table({
    row: scores.map((_, i) => i),
    item: scores.map((s) => s.item),
    unit: scores.map((s) => s.unit),
    score: scores.map((s) => s.score)
  })

/**
 * The answers of each prompt, prompts in sorted order: columns `item` and `rows` (the indices of
 * its answers in `scores`, in the order they came). Indices rather than the scores themselves:
 * arquero's aggregates skip missing values, and a unit may be missing or a score NaN.
 */
export const byItem = (scores: ReadonlyArray<ItemScore>): ColumnTable => {
  // one grouping per score set, however many joins; the groups are read as arquero's partitions
  // (row indices per group) and sorted here, which costs less than compiling a rollup and an orderby
  const cached = grouped.get(scores)
  if (cached !== undefined) return cached
  const parts = itemTable(scores).groupby("item").partitions() as unknown as ReadonlyArray<ArrayLike<number>>
  const groups = parts
    .map((p) => ({ item: scores[p[0]!]!.item, rows: Array.from(p) }))
    .sort((x, y) => (x.item < y.item ? -1 : x.item > y.item ? 1 : 0))
  const t = aq().table({ item: groups.map((g) => g.item), rows: groups.map((g) => g.rows) })
  grouped.set(scores, t)
  return t
}
const grouped = new WeakMap<ReadonlyArray<ItemScore>, ColumnTable>()

/** The answers of each prompt, prompts in sorted order (see `byItem`). */
export const groupedByItem = (scores: ReadonlyArray<ItemScore>): Array<Array<ItemScore>> =>
  columnOf<Array<number>>(byItem(scores), "rows").map((rows) => rows.map((i) => scores[i]!))

/**
 * The prompts two score sets share, in sorted order, with the answers of each side: both sets in
 * one table (a `side` column), grouped by prompt; a prompt with answers on both sides is a pair.
 * One grouping costs less in arquero than a join of two groupings.
 */
export const pairedByItem = (
  a: ReadonlyArray<ItemScore>,
  b: ReadonlyArray<ItemScore>
): Array<{ readonly a: Array<ItemScore>; readonly b: Array<ItemScore> }> => {
  const both = [...a, ...b]
  const parts = itemTable(both).groupby("item").partitions() as unknown as ReadonlyArray<ArrayLike<number>>
  const pairs: Array<{ item: string; a: Array<ItemScore>; b: Array<ItemScore> }> = []
  for (const p of parts) {
    const rows = Array.from(p)
    const left = rows.filter((i) => i < a.length).map((i) => both[i]!)
    const right = rows.filter((i) => i >= a.length).map((i) => both[i]!)
    if (left.length > 0 && right.length > 0) pairs.push({ item: both[rows[0]!]!.item, a: left, b: right })
  }
  return pairs.sort((x, y) => (x.item < y.item ? -1 : x.item > y.item ? 1 : 0)).map(({ a, b }) => ({ a, b }))
}

/**
 * One metric's scores from per-sample rows, the answers that have a number: the prompt is the
 * item and the answer's id its unit (sample k of a prompt has the same id, and seed, in every
 * version); a row without a prompt is its own item, with no unit.
 */
export const metricScores = (rows: ReadonlyArray<SampleScores>, metric: string): ReadonlyArray<ItemScore> => {
  const byMetric = scored.get(rows) ?? new Map<string, ReadonlyArray<ItemScore>>()
  scored.set(rows, byMetric)
  const cached = byMetric.get(metric)
  if (cached !== undefined) return cached
  const out = scoresOf(rows, metric)
  byMetric.set(metric, out)
  return out
}
// the same rows are compared with several versions: their scores are read once per metric
const scored = new WeakMap<ReadonlyArray<SampleScores>, Map<string, ReadonlyArray<ItemScore>>>()

const scoresOf = (rows: ReadonlyArray<SampleScores>, metric: string): Array<ItemScore> =>
  aq()
    .table({
      id: rows.map((r) => r.id),
      promptId: rows.map((r) => r.promptId),
      score: rows.map((r) => r.scores[metric])
    })
    .filter(aq().escape((d: { score: unknown }) => typeof d.score === "number"))
    .objects()
    .map((d) => {
      const r = d as { id: string; promptId: string | undefined; score: number }
      return r.promptId === undefined
        ? { item: r.id, score: r.score }
        : { item: r.promptId, score: r.score, unit: r.id }
    })

/** A column of a table as a plain array. */
export const columnOf = <A>(t: ColumnTable, name: string): Array<A> =>
  Array.from(t.array(name) as ArrayLike<A>)
