/**
 * metric `imageability`: how imageable a text's words are — the mean, over its content words, of a
 * ridge regression from the model's word vectors to human imageability norms (Glasgow norms;
 * concreteness with Brysbaert's norms by config). Works for Russian through the multilingual
 * model (the regression is fitted on English norms).
 */
import { existsSync } from "node:fs"
import { defineMetric } from "@hyperwords/eval"
import { defaultLayer, loadModel, type Model } from "@hyperwords/eval/Sdk"
import { Effect, Schema } from "effect"
import { readNorms } from "./Norms.ts"
import { fitRegression, predictWords, type Regression, readRegression } from "./Regression.ts"
import { scoreSample, shippedWeights } from "./Sample.ts"

export { contentWords } from "@hyperwords/eval/Sdk"
export * as Norms from "./Norms.ts"
export * as RegressionModule from "./Regression.ts"
export { degenerateScore, scoreSample, shippedWeights } from "./Sample.ts"
export { imageabilityValidations as validations } from "./Validation.ts"

const Config = Schema.Struct({
  /** Model whose vectors are read (default: the model under evaluation, `ctx.model`). */
  model: Schema.optionalKey(Schema.String),
  /** A regression saved by `scripts/fit.ts` (default: the one shipped for the model, if any). */
  weights: Schema.optionalKey(Schema.String),
  /** Or norms to fit on at first use: a CSV/TSV, its value column and (optionally) its word column. */
  norms: Schema.optionalKey(
    Schema.Struct({
      path: Schema.String,
      valueColumn: Schema.String,
      wordColumn: Schema.optionalKey(Schema.String)
    })
  ),
  /** Layer when fitting from `norms` (default: the sensory estimator's layer, a third of the depth). */
  layer: Schema.optionalKey(Schema.Int)
})
type Config = typeof Config.Type

/** No regression for this model: no `weights`, no `norms`, and none shipped. */
export class NoRegression extends Schema.TaggedError<NoRegression>()("NoRegression", {
  model: Schema.String
}) {
  override get message(): string {
    return (
      `no imageability regression for model ${this.model}: pass \`weights\` (made by ` +
      "plugins/metric-imageability/scripts/fit.ts) or `norms` { path, valueColumn } to fit at first use"
    )
  }
}

/** The model named by neither the config nor `--model`. */
export class NoModel extends Schema.TaggedError<NoModel>()("NoModel", {}) {
  override get message(): string {
    return "imageability needs a model: set `model` in its config or pass --model NAME"
  }
}

const regressions = new Map<string, Promise<Regression>>()

const regressionOf = (model: Model, cfg: Config): Promise<Regression> => {
  const key = JSON.stringify([model.dir, cfg.weights, cfg.norms, cfg.layer])
  let r = regressions.get(key)
  if (r === undefined) {
    r = (async () => {
      if (cfg.weights !== undefined) return readRegression(cfg.weights)
      if (cfg.norms !== undefined) {
        const rows = readNorms(cfg.norms)
        return fitRegression(model, rows, {
          layer: cfg.layer ?? defaultLayer(model),
          target: `${cfg.norms.valueColumn} of ${cfg.norms.path}`,
          source: cfg.norms.path,
          command: "fitted at first use (config `norms`)"
        })
      }
      const shipped = shippedWeights(model.name)
      if (existsSync(shipped)) return readRegression(shipped)
      throw new NoRegression({ model: model.name })
    })()
    r.catch(() => regressions.delete(key))
    regressions.set(key, r)
  }
  return r
}

const setup = (cfg: Config, ctxModel: string | undefined) =>
  Effect.gen(function* () {
    const name = cfg.model ?? ctxModel
    if (name === undefined) return yield* new NoModel()
    const model = yield* Effect.promise(() => loadModel(name))
    const regression = yield* Effect.tryPromise({
      try: () => regressionOf(model, cfg),
      catch: (e) => e
    })
    return { model, regression }
  })

/** The plugin. */
export const imageability = defineMetric({
  name: "imageability",
  version: "1.1.0",
  apiVersion: 2,
  description:
    "mean predicted imageability (Glasgow 1-7 scale) of a text's content words, from the model's vectors",
  config: Config,
  requiresModel: true,
  isolation: "child-process",
  module: import.meta.url,
  timeoutMs: 600_000,
  sample: (input, cfg, ctx) =>
    scoreSample(input, (words) =>
      Effect.gen(function* () {
        const { model, regression } = yield* setup(cfg, ctx.model)
        return yield* Effect.promise(() => predictWords(model, regression, words))
      })
    )
})

export default imageability
