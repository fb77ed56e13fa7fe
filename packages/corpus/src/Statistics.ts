/**
 * Corpus statistics on arquero: the hyperword set's counts by language and by origin, and the
 * lemmas of mined images by how often they occur (the image words a sensation draws from).
 */

import type { HyperwordRecord } from "@hyperwords/core/Artifacts"
import { lazyModule } from "@hyperwords/core/Lazy"
import type * as Arquero from "arquero"

/** arquero, loaded at the first table (a start-up that makes none does not load it). */
const aq = lazyModule<typeof Arquero>(() => import.meta.resolve("arquero"))

/** Count of values, keyed in order of first appearance. */
const countBy = (values: ReadonlyArray<string>): Record<string, number> => {
  const t = aq().table({ key: values }).groupby("key").count({ as: "n" })
  const keys = t.array("key") as ArrayLike<string>
  const ns = t.array("n") as ArrayLike<number>
  return Object.fromEntries(Array.from(keys, (k, i) => [k, ns[i]!]))
}

/** Records by language (in order of first appearance) and by origin (mined, then generated). */
export const recordCounts = (
  records: ReadonlyArray<Pick<HyperwordRecord, "lang" | "origin">>
): { readonly byLang: Record<string, number>; readonly byOrigin: Record<string, number> } => {
  const byOrigin = countBy(records.map((r) => r.origin))
  return {
    byLang: countBy(records.map((r) => r.lang)),
    byOrigin: Object.fromEntries(
      (["mined", "generated"] as const).flatMap((o) => (byOrigin[o] === undefined ? [] : [[o, byOrigin[o]]]))
    )
  }
}

/**
 * Lemmas with their summed weights, most frequent first (ties by lemma, in code-unit order), at
 * most `limit`.
 */
export const topLemmas = (
  rows: ReadonlyArray<{ readonly lemma: string; readonly weight: number }>,
  limit: number
): Array<string> => {
  if (rows.length === 0) return []
  const t = aq()
    .table({ lemma: rows.map((r) => r.lemma), weight: rows.map((r) => r.weight) })
    .groupby("lemma")
    .rollup({ weight: aq().op.sum("weight") })
  const lemmas = Array.from(t.array("lemma") as ArrayLike<string>)
  const weights = t.array("weight") as ArrayLike<number>
  return lemmas
    .map((lemma, i) => ({ lemma, weight: weights[i]! }))
    .sort((a, b) => b.weight - a.weight || (a.lemma < b.lemma ? -1 : 1))
    .slice(0, limit)
    .map((x) => x.lemma)
}
