/**
 * metric `coherence`: how well a text's images hang together — the mean cosine between
 * consecutive lines (or, for one-line texts, consecutive content words) in the model's own word
 * vectors, with USF free-association strength beside it when norms are given.
 */
import { detectLang } from "@hyperwords/corpus/Senses"
import { defineMetric, type SampleInput } from "@hyperwords/eval"
import { loadModel } from "@hyperwords/models/Model"
import { Effect, Schema } from "effect"
import { textCoherence } from "./Score.ts"
import { readUsf, standardisedVectors } from "./Vectors.ts"

export * as Coherence from "./Coherence.ts"
export { type TextCoherence, textCoherence, type Unit } from "./Score.ts"
export { coherenceValidations as validations } from "./Validation.ts"
export { readUsf, standardisedVectors } from "./Vectors.ts"

const Config = Schema.Struct({
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
type Config = typeof Config.Type

const applies = (input: SampleInput, cfg: Config): boolean =>
  input.task === undefined ||
  (cfg.tasks ?? ["describe-image", "continue-line", "invent-words"]).includes(input.task)

/** The model named by neither the config nor `--model`. */
export class NoModel extends Schema.TaggedError<NoModel>()("NoModel", {}) {
  override get message(): string {
    return "coherence needs a model: set `model` in its config or pass --model NAME"
  }
}

/** The plugin. */
export const coherence = defineMetric({
  name: "coherence",
  version: "1.1.0",
  apiVersion: 1,
  description: "mean cosine between consecutive lines' (or words') images in the model's word vectors",
  config: Config,
  card: {
    humanData:
      "English public-domain poems and Shakespeare's sonnets: originals against cross-poem splices of themselves",
    source:
      "../shared/data/en_poetry_public_domain, en_poetry_shakespeare_sonnets; Russian classic poems in the notes",
    statistic: "AUC original > spliced",
    value: 0.773,
    ci: [0.721, 0.822],
    n: 120,
    floor: 0.7,
    notes:
      "gemma-3-270m layer 6; Russian 0.737 [0.676, 0.789], n 120; line-shuffled AUC 0.550 (en), 0.544 (ru)"
  },
  requiresModel: true,
  isolation: "child-process",
  module: import.meta.url,
  timeoutMs: 600_000,
  sample: (input, cfg, ctx) =>
    Effect.gen(function* () {
      if (!applies(input, cfg)) return null
      const name = cfg.model ?? ctx.model
      if (name === undefined) return yield* new NoModel()
      const lang = input.lang ?? detectLang(input.text)
      const model = yield* Effect.promise(() => loadModel(name))
      const vectorsOf = yield* Effect.promise(() => standardisedVectors(model, lang, cfg.layer))
      const usf = cfg.usf !== undefined && lang === "en" ? readUsf(cfg.usf) : undefined
      const c = yield* Effect.promise(() =>
        textCoherence(input.text, lang, vectorsOf, {
          ...(cfg.unit === undefined ? {} : { unit: cfg.unit }),
          ...(usf === undefined ? {} : { usf })
        })
      )
      return c === undefined ? null : { ...c }
    })
})

export default coherence
