import { mulberry32 } from "@hyperwords/core/Random"
import { loadModel } from "@hyperwords/models/Model"
import { describe, expect, it } from "vitest"
import {
  centroidAccuracy,
  englishPivot,
  pivotPrompt,
  readoutAccuracy,
  russianEnglish,
  wordFindings
} from "../src/Findings.ts"
import { tinyMissing, tinyModel } from "./fixtures/tiny.ts"

const gauss = (rand: () => number) => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand())

describe("the readouts", () => {
  it("nearest centroid separates separable classes and is at chance on noise", () => {
    const rand = mulberry32(1)
    const n = 80
    const labels = Array.from({ length: n }, (_, i) => (i % 2) as 0 | 1)
    const fold = Array.from({ length: n }, (_, i) => Math.floor(i / 2) % 5)
    const apart = labels.map((y) => Array.from({ length: 16 }, (_, d) => gauss(rand) + (d === 0 ? 4 * y : 0)))
    expect(centroidAccuracy(apart, labels, fold, 5)).toBeGreaterThan(0.9)
    const noise = labels.map(() => Array.from({ length: 16 }, () => gauss(rand)))
    expect(Math.abs(centroidAccuracy(noise, labels, fold, 5) - 0.5)).toBeLessThan(0.2)
  })

  it("the token readout finds a token carried linearly in the state, and not one that is absent", () => {
    const rand = mulberry32(2)
    const dim = 24
    const cands = Array.from({ length: 10 }, () => Array.from({ length: dim }, () => gauss(rand)))
    // every token occurs in several states, so each fold's tokens are also seen in training
    const targets = Array.from({ length: 60 }, (_, i) => i % 7)
    // a fixed rotation-like mixing of the token's embedding, plus noise
    const mix = Array.from({ length: dim }, () =>
      Array.from({ length: dim }, () => gauss(rand) / Math.sqrt(dim))
    )
    const carried = targets.map((t) =>
      mix.map((row) => row.reduce((s, w, j) => s + w * cands[t]![j]!, 0) + 0.05 * gauss(rand))
    )
    expect(readoutAccuracy(carried, targets, cands, 5)).toBeGreaterThan(0.9)
    const absent = targets.map(() => Array.from({ length: dim }, () => gauss(rand)))
    expect(readoutAccuracy(absent, targets, cands, 5)).toBeLessThan(0.35)
  })

  it("the pivot prompt asks to repeat the word", () => {
    expect(pivotPrompt("вода")).toBe("«солнце» — «солнце», «дом» — «дом», «вода» — «")
    expect(russianEnglish.length).toBeGreaterThanOrEqual(40)
  })
})

describe("the checks on a tiny model", async () => {
  const missing = await tinyMissing()
  it("give a curve per layer, a figure naming a layer, and a verdict", async (ctx) => {
    if (missing) return ctx.skip(missing)
    const model = await loadModel(await tinyModel("llama"))
    const layers = model.config.numLayers + 1
    const findings = [
      ...(await wordFindings(model, { seed: 1, words: [{ word: "кошка", lang: "ru" }] })),
      await englishPivot(model, { pairs: russianEnglish.slice(0, 6) })
    ]
    expect(findings.map((f) => f.id)).toEqual(["word-nonword", "token-erasure", "english-pivot"])
    for (const f of findings) {
      expect(typeof f.reproduced).toBe("boolean")
      expect(f.figure).toMatch(/layer \d+/)
      for (const curve of Object.values(f.curves)) {
        expect(curve).toHaveLength(layers)
        for (const v of curve) {
          expect(v).toBeGreaterThanOrEqual(0)
          expect(v).toBeLessThanOrEqual(1)
        }
      }
    }
  })
})
