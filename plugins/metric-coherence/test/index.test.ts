import { existsSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Harness, Metric } from "@hyperwords/eval"
import { resolveModelDir } from "@hyperwords/eval/Sdk"
import { Effect } from "effect"
import coherence, { Coherence, degenerateScore, scoreSample, textCoherence } from "../src/index.ts"
import { makeTrials, poemsAsAnswers } from "../src/Validation.ts"

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

  it("makes a poem a continue-line answer: its first line the prompt, the next twelve the answer", () => {
    const poem = Array.from({ length: 20 }, (_, i) => `stone ${i} and river`).join("\n")
    const [a] = poemsAsAnswers([poem], "en", { count: 1, seed: 1 })
    expect(a).toMatchObject({ task: "continue-line", lang: "en", prompt: "stone 0 and river\n" })
    expect(a!.text.split("\n")).toHaveLength(12)
    expect(a!.text.startsWith("stone 1 and river")).toBe(true)
  })

  it("builds splices that alternate two poems and shuffles that keep the lines", () => {
    const poem = (name: string) => Array.from({ length: 8 }, (_, i) => `${name} stone ${i}`).join("\n")
    const trials = makeTrials([poem("alpha"), poem("beta")], "en", { count: 2, seed: 1 })
    const lines = trials[0]!.spliced.split("\n")
    expect(lines[0]!.split(" ")[0]).not.toBe(lines[1]!.split(" ")[0])
    expect(lines[0]!.split(" ")[0]).toBe(lines[2]!.split(" ")[0])
    expect([...trials[0]!.shuffled!.split("\n")].sort()).toEqual([...trials[0]!.original.split("\n")].sort())
    expect(trials[0]!.shuffled).not.toBe(trials[0]!.original)
  })
})

describe("coherence of degenerate answers", () => {
  // A fixture space: sea words near one axis, fire words near another, everything else apart.
  const seaSpace: Record<string, ReadonlyArray<number>> = {
    ...space,
    harbour: [0.8, 0.1, 0.2],
    gull: [0.7, 0, 0.3],
    tide: [0.9, 0.1, 0],
    boats: [0.8, 0.2, 0.1],
    rope: [0.5, 0.2, 0.4],
    breaks: [0.7, 0.1, 0.1],
    white: [0.6, 0.2, 0.2],
    meets: [0.5, 0.3, 0.1],
    far: [0.6, 0, 0.2],
    anchor: [0.2, -0.5, 0.6],
    fungus: [-0.6, 0.3, 0.2],
    spoon: [0.1, 0.6, -0.6],
    violin: [-0.4, -0.4, 0.5],
    gravel: [0.3, -0.7, -0.2]
  }
  const fixtureVectors = async (words: ReadonlyArray<string>) =>
    words.map((w) => Float64Array.from(seaSpace[w] ?? [-0.3, -0.3, -0.3]))
  const asked = {
    lang: "en" as const,
    task: "continue-line",
    prompt: "The harbour at dusk, the tide going out,\n"
  }
  // Written for these tests: a person's continuation of the prompt's line.
  const human =
    "a gull above the boats, the salt on every rope,\nand far out a wave breaks white\nwhere the sea meets smoke"
  const score = async (text: string) => {
    const s = await Effect.runPromise(
      scoreSample({ id: "x", text, ...asked }, {}, () => Effect.succeed(fixtureVectors))
    )
    return s === null || typeof s === "number" ? s : s.score
  }

  it("scores one line repeated at −1, not 1.0", async () => {
    const repeated = Array.from({ length: 6 }, () => "the sea, the salt, the wave").join("\n")
    expect((await textCoherence(repeated, "en", fixtureVectors))!.score).toBeCloseTo(1)
    expect(await score(repeated)).toBe(degenerateScore)
  })

  it("leaves out the words the prompt gave", async () => {
    const s = (await Effect.runPromise(
      scoreSample({ id: "x", text: "the harbour, the tide\nfire and smoke", ...asked }, {}, () =>
        Effect.succeed(fixtureVectors)
      )
    )) as unknown as { words: number; lines: number }
    expect(s).toMatchObject({ words: 2, lines: 1 })
  })

  it("puts every degenerate answer below a human answer", async () => {
    const h = (await score(human))!
    expect(h).toBeGreaterThan(0)
    const cases = {
      "echo of the prompt": asked.prompt,
      "one line repeated": Array.from({ length: 6 }, () => "a gull above the boats").join("\n"),
      "example list copied": "harbour, dusk, tide",
      "random nouns": "anchor, fungus, spoon, violin, gravel",
      empty: "",
      "one word": "gull",
      "other language": "Чайка над лодками,\nсоль на каждой верёвке",
      loop: Array.from({ length: 10 }, () => "the gull and the boats").join(" ")
    }
    for (const [name, text] of Object.entries(cases)) {
      const s = await score(text)
      expect(s, name).toBe(degenerateScore)
      expect(s!, name).toBeLessThan(h)
    }
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

  it.live.skipIf(!existsSync(smol))(
    "scores one line repeated below a human poem on smollm2-135m, where it used to score 1.0 (skipped: no smollm2-135m model folder)",
    () =>
      Effect.gen(function* () {
        const loaded = yield* Metric.loadMetric(coherence.with({ model: "smollm2-135m" }))
        const asked = {
          lang: "en" as const,
          task: "continue-line",
          prompt: "The grey sea breaks on the stones\n"
        }
        const col = yield* Harness.runMetric(
          loaded,
          [
            {
              id: "repeated",
              text: Array.from({ length: 6 }, () => "Salt wind over the cold waves").join("\n"),
              ...asked
            },
            {
              id: "human",
              text: "Salt wind over the cold waves,\ngulls hanging white above the harbour wall,\nand nets drying on the shingle",
              ...asked
            }
          ],
          { seed: 1 }
        )
        expect(col.status, col.reason).toBe("ok")
        const [repeated, human] = col.samples
        expect(repeated!.score).toBe(-1)
        expect(repeated!.score!).toBeLessThan(human!.score!)
      })
  )
})
