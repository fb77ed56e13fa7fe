import { existsSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { channels, type Estimator, type Profile } from "@hyperwords/corpus/Senses"
import { Harness, Metric } from "@hyperwords/eval"
import { resolveModelDir } from "@hyperwords/models/ModelDir"
import { Effect } from "effect"
import resonance, { Resonance } from "../src/index.ts"

/** An estimator over a fixed lexicon: each word a profile with its channels at 1. */
const fixtureEstimator = (lexicon: Record<string, ReadonlyArray<string>>): Estimator => ({
  mode: "zero-shot",
  layer: 0,
  profiles: async (texts) =>
    texts.map((t) => Object.fromEntries(channels.map((c) => [c, lexicon[t]?.includes(c) ? 1 : 0])) as Profile)
})

describe("resonance", () => {
  it("compares a request and a profile by Pearson r or cosine over the channels", () => {
    const taste = Resonance.vectorOf({ gustatory: 1 })
    expect(
      Resonance.agreement(taste, Resonance.vectorOf({ gustatory: 2, olfactory: 0 }), "pearson")
    ).toBeCloseTo(1)
    expect(Resonance.agreement(taste, Resonance.vectorOf({ auditory: 1 }), "pearson")).toBeLessThan(0)
    expect(Resonance.agreement(taste, Resonance.vectorOf({ auditory: 1 }), "cosine")).toBe(0)
    expect(Resonance.agreement([1, 1, 1], [1, 2, 3], "pearson")).toBeNaN()
  })

  it("averages word profiles and reads the request after the prompt's colon", async () => {
    const e = fixtureEstimator({ sweet: ["gustatory"], bell: ["auditory"] })
    const p = await Resonance.meanProfile(e, ["sweet", "bell"])
    expect(p[channels.indexOf("gustatory")]).toBe(0.5)
    expect(p[channels.indexOf("auditory")]).toBe(0.5)
    expect(Resonance.requestFromPrompt("Describe an image that feels: warm soft dusk")).toBe("warm soft dusk")
    expect(Resonance.requestFromPrompt("тёплое мягкое")).toBe("тёплое мягкое")
  })
})

describe("metric resonance", () => {
  it.live("fails its column with the reason when no model is named", () =>
    Effect.gen(function* () {
      const loaded = yield* Metric.loadMetric(resonance.with({ feel: "sweet" }))
      const col = yield* Harness.runMetric(loaded, [{ id: "a", text: "honey and sugar" }], { seed: 1 })
      expect(col.status).toBe("failed")
      expect(col.reason).toMatch(/needs a model/)
    })
  )

  const smol = join(resolveModelDir("smollm2-135m"), "onnx", "probe.json")
  it.live.skipIf(!existsSync(smol))(
    "scores a text against channel weights and against the prompt on smollm2-135m (skipped: no smollm2-135m model folder)",
    () =>
      Effect.gen(function* () {
        const texts = [
          {
            id: "taste",
            text: "sweet honey, sugar and ripe candy",
            prompt: "Describe an image that feels: sweet tasty"
          },
          {
            id: "sound",
            text: "loud thunder, a ringing bell, noise",
            prompt: "Describe an image that feels: loud ringing"
          }
        ]
        const byWeights = yield* Metric.loadMetric(
          resonance.with({ model: "smollm2-135m", senses: { gustatory: 1 } })
        )
        const w = yield* Harness.runMetric(byWeights, texts, { seed: 1 })
        expect(w.status, w.reason).toBe("ok")
        expect(w.samples[0]!.score!).toBeGreaterThan(w.samples[1]!.score!)
        const byPrompt = yield* Metric.loadMetric(resonance.with({ model: "smollm2-135m" }))
        const p = yield* Harness.runMetric(byPrompt, texts, { seed: 1 })
        expect(p.status, p.reason).toBe("ok")
        expect(p.samples[0]!.details!.from).toBe("prompt")
        expect(Number.isFinite(p.samples[1]!.score)).toBe(true)
      })
  )

  it.live.skipIf(!existsSync(smol))(
    "reads a prompt-set sample's request, and leaves out samples of other tasks (skipped: no smollm2-135m model folder)",
    () =>
      Effect.gen(function* () {
        const texts = [
          {
            id: "asked",
            text: "sweet honey, sugar and ripe candy",
            prompt: "Sensations: sweet, tasty.\nA short poem that paints this image:\n",
            request: "sweet tasty",
            task: "describe-image"
          },
          { id: "words", text: "cat, algebra, volcano, spoon", prompt: "Ten nouns:\n1.", task: "ten-words" }
        ]
        const loaded = yield* Metric.loadMetric(resonance.with({ model: "smollm2-135m" }))
        const col = yield* Harness.runMetric(loaded, texts, { seed: 1 })
        expect(col.status, col.reason).toBe("ok")
        expect(col.samples[0]!.details!.from).toBe("request")
        expect(Number.isFinite(col.samples[0]!.score)).toBe(true)
        expect(col.samples[1]!.score).toBeNull()
      })
  )
})
