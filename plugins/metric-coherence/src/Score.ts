/** The coherence of one text, given a way to get standardised word vectors. */
import type { Lang } from "@hyperwords/eval/Sdk"
import {
  type Associations,
  associationStrength,
  consecutiveCosine,
  lineWords,
  meanVector
} from "./Coherence.ts"
import type { WordVectorsOf } from "./Vectors.ts"

/** Which coherence is the score. */
export type Unit = "auto" | "lines" | "words"

/** What a text's coherence is made of. */
export interface TextCoherence {
  /** The score: line coherence when the text has two lines with content words, else word coherence. */
  readonly score: number
  readonly unit: "lines" | "words"
  readonly lines: number
  readonly words: number
  readonly lineCoherence?: number
  readonly wordCoherence?: number
  readonly association?: number
  readonly associationPairs?: number
}

/** The coherence of a text; `undefined` when it has fewer than two content words (or lines, for `lines`). */
export const textCoherence = async (
  text: string,
  lang: Lang,
  vectorsOf: WordVectorsOf,
  options: {
    readonly unit?: Unit
    readonly usf?: Associations
    /** Words left out before scoring (those the request and prompt gave). */
    readonly exclude?: (word: string) => boolean
  } = {}
): Promise<TextCoherence | undefined> => {
  const lines = lineWords(text, lang, options.exclude)
  const words = lines.flat()
  const unit = options.unit ?? "auto"
  if (words.length < 2 || (unit === "lines" && lines.length < 2)) return undefined
  const unique = [...new Set(words)]
  const vs = await vectorsOf(unique)
  const byWord = new Map(unique.map((w, i) => [w, vs[i]!]))
  const wordCoherence = consecutiveCosine(words.map((w) => byWord.get(w)!))
  const lineCoherence =
    lines.length >= 2
      ? consecutiveCosine(lines.map((l) => meanVector(l.map((w) => byWord.get(w)!))))
      : undefined
  const useLines = unit === "lines" || (unit === "auto" && lineCoherence !== undefined)
  const assoc = options.usf ? associationStrength(lines, options.usf) : undefined
  return {
    score: useLines ? lineCoherence! : wordCoherence,
    unit: useLines ? "lines" : "words",
    lines: lines.length,
    words: words.length,
    wordCoherence,
    ...(lineCoherence === undefined ? {} : { lineCoherence }),
    ...(assoc === undefined || !Number.isFinite(assoc.mean)
      ? {}
      : { association: assoc.mean, associationPairs: assoc.pairs })
  }
}
