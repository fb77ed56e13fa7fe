import { existsSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Harness, Metric } from "@hyperwords/eval"
import { resolveModelDir } from "@hyperwords/models/ModelDir"
import { Effect, Schema } from "effect"
import imageability, { contentWords, Norms, RegressionModule } from "../src/index.ts"
import { readTangible } from "../src/Validation.ts"

const dir = mkdtempSync(join(tmpdir(), "imageability-"))
const fixture = (name: string, text: string): string => {
  const file = join(dir, name)
  writeFileSync(file, text)
  return file
}

describe("norms", () => {
  it("reads one value per single word, skipping bigrams, repeats and missing values", () => {
    const file = fixture(
      "conc.tsv",
      "Word\tBigram\tConc.M\napple\t0\t5.0\nApple\t0\t4.0\nice cream\t1\t4.9\nidea\t0\t1.6\nvoid\t0\t\n"
    )
    expect(Norms.readNorms({ path: file, valueColumn: "conc.m", zeroColumn: "Bigram" })).toEqual([
      { word: "apple", value: 5 },
      { word: "idea", value: 1.6 }
    ])
  })

  it("splits words into fit and test halves and caps rows reproducibly", () => {
    const words = Array.from({ length: 200 }, (_, i) => `w${i}`)
    const test = words.filter(Norms.isTestWord)
    expect(test.length).toBeGreaterThan(60)
    expect(test.length).toBeLessThan(140)
    const rows = words.map((word) => ({ word, value: 1 }))
    expect(Norms.capRows(rows, 10)).toEqual(Norms.capRows([...rows].reverse(), 10))
  })

  it("reads kartaslov's tangible judgments, single words with a decision only", () => {
    const file = fixture(
      "tangible.csv",
      "slice;term;answer;ratio\nNOUN:TANGIBLE;абажур;THING;1.0\nTANGIBLE;абажур;YES;1.0\nTANGIBLE;абзац;NO;0.92\nTANGIBLE;вещь;NO_DECISION;0.5\nTANGIBLE;белый гриб;YES;1.0\n"
    )
    expect(readTangible(file)).toEqual([
      { word: "абажур", tangible: true },
      { word: "абзац", tangible: false }
    ])
  })
})

describe("regression", () => {
  it("predicts with folded weights and round-trips its JSON", () => {
    const r: RegressionModule.Regression = {
      kind: "hyperwords/imageability-ridge",
      schemaVersion: 1,
      model: "m",
      layer: 6,
      target: "t",
      lambda: 100,
      weights: [0.5, -1],
      bias: 2,
      trainedOn: { source: "fixture", words: 2, command: "test" }
    }
    expect(RegressionModule.predict(r, [2, 1])).toBe(2)
    const file = fixture("r.json", JSON.stringify(r))
    expect(RegressionModule.readRegression(file)).toEqual(r)
    expect(() => Schema.decodeUnknownSync(RegressionModule.Regression)({ ...r, weights: ["x"] })).toThrow()
  })
})

describe("content words", () => {
  it("keeps content words of English and Russian text", () => {
    expect(contentWords("The cat sat on the warm mat, and it purred.", "en")).toEqual([
      "cat",
      "sat",
      "warm",
      "mat",
      "purred"
    ])
    expect(contentWords("Я помню чудное мгновенье: передо мной явилась ты")).toEqual([
      "помню",
      "чудное",
      "мгновенье",
      "передо",
      "мной",
      "явилась"
    ])
  })
})

describe("metric imageability", () => {
  it.live("fails its column with the reason when no model is named", () =>
    Effect.gen(function* () {
      const loaded = yield* Metric.loadMetric(imageability)
      const col = yield* Harness.runMetric(loaded, [{ id: "a", text: "red apple" }], { seed: 1 })
      expect(col.status).toBe("failed")
      expect(col.reason).toMatch(/needs a model/)
    })
  )

  const smol = join(resolveModelDir("smollm2-135m"), "onnx", "probe.json")
  it.live.skipIf(!existsSync(smol))(
    "fits on user norms at first use and scores texts on smollm2-135m (skipped: no smollm2-135m model folder)",
    () =>
      Effect.gen(function* () {
        const concrete =
          "apple stone river table dog bread chair tree car hammer cup window horse flower boot"
        const abstract =
          "idea truth theory reason justice notion belief logic duty policy concept method status"
        const norms = fixture(
          "norms.csv",
          `word,imag\n${concrete
            .split(" ")
            .map((w) => `${w},6.5`)
            .join("\n")}\n${abstract
            .split(" ")
            .map((w) => `${w},2`)
            .join("\n")}\n`
        )
        const loaded = yield* Metric.loadMetric(
          imageability.with({ model: "smollm2-135m", norms: { path: norms, valueColumn: "imag" } })
        )
        const col = yield* Harness.runMetric(
          loaded,
          [
            { id: "c", text: "a red apple on the kitchen table", lang: "en" },
            { id: "e", text: "of the", lang: "en" }
          ],
          { seed: 1 }
        )
        expect(col.status, col.reason).toBe("ok")
        expect(Number.isFinite(col.samples[0]!.score)).toBe(true)
        expect(col.samples[0]!.details!.words).toBe(4)
        expect(col.samples[1]!.score).toBeNull()
      })
  )
})
