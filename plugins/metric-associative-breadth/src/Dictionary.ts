/**
 * The noun dictionaries a Divergent Association Task answer is checked against. The default is
 * bundled with nothing but a package the repository already uses: WordNet's nouns from
 * `wink-lexicon` (lemmas with a `noun.*` lexicographer class, plus regular plurals of them); the
 * official task uses a 175k-word Hunspell list, which a user can pass as a file.
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"

/** The languages breadth scores: English (Latin letters) and Russian (Cyrillic). */
export type Lang = "en" | "ru"

/** A set of valid words, with a name for reports. */
export interface Dictionary {
  readonly name: string
  /** Its language (default `en`): which letters an entry keeps (`letters`). */
  readonly lang?: Lang
  readonly has: (word: string) => boolean
  /**
   * The form a valid word is scored as (e.g. a Russian noun's lemma, `лодку` → `лодка`), or
   * `undefined` when it is not valid; without it a valid word is scored as it is written.
   */
  readonly lemma?: (word: string) => string | undefined
  /** The words listed (lemmas), for random draws. */
  readonly words: ReadonlyArray<string>
}

/** The word shape the official task keeps: lowercase letters, inner hyphens. */
export const WORD = /^[a-z][a-z-]*[a-z]$/

/** The same shape in Russian: lowercase Cyrillic letters (ё included), inner hyphens. */
export const WORD_RU = /^[а-яё][а-яё-]*[а-яё]$/

/** What an entry keeps before it is looked up (the reference `dat.py` keeps `[a-zA-Z- ]`). */
export const letters: Record<Lang, RegExp> = { en: /[^a-zA-Z\- ]/g, ru: /[^а-яёА-ЯЁ\- ]/g }

/** The word shape of a language. */
export const wordShape = (lang: Lang): RegExp => (lang === "ru" ? WORD_RU : WORD)

interface WinkLexicon {
  readonly wnWords: Readonly<Record<string, number>>
  readonly wnWordSenses: ReadonlyArray<ReadonlyArray<number>>
  readonly wnSenses: ReadonlyArray<string>
}

const require = createRequire(import.meta.url)

/** Singular candidates of a regular English plural (`tickets` → `ticket`, `berries` → `berry`). */
const singulars = (w: string): Array<string> => {
  const out: Array<string> = []
  if (w.endsWith("ies")) out.push(`${w.slice(0, -3)}y`)
  if (w.endsWith("es")) out.push(w.slice(0, -2))
  if (w.endsWith("s") && !w.endsWith("ss")) out.push(w.slice(0, -1))
  return out
}

let wordnet: Dictionary | undefined

/** WordNet's nouns (from `wink-lexicon`), accepting regular plurals of them. */
export const wordnetNouns = (): Dictionary => {
  if (wordnet) return wordnet
  const lex = require("wink-lexicon") as WinkLexicon
  const nouns = new Set<string>()
  for (const [word, i] of Object.entries(lex.wnWords)) {
    if (!WORD.test(word)) continue
    const senses = lex.wnWordSenses[i] ?? []
    if (senses.some((s) => (lex.wnSenses[s] ?? "").startsWith("noun."))) nouns.add(word)
  }
  wordnet = {
    name: "WordNet nouns (wink-lexicon 2.2.0)",
    lang: "en",
    has: (w) => nouns.has(w) || singulars(w).some((s) => nouns.has(s)),
    words: [...nouns]
  }
  return wordnet
}

const files = new Map<string, Dictionary>()

/** A dictionary file: one word a line (e.g. the official task's `words.txt`), in `lang` (default `en`). */
export const readDictionary = (path: string, lang: Lang = "en"): Dictionary => {
  const key = `${lang}\0${path}`
  let d = files.get(key)
  if (d === undefined) {
    const shape = wordShape(lang)
    const set = new Set(
      readFileSync(path, "utf8")
        .split("\n")
        .map((w) => w.trim().toLowerCase())
        .filter((w) => shape.test(w))
    )
    d = { name: path, lang, has: (w) => set.has(w), words: [...set] }
    files.set(key, d)
  }
  return d
}

/** A dictionary from a list of words (tests, fixtures), in `lang` (default `en`). */
export const dictionaryOf = (name: string, words: ReadonlyArray<string>, lang: Lang = "en"): Dictionary => {
  const set = new Set(words)
  return { name, lang, has: (w) => set.has(w), words: [...set] }
}
