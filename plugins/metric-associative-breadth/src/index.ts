/**
 * metric `associative-breadth`: the Divergent Association Task (Olson et al. 2021) on the model's
 * own embeddings — the mean pairwise cosine distance of the first seven valid nouns of an answer,
 * × 100 — with a random-word control (seven random valid nouns, same computation) beside every
 * score, since the task rewards randomness.
 */
import { Degenerate, defineMetric, Stats } from "@hyperwords/eval"
import { loadModel } from "@hyperwords/models/Model"
import { Effect, Schema } from "effect"
import { breadthScorer } from "./Breadth.ts"
import { drawWords, TASK_WORDS } from "./Dat.ts"
import { answerWords, applies, Config, degenerateScore, dictionaryOf, scoreSample } from "./Sample.ts"

export { type BreadthScorer, breadthScorer, defaultLayer } from "./Breadth.ts"
export * as Dat from "./Dat.ts"
export * as Dictionary from "./Dictionary.ts"
export { answerWords, Config, degenerateScore, scoreSample } from "./Sample.ts"
export { datValidations as validations, inDevHalf } from "./Validation.ts"

/** No answer of the set has seven valid words: the task gives the set no score. */
export class TooFewWords extends Schema.TaggedError<TooFewWords>()("TooFewWords", {
  answers: Schema.Int
}) {
  override get message(): string {
    return `none of ${this.answers} answers has ${TASK_WORDS} valid nouns; the task gives no score`
  }
}

/** No model was named: neither `model` in the config nor `--model`. */
export class NoModel extends Schema.TaggedError<NoModel>()("NoModel", {}) {
  override get message(): string {
    return "associative-breadth needs a model: set `model` in its config or pass --model NAME"
  }
}

const scorerOf = (cfg: Config, model: string | undefined) =>
  Effect.gen(function* () {
    const name = cfg.model ?? model
    if (name === undefined) return yield* new NoModel()
    const m = yield* Effect.promise(() => loadModel(name))
    return yield* Effect.promise(() =>
      breadthScorer(m, dictionaryOf(cfg), {
        ...(cfg.layer === undefined ? {} : { layer: cfg.layer }),
        ...(cfg.referenceSize === undefined ? {} : { referenceSize: cfg.referenceSize })
      })
    )
  })

/** The plugin. */
export const associativeBreadth = defineMetric({
  name: "associative-breadth",
  version: "1.1.0",
  apiVersion: 1,
  description:
    "Divergent Association Task on the model's embeddings: mean pairwise cosine distance of the first seven valid nouns × 100, with a random-noun control",
  config: Config,
  requiresModel: true,
  isolation: "child-process",
  module: import.meta.url,
  timeoutMs: 600_000,
  sample: (input, cfg, ctx) => scoreSample(input, cfg, scorerOf(cfg, ctx.model), ctx.seed),
  corpus: (inputs, cfg, ctx) =>
    Effect.gen(function* () {
      const dictionary = dictionaryOf(cfg)
      const applying = inputs.filter((i) => applies(i, cfg))
      const degenerate = applying.filter((i) => Degenerate.degenerate(i) !== undefined).length
      const lists = applying
        .filter((i) => Degenerate.degenerate(i) === undefined)
        .map((i) => answerWords(i, dictionary))
        .filter((w) => w.length === TASK_WORDS)
      if (lists.length === 0 && degenerate === 0) return yield* new TooFewWords({ answers: applying.length })
      if (lists.length === 0) return { score: degenerateScore, scored: 0, degenerate, valid: 0 }
      const scorer = yield* scorerOf(cfg, ctx.model)
      const rng = Stats.makeRng(ctx.seed)
      const controlLists = Array.from({ length: Math.max(50, lists.length) }, () =>
        drawWords(scorer.pool, TASK_WORDS, rng)
      )
      const scores = [
        ...(yield* Effect.promise(() => scorer.scoreMany(lists))),
        ...Array.from({ length: degenerate }, () => degenerateScore)
      ]
      const controls = yield* Effect.promise(() => scorer.scoreMany(controlLists))
      const s = Stats.bootstrapMean(scores, { seed: ctx.seed })
      const c = Stats.bootstrapMean(controls, { seed: ctx.seed })
      return {
        score: s.mean,
        ci: s.ci,
        control: c.mean,
        controlCi: c.ci,
        aboveControl: s.mean - c.mean,
        scored: lists.length,
        degenerate,
        valid: lists.length / applying.length,
        layer: scorer.layer,
        dictionary: dictionary.name
      }
    })
})

export default associativeBreadth
