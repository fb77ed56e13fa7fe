/**
 * The task score of one answer, given a scorer: the first seven valid nouns the prompt did not
 * give (a copied example word does not count), with a random-noun control beside it, and the
 * bottom of the scale, 0, for a degenerate answer (`Degenerate` of `@hyperwords/eval`: the example
 * list or prompt echoed, a loop, one line repeated, an empty or one-word answer, the other language).
 */
import { createHash } from "node:crypto"
import { Degenerate, type SampleInput, type SampleScore, Stats } from "@hyperwords/eval"
import { Effect, Schema } from "effect"
import type { BreadthScorer } from "./Breadth.ts"
import { answerEntries, drawWords, firstValidWords, TASK_WORDS } from "./Dat.ts"
import { type Dictionary, type Lang, readDictionary, wordnetNouns } from "./Dictionary.ts"
import { russianNouns } from "./RussianNouns.ts"

/** The plugin's config. */
export const Config = Schema.Struct({
  /** Model whose embeddings are used (default: the model under evaluation, `ctx.model`). */
  model: Schema.optionalKey(Schema.String),
  /** Hidden-state layer (default 1, chosen on the dev half of the human answers). */
  layer: Schema.optionalKey(Schema.Int),
  /** A dictionary file, one word a line (default: WordNet nouns bundled with wink-lexicon). */
  dictionary: Schema.optionalKey(Schema.String),
  /** A Russian dictionary file, one word a line (default: OpenCorpora's common nouns from `az`). */
  russianDictionary: Schema.optionalKey(Schema.String),
  /** Words in the standardisation's reference vocabulary (default 1000). */
  referenceSize: Schema.optionalKey(Schema.Int),
  /** Random lists averaged into each sample's control (default 5). */
  controls: Schema.optionalKey(Schema.Int),
  /** Prompt-set tasks the metric applies to (default `ten-words`); samples without a task always count. */
  tasks: Schema.optionalKey(Schema.Array(Schema.String))
})
export type Config = typeof Config.Type

/** The score of a degenerate answer: the bottom of the scale (seven words of one meaning score 0). */
export const degenerateScore = 0

/**
 * The language of an answer: its `lang`, else the script most of its letters are written in
 * (Cyrillic: Russian), so that `hyperwords score` input without `lang` is read as it is written.
 */
export const langOf = (input: SampleInput): Lang => {
  if (input.lang === "ru" || input.lang === "en") return input.lang
  const cyrillic = (input.text.match(/\p{Script=Cyrillic}/gu) ?? []).length
  const latin = (input.text.match(/\p{Script=Latin}/gu) ?? []).length
  return cyrillic > latin ? "ru" : "en"
}

/** The config's dictionary of a language. */
export const dictionaryOf = (cfg: Config, lang: Lang = "en"): Dictionary =>
  lang === "ru"
    ? cfg.russianDictionary === undefined
      ? russianNouns()
      : readDictionary(cfg.russianDictionary, "ru")
    : cfg.dictionary === undefined
      ? wordnetNouns()
      : readDictionary(cfg.dictionary)

/** Whether the metric applies to a sample's task. */
export const applies = (input: SampleInput, cfg: Config): boolean =>
  input.task === undefined || (cfg.tasks ?? ["ten-words"]).includes(input.task)

/**
 * The first seven valid nouns of an answer that its prompt and request did not give, in the
 * dictionary of the answer's language (`dictionaryOf(cfg, langOf(input))`).
 */
export const answerWords = (input: SampleInput, dictionary: Dictionary): Array<string> =>
  firstValidWords(answerEntries(input.text), dictionary, TASK_WORDS, Degenerate.givenByPrompt(input))

const seedOf = (seed: number, id: string): number =>
  (seed ^ Number.parseInt(createHash("sha1").update(id).digest("hex").slice(0, 8), 16)) >>> 0

/**
 * The score of an answer: `null` for another task or fewer than seven valid nouns of its own, 0
 * for a degenerate answer (unless `gate` is false: the validation's comparison), else the task
 * score with the mean of `controls` random lists beside it.
 */
export const scoreSample = <E>(
  input: SampleInput,
  cfg: Config,
  scorerOf: (dictionary: Dictionary) => Effect.Effect<BreadthScorer, E>,
  seed: number,
  options: { readonly gate?: boolean } = {}
): Effect.Effect<SampleScore, E> =>
  Effect.gen(function* () {
    if (!applies(input, cfg)) return null
    const bad = options.gate === false ? undefined : Degenerate.degenerate(input)
    if (bad !== undefined) return { score: degenerateScore, degenerate: bad.kind, why: bad.detail }
    const dictionary = dictionaryOf(cfg, langOf(input))
    const words = answerWords(input, dictionary)
    if (words.length < TASK_WORDS) return null
    const scorer = yield* scorerOf(dictionary)
    const rng = Stats.makeRng(seedOf(seed, input.id))
    const lists = [
      words,
      ...Array.from({ length: cfg.controls ?? 5 }, () => drawWords(scorer.pool, TASK_WORDS, rng))
    ]
    const [score, ...controls] = yield* Effect.promise(() => scorer.scoreMany(lists))
    const control = Stats.mean(controls)
    return {
      score: score!,
      control,
      aboveControl: score! - control,
      words,
      lang: dictionary.lang ?? "en",
      layer: scorer.layer
    }
  })
