import { readFileSync } from "node:fs"
import { join } from "node:path"
import { mulberry32 } from "@hyperwords/core/Random"
import { loadModel } from "@hyperwords/models/Model"
import { describe, expect, it } from "vitest"
import { spreadLayers } from "../src/Measure.ts"
import {
  answerOf,
  drawSuperwords,
  measureSuperwords,
  readTuned,
  superwordFindings,
  superwordsOf,
  wordShare
} from "../src/Superwords.ts"
import { bandLayers, bands, pairingBandTest, pairingTests } from "../src/Verdict.ts"
import { tinySuperwordModel } from "./fixtures/superword.ts"
import { tinyMissing } from "./fixtures/tiny.ts"

const gauss = (rand: () => number) => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand())
const cos = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => {
  let ab = 0
  let aa = 0
  let bb = 0
  a.forEach((x, i) => {
    ab += x * b[i]!
    aa += x * x
    bb += b[i]! * b[i]!
  })
  return ab / Math.sqrt(aa * bb)
}
const fast = { permutations: 499, resamples: 200 }
const numLayers = 12

/**
 * Cosine matrices `[layer][i][j]` of n tuned and n base vectors (dimension 16) that share one big
 * common direction (hidden states are anisotropic); at the layers in `planted` the tuned vector of
 * item i is its base vector plus noise of scale `noise`, elsewhere it is independent of it.
 */
const matrices = (seed: number, n: number, planted: ReadonlyArray<number>, noise = 1) => {
  const rand = mulberry32(seed)
  const common = Array.from({ length: 16 }, () => 3 * gauss(rand))
  const vec = () => common.map((c) => c + gauss(rand))
  return Array.from({ length: numLayers + 1 }, (_, l) => {
    const base = Array.from({ length: n }, vec)
    const tuned = base.map((b) => (planted.includes(l) ? b.map((x) => x + noise * gauss(rand)) : vec()))
    return tuned.map((t) => base.map((b) => cos(t, b)))
  })
}
const band = bandLayers(numLayers, bands.superword)

describe("the pairing test", () => {
  it("gives a uniform p to unrelated pairs despite the common direction: p < 0.01 about 1% of the time", () => {
    const ps = Array.from(
      { length: 60 },
      (_, s) => pairingTests(matrices(s + 1, 24, []), { seed: s, ...fast })[3]!.p
    )
    expect(ps.filter((p) => p < 0.01).length).toBeLessThanOrEqual(3)
    expect(ps.filter((p) => p < 0.5).length).toBeGreaterThan(15)
    expect(ps.filter((p) => p < 0.5).length).toBeLessThan(45)
  })

  it("claims nothing on noise and claims a planted pairing, at the planted layers", () => {
    for (const seed of [1, 2, 3]) {
      const noise = pairingBandTest(
        matrices(seed, 24, []),
        [...Array(numLayers + 1).keys()],
        bands.superword,
        {
          seed,
          ...fast,
          numLayers,
          statistic: "s"
        }
      )
      expect(noise.verdict).toBe("not reproduced")
      const planted = pairingBandTest(
        matrices(seed, 24, band),
        [...Array(numLayers + 1).keys()],
        bands.superword,
        {
          seed,
          ...fast,
          numLayers,
          statistic: "s"
        }
      )
      expect(planted.verdict).toBe("reproduced")
      expect(planted.estimate.lo).toBeGreaterThan(0)
      expect(planted.layers).toEqual(band)
      // the layers outside the band carry nothing
      expect(planted.perLayer[0]!.p).toBeGreaterThan(0.01)
      expect(planted.perLayer[band[0]!]!.p).toBeLessThan(0.01)
    }
  })

  it("is inconclusive with fewer than 20 items, and reads a band from the patched layers only", () => {
    const small = pairingBandTest(
      matrices(4, 8, band, 0.1),
      [...Array(numLayers + 1).keys()],
      bands.superword,
      {
        seed: 4,
        ...fast,
        numLayers,
        statistic: "s"
      }
    )
    expect(small.verdict).toBe("inconclusive")
    expect(small.rule).toMatch(/n = 8 < 20/)
    const all = matrices(5, 24, band)
    const patched = [0, 4, 8, 12]
    const t = pairingBandTest(
      patched.map((l) => all[l]!),
      patched,
      bands.superword,
      { seed: 5, ...fast, numLayers, statistic: "s" }
    )
    expect(t.layers).toEqual([4])
    expect(t.verdict).toBe("reproduced")
    expect(t.perLayer).toHaveLength(numLayers + 1)
    expect(t.perLayer[1]!.p).toBe(1)
    expect(Number.isNaN(t.perLayer[1]!.mean)).toBe(true)
  })
})

describe("the superword findings", () => {
  const share = (seed: number, n: number, planted: boolean) => {
    const rand = mulberry32(seed)
    return [0, 6, 12].map(() =>
      Array.from({ length: n }, (_, i) =>
        Array.from({ length: n }, (_, j) =>
          planted && i === j ? (rand() < 0.7 ? 1 : 0.5) : rand() < 0.1 ? 0.5 : 0
        )
      )
    )
  }
  const run = (seed: number, n: number, planted: boolean) =>
    superwordFindings(
      {
        cosine: matrices(seed, n, planted ? band : []),
        pieces: Array.from({ length: n }, (_, i) => 2 + (i % 3)),
        patchscope: {
          layers: [0, 6, 12],
          share: share(seed, n, planted),
          baseShare: [0, 6, 12].map(() => Array.from({ length: n }, () => 1))
        }
      },
      numLayers,
      { seed, ...fast }
    )

  it("says in a sentence, with its figures, that the one token carries the span when it was planted", () => {
    const { findings, sentence } = run(1, 24, true)
    expect(findings.map((f) => [f.id, f.verdict])).toEqual([
      ["superword-state", "reproduced"],
      ["superword-patchscope", "reproduced"]
    ])
    expect(sentence).toMatch(
      new RegExp(
        `^The tuned model's single token carries what the base assembled over the span's 2–4 \\(mean 3\\.0\\) tokens at layers ${band[0]}–${band[band.length - 1]}: cos [\\d.]+ vs null [\\d.]+ .*p = [\\d.e-]+, n = 24\\.`
      )
    )
    expect(sentence).toMatch(
      /Patchscope: the base decodes \d+% of the span's words .* vs \d+% of another span's/
    )
    expect(findings[0]!.figure).toMatch(/pairing permutations\), n = 24, band layers/)
    expect(findings[0]!.curves.own).toHaveLength(numLayers + 1)
  })

  it("claims nothing on noise, and is inconclusive on a handful", () => {
    const noise = run(2, 24, false)
    expect(noise.findings.map((f) => f.verdict)).toEqual(["not reproduced", "not reproduced"])
    expect(noise.sentence).toMatch(/^The tuned model's single token does not carry measurably more/)
    const few = run(3, 6, true)
    expect(few.findings.map((f) => f.verdict)).toEqual(["inconclusive", "inconclusive"])
    expect(few.sentence).toMatch(/^Too few superwords to say .*\(n = 6 < 20 items\)/)
  })
})

describe("superword helpers", () => {
  it("reads a version's superwords only for the superwords arm", () => {
    const list = [{ surface: " warm purring lap", parts: ["warm", "purring", "lap"], count: 3, pieces: 4 }]
    expect(superwordsOf({ arm: "control" }, () => list)).toBeUndefined()
    expect(superwordsOf(undefined, () => list)).toBeUndefined()
    expect(superwordsOf({ arm: "superwords" }, () => list)).toEqual(list)
    // without superwords.json: the first ones the version records, words split from the surface
    expect(
      superwordsOf(
        { arm: "superwords", superwords: { first: [{ surface: " Of the Night", count: 2 }] } },
        () => undefined
      )
    ).toEqual([{ surface: " Of the Night", parts: ["of", "the", "night"], count: 2 }])
  })

  it("draws a seeded sample, and scores decoded words against a span", () => {
    const list = Array.from({ length: 30 }, (_, i) => ({ surface: ` w${i} x`, parts: [`w${i}`, "x"] }))
    const a = drawSuperwords(list, 10, 1)
    expect(a).toHaveLength(10)
    expect(drawSuperwords(list, 10, 1)).toEqual(a)
    expect(drawSuperwords(list, 10, 2)).not.toEqual(a)
    expect(answerOf(" warm purring cat; dog -> dog")).toBe("warm purring cat")
    expect(answerOf(" тёплое мурчит\nх")).toBe("тёплое мурчит")
    expect(wordShare(["warm", "purring", "lap"], "Warm purring cat")).toBeCloseTo(2 / 3)
    expect(wordShare(["кошка", "шла"], "кошка")).toBe(0.5)
    expect(wordShare([], "x")).toBe(0)
  })
})

describe("on a tiny superwords version", async () => {
  const missing = await tinyMissing()
  it("reads each superword as one token, its base as several, and measures both end to end", async (ctx) => {
    if (missing) return ctx.skip(missing)
    const dir = await tinySuperwordModel()
    const { tinyModel } = await import("./fixtures/tiny.ts")
    const list = JSON.parse(readFileSync(join(dir, "superwords.json"), "utf8"))
    const superwords = superwordsOf({ arm: "superwords" }, () => list)!
    expect(superwords.length).toBeGreaterThanOrEqual(20)
    const tuned = await loadModel(dir)
    const base = await loadModel(await tinyModel("llama"))
    // a span that is not a token of the tuned model is left out, and said why
    const reading = await readTuned(tuned, [...superwords, { surface: " cold stones, a bell", parts: [] }])
    expect(reading.items).toHaveLength(superwords.length)
    expect(reading.leftOut[0]!.why).toMatch(/reads it as \d+ tokens/)
    const m = await measureSuperwords(base, reading, {
      seed: 1,
      ...fast,
      patchscopeLayers: spreadLayers(base.config.numLayers, 2)
    })
    expect(m.numLayers).toBe(3)
    expect(m.items).toHaveLength(superwords.length)
    for (const it of m.items) {
      expect(it.basePieces).toHaveLength(base.encode(it.surface, { addSpecialTokens: false }).length)
      expect(it.basePieces.length).toBeGreaterThanOrEqual(2)
      // pieces of Latin text are whole characters: they spell the span
      if (/^[ a-z]+$/i.test(it.surface)) expect(it.basePieces.join("")).toBe(it.surface)
    }
    expect(m.cosine).toHaveLength(4)
    expect(m.cosine[0]).toHaveLength(superwords.length)
    // layer 0: the superword's row starts as the mean of its pieces' rows, so it is closer to its
    // own span's last piece than to another span's — a real pairing the test must find
    expect(m.findings[0]!.test.perLayer[0]!.p).toBeLessThan(0.01)
    expect(m.findings[0]!.test.perLayer[0]!.mean).toBeGreaterThan(0)
    expect(m.patchscope!.layers).toEqual([0, 3])
    expect(m.patchscope!.tuned[0]).toHaveLength(superwords.length)
    expect(m.patchscope!.share[1]![0]).toHaveLength(superwords.length)
    expect(m.findings.map((f) => f.id)).toEqual(["superword-state", "superword-patchscope"])
    expect(m.sentence).toMatch(/the span's \d+–\d+ \(mean [\d.]+\) tokens at layers 1–1: cos [-\d.]+ vs null/)
  }, 180_000)
})
