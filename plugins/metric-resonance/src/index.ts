/**
 * metric `resonance`: agreement between the sensations a text evokes and the sensations asked
 * for, both as profiles of the sensory estimator of the plugin SDK (`@hyperwords/eval/Sdk`) — its default for the
 * judge model (supervised where the model's shipped weights validated better, zero-shot elsewhere).
 */

import { defineMetric } from "@hyperwords/eval"
import {
  defaultEstimator,
  type Estimator,
  loadModel,
  readSupervised,
  supervised,
  zeroShot
} from "@hyperwords/eval/Sdk"
import { Effect, Schema } from "effect"
import { Config, scoreSample } from "./Sample.ts"

export * as Resonance from "./Resonance.ts"
export { Config, degenerateScore, NoRequest, scoreSample, UnknownChannel } from "./Sample.ts"
export { resonanceValidations as validations } from "./Validation.ts"

/** The model named by neither the config nor `--model`. */
export class NoModel extends Schema.TaggedError<NoModel>()("NoModel", {}) {
  override get message(): string {
    return "resonance needs a model: set `model` in its config or pass --model NAME"
  }
}

const estimators = new Map<string, Promise<Estimator>>()

/** The estimator of the config's model (or the caller's), loaded once per process. */
export const estimatorOf = (cfg: Config, ctxModel: string | undefined) =>
  Effect.gen(function* () {
    const name = cfg.model ?? ctxModel
    if (name === undefined) return yield* new NoModel()
    const key = `${name}\0${cfg.supervised ?? ""}\0${cfg.estimator ?? "default"}`
    let e = estimators.get(key)
    if (e === undefined) {
      e = loadModel(name).then((model) => {
        const zero = zeroShot(model)
        if (cfg.supervised !== undefined) return supervised(model, readSupervised(cfg.supervised), zero)
        return cfg.estimator === "zero-shot" ? zero : defaultEstimator(model)
      })
      e.catch(() => estimators.delete(key))
      estimators.set(key, e)
    }
    return yield* Effect.tryPromise({ try: () => e, catch: (err) => err })
  })

/** The plugin. */
export const resonance = defineMetric({
  name: "resonance",
  version: "1.3.0",
  apiVersion: 2,
  description:
    "agreement (Pearson r over seven sensory channels) between the sensations asked for and those a text's words evoke",
  config: Config,
  requiresModel: true,
  isolation: "child-process",
  module: import.meta.url,
  timeoutMs: 600_000,
  sample: (input, cfg, ctx) => scoreSample(input, cfg, estimatorOf(cfg, ctx.model))
})

export default resonance
