/**
 * metric `coherence`: how well a text's images hang together — the mean cosine between
 * consecutive lines (or, for one-line texts, consecutive content words) in the model's own word
 * vectors, with USF free-association strength beside it when norms are given.
 */
import { defineMetric } from "@hyperwords/eval"
import { loadModel } from "@hyperwords/eval/Sdk"
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
  apiVersion: 2,
  description: "mean cosine between consecutive lines' (or words') images in the model's word vectors",
  config: Config,
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
