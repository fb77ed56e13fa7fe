import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { englishLemmatizer, russianLemmatizer, WordSegmenter } from "../src/Segment.ts"

describe("WordSegmenter", () => {
  it("splits Russian lines into lower-cased words; other scripts and numbers keep their place", () => {
    expect(new WordSegmenter("ru").words("Кошка шла, в 1812 году — Paris!")).toEqual([
      "кошка",
      "шла",
      "в",
      undefined,
      "году",
      undefined
    ])
  })

  it("keeps English contractions, drops possessive 's, straightens curly apostrophes", () => {
    expect(new WordSegmenter("en").words("Beauty’s rose: feed'st thy flame, O'er")).toEqual([
      "beauty",
      "rose",
      "feed'st",
      "thy",
      "flame",
      "o'er"
    ])
  })

  it("drops stress marks and joins letter-spaced words", () => {
    expect(new WordSegmenter("ru").words("Ре\u0301ка, Т\u00a0р\u00a0е\u00a0т\u00a0и\u00a0й и в дом")).toEqual(
      ["река", "третий", "и", "в", "дом"]
    )
  })

  it("segments several lines in one pass, keeping empty lines", () => {
    expect(new WordSegmenter("en").lines(["cold rain", "—", "warm bread"])).toEqual([
      ["cold", "rain"],
      [],
      ["warm", "bread"]
    ])
  })
})

describe("lemmatisers", () => {
  it("Russian lemmas from az's dictionaries, ё folded, the dictionary form preferred", async () => {
    const ru = await Effect.runPromise(russianLemmatizer)
    const lemma = (w: string) => ru.analyse(w).lemma
    expect(["шла", "звёзды", "снегами", "луною", "морозной", "поле", "месяц"].map(lemma)).toEqual([
      "идти",
      "звезда",
      "снег",
      "луна",
      "морозный",
      "поле",
      "месяц"
    ])
    expect(ru.analyse("кошка").pos).toBe("NOUN")
    expect(ru.lookup("бармаглотище")).toBeUndefined()
    expect(ru.analyse("бармаглотище").lemma).not.toBe("")
  })

  it("English lemmas from wink-lemmatizer, WordNet choosing between readings", async () => {
    const en = await Effect.runPromise(englishLemmatizer)
    const words = "eyes leaves singing shining loved cried went sweeter rose dying hath".split(" ")
    expect(words.map((w) => en.analyse(w).lemma)).toEqual(
      "eye leaf sing shine love cry go sweet rose die have".split(" ")
    )
  })
})
