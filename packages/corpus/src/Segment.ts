/**
 * Words and lemmas: `Intl.Segmenter` splits a line into words; Russian words are lemmatised with
 * `az` (its bundled OpenCorpora dictionaries, offline) and English words with `wink-lemmatizer`
 * guided by WordNet's word list. Analyses are cached per surface form, so a corpus pays for
 * each distinct word once.
 */
import { Effect, Schema } from "effect"
import { type AzParse, az, azDictionaries, winkLemmatizer, winkLexicon } from "./internal/vendor.ts"
import { foldYo, type Lang } from "./SensationSeeds.ts"

/** The analysis of one surface form. */
export interface Analysis {
  /** Dictionary form, lower-cased, `ё` folded to `е`. */
  readonly lemma: string
  /** Part of speech where the lemmatiser knows it (OpenCorpora tags for Russian). */
  readonly pos: string | undefined
}

/** A lemmatiser of one language. */
export interface Lemmatizer {
  readonly lang: Lang
  /** The analysis from the dictionary alone; `undefined` for a word the dictionary lacks. */
  readonly lookup: (surface: string) => Analysis | undefined
  /** The analysis of any word, guessing from its prefixes and suffixes when it is unknown. */
  readonly analyse: (surface: string) => Analysis
}

/** The Russian dictionaries could not be loaded. */
export class LemmatizerError extends Schema.TaggedError<LemmatizerError>()("LemmatizerError", {
  lang: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `cannot load the ${this.lang} lemmatiser: ${this.detail}`
  }
}

const cyrillicWord = /^[\p{Script=Cyrillic}]+$/u
const latinWord = /^[\p{Script=Latin}]+(?:'[\p{Script=Latin}]+)*$/u

/** Acute and grave accents that mark stress in verse ("ре́ка"); they are not part of the word. */
const stressMarks = /[\u0300\u0301]/
const stressMarksAll = /[\u0300\u0301]/g

/**
 * Letter-spaced words, the emphasis of old typesetting ("Т р е т и й"), joined back: a run of
 * four or more one-letter words with the same separator between them becomes one word.
 */
const joinSpacedLetters = (
  words: Array<string | undefined>,
  separators: ReadonlyArray<string>
): Array<string | undefined> => {
  if (words.length < 4) return words
  const out: Array<string | undefined> = []
  let run: Array<string> = []
  let runSeparator = ""
  const flush = () => {
    if (run.length >= 4) out.push(run.join(""))
    else out.push(...run)
    run = []
  }
  words.forEach((w, i) => {
    const single = w !== undefined && w.length === 1
    if (single && run.length > 0 && (run.length === 1 || separators[i] === runSeparator)) {
      if (run.length === 1) runSeparator = separators[i]!
      run.push(w)
      return
    }
    flush()
    if (single) run.push(w)
    else out.push(w)
  })
  flush()
  return out
}

/** Splits lines into words of one language with `Intl.Segmenter`. */
export class WordSegmenter {
  readonly lang: Lang
  private readonly segmenter: Intl.Segmenter
  constructor(lang: Lang) {
    this.lang = lang
    this.segmenter = new Intl.Segmenter(lang, { granularity: "word" })
  }

  /**
   * The words of a line in the language's script, lower-cased (English possessive `'s` dropped,
   * curly apostrophes made straight). A word in another script or with digits keeps its position
   * but is returned as `undefined`, so it separates the words around it.
   */
  words(line: string): Array<string | undefined> {
    return this.lines([line])[0]!
  }

  /** The words of each of several lines (segmented in one pass: much faster than line by line). */
  lines(lines: ReadonlyArray<string>): Array<Array<string | undefined>> {
    const out: Array<Array<string | undefined>> = [[]]
    const separators: Array<Array<string>> = [[]]
    let separator = ""
    for (const s of this.segmenter.segment(lines.join("\n"))) {
      if (!s.isWordLike) {
        const text = s.segment
        separator = text
        if (text.includes("\n")) {
          for (const ch of text) {
            if (ch !== "\n") continue
            out.push([])
            separators.push([])
          }
        }
        continue
      }
      let w = this.normalised.get(s.segment)
      if (w === undefined) {
        w = this.normalise(s.segment) ?? null
        this.normalised.set(s.segment, w)
      }
      out[out.length - 1]!.push(w ?? undefined)
      separators[separators.length - 1]!.push(separator)
      separator = ""
    }
    while (out.length < lines.length) out.push([])
    return out.map((words, i) => joinSpacedLetters(words, separators[i] ?? []))
  }

  private readonly normalised = new Map<string, string | null>()

  private normalise(raw: string): string | undefined {
    if (stressMarks.test(raw)) raw = raw.normalize("NFD").replace(stressMarksAll, "").normalize("NFC")
    if (this.lang === "ru") {
      const w = raw.toLocaleLowerCase("ru")
      return cyrillicWord.test(w) ? w : undefined
    }
    let w = raw.toLocaleLowerCase("en").replaceAll("’", "'").replaceAll("‘", "'")
    if (w.endsWith("'s")) w = w.slice(0, -2)
    w = w.replace(/^'+|'+$/g, "")
    return w.length > 0 && latinWord.test(w) ? w : undefined
  }
}

let azReady: Promise<void> | undefined

const loadAz = (): Promise<void> => {
  azReady ??= new Promise<void>((resolve, reject) => {
    try {
      az().Morph.init(azDictionaries(), (err) => (err ? reject(err) : resolve()))
    } catch (e) {
      reject(e)
    }
  })
  return azReady
}

const cached = <A>(analyse: (surface: string) => A): ((surface: string) => A) => {
  const cache = new Map<string, A>()
  return (surface) => {
    let a = cache.get(surface)
    if (a === undefined && !cache.has(surface)) {
      a = analyse(surface)
      cache.set(surface, a)
    }
    return a as A
  }
}

/** Dictionary forms that `az`'s bundled dictionary gets wrong. */
const azLemmaFixes: Readonly<Record<string, string>> = { мес: "месяц" }

/** Only the dictionary: most words of a corpus are in it, and guessing costs as much again. */
const dictionaryOnly = { parsers: ["Dictionary"] }

/** The Russian lemmatiser (`az`); loads its dictionaries once per process. */
export const russianLemmatizer: Effect.Effect<Lemmatizer, LemmatizerError> = Effect.tryPromise({
  try: loadAz,
  catch: (e) => new LemmatizerError({ lang: "ru", detail: String((e as Error)?.message ?? e) })
}).pipe(
  Effect.map(() => {
    const morph = az().Morph
    const toAnalysis = (surface: string, best: AzParse | undefined): Analysis => {
      const lemma = foldYo((best?.normalize()?.word ?? surface).toLocaleLowerCase("ru"))
      return { lemma: azLemmaFixes[lemma] ?? lemma, pos: best?.tag.POS }
    }
    // az ranks "поле" as a case of "пола" and "месяц" as "мес": a reading whose dictionary form
    // is the word itself is preferred, since verse names things in that form most often
    const best = (surface: string, parses: ReadonlyArray<AzParse>): AzParse | undefined =>
      parses.find((p) => p.normalize()?.word === surface) ?? parses[0]
    return {
      lang: "ru" as const,
      lookup: cached((surface) => {
        const parses = morph(surface, dictionaryOnly)
        return parses.length === 0 ? undefined : toAnalysis(surface, best(surface, parses))
      }),
      analyse: cached((surface) => toAnalysis(surface, best(surface, morph(surface))))
    }
  })
)

/** English forms the lemmatiser does not know (archaic verse inflections). */
const archaic: Readonly<Record<string, string>> = {
  doth: "do",
  dost: "do",
  hath: "have",
  hast: "have",
  art: "be",
  wert: "be",
  wast: "be",
  saith: "say",
  spake: "speak",
  knowest: "know",
  goeth: "go",
  cometh: "come"
}

const vowel = /[aeiou]/

/** Base forms a regular `-ing`/`-ed` form may come from, the likeliest first. */
const regularBases = (word: string): Array<string> => {
  const m = /^(.+?)(ing|ed)$/.exec(word)
  if (m === null || m[1]!.length < 2) return []
  const base = m[1]!
  const last = base.at(-1)!
  const out: Array<string> = []
  if (m[2] === "ing" && base.endsWith("y") && base.length <= 3) out.push(`${base.slice(0, -1)}ie`) // dying → die
  if (last === base.at(-2) && !vowel.test(last)) out.push(base.slice(0, -1)) // hopped → hop
  if (m[2] === "ed" && last === "i") out.push(`${base.slice(0, -1)}y`) // cried → cry
  // a consonant-vowel-consonant base would have doubled its last letter: shining → shine
  const cvc = base.length >= 3 && !vowel.test(last) && vowel.test(base.at(-2)!) && !vowel.test(base.at(-3)!)
  if (cvc || !/[aeiouy]$/.test(base)) {
    if (cvc) out.push(`${base}e`, base)
    else out.push(base, `${base}e`)
  } else out.push(base)
  return out
}

const englishLemma = (): ((word: string) => string) => {
  const wink = winkLemmatizer()
  const lex = winkLexicon()
  const isWord = (w: string): boolean => Object.hasOwn(lex.wnWords, w)
  const isVerb = (w: string): boolean =>
    isWord(w) && (lex.wnWordSenses[lex.wnWords[w]!] ?? []).some((s) => lex.wnSenses[s]?.startsWith("verb."))
  return (word) => {
    const old = archaic[word]
    if (old !== undefined) return old
    const regular = regularBases(word).find(isVerb)
    if (regular !== undefined) return regular // singing → sing, loved → love, shining → shine
    const noun = wink.noun(word)
    if (noun !== word && isWord(noun)) return noun // eyes → eye, leaves → leaf
    if (isWord(word)) return word // rose, saw: a word of its own
    for (const f of [wink.verb, wink.adjective]) {
      const l = f(word)
      if (l !== word) return l // went → go, sweeter → sweet
    }
    // verse inflections: "whisperest", "singeth"
    const m = /^(.{3,}?)(?:est|eth|st)$/.exec(word)
    if (m && isWord(m[1]!)) return m[1]!
    return word
  }
}

/** The English lemmatiser (`wink-lemmatizer`, WordNet's word list to choose between readings). */
export const englishLemmatizer: Effect.Effect<Lemmatizer> = Effect.sync(() => {
  const lemma = englishLemma()
  const analyse = cached((surface): Analysis => ({ lemma: lemma(surface), pos: undefined }))
  return { lang: "en" as const, lookup: analyse, analyse }
})

/** The lemmatiser of a language. */
export const lemmatizer = (lang: Lang): Effect.Effect<Lemmatizer, LemmatizerError> =>
  lang === "ru" ? russianLemmatizer : englishLemmatizer
