/**
 * Validation of the sensory estimator against human norms (`pnpm validate`): Pearson r per
 * channel, averaged, for both modes and both languages.
 *
 * - English: the Lancaster sensorimotor norms (the two subsets in `../shared/data`, merged) and
 *   Lynott & Connell's modality norms (adjectives 2009, nouns 2013, Winter's verbs 2015).
 * - Russian: Miklashevsky 2018 (visual, auditory, haptic, olfactory, gustatory).
 *
 * Channel mapping: Lancaster Visual, Auditory, Haptic, Gustatory, Olfactory, Interoceptive map one
 * to one; motion is the mean of Foot_leg and Torso (whole-body movement). Lynott & Connell and
 * Miklashevsky rate the five exteroceptive senses only, so their checks average five channels.
 *
 * Words are split by a hash of the word: the even half is the fit half (where the layer was
 * chosen and the shipped regression, `weights/<model>.senses.json`, was fitted by
 * `scripts/fit-senses.ts`), the odd half is the test half every English check reports on. Both
 * modes are scored on the same words, without the seed lexicon and the abstract anchors (both
 * modes set their scale on those). The Russian checks score the same shipped regression (English
 * words only) on the Russian norms: the transfer goes through the multilingual model alone.
 * `senses default (en|ru)` reports the mode each language defaults to and fails when the weights
 * file records another choice than these figures give. Floors (issue 13): supervised mean r
 * ≥ 0.7 in English, ≥ 0.6 in Russian.
 */
import { createHash } from "node:crypto"
import { existsSync } from "node:fs"
import { join, resolve } from "node:path"
import { bootstrapCi } from "@hyperwords/core/Random"
import type { Validation, ValidationResult } from "@hyperwords/core/Validation"
import { Effect } from "effect"
import { loadModel } from "./Model.ts"
import { resolveModelDir } from "./ModelDir.ts"
import { type Channel, foldYo, type Lang, sensationSeeds } from "./SensationSeeds.ts"
import {
  abstractAnchors,
  channels,
  type Estimator,
  type Mode,
  type Norms,
  pearson,
  readNorms,
  type SupervisedModel,
  supervised,
  zeroShot
} from "./Senses.ts"
import { chooseMode, readSensesWeights, shippedSensesWeights } from "./SensesDefault.ts"

/** The shared data folder: `../shared/data` beside the repository. */
export const sharedData = resolve(import.meta.dirname, "..", "..", "..", "..", "shared", "data")

/** The Lancaster sensorimotor norms (Lynott et al. 2020): the two subsets in the shared data. */
export const lancasterFiles = [
  "en_lancaster_sensorimotor_subset/lancaster_sensorimotor_subset_tender_buttons_vocab.csv",
  "en_norare_concepticon_subsets/Lynott-2020-Sensorimotor_concepticon_subset.tsv"
]
const lynottConnellFiles = [
  "en_modality_norms_lynott_connell/lynott_connell_2009_adj_norms.csv",
  "en_modality_norms_lynott_connell/lynott_connell_2013_noun_norms.csv",
  "en_modality_norms_lynott_connell/winter_2015_verb_norms.csv"
]
export const miklashevskyFile = "ru_perceptual_norms_miklashevsky/Miklashevsky-2018-506.tsv"

/** Whether a word is in the test half (odd sha1). */
export const inTestHalf = (word: string): boolean =>
  Number.parseInt(createHash("sha1").update(word).digest("hex").slice(-1), 16) % 2 === 1

/** Norms of several files over the same channels, first file winning on repeated words. */
export const mergeNorms = (parts: ReadonlyArray<Norms>): Norms => {
  const chans = channels.filter((c) => parts.every((p) => p.channels.includes(c)))
  const seen = new Set<string>()
  const rows: Array<{ word: string; values: Array<number> }> = []
  for (const p of parts) {
    for (const r of p.rows) {
      if (seen.has(r.word) || /\s/.test(r.word)) continue
      seen.add(r.word)
      rows.push({ word: r.word, values: chans.map((c) => r.values[p.channels.indexOf(c)]!) })
    }
  }
  return { channels: chans, rows }
}

export const restrict = (
  norms: Norms,
  keep: (word: string) => boolean,
  only?: ReadonlyArray<Channel>
): Norms => {
  const chans = only ? norms.channels.filter((c) => only.includes(c)) : norms.channels
  return {
    channels: chans,
    rows: norms.rows
      .filter((r) => keep(r.word))
      .map((r) => ({ word: r.word, values: chans.map((c) => r.values[norms.channels.indexOf(c)]!) }))
  }
}

/** The seed lexicon and the abstract anchors of a language (both modes' scales are set on them). */
export const anchorWords = (lang: Lang): ReadonlySet<string> =>
  new Set([...channels.flatMap((c) => sensationSeeds[lang][c]), ...abstractAnchors[lang]].map(foldYo))

/** Mean Pearson r over the norms' channels, with the per-channel figures. */
export const agreement = async (
  estimator: Estimator,
  norms: Norms,
  lang: Lang
): Promise<{
  readonly mean: number
  readonly ci: readonly [number, number]
  readonly perChannel: Record<string, number>
  readonly n: number
}> => {
  const profiles = await estimator.profiles(
    norms.rows.map((r) => r.word),
    lang
  )
  const perChannel: Record<string, number> = {}
  norms.channels.forEach((c, k) => {
    perChannel[c] = pearson(
      profiles.map((p) => p[c]),
      norms.rows.map((r) => r.values[k]!)
    )
  })
  const values = Object.values(perChannel)
  const meanR = (idx: ReadonlyArray<number>) =>
    norms.channels.reduce(
      (s, c, k) =>
        s +
        pearson(
          idx.map((i) => profiles[i]![c]),
          idx.map((i) => norms.rows[i]!.values[k]!)
        ),
      0
    ) / norms.channels.length
  return {
    mean: values.reduce((s, x) => s + x, 0) / values.length,
    ci: bootstrapCi(norms.rows.length, meanR, { samples: 1000, seed: 1 }),
    perChannel,
    n: norms.rows.length
  }
}

/** The Lancaster norms (both subsets merged, one-word entries). */
export const lancasterNorms = (data: string = sharedData): Norms =>
  mergeNorms(lancasterFiles.map((f) => readNorms(join(data, f))))

/** The Miklashevsky 2018 Russian norms (five exteroceptive channels). */
export const miklashevskyNorms = (data: string = sharedData): Norms =>
  readNorms(join(data, miklashevskyFile), { wordColumn: "russian" })

/** The fit half of the Lancaster norms: what the shipped weights are fitted on. */
export const fitHalf = (data: string = sharedData): Norms =>
  restrict(lancasterNorms(data), (w) => !inTestHalf(w))

/**
 * The held-out words both modes are scored on: the Lancaster test half and all of Miklashevsky,
 * each without its language's seeds and anchors (both modes set their scale on those).
 */
export const heldOutNorms = (lang: Lang, data: string = sharedData): Norms =>
  lang === "en"
    ? restrict(lancasterNorms(data), (w) => inTestHalf(w) && !anchorWords("en").has(foldYo(w)))
    : restrict(miklashevskyNorms(data), (w) => !anchorWords("ru").has(foldYo(w)))

/** What the held-out words of each language are, for records. */
export const heldOutData: Readonly<Record<Lang, string>> = {
  en: "Lancaster sensorimotor test half (odd sha1), seeds and anchors left out",
  ru: "Miklashevsky 2018 (never fitted on), seeds and anchors left out"
}

type Agreement = Awaited<ReturnType<typeof agreement>>

/** Both modes of a model on a language's held-out words, and the mode that is better there. */
export const heldOutFigures = async (
  estimators: { readonly zero: Estimator; readonly supervised: Estimator },
  lang: Lang,
  data: string = sharedData
): Promise<{ readonly zeroShot: Agreement; readonly supervised: Agreement; readonly default: Mode }> => {
  const norms = heldOutNorms(lang, data)
  const z = await agreement(estimators.zero, norms, lang)
  const s = await agreement(estimators.supervised, norms, lang)
  return { zeroShot: z, supervised: s, default: chooseMode({ supervised: s.mean, zeroShot: z.mean }) }
}

/** Options of the checks. */
export interface SensesValidationOptions {
  /** The model (default: the embedded default, gemma-3-270m). */
  readonly model?: string
  /** The shared data folder (default: `../shared/data` beside the repository). */
  readonly data?: string
  /** The folder of the weights checked (default: the shipped `weights/`). */
  readonly weights?: string
}

/** Floors on the held-out words (issue 13): the supervised estimator's mean r. */
export const sensesFloors: Readonly<Record<Lang, number>> = { en: 0.7, ru: 0.6 }

/** The sensory estimator's checks. */
export const sensesValidations = (options: SensesValidationOptions = {}): ReadonlyArray<Validation> => {
  const data = options.data ?? sharedData
  const modelName = options.model ?? "gemma-3-270m"
  const modelDir = resolveModelDir(modelName)
  const probeSpec = join(modelDir, "onnx", "probe.json")
  const weightsFile = shippedSensesWeights(modelName, options.weights)
  const lynottConnell = () =>
    mergeNorms(lynottConnellFiles.map((f) => readNorms(join(data, f), { wordColumn: "word" })))

  type Loaded = { zero: Estimator; supervised: Estimator; fitted: SupervisedModel; layer: number }
  let loaded: Promise<Loaded> | undefined
  const estimators = () => {
    loaded ??= (async () => {
      const model = await loadModel(modelName)
      const zero = zeroShot(model)
      const fitted = readSensesWeights(weightsFile)
      return { zero, supervised: supervised(model, fitted, zero), fitted, layer: zero.layer }
    })()
    return loaded
  }
  const figures = new Map<Lang, Promise<Awaited<ReturnType<typeof heldOutFigures>>>>()
  const figuresOf = async (lang: Lang) => {
    const e = await estimators()
    let f = figures.get(lang)
    if (f === undefined) {
      f = heldOutFigures(e, lang, data)
      figures.set(lang, f)
    }
    return f
  }
  const fmt = (a: { perChannel: Record<string, number> }) =>
    Object.entries(a.perChannel)
      .map(([c, r]) => `${c} ${r.toFixed(2)}`)
      .join(", ")
  const weightsNote = () => `weights ${weightsFile.slice(weightsFile.indexOf("packages/"))}`

  const check = (
    name: string,
    dataName: string,
    files: ReadonlyArray<string>,
    floor: number | undefined,
    run: (e: Loaded) => Promise<{ readonly a: Agreement; readonly note: string }>
  ): Validation => ({
    name,
    data: dataName,
    statistic: "mean Pearson r",
    ...(floor === undefined ? {} : { floor }),
    requires: [...files.map((f) => join(data, f)), probeSpec, weightsFile],
    run: Effect.tryPromise(async (): Promise<ValidationResult> => {
      const e = await estimators()
      const { a, note } = await run(e)
      return { value: a.mean, ci: a.ci, n: a.n, detail: `${fmt(a)}; ${modelName} layer ${e.layer}; ${note}` }
    })
  })

  const enZero = anchorWords("en")
  const defaultCheck = (lang: Lang, dataName: string, files: ReadonlyArray<string>) =>
    check(`senses default (${lang})`, dataName, files, undefined, async (e) => {
      const f = await figuresOf(lang)
      const recorded = e.fitted.validation?.[lang]?.default
      if (recorded !== f.default)
        throw new Error(
          `${weightsFile} records ${recorded ?? "no"} default for ${lang}, the figures give ${f.default}: ` +
            `run node packages/corpus/scripts/fit-senses.ts ${modelName}`
        )
      return {
        a: f[f.default === "supervised" ? "supervised" : "zeroShot"],
        note:
          `the default is ${f.default}: supervised ${f.supervised.mean.toFixed(3)} vs zero-shot ` +
          `${f.zeroShot.mean.toFixed(3)} on these words (${heldOutData[lang]})`
      }
    })
  return [
    check("senses zero-shot (en)", "Lancaster sensorimotor", lancasterFiles, 0.4, async () => ({
      a: (await figuresOf("en")).zeroShot,
      note: heldOutData.en
    })),
    check("senses supervised (en)", "Lancaster sensorimotor", lancasterFiles, sensesFloors.en, async (e) => ({
      a: (await figuresOf("en")).supervised,
      note: `${heldOutData.en}; the shipped ridge (λ ${e.fitted.lambda}), fitted on the other half; ${weightsNote()}`
    })),
    defaultCheck("en", "Lancaster sensorimotor", lancasterFiles),
    check("senses zero-shot (en)", "Lynott & Connell modality", lynottConnellFiles, undefined, async (e) => ({
      a: await agreement(
        e.zero,
        restrict(lynottConnell(), (w) => !enZero.has(foldYo(w))),
        "en"
      ),
      note: "adjectives, nouns, verbs; seeds and anchors left out"
    })),
    check("senses supervised (en)", "Lynott & Connell modality", lynottConnellFiles, undefined, async (e) => {
      const fit = new Set(fitHalf(data).rows.map((r) => r.word))
      return {
        a: await agreement(
          e.supervised,
          restrict(lynottConnell(), (w) => !fit.has(w) && !enZero.has(foldYo(w))),
          "en"
        ),
        note: `the shipped ridge (Lancaster fit half); words it saw, seeds and anchors left out; ${weightsNote()}`
      }
    }),
    check("senses zero-shot (ru)", "Miklashevsky 2018", [miklashevskyFile], undefined, async () => ({
      a: (await figuresOf("ru")).zeroShot,
      note: `Russian seeds as anchors; ${heldOutData.ru}`
    })),
    check(
      "senses supervised (ru)",
      "Miklashevsky 2018",
      [miklashevskyFile, lancasterFiles[0]!],
      sensesFloors.ru,
      async () => ({
        a: (await figuresOf("ru")).supervised,
        note: `${heldOutData.ru}; the shipped ridge, fitted on English Lancaster words only, carried over by the model; ${weightsNote()}`
      })
    ),
    defaultCheck("ru", "Miklashevsky 2018", [miklashevskyFile, lancasterFiles[0]!])
  ]
}

/** Whether the shared data is there (tests use it to decide whether to skip). */
export const hasSharedData = (): boolean => existsSync(join(sharedData, lancasterFiles[0]!))
