/**
 * The Divergent Association Task (Olson et al. 2021, PNAS 118(25)): a list of words scores the
 * mean pairwise cosine distance of its first seven valid words, × 100. Validation follows the
 * reference implementation (`jayolson/divergent-association-task`, `dat.py`): strip what is not a
 * letter or a hyphen, lowercase, drop words of one letter, try a compound hyphenated and then
 * joined, keep unique valid words in order.
 */
import { type Dictionary, letters } from "./Dictionary.ts"

/** Words the task takes from an answer. */
export const TASK_WORDS = 7

/**
 * The valid form of one answer entry, or `undefined` (reference `validate()`): the letters of the
 * dictionary's language kept (Latin for English, Cyrillic for Russian), and the form the
 * dictionary scores it as (its `lemma`, when it has one: a Russian noun's nominative singular).
 */
export const validateWord = (entry: string, dictionary: Dictionary): string | undefined => {
  const clean = entry
    .replace(letters[dictionary.lang ?? "en"], "")
    .trim()
    .toLowerCase()
  if (clean.length <= 1) return undefined
  const tries = clean.includes(" ") ? [clean.replace(/ +/g, "-"), clean.replace(/[ -]+/g, "")] : [clean]
  for (const w of tries) {
    const valid = dictionary.lemma ? dictionary.lemma(w) : dictionary.has(w) ? w : undefined
    if (valid !== undefined) return valid
  }
  return undefined
}

/**
 * The entries of a free-text answer: split at newlines, commas, semicolons and list numbering.
 * An entry that is not valid as a whole (e.g. "Here are ten words: cat") gives its words one by
 * one, so that a model's preamble does not void the answer. Markup tags a model writes
 * (`<em>hair</em>`) are spaces: their letters would glue onto the word (`emhairem`, or the noun
 * `emmy` from `<em>my`).
 */
export const answerEntries = (text: string): Array<string> =>
  text
    .replace(/<\/?[a-zA-Z][^<>]*>/g, " ")
    .split(/[\n,;]|\s\d+[.)]\s|^\d+[.)]\s/)
    .map((e) => e.replace(/^\s*(?:\d+[.)]|[-*•])\s*/, "").trim())
    .filter((e) => e !== "")

/**
 * The first `n` unique valid words of an answer (fewer when it has fewer), skipping those
 * `exclude` names (the words the prompt gave, such as its example list).
 */
export const firstValidWords = (
  entries: ReadonlyArray<string>,
  dictionary: Dictionary,
  n = TASK_WORDS,
  exclude: (word: string) => boolean = () => false
): Array<string> => {
  const out: Array<string> = []
  const add = (w: string | undefined) => {
    if (w !== undefined && !out.includes(w) && out.length < n && !exclude(w)) out.push(w)
  }
  for (const entry of entries) {
    const whole = validateWord(entry, dictionary)
    if (whole !== undefined) add(whole)
    else for (const part of entry.split(/\s+/)) add(validateWord(part, dictionary))
    if (out.length === n) break
  }
  return out
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}

/** Cosine distance, 0 (same direction) to 2 (opposite). */
export const cosineDistance = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  const d = Math.sqrt(dot(a, a) * dot(b, b))
  return d === 0 ? 1 : 1 - dot(a, b) / d
}

/** The task score of word vectors: mean pairwise cosine distance × 100. */
export const datScore = (vectors: ReadonlyArray<ArrayLike<number>>): number => {
  let sum = 0
  let pairs = 0
  for (let i = 0; i < vectors.length; i++) {
    for (let j = i + 1; j < vectors.length; j++) {
      sum += cosineDistance(vectors[i]!, vectors[j]!)
      pairs++
    }
  }
  return pairs === 0 ? Number.NaN : (sum / pairs) * 100
}

/**
 * Per-dimension standardisation over a reference vocabulary. A language model's hidden states
 * share a few large common directions (anisotropy), so raw cosines are all close to 1 and rank
 * word lists by those directions rather than by meaning; z-scoring every dimension over a fixed
 * reference set of dictionary words removes them (on 500 dev-half human answers, Spearman ρ with
 * the official scores went from 0.34 raw to 0.74 standardised at Gemma's layer 1).
 */
export interface Standardiser {
  readonly apply: (v: ArrayLike<number>) => Float64Array
}

/** The standardiser of a reference set of vectors. */
export const standardiser = (reference: ReadonlyArray<ArrayLike<number>>): Standardiser => {
  const h = reference[0]?.length ?? 0
  const mean = new Float64Array(h)
  const scale = new Float64Array(h)
  for (const v of reference) for (let j = 0; j < h; j++) mean[j]! += v[j]! / reference.length
  for (const v of reference)
    for (let j = 0; j < h; j++) scale[j]! += (v[j]! - mean[j]!) ** 2 / reference.length
  for (let j = 0; j < h; j++) scale[j] = Math.sqrt(scale[j]!) + 1e-6
  return { apply: (v) => Float64Array.from(mean, (m, j) => (v[j]! - m) / scale[j]!) }
}

/** `n` distinct words drawn from a pool with a seeded generator. */
export const drawWords = (pool: ReadonlyArray<string>, n: number, rng: () => number): Array<string> => {
  const out = new Set<string>()
  const want = Math.min(n, pool.length)
  while (out.size < want) out.add(pool[Math.floor(rng() * pool.length)]!)
  return [...out]
}
