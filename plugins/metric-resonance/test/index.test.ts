import { existsSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Harness, Metric } from "@hyperwords/eval"
import { channels, type Estimator, type Profile, resolveModelDir } from "@hyperwords/eval/Sdk"
import { Effect } from "effect"
import resonance, { degenerateScore, Resonance, scoreSample } from "../src/index.ts"
import { poemAsAnswer } from "../src/Validation.ts"

/** An estimator over a fixed lexicon: each word a profile with its channels at 1. */
const fixtureEstimator = (lexicon: Record<string, ReadonlyArray<string>>): Estimator => ({
  mode: "zero-shot",
  modeOf: () => "zero-shot",
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

describe("resonance of degenerate answers", () => {
  // A fixture lexicon: each word's strongest channels, as the estimator would give them.
  const estimator = fixtureEstimator({
    warm: ["haptic"],
    soft: ["haptic"],
    purring: ["auditory", "haptic"],
    dusk: ["visual"],
    kettle: ["auditory"],
    ticks: ["auditory"],
    light: ["visual"],
    cat: ["haptic", "auditory"],
    loaf: ["gustatory"],
    heat: ["haptic"],
    knee: ["haptic", "motion"],
    lilac: ["olfactory"],
    breath: ["interoceptive"],
    star: ["visual"],
    evening: ["visual"],
    anchor: ["visual"],
    fungus: ["olfactory"],
    spoon: ["gustatory"],
    sermon: ["auditory"],
    ladder: ["motion"]
  })
  const dusk = {
    lang: "en" as const,
    task: "describe-image",
    request: "warm soft purring dusk",
    prompt: "Sensations: warm, soft, purring, dusk.\nA short poem that paints this image:\n"
  }
  // Written for these tests: a person's answer to the dusk prompt.
  const human =
    "The kettle ticks as the light goes out,\nthe cat a loaf of heat against my knee,\n" +
    "and in the yard the lilac keeps its breath\nuntil the first star pins the evening down."
  const score = (text: string, extra: object = {}) =>
    Effect.runPromise(scoreSample({ id: "x", text, ...dusk, ...extra }, {}, Effect.succeed(estimator)))
  const value = (s: Awaited<ReturnType<typeof score>>) => (typeof s === "object" && s !== null ? s.score : s)

  it("scores the request repeated back at −1, not ≈ 1: request words are left out", async () => {
    expect(await score("warm soft purring dusk")).toMatchObject({
      score: degenerateScore,
      degenerate: "echo"
    })
    const h = value(await score(human))!
    expect(h).toBeGreaterThan(0)
  })

  it("scores an answer on the words it made, not on those the request gave", async () => {
    const s = (await score("warm soft dusk: a kettle ticks")) as {
      score: number
      words: number
      given: number
    }
    expect(s.words).toBe(2)
    expect(s.given).toBe(3)
    expect(s.score).toBeCloseTo(
      Resonance.agreement(
        await Resonance.meanProfile(estimator, ["warm", "soft", "purring", "dusk"]),
        await Resonance.meanProfile(estimator, ["kettle", "ticks"]),
        "pearson"
      )
    )
  })

  it("puts every degenerate answer below a human answer", async () => {
    const h = value(await score(human))!
    const cases = {
      "echo of the prompt": dusk.prompt,
      "one line repeated": Array.from({ length: 6 }, () => "the cat purring warm and soft").join("\n"),
      "example list copied": "warm, soft, purring, dusk",
      "random nouns": "anchor, fungus, spoon, sermon, ladder, lilac",
      empty: "",
      "one word": "cat",
      "other language": "Тёплый вечер, мягкая кошка мурлычет у печки",
      loop: Array.from({ length: 10 }, () => "the cat purring warm").join(" ")
    }
    for (const [name, text] of Object.entries(cases)) {
      const s = await score(text)
      expect(value(s), name).toBe(degenerateScore)
      expect(value(s)!, name).toBeLessThan(h)
    }
  })
})

describe("the floor check's human answers", () => {
  it("asks a poem for its four content words of strongest sensory norm, in the prompt set's words", () => {
    const strength = new Map([
      ["honey", 4.9],
      ["bell", 4.5],
      ["cold", 4.2],
      ["idea", 0.5],
      ["stone", 4.4]
    ])
    const a = poemAsAnswer("p", "The bell was cold as stone,\nthe honey of an idea", strength)!
    expect(a.request).toBe("honey bell stone cold")
    expect(a.prompt).toBe("Sensations: honey, bell, stone, cold.\nA short poem that paints this image:\n")
    expect(a.task).toBe("describe-image")
    expect(poemAsAnswer("q", "the bell and the idea", strength)).toBeUndefined()
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

  it.live.skipIf(!existsSync(smol))(
    "scores the request echoed back below a human answer on smollm2-135m, where it used to score ≈ 1 (skipped: no smollm2-135m model folder)",
    () =>
      Effect.gen(function* () {
        const asked = {
          lang: "en" as const,
          task: "describe-image",
          request: "warm soft purring dusk",
          prompt: "Sensations: warm, soft, purring, dusk.\nA short poem that paints this image:\n"
        }
        const loaded = yield* Metric.loadMetric(resonance.with({ model: "smollm2-135m" }))
        const col = yield* Harness.runMetric(
          loaded,
          [
            { id: "echo", text: "warm soft purring dusk", ...asked },
            {
              id: "human",
              text: "The cat curls on my lap, a small engine of heat,\nand the window goes grey over the garden.",
              ...asked
            }
          ],
          { seed: 1 }
        )
        expect(col.status, col.reason).toBe("ok")
        const [echo, human] = col.samples
        expect(echo!.score).toBe(-1)
        expect(echo!.score!).toBeLessThan(human!.score!)
      })
  )
})
