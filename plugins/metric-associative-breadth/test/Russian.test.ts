/**
 * Breadth in Russian: the OpenCorpora noun dictionary (from `az`, a dependency of the repository),
 * Cyrillic answers read as the task reads English ones, each answer in its own language's
 * dictionary, the pool filter, the corpus control of a mix of languages, and the HJ reader. The
 * dictionary tests skip only when `az`'s dictionaries are missing (an install without it).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Stats } from "@hyperwords/eval"
import { Effect } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { commonWords } from "../src/Breadth.ts"
import { answerEntries, firstValidWords, validateWord } from "../src/Dat.ts"
import { dictionaryOf as fixture } from "../src/Dictionary.ts"
import { type BreadthScorer, corpusResult, Dat, degenerateScore, langOf, scoreSample } from "../src/index.ts"
import { azDictionaries, russianNouns } from "../src/RussianNouns.ts"
import { dictionaryOf } from "../src/Sample.ts"
import { readPairs, validPairs } from "../src/SimilarityValidation.ts"

const hasAz = (() => {
  try {
    return existsSync(join(azDictionaries(), "words.dawg"))
  } catch {
    return false
  }
})()

describe.skipIf(!hasAz)("OpenCorpora nouns (az's dictionaries; skipped: az not installed)", () => {
  const ru = russianNouns()

  it("takes a form of a common noun as its lemma, and nothing else", () => {
    expect(ru.lang).toBe("ru")
    expect(ru.lemma!("лодку")).toBe("лодка")
    expect(ru.lemma!("ложки")).toBe("ложка")
    expect(ru.lemma!("кораблика")).toBe("кораблик")
    expect(ru.lemma!("деревья")).toBe("дерево")
    // е written for ё
    expect(ru.lemma!("еж")).toBe("ёж")
    // ё written where the dictionary has е
    expect(ru.lemma!("лён")).toBe("лен")
    // an adjective, a made-up word, proper nouns
    for (const w of ["серый", "калибреница", "москва", "ивана", "лыг"])
      expect(ru.lemma!(w), w).toBeUndefined()
    expect(ru.has("галактика") && !ru.has("быстро")).toBe(true)
  })

  it("lists every common-noun lemma once for the pool", () => {
    const words = ru.words
    expect(words.length).toBeGreaterThan(50_000)
    expect(words).toContain("кошка")
    expect(words).not.toContain("кошки")
    expect(words).not.toContain("москва")
    expect(new Set(words).size).toBe(words.length)
  })

  it("reads a Russian answer: seven lemmas, forms of one noun counted once, non-nouns skipped", () => {
    const text = "кораблик, кораблика, лодку, калибреница, серый, река, дыня, степь, лес, раковина"
    expect(firstValidWords(answerEntries(text), ru)).toEqual([
      "кораблик",
      "лодка",
      "река",
      "дыня",
      "степь",
      "лес",
      "раковина"
    ])
  })

  it("reads each answer in its language's dictionary", () => {
    const ruInput = { id: "r", text: "кошка, собака", lang: "ru" as const }
    expect(dictionaryOf({}, langOf(ruInput)).lang).toBe("ru")
    // without a lang, by the script most letters are written in
    expect(langOf({ id: "x", text: "кошка, собака, house" })).toBe("ru")
    expect(langOf({ id: "x", text: "cat, dog, дом" })).toBe("en")
    expect(dictionaryOf({}, "en").lang).toBe("en")
  })

  it("takes the HJ pairs whose words are nouns, as lemmas", () => {
    const dir = mkdtempSync(join(tmpdir(), "hj-"))
    made.push(dir)
    const file = join(dir, "pairs.tsv")
    writeFileSync(
      file,
      "# a comment\nword1\tword2\tsimilarity\nавтомобиль\tмашина\t0.95\nмаг\tволшебник\t0.9\nбыстро\tкошка\t0.1\nкошки\tкошка\t1\n"
    )
    const pairs = readPairs(file)
    expect(pairs).toHaveLength(4)
    expect(validPairs(pairs, ru).map((p) => p.words)).toEqual([
      ["автомобиль", "машина"],
      ["маг", "волшебник"]
    ])
  })
})

const made: Array<string> = []
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true })
})
describe("Russian answers without az (fixture dictionary)", () => {
  const nouns = fixture(
    "fixture",
    ["кошка", "собака", "ложка", "вулкан", "якорь", "гриб", "алгебра", "ус"],
    "ru"
  )

  it("keeps Cyrillic letters for a Russian dictionary and Latin ones for an English one", () => {
    expect(validateWord("  Кошка! ", nouns)).toBe("кошка")
    expect(validateWord("cat", nouns)).toBeUndefined()
    expect(validateWord("cat", fixture("en", ["cat"]))).toBe("cat")
    expect(validateWord("кошка", fixture("en", ["cat"]))).toBeUndefined()
  })

  it("puts degenerate Russian answers at 0, below a Russian list of seven nouns", async () => {
    const vector = (w: string) => {
      const rng = Stats.makeRng([...w].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7))
      return Array.from({ length: 16 }, () => rng() - 0.5)
    }
    const scorer: BreadthScorer = {
      layer: 0,
      pool: nouns.words,
      scoreMany: async (lists) => lists.map((l) => Dat.datScore(l.map(vector))),
      score: async (words) => Dat.datScore(words.map(vector))
    }
    const prompt =
      "Десять существительных, как можно более далёких друг от друга по смыслу:\nковёр, галактика\n\nДесять других:\n"
    // the fixture stands in for az through the config's file
    const dir = mkdtempSync(join(tmpdir(), "ru-"))
    made.push(dir)
    const file = join(dir, "nouns.txt")
    writeFileSync(file, `${nouns.words.join("\n")}\n`)
    const runWith = (text: string) =>
      Effect.runPromise(
        scoreSample(
          { id: "x", text, lang: "ru", task: "ten-words", prompt },
          { russianDictionary: file },
          (d) => Effect.succeed({ ...scorer, layer: d.lang === "ru" ? 0 : -1 }),
          1
        )
      )
    const h = (await runWith("кошка, собака, ложка, вулкан, якорь, гриб, алгебра")) as {
      score: number
      lang: string
      layer: number
    }
    // read with the Russian dictionary, scored by its scorer
    expect(h.lang).toBe("ru")
    expect(h.layer).toBe(0)
    expect(h.score).toBeGreaterThan(50)
    for (const text of [
      prompt,
      Array.from({ length: 8 }, () => "кошка, собака").join("\n"),
      "",
      "кошка",
      "cat, dog, spoon, volcano, anchor, mushroom, algebra"
    ]) {
      const s = (await runWith(text)) as { score: number }
      expect(s.score, text).toBe(degenerateScore)
    }
  })
})

describe("the pool and the control of a mix of languages", () => {
  it("keeps one-token words, or the fewest tokens that make up enough", () => {
    const tokens = (w: string) => w.length
    expect(commonWords(["a", "b", "cc", "ddd", "e-f"], tokens, 2)).toEqual(["a", "b"])
    expect(commonWords(["a", "bb", "cc", "ddd"], tokens, 3)).toEqual(["a", "bb", "cc"])
    expect(commonWords(["aaa", "bbb"], tokens, 10)).toEqual(["aaa", "bbb"])
  })

  it("holds each language's answers against its own random nouns, weighted by its share", () => {
    const r = corpusResult(
      [
        {
          lang: "en",
          scores: [80, 82, 84],
          degenerate: 1,
          controls: [90, 90, 90],
          dictionary: "en",
          layer: 1
        },
        { lang: "ru", scores: [70, 72], degenerate: 0, controls: [100, 100], dictionary: "ru", layer: 1 }
      ],
      10,
      1
    )
    expect(r.score).toBeCloseTo((80 + 82 + 84 + 0 + 70 + 72) / 6)
    expect(r.control).toBeCloseTo((4 / 6) * 90 + (2 / 6) * 100)
    expect(r.aboveControl).toBeCloseTo(r.score - r.control)
    expect(r.controlCi[0]).toBeCloseTo(r.control)
    expect(r.scored).toBe(5)
    expect(r.degenerate).toBe(1)
    expect(r.valid).toBeCloseTo(0.5)
    expect(r.byLang.ru).toMatchObject({ score: 71, control: 100, aboveControl: -29, scored: 2 })
    expect(r.byLang.en).toMatchObject({ control: 90, scored: 3, degenerate: 1 })
  })
})
