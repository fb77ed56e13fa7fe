/**
 * Coherence of a text's images, from the model's word vectors:
 *
 * - **line coherence**: each line is the mean of its content words' vectors; the score is the
 *   mean cosine between consecutive lines (texts of at least two lines with content words);
 * - **word coherence**: the mean cosine between consecutive content words (any text of two or
 *   more content words; the score of one-line texts);
 * - **association** (optional): the mean USF forward strength over pairs of content words in
 *   consecutive lines, where the pair is normed.
 *
 * Word vectors are z-scored per dimension over a fixed reference vocabulary (the estimator's seed
 * lexicon and abstract anchors of the language): raw hidden states share a few large directions,
 * which make every cosine close to 1.
 */

import { Stats } from "@hyperwords/eval"
import { abstractAnchors, channels, contentWords, type Lang, sensationSeeds } from "@hyperwords/eval/Sdk"

/** The lines of a text that have content words, as their content words (without those `exclude` names). */
export const lineWords = (
  text: string,
  lang?: Lang,
  exclude: (word: string) => boolean = () => false
): Array<Array<string>> =>
  text
    .split(/\r?\n/)
    .map((line) => contentWords(line, lang).filter((w) => !exclude(w)))
    .filter((w) => w.length > 0)

/** The reference vocabulary of a language: seed words and abstract anchors. */
export const referenceWords = (lang: Lang): Array<string> => [
  ...new Set([...channels.flatMap((c) => sensationSeeds[lang][c]), ...abstractAnchors[lang]])
]

const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}

/** Cosine similarity (0 for a zero vector). */
export const cosine = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  const d = Math.sqrt(dot(a, a) * dot(b, b))
  return d === 0 ? 0 : dot(a, b) / d
}

/** The mean of vectors. */
export const meanVector = (vs: ReadonlyArray<ArrayLike<number>>): Float64Array => {
  const out = new Float64Array(vs[0]?.length ?? 0)
  for (const v of vs) for (let j = 0; j < out.length; j++) out[j]! += v[j]! / vs.length
  return out
}

/** Mean cosine of consecutive vectors (NaN for fewer than two). */
export const consecutiveCosine = (vs: ReadonlyArray<ArrayLike<number>>): number => {
  const c: Array<number> = []
  for (let i = 1; i < vs.length; i++) c.push(cosine(vs[i - 1]!, vs[i]!))
  return c.length === 0 ? Number.NaN : Stats.mean(c)
}

/** Forward association strengths, cue → target → strength. */
export type Associations = ReadonlyMap<string, ReadonlyMap<string, number>>

/** Mean strength over word pairs of consecutive lines, in both directions, over normed pairs only. */
export const associationStrength = (
  lines: ReadonlyArray<ReadonlyArray<string>>,
  usf: Associations
): { readonly mean: number; readonly pairs: number } => {
  const found: Array<number> = []
  for (let i = 1; i < lines.length; i++) {
    for (const a of lines[i - 1]!) {
      for (const b of lines[i]!) {
        if (a === b) continue
        const s = usf.get(a)?.get(b) ?? usf.get(b)?.get(a)
        const normed = usf.has(a) || usf.has(b)
        if (normed) found.push(s ?? 0)
      }
    }
  }
  return { mean: found.length === 0 ? Number.NaN : Stats.mean(found), pairs: found.length }
}
