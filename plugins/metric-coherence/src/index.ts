/**
 * metric `coherence`: how well a text's images hang together — the mean cosine between
 * consecutive lines (or, for one-line texts, consecutive content words) in the model's own word
 * vectors, with USF free-association strength beside it when norms are given.
 */
import { defineMetric } from "@hyperwords/eval"
import { loadModel } from "@hyperwords/models/Model"
import { Effect, Schema } from "effect"
import { Config, scoreSample } from "./Sample.ts"
import { standardisedVectors } from "./Vectors.ts"

export * as Coherence from "./Coherence.ts"
export { Config, degenerateScore, scoreSample } from "./Sample.ts"
export { type TextCoherence, textCoherence, type Unit } from "./Score.ts"
export { coherenceValidations as validations } from "./Validation.ts"
export { readUsf, standardisedVectors } from "./Vectors.ts"

/** The model named by neither the config nor `--model`. */
export class NoModel extends Schema.TaggedError<NoModel>()("NoModel", {}) {
  override get message(): string {
    return "coherence needs a model: set `model` in its config or pass --model NAME"
  }
}

/** The plugin. */
export const coherence = defineMetric({
  name: "coherence",
  version: "1.2.0",
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
      "gemma-3-270m layer 6; Russian 0.737 [0.676, 0.789], n 120; line-shuffled AUC 0.550 (en), 0.544 (ru). " +
      "Floor on degenerate answers: request and prompt words are left out before scoring, and one line repeated " +
      "(which scored 1.0), a loop, an echo, a copied example list, a bare word list, an empty or one-word answer or " +
      "one in the other language scores −1; each must sit below the median human text (checks `coherence " +
      "degenerate floor (en|ru)`, ≥ 0.95)"
  },
  requiresModel: true,
  isolation: "child-process",
  module: import.meta.url,
  timeoutMs: 600_000,
  sample: (input, cfg, ctx) =>
    scoreSample(input, cfg, (lang) =>
      Effect.gen(function* () {
        const name = cfg.model ?? ctx.model
        if (name === undefined) return yield* new NoModel()
        const model = yield* Effect.promise(() => loadModel(name))
        return yield* Effect.promise(() => standardisedVectors(model, lang, cfg.layer))
      })
    )
})

export default coherence
