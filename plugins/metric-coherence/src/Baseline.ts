/**
 * A bag-of-words baseline for the validation: static word vectors from a table (the GloVe 6B 50d
 * subset of the shared data, 5,050 frequent English words) put where the judge's vectors go, with
 * the same standardisation (z-scored per dimension over the language's reference vocabulary, the
 * part of it the table has). Words the table lacks are left out of the text, as the request's
 * words are. What the judge scores above this baseline is what the model adds to co-occurrence
 * statistics of single words.
 */
import { readFileSync } from "node:fs"
import type { Lang } from "@hyperwords/eval/Sdk"
import { referenceWords } from "./Coherence.ts"
import type { WordVectorsOf } from "./Vectors.ts"

/** The GloVe subset, relative to the shared data folder. */
export const gloveFile = "en_embeddings_glove_subset/glove-6B-50d-5k.json"

/** Word vectors standing in for the judge's. */
export interface Baseline {
  readonly vectorsOf: WordVectorsOf
  /** Whether the table has a vector for the word (its possessive `'s` dropped, as GloVe's tokeniser splits it). */
  readonly known: (word: string) => boolean
  /** Words in the table. */
  readonly size: number
  /** Reference words of the language found in the table (the standardisation's sample). */
  readonly reference: number
}

/** A JSON table of word → vector (the GloVe subset's format). */
export const readVectorTable = (path: string): Map<string, Float64Array> => {
  const raw = JSON.parse(readFileSync(path, "utf8")) as Record<string, ReadonlyArray<number>>
  return new Map(Object.entries(raw).map(([w, v]) => [w, Float64Array.from(v)]))
}

/** A baseline from a vector table, standardised over the reference words of `lang` the table has. */
export const bagOfWords = (table: ReadonlyMap<string, ArrayLike<number>>, lang: Lang): Baseline => {
  const lookup = (w: string) => table.get(w) ?? table.get(w.replace(/['’]s$/u, ""))
  const ref = referenceWords(lang).flatMap((w) => {
    const v = lookup(w)
    return v === undefined ? [] : [v]
  })
  const h = table.values().next().value?.length ?? 0
  const mean = new Float64Array(h)
  const scale = new Float64Array(h)
  // fewer than two reference words: the raw vectors (nothing to standardise over)
  if (ref.length < 2) scale.fill(1)
  else {
    for (const v of ref) for (let j = 0; j < h; j++) mean[j]! += v[j]! / ref.length
    for (const v of ref) for (let j = 0; j < h; j++) scale[j]! += (v[j]! - mean[j]!) ** 2 / ref.length
    for (let j = 0; j < h; j++) scale[j] = Math.sqrt(scale[j]!) + 1e-6
  }
  return {
    known: (w) => lookup(w) !== undefined,
    vectorsOf: async (words) =>
      words.map((w) => {
        const v = lookup(w)
        if (v === undefined) throw new Error(`no baseline vector for "${w}" (leave unknown words out)`)
        return Float64Array.from(mean, (m, j) => (v[j]! - m) / scale[j]!)
      }),
    size: table.size,
    reference: ref.length
  }
}
