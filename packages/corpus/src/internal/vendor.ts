/**
 * Typed handles on the CommonJS NLP packages that ship no types: `az` (Russian morphology with
 * its bundled OpenCorpora dictionaries), `wink-lemmatizer` and `wink-lexicon` (English).
 */
import { createRequire } from "node:module"
import { dirname, join } from "node:path"

const require = createRequire(import.meta.url)

/** One morphological parse of a Russian word. */
export interface AzParse {
  readonly tag: { readonly POS?: string; readonly [grammeme: string]: unknown }
  readonly score: number
  readonly normalize: () => { readonly word: string } | undefined
}

/** The parts of `az` that mining uses. */
export interface Az {
  readonly Morph: ((word: string, config?: Record<string, unknown>) => ReadonlyArray<AzParse>) & {
    readonly init: (path: string, callback: (err?: unknown) => void) => void
  }
}

/** The `az` module. */
export const az = (): Az => require("az") as Az

/** The folder of `az`'s bundled dictionaries. */
export const azDictionaries = (): string => join(dirname(require.resolve("az/package.json")), "dicts")

/** The English lemmatizer: one function per part of speech. */
export interface WinkLemmatizer {
  readonly noun: (word: string) => string
  readonly verb: (word: string) => string
  readonly adjective: (word: string) => string
}

/** The `wink-lemmatizer` module. */
export const winkLemmatizer = (): WinkLemmatizer => require("wink-lemmatizer") as WinkLemmatizer

/** WordNet words and their lexicographer files (senses) from `wink-lexicon`. */
export interface WinkLexicon {
  readonly wnWords: Readonly<Record<string, number>>
  readonly wnWordSenses: ReadonlyArray<ReadonlyArray<number>>
  readonly wnSenses: ReadonlyArray<string>
}

/** The `wink-lexicon` module. */
export const winkLexicon = (): WinkLexicon => require("wink-lexicon") as WinkLexicon
