import { existsSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { loadModel } from "@hyperwords/models/Model"
import { describe, expect, it } from "vitest"
import {
  type Estimator,
  fitSupervised,
  type Profile,
  readNorms,
  type SupervisedModel,
  supervised,
  zeroShot
} from "../src/Senses.ts"
import {
  BadWeights,
  byLanguage,
  chooseMode,
  defaultEstimatorOf,
  defaultModes,
  readSensesWeights,
  sensesWeightsVersion,
  shippedSensesWeights,
  weightsDir
} from "../src/SensesDefault.ts"
import { agreement } from "../src/SensesValidation.ts"
import { scratchDir } from "./fixtures/cli.ts"
import { modelMissing, testModel } from "./fixtures/models.ts"

const fixtures = resolve(import.meta.dirname, "fixtures")

/** A fixture estimator: every text gets `value` on every channel. */
const constant = (value: number, mode: "zero-shot" | "supervised"): Estimator => ({
  mode,
  modeOf: () => mode,
  layer: 3,
  profiles: async (texts) =>
    texts.map(
      () =>
        ({
          visual: value,
          auditory: value,
          haptic: value,
          gustatory: value,
          olfactory: value,
          interoceptive: value,
          motion: value
        }) as Profile
    )
})

/** A small weights file of hidden size 2 with the given held-out figures. */
const weightsFixture = (
  validation: SupervisedModel["validation"] | undefined,
  model = "smollm2-135m"
): SupervisedModel => ({
  kind: "hyperwords/senses-ridge",
  schemaVersion: 1,
  model,
  layer: 1,
  prefix: "A word:",
  lambda: 10,
  channels: ["visual", "gustatory"],
  mean: [0, 0],
  scale: [1, 1],
  weights: [
    [1, 0],
    [0, 1]
  ],
  bias: [0, 0],
  trainedOn: { source: "fixture", words: 2 },
  ...(validation === undefined ? {} : { validation })
})

const figures = (en: [number, number], ru: [number, number]): SupervisedModel["validation"] => ({
  en: {
    data: "fixture",
    n: 10,
    supervised: en[0],
    zeroShot: en[1],
    default: chooseMode({ supervised: en[0], zeroShot: en[1] })
  },
  ru: {
    data: "fixture",
    n: 10,
    supervised: ru[0],
    zeroShot: ru[1],
    default: chooseMode({ supervised: ru[0], zeroShot: ru[1] })
  }
})

describe("the default mode", () => {
  it("is supervised only where its held-out mean r beats zero-shot's", () => {
    expect(chooseMode({ supervised: 0.77, zeroShot: 0.43 })).toBe("supervised")
    expect(chooseMode({ supervised: 0.08, zeroShot: 0.11 })).toBe("zero-shot")
    expect(chooseMode({ supervised: 0.5, zeroShot: 0.5 })).toBe("zero-shot")
    expect(defaultModes(weightsFixture(figures([0.7, 0.4], [0.1, 0.2])))).toEqual({
      en: "supervised",
      ru: "zero-shot"
    })
    // no figures, or no file: zero-shot
    expect(defaultModes(weightsFixture(undefined))).toEqual({ en: "zero-shot", ru: "zero-shot" })
    expect(defaultModes(undefined)).toEqual({ en: "zero-shot", ru: "zero-shot" })
  })

  it("routes each language to its estimator and keeps input order", async () => {
    const e = byLanguage(
      { en: "supervised", ru: "zero-shot" },
      { zero: constant(0, "zero-shot"), supervised: constant(1, "supervised") }
    )
    expect(e.mode).toBe("mixed")
    expect(e.modeOf("en")).toBe("supervised")
    expect(e.modeOf("ru")).toBe("zero-shot")
    const ps = await e.profiles(["мёд", "honey", "гром", "thunder"])
    expect(ps.map((p) => p.visual)).toEqual([0, 1, 0, 1])
    // a forced language wins over the script
    expect((await e.profiles(["мёд"], "en")).map((p) => p.gustatory)).toEqual([1])
    // without a supervised estimator every language is zero-shot
    const z = byLanguage({ en: "supervised", ru: "supervised" }, { zero: constant(0, "zero-shot") })
    expect(z.mode).toBe("zero-shot")
  })

  it("a bad weights file fails with an error naming the file", () => {
    const dir = scratchDir("senses-weights-")
    const garbled = join(dir, "garbled.senses.json")
    writeFileSync(garbled, "{ not json")
    expect(() => readSensesWeights(garbled)).toThrow(BadWeights)
    expect(() => readSensesWeights(garbled)).toThrow(garbled)
    const wrong = join(dir, "wrong.senses.json")
    writeFileSync(wrong, JSON.stringify({ ...weightsFixture(undefined), weights: [[1, 0]] }))
    expect(() => readSensesWeights(wrong)).toThrow(`${wrong}: not a sensory regression`)
    const kind = join(dir, "kind.senses.json")
    writeFileSync(
      kind,
      JSON.stringify({ ...weightsFixture(undefined), kind: "hyperwords/imageability-ridge" })
    )
    expect(() => readSensesWeights(kind)).toThrow(kind)
    const ok = join(dir, "ok.senses.json")
    writeFileSync(ok, JSON.stringify(weightsFixture(figures([0.7, 0.4], [0.1, 0.2]))))
    expect(readSensesWeights(ok).validation?.en.default).toBe("supervised")
  })

  it("the shipped weights, if any, are readable and say how they were made", () => {
    for (const model of ["gemma-3-270m", "smollm2-135m"]) {
      const file = shippedSensesWeights(model)
      if (!existsSync(file)) continue
      const w = readSensesWeights(file)
      expect(w.model).toBe(model)
      expect(w.trainedOn.command).toBe(`node packages/corpus/scripts/fit-senses.ts ${model}`)
      expect(w.trainedOn.split).toContain("fit half")
      expect(w.trainedOn.files?.every((f) => f.startsWith("../shared/data/"))).toBe(true)
      expect(w.validation?.en.default).toBe(chooseMode(w.validation!.en))
      expect(w.validation?.ru.default).toBe(chooseMode(w.validation!.ru))
    }
    expect(sensesWeightsVersion()).toMatch(/^[0-9a-f]{12}$/)
    expect(sensesWeightsVersion(scratchDir("no-weights-"))).not.toBe(sensesWeightsVersion(weightsDir))
  })
})

const missing = modelMissing()

describe.skipIf(missing !== undefined)(
  `the default estimator on ${testModel} (${missing ?? "model present"})`,
  { timeout: 900_000 },
  () => {
    it("is supervised where weights exist and validated better, zero-shot otherwise", async () => {
      const model = await loadModel(testModel)
      const norms = readNorms(join(fixtures, "tiny_norms.csv"))
      const fitted = await fitSupervised(model, norms, { source: "tiny_norms.csv" })
      const zero = zeroShot(model)
      const sup = supervised(model, fitted, zero)
      const words = ["honey", "thunder", "мёд", "гром"]
      const expectedSup = await sup.profiles(words.slice(0, 2), "en")
      const expectedZero = await zero.profiles(words.slice(2), "ru")

      // weights that beat zero-shot in English only: English supervised, Russian zero-shot
      const mixed = scratchDir("senses-default-")
      writeFileSync(
        shippedSensesWeights(model.name, mixed),
        JSON.stringify({ ...fitted, validation: figures([0.7, 0.4], [0.1, 0.2]) })
      )
      const d = defaultEstimatorOf(model, { dir: mixed })
      expect(d.weights).toBe(shippedSensesWeights(model.name, mixed))
      expect(d.modes).toEqual({ en: "supervised", ru: "zero-shot" })
      expect(await d.estimator.profiles(words)).toEqual([...expectedSup, ...expectedZero])

      // no weights file: zero-shot everywhere
      const none = defaultEstimatorOf(model, { dir: scratchDir("senses-none-") })
      expect(none.weights).toBeUndefined()
      expect(none.estimator.mode).toBe("zero-shot")
      expect(await none.estimator.profiles(words.slice(2), "ru")).toEqual(expectedZero)

      // weights for another model are refused, naming the file
      const other = scratchDir("senses-other-")
      writeFileSync(
        shippedSensesWeights(model.name, other),
        JSON.stringify({ ...fitted, model: "gemma-3-270m" })
      )
      expect(() => defaultEstimatorOf(model, { dir: other })).toThrow(shippedSensesWeights(model.name, other))
    })

    it("supervised profiles are on the zero-shot scale: anchors near 0, seeds near 1", async () => {
      const model = await loadModel(testModel)
      const norms = readNorms(join(fixtures, "tiny_norms.csv"))
      const sup = supervised(
        model,
        await fitSupervised(model, norms, { source: "tiny_norms.csv" }),
        zeroShot(model)
      )
      // the scale is set on the anchors and seeds, so their means are 0 and 1 by construction
      const { abstractAnchors } = await import("../src/Senses.ts")
      const { sensationSeeds } = await import("../src/SensationSeeds.ts")
      const mean = (ps: ReadonlyArray<Profile>) => ps.reduce((s, p) => s + p.gustatory, 0) / ps.length
      expect(mean(await sup.profiles(abstractAnchors.en, "en"))).toBeCloseTo(0, 6)
      expect(mean(await sup.profiles(sensationSeeds.en.gustatory, "en"))).toBeCloseTo(1, 6)
      // agreement reports n and a bootstrap CI around the mean r
      const a = await agreement(sup, norms, "en")
      expect(a.n).toBe(norms.rows.length)
      expect(a.ci[0]).toBeLessThan(a.ci[1])
    })
  }
)
