/**
 * A text's content words: word-like segments (`Intl.Segmenter`), lowercased, `ё` folded, without
 * stopwords, numbers or one-letter words. The metric plugins read texts through it.
 */
import { foldYo, type Lang } from "./SensationSeeds.ts"
import { detectLang } from "./Senses.ts"
import { isStopword } from "./Stopwords.ts"

/** The content words of a text, in order (repeats kept: a repeated image weighs more). */
export const contentWords = (text: string, lang?: Lang): Array<string> => {
  const l = lang ?? detectLang(text)
  const segmenter = new Intl.Segmenter(l, { granularity: "word" })
  return [...segmenter.segment(text)]
    .filter((s) => s.isWordLike)
    .map((s) => foldYo(s.segment.toLowerCase()))
    .filter((w) => w.length > 1 && /^\p{L}[\p{L}'-]*$/u.test(w) && !isStopword(l, w))
}
