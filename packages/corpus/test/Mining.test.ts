import { HyperwordRecord } from "@hyperwords/core/Artifacts"
import { Effect, Schema } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { readCorpus } from "../src/Corpus.ts"
import { logLikelihood, mine, npmi } from "../src/Mining.ts"
import { englishLemmatizer, type Lemmatizer, russianLemmatizer } from "../src/Segment.ts"
import { fixture } from "./fixtures/paths.ts"

let lemmatizers: { ru: Lemmatizer; en: Lemmatizer }
beforeAll(async () => {
  lemmatizers = {
    ru: await Effect.runPromise(russianLemmatizer),
    en: await Effect.runPromise(englishLemmatizer)
  }
})

const corpus = () =>
  Effect.runPromise(
    readCorpus([
      fixture("ru_poems.jsonl"),
      fixture("ru_poems.json"),
      fixture("en_poems.csv"),
      fixture("folder")
    ])
  )

describe("association statistics", () => {
  it("NPMI is 1 for words that only occur together, 0 for independence", () => {
    expect(npmi(10, 10, 10, 1000)).toBeCloseTo(1)
    expect(npmi(1, 10, 100, 1000)).toBeCloseTo(0)
  })

  it("G² matches a hand-computed 2×2 table", () => {
    // k = [[10, 10], [10, 970]]: 2·Σ k·ln(k·N / (row·col))
    const expected =
      2 *
      (10 * Math.log((10 * 1000) / (20 * 20)) +
        10 * Math.log((10 * 1000) / (20 * 980)) * 2 +
        970 * Math.log((970 * 1000) / (980 * 980)))
    expect(logLikelihood(10, 20, 20, 1000)).toBeCloseTo(expected, 6)
    expect(logLikelihood(2, 20, 100, 1000)).toBeCloseTo(0, 6)
  })
})

describe("mine", () => {
  it("finds the repeated images of the fixtures as valid, reversible records with evidence", async () => {
    const { records, summary } = mine((await corpus()).poems, lemmatizers)
    const ids = records.map((r) => r.id)
    expect(ids).toEqual(
      expect.arrayContaining([
        "ru:белый+снег",
        "ru:кошка+шла+вкусно+есть",
        "en:cold+rain",
        "en:green+leaves+whisper"
      ])
    )
    for (const r of records) {
      Schema.decodeUnknownSync(HyperwordRecord)(r)
      expect(r.parts.join("")).toBe(r.surface)
      expect(r.stats!.count).toBeGreaterThanOrEqual(2)
    }
    const cat = records.find((r) => r.id === "ru:кошка+шла+вкусно+есть")!
    expect(cat).toMatchObject({
      surface: "кошкашлавкусноесть",
      lang: "ru",
      lemmas: ["кошка", "идти", "вкусно", "есть"],
      origin: "mined",
      stats: { count: 2 }
    })
    expect(cat.evidence).toEqual([
      { doc: "ru_poems.jsonl#1 test/Кошка", line: 2, text: "кошка шла вкусно есть." },
      { doc: "ru_poems.jsonl#2 test/Зима", line: 2, text: "и кошка шла вкусно есть," }
    ])
    expect(summary.records.ru).toBeGreaterThan(0)
    expect(summary.records.en).toBeGreaterThan(0)
  })

  it("drops stopwords from clusters but lets them count as distance", async () => {
    const { records } = mine((await corpus()).poems, lemmatizers)
    expect(records.some((r) => r.lemmas.some((l) => ["на", "the", "on", "и"].includes(l)))).toBe(false)
    // "cold rain on the window" and "cold rain at the door": the stopwords do not join the unit
    expect(records.find((r) => r.id === "en:cold+rain")!.stats!.count).toBe(3)
    const narrow = mine((await corpus()).poems, lemmatizers, { window: 2 })
    expect(narrow.records.find((r) => r.id === "en:warm+bread")).toBeDefined()
    expect(narrow.records.find((r) => r.id === "ru:белый+снег")).toBeDefined()
  })

  it("keeps only clusters with an image word, and respects minCount", async () => {
    const poems = [
      {
        doc: "d",
        lang: "en" as const,
        lines: [
          { line: 1, text: "justice and mercy prevail" },
          { line: 2, text: "justice and mercy prevail again" },
          { line: 3, text: "copper kettle steaming" },
          { line: 4, text: "a copper kettle steaming" }
        ]
      }
    ]
    const ids = mine(poems, lemmatizers, { minLlr: 0, minNpmi: 0 }).records.map((r) => r.id)
    expect(ids).toContain("en:copper+kettle")
    expect(ids).not.toContain("en:justice+mercy")
    expect(mine(poems, lemmatizers, { minLlr: 0, minNpmi: 0, minCount: 3 }).records).toEqual([])
  })

  it("counts a repeated line once", () => {
    const line = { line: 1, text: "copper kettle steaming" }
    const poems = [
      { doc: "d", lang: "en" as const, lines: [line, { ...line, line: 2 }, { ...line, line: 3 }] }
    ]
    const { records, summary } = mine(poems, lemmatizers, { minCount: 1, minLlr: 0, minNpmi: -1 })
    expect(summary.duplicateLines).toBe(2)
    expect(records.every((r) => r.stats!.count === 1)).toBe(true)
  })

  it("is deterministic", async () => {
    const a = mine((await corpus()).poems, lemmatizers).records
    const b = mine((await corpus()).poems, lemmatizers).records
    expect(JSON.stringify(b)).toBe(JSON.stringify(a))
  })
})
