/**
 * metric `associative-breadth`: the Divergent Association Task (Olson et al. 2021) on the model's
 * own embeddings — the mean pairwise cosine distance of the first seven valid nouns of an answer,
 * × 100 — with a random-word control (seven random valid nouns, same computation) beside every
 * score, since the task rewards randomness.
 */
import { createHash } from "node:crypto"
import { defineMetric, type SampleInput, Stats } from "@hyperwords/eval"
import { loadModel } from "@hyperwords/models/Model"
import { Effect, Schema } from "effect"
import { breadthScorer } from "./Breadth.ts"
import { answerEntries, drawWords, firstValidWords, TASK_WORDS } from "./Dat.ts"
import { type Dictionary, readDictionary, wordnetNouns } from "./Dictionary.ts"

export { type BreadthScorer, breadthScorer, defaultLayer } from "./Breadth.ts"
export * as Dat from "./Dat.ts"
export * as Dictionary from "./Dictionary.ts"
export { datValidations as validations, inDevHalf } from "./Validation.ts"

const Config = Schema.Struct({
  /** Model whose embeddings are used (default: the model under evaluation, `ctx.model`). */
  model: Schema.optionalKey(Schema.String),
  /** Hidden-state layer (default 1, chosen on the dev half of the human answers). */
  layer: Schema.optionalKey(Schema.Int),
  /** A dictionary file, one word a line (default: WordNet nouns bundled with wink-lexicon). */
  dictionary: Schema.optionalKey(Schema.String),
  /** Words in the standardisation's reference vocabulary (default 1000). */
  referenceSize: Schema.optionalKey(Schema.Int),
  /** Random lists averaged into each sample's control (default 5). */
  controls: Schema.optionalKey(Schema.Int),
  /** Prompt-set tasks the metric applies to (default `ten-words`); samples without a task always count. */
  tasks: Schema.optionalKey(Schema.Array(Schema.String))
})
type Config = typeof Config.Type

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

const dictionaryOf = (cfg: Config): Dictionary =>
  cfg.dictionary === undefined ? wordnetNouns() : readDictionary(cfg.dictionary)

const applies = (input: SampleInput, cfg: Config): boolean =>
  input.task === undefined || (cfg.tasks ?? ["ten-words"]).includes(input.task)

const seedOf = (seed: number, id: string): number =>
  (seed ^ Number.parseInt(createHash("sha1").update(id).digest("hex").slice(0, 8), 16)) >>> 0

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
  version: "1.0.0",
  apiVersion: 1,
  description:
    "Divergent Association Task on the model's embeddings: mean pairwise cosine distance of the first seven valid nouns × 100, with a random-noun control",
  config: Config,
  card: {
    humanData: "Olson et al. 2021 DAT study 2: human ten-word answers with official (GloVe 840B) scores",
    source: "Olson et al., PNAS 118(25) 2021; ../shared/data/en_dat_divergent_association",
    statistic: "Spearman ρ",
    value: 0.7,
    ci: [0.675, 0.724],
    n: 2189,
    floor: 0.5,
    notes:
      "gemma-3-270m layer 1, test half of answers (layer chosen on the dev half); random-noun control 99.9 vs 89.3 for human answers"
  },
  requiresModel: true,
  isolation: "child-process",
  module: import.meta.url,
  timeoutMs: 600_000,
  sample: (input, cfg, ctx) =>
    Effect.gen(function* () {
      if (!applies(input, cfg)) return null
      const dictionary = dictionaryOf(cfg)
      const words = firstValidWords(answerEntries(input.text), dictionary)
      if (words.length < TASK_WORDS) return null
      const scorer = yield* scorerOf(cfg, ctx.model)
      const rng = Stats.makeRng(seedOf(ctx.seed, input.id))
      const lists = [
        words,
        ...Array.from({ length: cfg.controls ?? 5 }, () => drawWords(scorer.pool, TASK_WORDS, rng))
      ]
      const [score, ...controls] = yield* Effect.promise(() => scorer.scoreMany(lists))
      const control = Stats.mean(controls)
      return { score: score!, control, aboveControl: score! - control, words, layer: scorer.layer }
    }),
  corpus: (inputs, cfg, ctx) =>
    Effect.gen(function* () {
      const dictionary = dictionaryOf(cfg)
      const lists = inputs
        .filter((i) => applies(i, cfg))
        .map((i) => firstValidWords(answerEntries(i.text), dictionary))
        .filter((w) => w.length === TASK_WORDS)
      if (lists.length === 0)
        return yield* new TooFewWords({ answers: inputs.filter((i) => applies(i, cfg)).length })
      const scorer = yield* scorerOf(cfg, ctx.model)
      const rng = Stats.makeRng(ctx.seed)
      const controlLists = Array.from({ length: Math.max(50, lists.length) }, () =>
        drawWords(scorer.pool, TASK_WORDS, rng)
      )
      const scores = yield* Effect.promise(() => scorer.scoreMany(lists))
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
        valid: lists.length / inputs.filter((i) => applies(i, cfg)).length,
        layer: scorer.layer,
        dictionary: dictionary.name
      }
    })
})

export default associativeBreadth
