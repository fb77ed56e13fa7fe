/**
 * The coherence of one sample, given its word vectors: the words the request and prompt gave are
 * left out first, and a degenerate answer (`Degenerate` of `@hyperwords/eval`: one line repeated,
 * a loop, an echo...) scores the bottom of the scale, −1, without reading a vector.
 */

import { Degenerate, type SampleInput, type SampleScore } from "@hyperwords/eval"
import { detectLang, type Lang } from "@hyperwords/eval/Sdk"
import { Effect, Schema } from "effect"
import { textCoherence } from "./Score.ts"
import { readUsf, type WordVectorsOf } from "./Vectors.ts"

/** The plugin's config. */
export const Config = Schema.Struct({
  /** Model whose vectors are used (default: the model under evaluation, `ctx.model`). */
  model: Schema.optionalKey(Schema.String),
  /** Hidden-state layer (default: the sensory estimator's, a third of the depth). */
  layer: Schema.optionalKey(Schema.Int),
  /** `auto` (default: lines when there are two, else words), `lines` or `words`. */
  unit: Schema.optionalKey(Schema.Literals(["auto", "lines", "words"])),
  /** USF free-association norms (CSV with CUE, TARGET, FSG): adds `association` to the details (English). */
  usf: Schema.optionalKey(Schema.String),
  /**
   * Prompt-set tasks the metric applies to (default `describe-image`, `continue-line`, `invent-words`):
   * ten unrelated words are meant not to cohere. Samples without a task always count.
   */
  tasks: Schema.optionalKey(Schema.Array(Schema.String))
})
export type Config = typeof Config.Type

/** The score of a degenerate answer: the bottom of the scale (a cosine ends at −1). */
export const degenerateScore = -1

const excluding =
  (given: (word: string) => boolean, known?: (word: string) => boolean) =>
  (word: string): boolean =>
    given(word) || (known !== undefined && !known(word))

/** Whether the metric applies to a sample's task. */
export const applies = (input: SampleInput, cfg: Config): boolean =>
  input.task === undefined ||
  (cfg.tasks ?? ["describe-image", "continue-line", "invent-words"]).includes(input.task)

/** What a validation changes in how a sample is scored (the plugin itself uses neither). */
export interface ScoreOptions {
  /** Words the vectors know; the others are left out (a baseline with a small vocabulary, e.g. GloVe). */
  readonly known?: (word: string) => boolean
  /** `false`: no degenerate gate, the raw coherence of any text (to show what the gate adds). */
  readonly gate?: boolean
}

/**
 * The coherence of a sample: `null` for another task or fewer than two words of its own, −1 for
 * a degenerate answer, else its line (or word) coherence over the words it made.
 */
export const scoreSample = <E>(
  input: SampleInput,
  cfg: Config,
  vectorsFor: (lang: Lang) => Effect.Effect<WordVectorsOf, E>,
  options: ScoreOptions = {}
): Effect.Effect<SampleScore, E> =>
  Effect.gen(function* () {
    if (!applies(input, cfg)) return null
    const bad = options.gate === false ? undefined : Degenerate.degenerate(input)
    if (bad !== undefined) return { score: degenerateScore, degenerate: bad.kind, why: bad.detail }
    const lang = input.lang ?? detectLang(input.text)
    const vectorsOf = yield* vectorsFor(lang)
    const usf = cfg.usf !== undefined && lang === "en" ? readUsf(cfg.usf) : undefined
    const c = yield* Effect.promise(() =>
      textCoherence(input.text, lang, vectorsOf, {
        exclude: excluding(Degenerate.givenByPrompt(input), options.known),
        ...(cfg.unit === undefined ? {} : { unit: cfg.unit }),
        ...(usf === undefined ? {} : { usf })
      })
    )
    return c === undefined ? null : { ...c }
  })
