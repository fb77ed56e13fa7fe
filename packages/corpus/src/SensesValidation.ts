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
 * chosen and the supervised regression is fitted), the odd half is the test half every English
 * check reports on. Zero-shot checks also leave out the seed lexicon and the abstract anchors.
 * The Russian supervised check fits on all the English Lancaster words and tests on the Russian
 * norms: the transfer goes through the multilingual model alone.
 */
import { createHash } from "node:crypto"
import { existsSync } from "node:fs"
import { join, resolve } from "node:path"
import type { Validation, ValidationResult } from "@hyperwords/core/Validation"
import { loadModel } from "@hyperwords/models/Model"
import { resolveModelDir } from "@hyperwords/models/ModelDir"
import { Effect } from "effect"
import { type Channel, foldYo, type Lang, sensationSeeds } from "./SensationSeeds.ts"
import {
  abstractAnchors,
  channels,
  type Estimator,
  fitSupervised,
  type Norms,
  pearson,
  readNorms,
  supervised,
  zeroShot
} from "./Senses.ts"

/** The shared data folder: `../shared/data` beside the repository. */
export const sharedData = resolve(import.meta.dirname, "..", "..", "..", "..", "shared", "data")

const lancasterFiles = [
  "en_lancaster_sensorimotor_subset/lancaster_sensorimotor_subset_tender_buttons_vocab.csv",
  "en_norare_concepticon_subsets/Lynott-2020-Sensorimotor_concepticon_subset.tsv"
]
const lynottConnellFiles = [
  "en_modality_norms_lynott_connell/lynott_connell_2009_adj_norms.csv",
  "en_modality_norms_lynott_connell/lynott_connell_2013_noun_norms.csv",
  "en_modality_norms_lynott_connell/winter_2015_verb_norms.csv"
]
const miklashevskyFile = "ru_perceptual_norms_miklashevsky/Miklashevsky-2018-506.tsv"

/** Whether a word is in the test half (odd sha1). */
export const inTestHalf = (word: string): boolean =>
  Number.parseInt(createHash("sha1").update(word).digest("hex").slice(-1), 16) % 2 === 1

/** Norms of several files over the same channels, first file winning on repeated words. */
const mergeNorms = (parts: ReadonlyArray<Norms>): Norms => {
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

const restrict = (norms: Norms, keep: (word: string) => boolean, only?: ReadonlyArray<Channel>): Norms => {
  const chans = only ? norms.channels.filter((c) => only.includes(c)) : norms.channels
  return {
    channels: chans,
    rows: norms.rows
      .filter((r) => keep(r.word))
      .map((r) => ({ word: r.word, values: chans.map((c) => r.values[norms.channels.indexOf(c)]!) }))
  }
}

const anchorWords = (lang: Lang): ReadonlySet<string> =>
  new Set([...channels.flatMap((c) => sensationSeeds[lang][c]), ...abstractAnchors[lang]].map(foldYo))

/** Mean Pearson r over the norms' channels, with the per-channel figures. */
export const agreement = async (
  estimator: Estimator,
  norms: Norms,
  lang: Lang
): Promise<{ readonly mean: number; readonly perChannel: Record<string, number>; readonly n: number }> => {
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
  return { mean: values.reduce((s, x) => s + x, 0) / values.length, perChannel, n: norms.rows.length }
}

/** Options of the checks. */
export interface SensesValidationOptions {
  /** The model (default: the embedded default, gemma-3-270m). */
  readonly model?: string
  /** The shared data folder (default: `../shared/data` beside the repository). */
  readonly data?: string
}

/** The sensory estimator's checks. */
export const sensesValidations = (options: SensesValidationOptions = {}): ReadonlyArray<Validation> => {
  const data = options.data ?? sharedData
  const modelName = options.model ?? "gemma-3-270m"
  const modelDir = resolveModelDir(modelName)
  const probeSpec = join(modelDir, "onnx", "probe.json")
  const lancaster = () => mergeNorms(lancasterFiles.map((f) => readNorms(join(data, f))))
  const lynottConnell = () =>
    mergeNorms(lynottConnellFiles.map((f) => readNorms(join(data, f), { wordColumn: "word" })))
  const miklashevsky = () => readNorms(join(data, miklashevskyFile), { wordColumn: "russian" })

  let fitted: Promise<{ dev: Estimator; all: Estimator; zero: Estimator; layer: number }> | undefined
  const estimators = () => {
    fitted ??= (async () => {
      const model = await loadModel(modelName)
      const zero = zeroShot(model)
      const lan = lancaster()
      const dev = await fitSupervised(
        model,
        restrict(lan, (w) => !inTestHalf(w)),
        { source: "Lancaster fit half" }
      )
      const all = await fitSupervised(model, lan, { source: "Lancaster (all)" })
      return { dev: supervised(model, dev), all: supervised(model, all), zero, layer: zero.layer }
    })()
    return fitted
  }
  const fmt = (a: { perChannel: Record<string, number> }) =>
    Object.entries(a.perChannel)
      .map(([c, r]) => `${c} ${r.toFixed(2)}`)
      .join(", ")

  const check = (
    name: string,
    dataName: string,
    files: ReadonlyArray<string>,
    floor: number | undefined,
    run: (e: Awaited<ReturnType<typeof estimators>>) => Promise<{
      readonly a: Awaited<ReturnType<typeof agreement>>
      readonly note: string
    }>
  ): Validation => ({
    name,
    data: dataName,
    statistic: "mean Pearson r",
    ...(floor === undefined ? {} : { floor }),
    requires: [...files.map((f) => join(data, f)), probeSpec],
    run: Effect.tryPromise(async (): Promise<ValidationResult> => {
      const e = await estimators()
      const { a, note } = await run(e)
      return { value: a.mean, n: a.n, detail: `${fmt(a)}; ${modelName} layer ${e.layer}; ${note}` }
    })
  })

  const enZero = anchorWords("en")
  const ruZero = anchorWords("ru")
  return [
    check("senses zero-shot (en)", "Lancaster sensorimotor", lancasterFiles, 0.4, async (e) => ({
      a: await agreement(
        e.zero,
        restrict(lancaster(), (w) => inTestHalf(w) && !enZero.has(foldYo(w))),
        "en"
      ),
      note: "test half, seeds and anchors left out"
    })),
    check("senses supervised (en)", "Lancaster sensorimotor", lancasterFiles, 0.65, async (e) => ({
      a: await agreement(
        e.dev,
        restrict(lancaster(), (w) => inTestHalf(w)),
        "en"
      ),
      note: "ridge fitted on the other half (disjoint words)"
    })),
    check("senses zero-shot (en)", "Lynott & Connell modality", lynottConnellFiles, undefined, async (e) => ({
      a: await agreement(
        e.zero,
        restrict(lynottConnell(), (w) => !enZero.has(foldYo(w))),
        "en"
      ),
      note: "adjectives, nouns, verbs; seeds and anchors left out"
    })),
    check("senses supervised (en)", "Lynott & Connell modality", lynottConnellFiles, undefined, async (e) => {
      const fit = new Set(lancaster().rows.flatMap((r) => (inTestHalf(r.word) ? [] : [r.word])))
      return {
        a: await agreement(
          e.dev,
          restrict(lynottConnell(), (w) => !fit.has(w)),
          "en"
        ),
        note: "ridge fitted on the Lancaster fit half; words it saw left out"
      }
    }),
    check("senses zero-shot (ru)", "Miklashevsky 2018", [miklashevskyFile], undefined, async (e) => ({
      a: await agreement(
        e.zero,
        restrict(miklashevsky(), (w) => !ruZero.has(foldYo(w))),
        "ru"
      ),
      note: "Russian seeds as anchors; seeds and anchors left out"
    })),
    check(
      "senses supervised (ru)",
      "Miklashevsky 2018",
      [miklashevskyFile, lancasterFiles[0]!],
      0.4,
      async (e) => ({
        a: await agreement(e.all, miklashevsky(), "ru"),
        note: "ridge fitted on English Lancaster norms only, carried over by the model"
      })
    )
  ]
}

/** Whether the shared data is there (tests use it to decide whether to skip). */
export const hasSharedData = (): boolean => existsSync(data0())
const data0 = () => join(sharedData, lancasterFiles[0]!)
