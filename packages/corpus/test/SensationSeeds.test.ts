import { SenseChannels } from "@hyperwords/core/Artifacts"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { isImageWord } from "../src/Concreteness.ts"
import { englishLemmatizer, russianLemmatizer } from "../src/Segment.ts"
import { foldYo, seedChannels, sensationSeeds } from "../src/SensationSeeds.ts"
import { isStopword } from "../src/Stopwords.ts"

describe("sensation seeds", () => {
  it("hold a few hundred lemmas per language, in every channel", () => {
    for (const lang of ["ru", "en"] as const) {
      const seeds = sensationSeeds[lang]
      expect(Object.keys(seeds).sort()).toEqual([...SenseChannels].sort())
      for (const channel of SenseChannels) expect(seeds[channel].length).toBeGreaterThan(40)
      expect(new Set(Object.values(seeds).flat()).size).toBeGreaterThan(400)
    }
    expect(seedChannels("ru", "мёд")).toEqual(["gustatory"])
    expect(seedChannels("en", "wave")).toEqual(["haptic"])
  })

  it("are lemmas the lemmatisers produce, and no stopwords", async () => {
    const lemmatizers = {
      ru: await Effect.runPromise(russianLemmatizer),
      en: await Effect.runPromise(englishLemmatizer)
    }
    for (const lang of ["ru", "en"] as const) {
      for (const w of new Set(Object.values(sensationSeeds[lang]).flat())) {
        expect(lemmatizers[lang].analyse(w).lemma, `${lang} seed ${w}`).toBe(foldYo(w))
        expect(isStopword(lang, foldYo(w)), `${lang} seed ${w}`).toBe(false)
      }
    }
  })
})

describe("isImageWord", () => {
  it("seeds, concrete WordNet nouns, and Russian nouns that are not abstract", () => {
    expect(isImageWord("en", "honey")).toBe(true)
    expect(isImageWord("en", "pebble")).toBe(true)
    expect(isImageWord("en", "anemone")).toBe(true) // WordNet: a plant and an animal
    expect(isImageWord("en", "justice")).toBe(false)
    expect(isImageWord("en", "god")).toBe(false)
    expect(isImageWord("ru", "самовар", "NOUN")).toBe(true)
    expect(isImageWord("ru", "справедливость", "NOUN")).toBe(false)
    expect(isImageWord("ru", "любовь", "NOUN")).toBe(false)
    expect(isImageWord("ru", "звенеть", "INFN")).toBe(true)
    expect(isImageWord("ru", "думать", "INFN")).toBe(false)
  })
})
