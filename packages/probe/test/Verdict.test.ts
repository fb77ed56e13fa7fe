import { mulberry32 } from "@hyperwords/core/Random"
import { describe, expect, it } from "vitest"
import { erasureTest, wordNonwordTest } from "../src/Findings.ts"
import { pivotTest } from "../src/Pivot.ts"
import { bandLayers, bands, bandTest, decide, itemTests, minItems } from "../src/Verdict.ts"

const gauss = (rand: () => number) => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand())
const bernoulli = (rand: () => number, p: number) => (rand() < p ? 1 : 0)
const numLayers = 30
const fast = { permutations: 499, resamples: 200 }
const seeds = Array.from({ length: 100 }, (_, i) => i + 1)
const depth = (l: number) => l / numLayers

/** Per-item, per-layer readings: `reading(rand, layer)` for each of `n` items. */
const items = (seed: number, n: number, reading: (rand: () => number, l: number) => number) => {
  const rand = mulberry32(seed)
  return Array.from({ length: n }, () => Array.from({ length: numLayers + 1 }, (_, l) => reading(rand, l)))
}
const pair = (rand: () => number, p: number) => (bernoulli(rand, p) + bernoulli(rand, p)) / 2

describe("the bands", () => {
  it("are fixed shares of the depth, and never empty", () => {
    expect(bandLayers(30, bands.wordNonword)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18])
    expect(bandLayers(32, bands.pivot)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26])
    expect(bandLayers(32, bands.erasureEarly)).toEqual([1, 2, 3])
    expect(bandLayers(4, { from: 0.3, to: 0.4 })).toEqual([1])
    // too shallow a model for the early band: its nearest layer, never the embedding
    expect(bandLayers(3, bands.erasureEarly)).toEqual([1])
    for (const b of Object.values(bands)) expect(b.why).toMatch(/et al\. 2024/)
  })
})

describe("itemTests", () => {
  it("brackets the mean with its CI, and gives a small p to a shift and a large one to its opposite", () => {
    const rand = mulberry32(9)
    const rows = Array.from({ length: 50 }, () => [gauss(rand) + 1, gauss(rand) - 1])
    const [up, down] = itemTests(rows, { seed: 1 })
    expect(up!.lo).toBeLessThan(up!.mean)
    expect(up!.hi).toBeGreaterThan(up!.mean)
    expect(up!.p).toBeLessThan(0.01)
    expect(down!.p).toBeGreaterThan(0.9)
    expect(itemTests(rows, { seed: 1 })).toEqual(itemTests(rows, { seed: 1 }))
  })

  it("has a p-value that is uniform under the null: p < 0.01 about 1% of the time", () => {
    const ps = seeds.flatMap((seed) => {
      const rand = mulberry32(seed)
      return itemTests(
        Array.from({ length: 30 }, () => [gauss(rand)]),
        { seed, ...fast }
      ).map((e) => e.p)
    })
    expect(ps.filter((p) => p < 0.01).length).toBeLessThanOrEqual(5)
    expect(ps.filter((p) => p < 0.5).length).toBeGreaterThan(30)
    expect(ps.filter((p) => p < 0.5).length).toBeLessThan(70)
  })
})

describe("decide", () => {
  const estimate = { mean: 0.2, lo: 0.1, hi: 0.3, p: 0.001 }
  it("reproduces only at p < 0.01 with enough items, and says which rule gave the verdict", () => {
    expect(decide(estimate, 40)).toEqual({
      verdict: "reproduced",
      rule: "p < 0.01 against the permutation null"
    })
    expect(decide({ ...estimate, p: 0.01 }, 40).verdict).toBe("not reproduced")
    expect(decide(estimate, minItems - 1).verdict).toBe("inconclusive")
    expect(decide(estimate, minItems - 1).rule).toMatch(/< 20 items/)
    expect(decide({ ...estimate, mean: Number.NaN }, 40).verdict).toBe("inconclusive")
    expect(decide(estimate, 40, "the task is not done").rule).toBe("the task is not done")
  })
})

/** Noise gives "not reproduced" in at least 95 of 100 seeds; a planted effect gives "reproduced" in every seed. */
const bothWays = (
  verdict: (seed: number, planted: boolean) => string
): { readonly noise: number; readonly planted: number } => ({
  noise: seeds.filter((s) => verdict(s, false) === "not reproduced").length,
  planted: seeds.filter((s) => verdict(s, true) === "reproduced").length
})

describe("the verdicts on noise and on a planted effect", () => {
  it("word/nonword: accuracy in the band above layer 0's", () => {
    const { noise, planted } = bothWays(
      (seed, plant) =>
        wordNonwordTest(
          items(seed, 60, (rand, l) =>
            pair(rand, plant && bandLayers(numLayers, bands.wordNonword).includes(l) ? 0.9 : 0.6)
          ),
          numLayers,
          { seed, ...fast }
        ).verdict
    )
    expect(noise).toBeGreaterThanOrEqual(95)
    expect(planted).toBe(100)
  })

  it("word/nonword: the best layer of noise is not a finding (the band is fixed, not picked)", () => {
    // noise whose one out-of-band layer is high, as a layer picked after looking would be
    const verdicts = seeds.map(
      (seed) =>
        wordNonwordTest(
          items(seed, 40, (rand, l) => pair(rand, l === 2 ? 0.9 : 0.6)),
          numLayers,
          { seed, ...fast }
        ).verdict
    )
    expect(verdicts.filter((v) => v === "not reproduced").length).toBeGreaterThanOrEqual(95)
  })

  it("token erasure: the previous piece read early and lost in the late band", () => {
    const { noise, planted } = bothWays(
      (seed, plant) =>
        erasureTest(
          items(seed, 40, (rand, l) => bernoulli(rand, plant && depth(l) <= 0.1 && l > 0 ? 0.8 : 0.3)),
          numLayers,
          { seed, ...fast }
        ).verdict
    )
    expect(noise).toBeGreaterThanOrEqual(95)
    expect(planted).toBe(100)
  })

  it("English pivot: English above the answer in the band, the answer leading at the output", () => {
    const { noise, planted } = bothWays((seed, plant) => {
      const rand = mulberry32(seed + 1000)
      const answer = items(seed, 40, (r, l) => (l === numLayers ? 0.5 + 0.1 * r() : 1e-3 * r()))
      const english = answer.map((row, i) =>
        row.map((_, l) =>
          l === numLayers
            ? 0.01 * rand()
            : plant && bandLayers(numLayers, bands.pivot).includes(l)
              ? 5e-3 + 1e-3 * rand()
              : 1e-3 * rand() + 0 * i
        )
      )
      return pivotTest(english, answer, numLayers, { seed, ...fast, answerName: "French" }).verdict
    })
    expect(noise).toBeGreaterThanOrEqual(95)
    expect(planted).toBe(100)
  })

  it("English pivot: inconclusive when the answer does not lead at the output", () => {
    const english = items(1, 40, () => 0.2)
    const answer = items(2, 40, (rand) => 0.1 * rand())
    const t = pivotTest(english, answer, numLayers, { seed: 1, ...fast, answerName: "French" })
    expect(t.verdict).toBe("inconclusive")
    expect(t.rule).toMatch(/does not lead at the output/)
  })

  it("too few items: inconclusive even for a large effect", () => {
    const t = bandTest(
      items(3, minItems - 1, () => 1),
      bands.pivot,
      { seed: 1, ...fast, numLayers, statistic: "s" }
    )
    expect(t.estimate.mean).toBe(1)
    expect(t.verdict).toBe("inconclusive")
  })
})
