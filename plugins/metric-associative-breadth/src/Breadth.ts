/**
 * The task score on a model's own embeddings: word vectors from the model (hidden states at one
 * layer, read after the prefix "A word:" and pooled over the word's own tokens, as the sensory
 * estimator reads them), standardised over a reference vocabulary, then `datScore`.
 *
 * The reference vocabulary and the random-word control both draw from the dictionary's words that
 * the model's tokenizer keeps as one token (`commonWords`): a runtime frequency filter from the
 * model's own vocabulary, so that a control list is made of ordinary words, not WordNet rarities.
 * Each dictionary (English, Russian) has its own pool, reference and control.
 */

import { Stats } from "@hyperwords/eval"
import { type Model, wordVectors } from "@hyperwords/eval/Sdk"
import { datScore, drawWords, type Standardiser, standardiser } from "./Dat.ts"
import type { Dictionary } from "./Dictionary.ts"

/**
 * The default layer: 1 (after the first decoder layer). Chosen on the dev half of the human
 * answers (`inDevHalf` in `Validation.ts`): in a sweep of every layer on 500 dev answers, layers 0
 * and 1 were best on Gemma 3 270M (ρ 0.74, deeper layers 0.64-0.72; the whole dev half gives 0.69); layer 1 rather than the raw embedding table so that words of several
 * tokens are composed by attention.
 */
export const defaultLayer = 1

/** A scorer bound to a model, a layer and a dictionary. */
export interface BreadthScorer {
  readonly layer: number
  /** Dictionary words the model keeps as one token: the pool of controls and the reference. */
  readonly pool: ReadonlyArray<string>
  /** The task score of a list of words. */
  readonly score: (words: ReadonlyArray<string>) => Promise<number>
  /** Scores of many lists at once (vectors are computed in batches). */
  readonly scoreMany: (lists: ReadonlyArray<ReadonlyArray<string>>) => Promise<Array<number>>
}

/** Options of a scorer. */
export interface ScorerOptions {
  readonly layer?: number
  /** Words in the reference vocabulary of the standardisation (default 1000). */
  readonly referenceSize?: number
}

/**
 * The pool of controls and reference: the words (without hyphens) the tokenizer keeps as one
 * token — a frequency filter from the model's own vocabulary. When fewer than `least` are one
 * token (Russian with an English tokenizer), the words of the fewest tokens that make up `least`:
 * two tokens, then three, and so on.
 */
export const commonWords = (
  words: ReadonlyArray<string>,
  tokens: (word: string) => number,
  least: number
): Array<string> => {
  const plain = words.filter((w) => !w.includes("-"))
  const counted = plain.map((w) => ({ w, n: tokens(w) }))
  let most = 1
  while (counted.filter((c) => c.n <= most).length < Math.min(least, counted.length)) most++
  return counted.filter((c) => c.n <= most).map((c) => c.w)
}

const scorers = new Map<string, Promise<BreadthScorer>>()

/** The scorer of a model, layer and dictionary (cached per process). */
export const breadthScorer = (
  model: Model,
  dictionary: Dictionary,
  options: ScorerOptions = {}
): Promise<BreadthScorer> => {
  const layer = options.layer ?? defaultLayer
  const size = options.referenceSize ?? 1000
  const key = `${model.dir}\0${model.dtype}\0${layer}\0${dictionary.name}\0${size}`
  let s = scorers.get(key)
  if (s === undefined) {
    s = (async () => {
      const vectors = wordVectors(model, layer)
      const pool = commonWords(
        dictionary.words,
        (w) => model.encode(` ${w}`, { addSpecialTokens: false }).length,
        size
      )
      const reference = drawWords(pool, size, Stats.makeRng(0))
      const z: Standardiser = standardiser(await vectors.vectors(reference))
      const scoreMany = async (lists: ReadonlyArray<ReadonlyArray<string>>) => {
        const all = [...new Set(lists.flat())]
        const vs = await vectors.vectors(all)
        const byWord = new Map(all.map((w, i) => [w, z.apply(vs[i]!)]))
        return lists.map((l) => datScore(l.map((w) => byWord.get(w)!)))
      }
      return {
        layer,
        pool,
        scoreMany,
        score: async (words) => (await scoreMany([words]))[0]!
      }
    })()
    s.catch(() => scorers.delete(key))
    scorers.set(key, s)
  }
  return s
}
