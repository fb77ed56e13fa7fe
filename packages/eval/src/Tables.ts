/**
 * The tables of evaluation on arquero: per-sample scores as a table (one row per scored answer),
 * grouped by prompt, joined across versions by prompt, and looked up by sample id. The numeric
 * kernels (bootstrap, sign-flip, length regression) stay in `Stats.ts` and take the arrays these
 * give them, in the same order as before, so every figure is the same.
 */
import { type ColumnTable, op, escape as rowFunction, table } from "arquero"
import type { SampleScores } from "./Scoring.ts"

/** One scored answer: the prompt it answers (`item`), its own id (`unit`) and its score. */
export interface ItemScore {
  readonly item: string
  readonly score: number
  readonly unit?: string
}

/** Scores as a table with columns `row` (the index in `scores`), `item`, `unit` and `score`. */
export const itemTable = (scores: ReadonlyArray<ItemScore>): ColumnTable =>
  table({
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
  // arquero compiles each verb's expressions anew: one grouping per score set, however many joins
  const cached = grouped.get(scores)
  if (cached !== undefined) return cached
  const t = itemTable(scores)
    .groupby("item")
    .rollup({ rows: op.array_agg("row") })
    .orderby("item")
  grouped.set(scores, t)
  return t
}
const grouped = new WeakMap<ReadonlyArray<ItemScore>, ColumnTable>()

/** The answers of each prompt, prompts in sorted order (see `byItem`). */
export const groupedByItem = (scores: ReadonlyArray<ItemScore>): Array<Array<ItemScore>> =>
  columnOf<Array<number>>(byItem(scores), "rows").map((rows) => rows.map((i) => scores[i]!))

/** The prompts two score sets share, in sorted order, with the answers of each side. */
export const pairedByItem = (
  a: ReadonlyArray<ItemScore>,
  b: ReadonlyArray<ItemScore>
): Array<{ readonly a: Array<ItemScore>; readonly b: Array<ItemScore> }> => {
  const joined = byItem(a).join(byItem(b), "item").orderby("item")
  const rowsB = columnOf<Array<number>>(joined, "rows_2")
  return columnOf<Array<number>>(joined, "rows_1").map((rows, k) => ({
    a: rows.map((i) => a[i]!),
    b: rowsB[k]!.map((i) => b[i]!)
  }))
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
  table({
    id: rows.map((r) => r.id),
    promptId: rows.map((r) => r.promptId),
    score: rows.map((r) => r.scores[metric])
  })
    .filter(rowFunction((d: { score: unknown }) => typeof d.score === "number"))
    .objects()
    .map((d) => {
      const r = d as { id: string; promptId: string | undefined; score: number }
      return r.promptId === undefined
        ? { item: r.id, score: r.score }
        : { item: r.promptId, score: r.score, unit: r.id }
    })

/** A column of a table as a plain array. */
export const columnOf = <A>(t: ColumnTable, name: string): Array<A> => t.array(name, Array) as Array<A>
