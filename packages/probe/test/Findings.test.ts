import { mulberry32 } from "@hyperwords/core/Random"
import { loadModel } from "@hyperwords/models/Model"
import { describe, expect, it } from "vitest"
import {
  centroidAccuracy,
  measureFindings,
  piecesOf,
  readoutAccuracy,
  russianEnglish,
  type TailStates,
  wordFindingsFromStates
} from "../src/Findings.ts"
import { matchedNonword, translations } from "../src/Lexicon.ts"
import { nonword } from "../src/Measure.ts"
import { pivotItems, pivotPrompt, translationPrompt } from "../src/Pivot.ts"
import { bandLayers, bands } from "../src/Verdict.ts"
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

  it("the translation prompt shows two other items, then asks for the French", () => {
    const [a, b, c] = translations as [
      (typeof translations)[0],
      (typeof translations)[0],
      (typeof translations)[0]
    ]
    expect(translationPrompt(a, [b, c])).toBe(
      `Русский: "${b.ru}" - Français: "${b.fr}"\nРусский: "${c.ru}" - Français: "${c.fr}"\nРусский: "${a.ru}" - Français: "`
    )
    expect(translations.length).toBeGreaterThanOrEqual(100)
    expect(new Set(translations.map((t) => t.ru)).size).toBe(translations.length)
    for (const t of translations) expect(t.en).not.toBe(t.fr)
  })
})

/** A greedy longest-match tokenizer over a small vocabulary (single letters always in it). */
const greedy = (vocab: ReadonlyArray<string>) => (text: string) => {
  const out: Array<string> = []
  for (let i = 0; i < text.length; ) {
    const hit = vocab.filter((v) => text.startsWith(v, i)).sort((a, b) => b.length - a.length)[0]
    out.push(hit ?? text[i]!)
    i += hit?.length ?? 1
  }
  return out
}

describe("matchedNonword", () => {
  it("shuffles the word's letters until the nonword has as many pieces", () => {
    const bigrams =
      "th er an in re on at en nd ti es or te ed is it al ar st to nt ng se ha ou de ro ne ra un rm"
    const split = greedy(bigrams.split(" "))
    const pieces = (text: string) => split(text).length
    const word = "thunderstorm"
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const nw = matchedNonword(word, "en", seed, split)
      expect(nw).toBeDefined()
      expect(nw).not.toBe(word)
      expect([...nw!].sort().join("")).toBe([...word].sort().join(""))
      expect(pieces(nw!)).toBe(pieces(word))
    }
    // a plain shuffle often has another count: the match is what makes them equal
    const plain = [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => pieces(nonword(word, "en", seed)))
    expect(plain.some((n) => n !== pieces(word))).toBe(true)
  })

  it("gives none when no shuffle has as many pieces", () => {
    // "cat" is one piece; every other order of its letters is three
    expect(matchedNonword("cat", "en", 1, greedy(["cat"]))).toBeUndefined()
  })

  it("falls back to rearranging the word's own pieces when no shuffle of letters matches", () => {
    // letters alone are one piece each; "butter" and "fly" are pieces: only "flybutter" has two
    expect(matchedNonword("butterfly", "en", 1, greedy(["butter", "fly"]))).toBe("flybutter")
  })
})

/** Synthetic tail states: `pairs` word/nonword pairs over `numLayers + 1` layers, with what is planted. */
const tailStates = (seed: number, plant: { word?: boolean; previous?: boolean }): TailStates => {
  const rand = mulberry32(seed)
  const dim = 24
  const numLayers = 12
  const pairs = 40
  const vec = () => Array.from({ length: dim }, () => gauss(rand))
  const vocab = Array.from({ length: 12 }, vec)
  const texts = 2 * pairs
  const prevIds = Array.from({ length: texts }, (_, i) => i % 6)
  const lastIds = Array.from({ length: texts }, (_, i) => 6 + (Math.floor(i / 2) % 6))
  const wordBand = bandLayers(numLayers, bands.wordNonword)
  const early = bandLayers(numLayers, bands.erasureEarly)
  const last = Array.from({ length: texts }, (_, i) =>
    Array.from({ length: numLayers + 1 }, (_, l) => {
      if (l === 0) return Float32Array.from(vocab[lastIds[i]!]!)
      const v = vec()
      if (plant.word && wordBand.includes(l) && i % 2 === 0) v[0]! += 2.5
      if (plant.previous && early.includes(l)) {
        for (const [d, x] of vocab[prevIds[i]!]!.entries()) v[d]! += 2 * x
      }
      return Float32Array.from(v)
    })
  )
  const prev = prevIds.map((id) => Array.from({ length: numLayers + 1 }, () => Float32Array.from(vocab[id]!)))
  return { last, prev, lastIds, prevIds }
}

describe("the word checks on synthetic states", () => {
  const options = { folds: 5, permutations: 499, resamples: 200 }
  const seeds = Array.from({ length: 10 }, (_, i) => i + 1)
  const verdicts = (plant: { word?: boolean; previous?: boolean }) =>
    seeds.map((seed) =>
      wordFindingsFromStates(tailStates(seed, plant), { seed, ...options }).map((f) => f.verdict)
    )

  it("find nothing in noise", () => {
    const noise = verdicts({})
    expect(noise.filter(([k]) => k === "not reproduced").length).toBeGreaterThanOrEqual(9)
    expect(noise.filter(([, f]) => f === "not reproduced").length).toBeGreaterThanOrEqual(9)
  })

  it("find the planted effects, each on its own", () => {
    expect(verdicts({ word: true }).map(([k, f]) => [k, f === "reproduced"])).toEqual(
      seeds.map(() => ["reproduced", false])
    )
    expect(verdicts({ previous: true }).map(([k, f]) => [k === "reproduced", f])).toEqual(
      seeds.map(() => [false, "reproduced"])
    )
  })

  it("put the test's figures in the figure", () => {
    const [kaplan, feucht] = wordFindingsFromStates(tailStates(1, { word: true }), { seed: 1, ...options })
    expect(kaplan!.figure).toContain(`n = 40, band layers ${kaplan!.test.layers[0]}–`)
    expect(kaplan!.figure).toContain(`p = ${kaplan!.test.estimate.p.toPrecision(2)}`)
    expect(kaplan!.ci.accuracy!.lo).toHaveLength(13)
    expect(feucht!.test.n).toBe(40)
  })
})

describe("the checks on a tiny model", async () => {
  const missing = await tinyMissing()
  it("pair each word with a nonword of as many pieces on the model's tokenizer", async (ctx) => {
    if (missing) return ctx.skip(missing)
    const model = await loadModel(await tinyModel("llama"))
    const pieces = piecesOf(model)
    let matched = 0
    for (const word of ["butterfly", "thunderstorm", "бабушка", "колокольчик"]) {
      const lang = /[а-я]/.test(word) ? "ru" : "en"
      const nw = matchedNonword(word, lang, 1, pieces)
      if (nw === undefined) continue
      matched++
      expect(nw).not.toBe(word)
      expect(pieces(nw)).toHaveLength(pieces(word).length)
    }
    expect(matched).toBeGreaterThan(0)
  })

  it("read the translation items, leaving out those whose answer and English share a token", async (ctx) => {
    if (missing) return ctx.skip(missing)
    const model = await loadModel(await tinyModel("llama"))
    const { reads, total, singleToken } = pivotItems(model, "translation")
    expect(total).toBe(translations.length)
    expect(reads.length).toBeGreaterThanOrEqual(100)
    expect(singleToken).toBe(reads.filter((r) => r.single).length)
    for (const r of reads) expect(r.english).not.toContain(r.answer)
  })

  it("measure only the checks a stopped run did not finish, and hand each finished one to keep", async (ctx) => {
    if (missing) return ctx.skip(missing)
    const model = await loadModel(await tinyModel("llama"))
    const options = { seed: 1, words: [{ word: "кошка", lang: "ru" }], permutations: 99, resamples: 100 }
    const kept = new Map<string, ReadonlyArray<unknown>>()
    const all = await measureFindings(model, { ...options, keep: (check, found) => kept.set(check, found) })
    expect([...kept.keys()]).toEqual(["word-nonword", "english-pivot", "english-pivot-translation"])
    expect([...kept.values()].flat()).toEqual(all)
    const read: Array<string> = []
    const again = await measureFindings(model, {
      ...options,
      kept: (check) => (check === "english-pivot-translation" ? undefined : (kept.get(check) as never)),
      onProgress: (check) => read.push(check)
    })
    expect(new Set(read)).toEqual(new Set(["english-pivot-translation"]))
    expect(again).toEqual(all)
  })

  it("give a curve per layer with its band, a band test and a verdict", async (ctx) => {
    if (missing) return ctx.skip(missing)
    const model = await loadModel(await tinyModel("llama"))
    const layers = model.config.numLayers + 1
    const findings = await measureFindings(model, {
      seed: 1,
      words: [{ word: "кошка", lang: "ru" }],
      permutations: 199,
      resamples: 200
    })
    expect(findings.map((f) => f.id)).toEqual([
      "word-nonword",
      "token-erasure",
      "english-pivot",
      "english-pivot-translation"
    ])
    for (const f of findings) {
      expect(["reproduced", "not reproduced", "inconclusive"]).toContain(f.verdict)
      expect(f.reproduced).toBe(f.verdict === "reproduced")
      expect(f.figure).toContain(f.test.statistic)
      expect(f.test.perLayer).toHaveLength(layers)
      for (const [name, curve] of Object.entries(f.curves)) {
        expect(curve).toHaveLength(layers)
        expect(f.ci[name]!.lo).toHaveLength(layers)
        for (const v of curve) {
          expect(v).toBeGreaterThanOrEqual(0)
          expect(v).toBeLessThanOrEqual(1)
        }
      }
    }
  })
})
