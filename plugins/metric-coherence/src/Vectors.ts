/**
 * Standardised word vectors of a model: the sensory estimator's word vectors (hidden states at a
 * third of the depth, read after "A word:"), z-scored per dimension over the reference vocabulary
 * of the language.
 */
import { readFileSync } from "node:fs"
import { type Lang, type Model, wordVectors } from "@hyperwords/eval/Sdk"
import { parse } from "csv-parse/sync"
import { type Associations, referenceWords } from "./Coherence.ts"

/** Vectors of words, standardised. */
export type WordVectorsOf = (words: ReadonlyArray<string>) => Promise<Array<Float64Array>>

const cache = new Map<string, Promise<WordVectorsOf>>()

/** The standardised vectors of a model at a layer for a language (cached per process). */
export const standardisedVectors = (model: Model, lang: Lang, layer?: number): Promise<WordVectorsOf> => {
  const vectors = wordVectors(model, layer)
  const key = `${model.dir}\0${model.dtype}\0${vectors.layer}\0${lang}`
  let s = cache.get(key)
  if (s === undefined) {
    s = (async () => {
      const ref = await vectors.vectors(referenceWords(lang))
      const h = vectors.hiddenSize
      const mean = new Float64Array(h)
      const scale = new Float64Array(h)
      for (const v of ref) for (let j = 0; j < h; j++) mean[j]! += v[j]! / ref.length
      for (const v of ref) for (let j = 0; j < h; j++) scale[j]! += (v[j]! - mean[j]!) ** 2 / ref.length
      for (let j = 0; j < h; j++) scale[j] = Math.sqrt(scale[j]!) + 1e-6
      return async (words) =>
        (await vectors.vectors(words)).map((v) => Float64Array.from(mean, (m, j) => (v[j]! - m) / scale[j]!))
    })()
    s.catch(() => cache.delete(key))
    cache.set(key, s)
  }
  return s
}

const usfFiles = new Map<string, Associations>()

/** Read USF free-association norms (`CUE`, `TARGET`, `FSG` columns), lowercased. */
export const readUsf = (path: string): Associations => {
  let a = usfFiles.get(path)
  if (a === undefined) {
    const rows = parse(readFileSync(path, "utf8"), {
      columns: true,
      skip_empty_lines: true,
      relax_quotes: true,
      trim: true
    }) as Array<Record<string, string>>
    const m = new Map<string, Map<string, number>>()
    for (const r of rows) {
      const cue = (r.CUE ?? "").toLowerCase()
      const target = (r.TARGET ?? "").toLowerCase()
      const fsg = Number(r.FSG)
      if (cue === "" || target === "" || !Number.isFinite(fsg)) continue
      const t = m.get(cue) ?? new Map<string, number>()
      t.set(target, fsg)
      m.set(cue, t)
    }
    a = m
    usfFiles.set(path, a)
  }
  return a
}
