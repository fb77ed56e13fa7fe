/**
 * The sensory estimator a command, the generator and the metrics use by default: per language,
 * supervised where the model has shipped weights (`weights/<model>.senses.json`, a ridge
 * regression fitted on the fit half of the Lancaster norms by `scripts/fit-senses.ts`) and those
 * weights beat zero-shot on the held-out words (the figures the script computed and recorded in
 * the file); zero-shot otherwise, and for every model without weights.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { Hash } from "@hyperwords/core"
import { Schema } from "effect"
import type { Model } from "./Model.ts"
import type { Lang } from "./SensationSeeds.ts"
import {
  detectLang,
  type Estimator,
  type Mode,
  type Profile,
  SupervisedModel,
  supervised,
  zeroShot
} from "./Senses.ts"

/** The folder of the shipped weights: `packages/models/weights`. */
export const weightsDir = resolve(import.meta.dirname, "..", "weights")

/** The shipped weights file of a model (it may not exist). */
export const shippedSensesWeights = (modelName: string, dir: string = weightsDir): string =>
  join(dir, `${modelName}.senses.json`)

/**
 * A short hash of every shipped weights file (name and content): part of the generate stage's
 * code version, so that refitting the weights changes its key.
 */
export const sensesWeightsVersion = (dir: string = weightsDir): string => {
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith(".senses.json"))
        .sort()
    : []
  return Hash.sha256(
    files.map((f) => `${f}\0${Hash.sha256(readFileSync(join(dir, f), "utf8"))}`).join("\n")
  ).slice(0, 12)
}

/** A weights file that cannot be read as a fitted sensory regression. */
export class BadWeights extends Schema.TaggedError<BadWeights>()("BadWeights", {
  file: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.file}: not a sensory regression (hyperwords/senses-ridge): ${this.reason}`
  }
}

/** Read a weights file, failing with `BadWeights` naming the file. */
export const readSensesWeights = (file: string): SupervisedModel => {
  let json: unknown
  try {
    json = JSON.parse(readFileSync(file, "utf8"))
  } catch (e) {
    throw new BadWeights({ file, reason: e instanceof Error ? e.message : String(e) })
  }
  try {
    const w = Schema.decodeUnknownSync(SupervisedModel)(json)
    const h = w.mean.length
    if (w.weights.length !== w.channels.length || w.bias.length !== w.channels.length)
      throw new Error(
        `${w.channels.length} channels but ${w.weights.length} weight rows, ${w.bias.length} biases`
      )
    if (w.scale.length !== h || w.weights.some((row) => row.length !== h))
      throw new Error(`rows of unequal length (mean has ${h})`)
    return w
  } catch (e) {
    throw new BadWeights({ file, reason: e instanceof Error ? e.message.split("\n")[0]! : String(e) })
  }
}

/** The mode a language defaults to, from the held-out figures: supervised only where it is better. */
export const chooseMode = (figures: { readonly supervised: number; readonly zeroShot: number }): Mode =>
  figures.supervised > figures.zeroShot ? "supervised" : "zero-shot"

/** The default modes of a weights file (a language without figures stays zero-shot). */
export const defaultModes = (w: SupervisedModel | undefined): Readonly<Record<Lang, Mode>> => ({
  en: w?.validation?.en ? chooseMode(w.validation.en) : "zero-shot",
  ru: w?.validation?.ru ? chooseMode(w.validation.ru) : "zero-shot"
})

/**
 * An estimator reading each language in its mode: profiles of texts in different languages are
 * routed to their language's estimator and put back in input order.
 */
export const byLanguage = (
  modes: Readonly<Record<Lang, Mode>>,
  estimators: { readonly zero: Estimator; readonly supervised?: Estimator }
): Estimator => {
  const of = (lang: Lang) =>
    modes[lang] === "supervised" && estimators.supervised ? estimators.supervised : estimators.zero
  const modeOf = (lang: Lang): Mode => of(lang).modeOf(lang)
  const all = new Set([modeOf("en"), modeOf("ru")])
  return {
    mode: all.size === 1 ? [...all][0]! : "mixed",
    modeOf,
    layer: estimators.zero.layer,
    profiles: async (texts, lang) => {
      const langs = texts.map((t) => lang ?? detectLang(t))
      const out: Array<Profile | undefined> = texts.map(() => undefined)
      for (const l of new Set(langs)) {
        const idx = langs.flatMap((x, i) => (x === l ? [i] : []))
        const ps = await of(l).profiles(
          idx.map((i) => texts[i]!),
          l
        )
        idx.forEach((i, k) => {
          out[i] = ps[k]!
        })
      }
      return out as Array<Profile>
    }
  }
}

/** What the default estimator of a model is made of. */
export interface DefaultEstimator {
  readonly estimator: Estimator
  /** The shipped weights file read, if the model has one. */
  readonly weights?: string
  readonly modes: Readonly<Record<Lang, Mode>>
}

/**
 * The default estimator of a model: its shipped weights (from `dir`, default `weights/`) where
 * they validated better, zero-shot elsewhere. A weights file that is there but unreadable fails
 * with `BadWeights`; it is never skipped silently.
 */
export const defaultEstimatorOf = (
  model: Model,
  options: { readonly dir?: string } = {}
): DefaultEstimator => {
  const zero = zeroShot(model)
  const file = shippedSensesWeights(model.name, options.dir)
  if (!existsSync(file)) return { estimator: zero, modes: defaultModes(undefined) }
  const fitted = readSensesWeights(file)
  if (fitted.model !== model.name)
    throw new BadWeights({ file, reason: `fitted for model ${fitted.model}, not ${model.name}` })
  const modes = defaultModes(fitted)
  return {
    estimator: byLanguage(modes, { zero, supervised: supervised(model, fitted, zero) }),
    weights: file,
    modes
  }
}

/** The default estimator of a model (see `defaultEstimatorOf`). */
export const defaultEstimator = (model: Model, options: { readonly dir?: string } = {}): Estimator =>
  defaultEstimatorOf(model, options).estimator
