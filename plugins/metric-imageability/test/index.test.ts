import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Harness, Metric } from "@hyperwords/eval"
import { resolveModelDir } from "@hyperwords/eval/Sdk"
import { Effect, Schema } from "effect"
import imageability, {
  contentWords,
  degenerateScore,
  Norms,
  RegressionModule,
  scoreSample
} from "../src/index.ts"
import { poemAsContinuation, readTangible } from "../src/Validation.ts"

const dir = mkdtempSync(join(tmpdir(), "imageability-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
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

  it("makes a poem a continue-line answer for the degenerate-answer floor", () => {
    const poem = `Title\n\n${Array.from({ length: 16 }, (_, i) => `line ${i} of the frost`).join("\n")}`
    expect(poemAsContinuation("p", poem, "en")).toMatchObject({
      prompt: "Title\n",
      task: "continue-line",
      lang: "en"
    })
    expect(poemAsContinuation("p", poem, "en")!.text.split("\n")).toHaveLength(12)
    expect(poemAsContinuation("q", "one\ntwo\n3\n", "en")).toBeUndefined()
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

describe("imageability of degenerate answers", () => {
  // A fixture lexicon of predicted imageability (1-7); other words 3.
  const lexicon: Record<string, number> = {
    kettle: 6.2,
    light: 5.5,
    cat: 6.8,
    loaf: 6,
    heat: 4.5,
    knee: 6.1,
    yard: 5.6,
    lilac: 6.3,
    breath: 4.8,
    star: 6.4,
    evening: 5,
    warm: 4.6,
    soft: 4.8,
    purring: 5.4,
    dusk: 5.6,
    anchor: 6.5,
    fungus: 6.2,
    spoon: 6.7,
    violin: 6.8,
    gravel: 6.3,
    apple: 6.9
  }
  const predict = (words: ReadonlyArray<string>) => Effect.succeed(words.map((w) => lexicon[w] ?? 3))
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
  const score = async (text: string, gate = true) => {
    const s = await Effect.runPromise(scoreSample({ id: "x", text, ...dusk }, predict, { gate }))
    return s === null || typeof s === "number" ? s : s.score
  }
  const cases = {
    "echo of the request": dusk.request,
    "echo of the prompt": dusk.prompt,
    "one line repeated": Array.from({ length: 6 }, () => "the cat on the warm sill").join("\n"),
    "example list copied": "warm, soft, purring, dusk",
    "random nouns": "anchor, fungus, spoon, violin, gravel, apple",
    empty: "",
    "one word": "apple",
    "other language": "Тёплый вечер, мягкая кошка мурлычет у печки",
    loop: Array.from({ length: 10 }, () => "the cat and the apple").join(" ")
  }

  it("puts every degenerate answer at 1, below a human answer", async () => {
    const h = (await score(human))!
    expect(h).toBeGreaterThan(4)
    for (const [name, text] of Object.entries(cases)) {
      expect(await score(text), name).toBe(degenerateScore)
      expect(degenerateScore, name).toBeLessThan(h)
    }
  })

  it("needs the gate for random nouns and one-word answers, which outscore the human answer on their words", async () => {
    const h = (await score(human))!
    expect(await score(cases["random nouns"], false)).toBeGreaterThan(h)
    expect(await score(cases["one word"], false)).toBeGreaterThan(h)
  })

  it("scores the words the answer made, not those the request gave", async () => {
    const s = await Effect.runPromise(
      scoreSample({ id: "x", text: "warm soft dusk, and a cat", ...dusk }, predict)
    )
    expect(s).toMatchObject({ score: 6.8, words: 1, given: 3 })
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

  it.live.skipIf(!existsSync(smol))(
    "scores a bare list of concrete nouns below a human poem with the shipped smollm2-135m weights (skipped: no smollm2-135m model folder)",
    () =>
      Effect.gen(function* () {
        const loaded = yield* Metric.loadMetric(imageability.with({ model: "smollm2-135m" }))
        const asked = {
          lang: "en" as const,
          task: "describe-image",
          request: "cold ringing bright metallic",
          prompt: "Sensations: cold, ringing, bright, metallic.\nA short poem that paints this image:\n"
        }
        const col = yield* Harness.runMetric(
          loaded,
          [
            { id: "nouns", text: "apple, horse, river, table, hammer, window, boot, chair", ...asked },
            {
              id: "human",
              text: "The bells of the harbour shake in the frost,\nand every railing burns white with the morning",
              ...asked
            }
          ],
          { seed: 1 }
        )
        expect(col.status, col.reason).toBe("ok")
        const [nouns, human] = col.samples
        expect(nouns!.score).toBe(1)
        expect(nouns!.score!).toBeLessThan(human!.score!)
      })
  )
})
