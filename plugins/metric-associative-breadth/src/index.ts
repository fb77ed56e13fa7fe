/**
 * metric `associative-breadth`: the Divergent Association Task (Olson et al. 2021) on the model's
 * own embeddings — the mean pairwise cosine distance of the first seven valid nouns of an answer,
 * × 100 — with a random-word control (seven random valid nouns, same computation) beside every
 * score, since the task rewards randomness.
 */
import { Degenerate, defineMetric, Stats } from "@hyperwords/eval"
import { loadModel } from "@hyperwords/eval/Sdk"
import { Effect, Schema } from "effect"
import { breadthScorer } from "./Breadth.ts"
import { drawWords, TASK_WORDS } from "./Dat.ts"
import type { Dictionary, Lang } from "./Dictionary.ts"
import { answerWords, applies, Config, degenerateScore, dictionaryOf, langOf, scoreSample } from "./Sample.ts"

export { type BreadthScorer, breadthScorer, defaultLayer } from "./Breadth.ts"
export * as Dat from "./Dat.ts"
export * as Dictionary from "./Dictionary.ts"
export { russianNouns } from "./RussianNouns.ts"
export { answerWords, Config, degenerateScore, dictionaryOf, langOf, scoreSample } from "./Sample.ts"
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

const scorerOf = (cfg: Config, model: string | undefined) => (dictionary: Dictionary) =>
  Effect.gen(function* () {
    const name = cfg.model ?? model
    if (name === undefined) return yield* new NoModel()
    const m = yield* Effect.promise(() => loadModel(name))
    return yield* Effect.promise(() =>
      breadthScorer(m, dictionary, {
        ...(cfg.layer === undefined ? {} : { layer: cfg.layer }),
        ...(cfg.referenceSize === undefined ? {} : { referenceSize: cfg.referenceSize })
      })
    )
  })

/** The plugin. */
export const associativeBreadth = defineMetric({
  name: "associative-breadth",
  version: "1.2.0",
  apiVersion: 2,
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
      const applying = inputs.filter((i) => applies(i, cfg))
      const byLang = new Map<Lang, { lists: Array<Array<string>>; degenerate: number }>()
      for (const i of applying) {
        const lang = langOf(i)
        const at = byLang.get(lang) ?? { lists: [], degenerate: 0 }
        byLang.set(lang, at)
        if (Degenerate.degenerate(i) !== undefined) at.degenerate++
        else {
          const words = answerWords(i, dictionaryOf(cfg, lang))
          if (words.length === TASK_WORDS) at.lists.push(words)
        }
      }
      const counts = [...byLang.values()]
      const scored = counts.reduce((n, l) => n + l.lists.length, 0)
      const degenerate = counts.reduce((n, l) => n + l.degenerate, 0)
      if (scored === 0 && degenerate === 0) return yield* new TooFewWords({ answers: applying.length })
      if (scored === 0) return { score: degenerateScore, scored: 0, degenerate, valid: 0 }
      const rng = Stats.makeRng(ctx.seed)
      const langs: Array<LangResult> = []
      for (const [lang, { lists, degenerate }] of byLang) {
        if (lists.length + degenerate === 0) continue
        const dictionary = dictionaryOf(cfg, lang)
        const scorer = yield* scorerOf(cfg, ctx.model)(dictionary)
        const controlLists = Array.from({ length: Math.max(50, lists.length) }, () =>
          drawWords(scorer.pool, TASK_WORDS, rng)
        )
        const scores = yield* Effect.promise(() => scorer.scoreMany(lists))
        const controls = yield* Effect.promise(() => scorer.scoreMany(controlLists))
        langs.push({ lang, scores, degenerate, controls, dictionary: dictionary.name, layer: scorer.layer })
      }
      return corpusResult(langs, applying.length, ctx.seed)
    })
})

/** One language's answers (scored, and degenerate at 0) and its random-noun controls, by one judge. */
export interface LangResult {
  readonly lang: Lang
  readonly scores: ReadonlyArray<number>
  readonly degenerate: number
  readonly controls: ReadonlyArray<number>
  readonly dictionary: string
  readonly layer: number
}

/**
 * The corpus result: the mean over every answer (degenerate ones at 0) and the random-noun control
 * of the same mix — each language's control mean weighted by that language's share of the
 * answers (a Russian answer is held against Russian random nouns), its interval from the
 * languages' bootstrap intervals, weighted, half-widths in quadrature — and the same per language.
 */
export const corpusResult = (langs: ReadonlyArray<LangResult>, applying: number, seed: number) => {
  const values = (l: LangResult) => [
    ...l.scores,
    ...Array.from({ length: l.degenerate }, () => degenerateScore)
  ]
  const scored = langs.reduce((n, l) => n + l.scores.length, 0)
  const counted = langs.reduce((n, l) => n + l.scores.length + l.degenerate, 0)
  const s = Stats.bootstrapMean(langs.flatMap(values), { seed })
  const perLang = langs.map((l) => ({
    l,
    m: Stats.bootstrapMean(values(l), { seed }),
    c: Stats.bootstrapMean(l.controls, { seed }),
    weight: (l.scores.length + l.degenerate) / counted
  }))
  const control = perLang.reduce((x, p) => x + p.weight * p.c.mean, 0)
  const half = Math.hypot(...perLang.map((p) => (p.weight * (p.c.ci[1] - p.c.ci[0])) / 2))
  const centre = perLang.reduce((x, p) => x + (p.weight * (p.c.ci[0] + p.c.ci[1])) / 2, 0)
  return {
    score: s.mean,
    ci: s.ci,
    control,
    controlCi: [centre - half, centre + half] as const,
    aboveControl: s.mean - control,
    scored,
    degenerate: counted - scored,
    valid: scored / applying,
    layer: langs[0]!.layer,
    dictionary: langs.map((l) => l.dictionary).join("; "),
    byLang: Object.fromEntries(
      perLang.map((p) => [
        p.l.lang,
        {
          score: p.m.mean,
          ci: p.m.ci,
          control: p.c.mean,
          controlCi: p.c.ci,
          aboveControl: p.m.mean - p.c.mean,
          scored: p.l.scores.length,
          degenerate: p.l.degenerate
        }
      ])
    )
  }
}

export default associativeBreadth
