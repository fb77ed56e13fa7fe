/**
 * The resonance of one sample, given its estimator: the request's profile against the profile of
 * the answer's own words (the words the request and prompt gave are left out first), and the
 * bottom of the scale, −1, for a degenerate answer (`Degenerate` of `@hyperwords/eval`).
 */

import { Degenerate, type SampleInput, type SampleScore } from "@hyperwords/eval"
import {
  type Channel,
  channels,
  contentWords,
  detectLang,
  type Estimator,
  type Lang
} from "@hyperwords/eval/Sdk"
import { Effect, Schema } from "effect"
import { agreement, meanProfile, requestFromPrompt, vectorOf } from "./Resonance.ts"

/** The plugin's config. */
export const Config = Schema.Struct({
  /** Model whose estimator is used (default: the model under evaluation, `ctx.model`). */
  model: Schema.optionalKey(Schema.String),
  /** A fixed request as channel weights, e.g. `{ haptic: 1, auditory: 0.5 }` (missing channels 0). */
  senses: Schema.optionalKey(Schema.Record(Schema.String, Schema.Finite)),
  /** A fixed request as feeling words, e.g. "тёплое мягкое мурчит вечер". */
  feel: Schema.optionalKey(Schema.String),
  /** `pearson` (default) or `cosine` between the request and the text's profile. */
  agreement: Schema.optionalKey(Schema.Literals(["pearson", "cosine"])),
  /** A supervised estimator saved by `fitSupervised` (as `packages/corpus/scripts/fit-senses.ts` does); overrides `estimator`. */
  supervised: Schema.optionalKey(Schema.String),
  /**
   * `default` (the default: the model's shipped supervised weights where they validated better than
   * zero-shot, per language; zero-shot elsewhere) or `zero-shot`.
   */
  estimator: Schema.optionalKey(Schema.Literals(["default", "zero-shot"])),
  /** Prompt-set tasks the metric applies to (default `describe-image`); samples without a task always count. */
  tasks: Schema.optionalKey(Schema.Array(Schema.String))
})
export type Config = typeof Config.Type

/** The score of a degenerate answer: the bottom of the scale (Pearson r and cosine both end at −1). */
export const degenerateScore = -1

/** Whether the metric applies to a sample's task. */
export const applies = (input: SampleInput, cfg: Config): boolean =>
  input.task === undefined || (cfg.tasks ?? ["describe-image"]).includes(input.task)

/** Nothing says what sensations were asked for. */
export class NoRequest extends Schema.TaggedError<NoRequest>()("NoRequest", { sample: Schema.String }) {
  override get message(): string {
    return `sample ${this.sample}: no request — set \`senses\` or \`feel\` in the config, or give the sample a prompt`
  }
}

/** A channel name in `senses` that is not a channel. */
export class UnknownChannel extends Schema.TaggedError<UnknownChannel>()("UnknownChannel", {
  channel: Schema.String
}) {
  override get message(): string {
    return `unknown channel "${this.channel}" in senses (channels: ${channels.join(", ")})`
  }
}

/** The words of the request: `feel`, else the sample's request, else the prompt after its last colon. */
const requestText = (input: SampleInput, cfg: Config): string | undefined =>
  cfg.feel ?? input.request ?? (input.prompt === undefined ? undefined : requestFromPrompt(input.prompt))

/** The request of a sample as channel weights, and where it came from. */
const requestOf = (input: SampleInput, cfg: Config, estimator: Estimator, lang: Lang) =>
  Effect.gen(function* () {
    if (cfg.senses !== undefined) {
      const bad = Object.keys(cfg.senses).find((k) => !channels.includes(k as Channel))
      if (bad !== undefined) return yield* new UnknownChannel({ channel: bad })
      return { vector: vectorOf(cfg.senses as Partial<Record<Channel, number>>), from: "senses" }
    }
    const text = requestText(input, cfg)
    const words = text === undefined ? [] : contentWords(text, lang)
    if (words.length === 0) return yield* new NoRequest({ sample: input.id })
    const vector = yield* Effect.promise(() => meanProfile(estimator, words, lang))
    const from = cfg.feel !== undefined ? "feel" : input.request !== undefined ? "request" : "prompt"
    return { vector, from, words }
  })

/**
 * The resonance of a sample: `null` for another task or a text with no words of its own, −1 for
 * a degenerate answer (the estimator is not asked), else the agreement of request and answer.
 */
export const scoreSample = <E>(
  input: SampleInput,
  cfg: Config,
  estimatorOf: Effect.Effect<Estimator, E>
): Effect.Effect<SampleScore, E | NoRequest | UnknownChannel> =>
  Effect.gen(function* () {
    if (!applies(input, cfg)) return null
    const asked = { ...input, ...(cfg.feel === undefined ? {} : { request: cfg.feel }) }
    const bad = Degenerate.degenerate(asked)
    if (bad !== undefined) return { score: degenerateScore, degenerate: bad.kind, why: bad.detail }
    const lang = input.lang ?? detectLang(input.text)
    const all = contentWords(input.text, lang)
    const words = Degenerate.withoutPromptWords(all, {
      ...(input.prompt === undefined ? {} : { prompt: input.prompt }),
      ...(requestText(input, cfg) === undefined ? {} : { request: requestText(input, cfg)! })
    })
    if (words.length === 0) return null
    const estimator = yield* estimatorOf
    const request = yield* requestOf(input, cfg, estimator, lang)
    const profile = yield* Effect.promise(() => meanProfile(estimator, words, lang))
    const score = agreement(request.vector, profile, cfg.agreement ?? "pearson")
    if (!Number.isFinite(score)) return null
    const round = (v: ReadonlyArray<number>) =>
      Object.fromEntries(channels.map((c, k) => [c, Math.round(v[k]! * 1000) / 1000]))
    return {
      score,
      request: round(request.vector),
      profile: round(profile),
      from: request.from,
      words: words.length,
      given: all.length - words.length
    }
  })
