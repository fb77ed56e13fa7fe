import { existsSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Harness, Metric } from "@hyperwords/eval"
import { resolveModelDir } from "@hyperwords/models/ModelDir"
import { Effect } from "effect"
import coherence, { Coherence, textCoherence } from "../src/index.ts"
import { makeTrials } from "../src/Validation.ts"

/** Vectors of a tiny fixture space: sea words along one axis, fire words along another. */
const space: Record<string, ReadonlyArray<number>> = {
  sea: [1, 0.1, 0],
  wave: [0.9, 0, 0.1],
  salt: [1, 0, 0],
  fire: [0, 1, 0.1],
  ember: [0.1, 0.9, 0],
  smoke: [0, 1, 0]
}
const vectorsOf = async (words: ReadonlyArray<string>) =>
  words.map((w) => Float64Array.from(space[w] ?? [0, 0, 1]))

describe("coherence", () => {
  it("averages cosines of consecutive vectors", () => {
    expect(
      Coherence.consecutiveCosine([
        [1, 0],
        [1, 0],
        [0, 1]
      ])
    ).toBeCloseTo(0.5)
    expect(Coherence.consecutiveCosine([[1, 0]])).toBeNaN()
  })

  it("scores lines of one image above lines alternating two images", async () => {
    const one = await textCoherence("the sea\na wave\nsalt", "en", vectorsOf)
    const mixed = await textCoherence("the sea\nfire\nsalt\nsmoke", "en", vectorsOf)
    expect(one!.unit).toBe("lines")
    expect(one!.score).toBeGreaterThan(mixed!.score)
    const words = await textCoherence("sea wave salt", "en", vectorsOf)
    expect(words!.unit).toBe("words")
    expect(await textCoherence("the sea", "en", vectorsOf)).toBeUndefined()
  })

  it("averages free-association strength over normed pairs of consecutive lines", () => {
    const usf = new Map([["sea", new Map([["wave", 0.4]])]])
    expect(Coherence.associationStrength([["sea"], ["wave", "salt"]], usf)).toEqual({ mean: 0.2, pairs: 2 })
    expect(Coherence.associationStrength([["fire"], ["smoke"]], usf).pairs).toBe(0)
  })

  it("builds splices that alternate two poems and shuffles that keep the lines", () => {
    const poem = (name: string) => Array.from({ length: 8 }, (_, i) => `${name} stone ${i}`).join("\n")
    const trials = makeTrials([poem("alpha"), poem("beta")], "en", { count: 2, seed: 1 })
    const lines = trials[0]!.spliced.split("\n")
    expect(lines[0]!.split(" ")[0]).not.toBe(lines[1]!.split(" ")[0])
    expect(lines[0]!.split(" ")[0]).toBe(lines[2]!.split(" ")[0])
    expect([...trials[0]!.shuffled.split("\n")].sort()).toEqual([...trials[0]!.original.split("\n")].sort())
    expect(trials[0]!.shuffled).not.toBe(trials[0]!.original)
  })
})

describe("metric coherence", () => {
  it.live("fails its column with the reason when no model is named", () =>
    Effect.gen(function* () {
      const loaded = yield* Metric.loadMetric(coherence)
      const col = yield* Harness.runMetric(loaded, [{ id: "a", text: "sea\nwave" }], { seed: 1 })
      expect(col.status).toBe("failed")
      expect(col.reason).toMatch(/needs a model/)
    })
  )

  it.live("leaves out ten-word answers, which are meant not to cohere, without loading a model", () =>
    Effect.gen(function* () {
      const loaded = yield* Metric.loadMetric(coherence)
      const col = yield* Harness.runMetric(
        loaded,
        [{ id: "a", text: "cat, algebra, volcano", task: "ten-words" }],
        { seed: 1 }
      )
      expect(col.status, col.reason).toBe("ok")
      expect(col.samples[0]!.score).toBeNull()
    })
  )

  const smol = join(resolveModelDir("smollm2-135m"), "onnx", "probe.json")
  it.live.skipIf(!existsSync(smol))(
    "scores lines and words on smollm2-135m (skipped: no smollm2-135m model folder)",
    () =>
      Effect.gen(function* () {
        const loaded = yield* Metric.loadMetric(coherence.with({ model: "smollm2-135m" }))
        const col = yield* Harness.runMetric(
          loaded,
          [
            {
              id: "lines",
              text: "The grey sea breaks on the stones\nSalt wind over the cold waves",
              lang: "en"
            },
            { id: "words", text: "warm purring lap at dusk", lang: "en" },
            { id: "none", text: "and the", lang: "en" }
          ],
          { seed: 1 }
        )
        expect(col.status, col.reason).toBe("ok")
        expect(col.samples[0]!.details!.unit).toBe("lines")
        expect(col.samples[1]!.details!.unit).toBe("words")
        expect(col.samples[2]!.score).toBeNull()
      })
  )
})
