import { describe, expect, it } from "vitest"
import {
  bootstrapMean,
  holm,
  lengthControl,
  makeRng,
  mean,
  pairedBootstrap,
  pearson,
  quantileSorted,
  sd,
  significanceMark
} from "../src/Stats.ts"

describe("Stats", () => {
  it("computes plain statistics with known values", () => {
    expect(mean([1, 2, 3, 4, 5])).toBe(3)
    expect(sd([1, 2, 3, 4, 5])).toBeCloseTo(Math.sqrt(2.5), 12)
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5)
    expect(quantileSorted([1, 2, 3, 4], 0.25)).toBe(1.75)
    expect(pearson([1, 2, 3], [2, 4, 7])).toBeCloseTo(5 / Math.sqrt(2 * (114 / 9)), 12)
    expect(Number.isNaN(pearson([1, 1, 1], [1, 2, 3]))).toBe(true)
  })

  it("draws a deterministic uniform sequence from a seed", () => {
    const a = makeRng(42)
    const b = makeRng(42)
    const xs = Array.from({ length: 10_000 }, () => a())
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()))
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...xs)).toBeLessThan(1)
    expect(mean(xs)).toBeCloseTo(0.5, 1)
    expect(makeRng(43)()).not.toBe(makeRng(42)())
  })

  it("gives a percentile-bootstrap CI close to the normal interval, the same for the same seed", () => {
    const values = Array.from({ length: 400 }, (_, i) => i % 20)
    const r = bootstrapMean(values, { seed: 7 })
    expect(r.mean).toBe(9.5)
    expect(r.n).toBe(400)
    const half = (1.96 * sd(values)) / Math.sqrt(values.length)
    expect((r.ci[1] - r.ci[0]) / 2).toBeCloseTo(half, 1)
    expect(r.ci[0]).toBeLessThan(9.5)
    expect(r.ci[1]).toBeGreaterThan(9.5)
    expect(bootstrapMean(values, { seed: 7 })).toEqual(r)
    expect(bootstrapMean(values, { seed: 8 }).ci).not.toEqual(r.ci)
    expect(bootstrapMean([5, 5, 5]).ci).toEqual([5, 5])
  })

  it("pairs a version with its base on shared prompts", () => {
    const base = Array.from({ length: 30 }, (_, i) => ({ item: `p${i}`, score: i % 7 }))
    const better = base.map((s) => ({ item: s.item, score: s.score + 1 }))
    const up = pairedBootstrap(better, base, { resamples: 1000 })
    expect(up).toEqual({ delta: 1, ci: [1, 1], p: 1 / 1001, n: 30, sd: 0 })

    const same = base.map((s, i) => ({ item: s.item, score: s.score + (i % 2 === 0 ? 1 : -1) }))
    const none = pairedBootstrap(same, base, { resamples: 1000 })
    expect(none.delta).toBe(0)
    expect(none.p).toBe(1)

    // samples of one prompt are averaged; prompts only one side has are left out
    const v = [
      { item: "p1", score: 1 },
      { item: "p1", score: 3 },
      { item: "only-v", score: 100 }
    ]
    const b = [
      { item: "p1", score: 1 },
      { item: "only-b", score: 5 }
    ]
    expect(pairedBootstrap(v, b)).toMatchObject({ delta: 1, n: 1 })
    expect(pairedBootstrap([], b).n).toBe(0)
  })

  it("claims nothing from a handful of prompts: the p-value is an exact sign-flip test there", () => {
    // One shared prompt: the bootstrap distribution is a single point; the old shifted-bootstrap
    // p-value put it at 1/(B + 1) and the leaderboard showed "***" for one answer against one.
    const one = pairedBootstrap([{ item: "p1", score: 91.13 }], [{ item: "p1", score: 92.705 }])
    expect(one.p).toBe(1)
    const three = ["a", "b", "c"]
    const up = pairedBootstrap(
      three.map((item, i) => ({ item, score: 2 + i })),
      three.map((item, i) => ({ item, score: 1 + i }))
    )
    expect(up.p).toBe(2 / 8) // all +1 and all −1 of the 8 sign patterns are as extreme
    const five = pairedBootstrap(
      ["a", "b", "c", "d", "e"].map((item) => ({ item, score: 1 })),
      ["a", "b", "c", "d", "e"].map((item) => ({ item, score: 0 }))
    )
    expect(five.p).toBe(2 / 32)
    expect(significanceMark(five.p)).toBe("")
    // 17 prompts (the default prompt set), all better by one: exact, 2 of 2^17 patterns
    const items = Array.from({ length: 17 }, (_, i) => `p${i}`)
    const all = pairedBootstrap(
      items.map((item) => ({ item, score: 1 })),
      items.map((item) => ({ item, score: 0 }))
    )
    expect(all.p).toBe(2 / 2 ** 17)
  })

  it("finds a clear effect significant and a small noisy one not", () => {
    const rng = makeRng(3)
    const base = Array.from({ length: 60 }, (_, i) => ({ item: `p${i}`, score: rng() }))
    const clear = base.map((s) => ({ item: s.item, score: s.score + 0.3 + (rng() - 0.5) * 0.2 }))
    expect(pairedBootstrap(clear, base).p).toBeLessThan(0.01)
    const noisy = base.map((s) => ({ item: s.item, score: s.score + (rng() - 0.5) }))
    expect(pairedBootstrap(noisy, base).p).toBeGreaterThan(0.05)
  })

  it("residualises on log length only when the correlation passes the threshold", () => {
    const lengths = [1, 2, 4, 8, 16, 32]
    const scores = lengths.map((l) => 2 * Math.log(l) + 1)
    const lc = lengthControl(scores, lengths)
    expect(lc.applied).toBe(true)
    expect(lc.r).toBeCloseTo(1, 12)
    expect(lc.slope).toBeCloseTo(2, 12)
    for (const a of lc.adjusted) expect(a).toBeCloseTo(mean(scores), 12)

    const flat = [3, 1, 2, 3, 1, 2]
    const none = lengthControl(
      flat,
      [1, 2, 3, 4, 5, 6].map((x) => (x % 3) + 1),
      0.99
    )
    expect(none.applied).toBe(false)
    expect(none.adjusted).toEqual(flat)
  })

  it("marks significance", () => {
    expect([0.0005, 0.005, 0.03, 0.2, Number.NaN].map(significanceMark)).toEqual(["***", "**", "*", "", ""])
  })

  it("Holm-adjusts p-values as computed by hand: step-down, monotone, capped at 1", () => {
    // sorted 0.01, 0.03, 0.04: ×3 = 0.03, ×2 = 0.06, ×1 = 0.04 → raised to 0.06 to stay monotone
    const adjusted = holm([0.01, 0.04, 0.03])
    expect(adjusted[0]).toBeCloseTo(0.03, 12)
    expect(adjusted[1]).toBeCloseTo(0.06, 12)
    expect(adjusted[2]).toBeCloseTo(0.06, 12)
    // 0.2 × 4 = 0.8; 0.3 × 3 = 0.9; 0.5 × 2 = 1 (capped); 0.9 × 1 → 1 (monotone)
    const four = holm([0.5, 0.2, 0.9, 0.3])
    expect(four.map((p) => Number(p.toFixed(12)))).toEqual([1, 0.8, 1, 0.9])
    expect(holm([0.6, 0.7])).toEqual([1, 1])
    expect(holm([0.02])).toEqual([0.02])
    expect(holm([])).toEqual([])
    // a p-value that is not a number is left out of the family and stays NaN
    const withNaN = holm([0.01, Number.NaN, 0.02])
    expect(withNaN[0]).toBeCloseTo(0.02, 12)
    expect(Number.isNaN(withNaN[1]!)).toBe(true)
    expect(withNaN[2]).toBeCloseTo(0.02, 12)
    // ties share the adjusted value
    expect(holm([0.01, 0.01])).toEqual([0.02, 0.02])
  })

  it("Holm never lowers a p-value and keeps the order of the raw ones", () => {
    const rng = makeRng(5)
    for (let t = 0; t < 200; t++) {
      const ps = Array.from({ length: 1 + Math.floor(rng() * 8) }, () => rng() ** 3)
      const adjusted = holm(ps)
      ps.forEach((p, i) => {
        expect(adjusted[i]).toBeGreaterThanOrEqual(p)
        expect(adjusted[i]).toBeLessThanOrEqual(1)
        expect(adjusted[i]).toBeLessThanOrEqual(Math.min(1, p * ps.length) + 1e-15)
        ps.forEach((q, j) => {
          if (p < q) expect(adjusted[i]).toBeLessThanOrEqual(adjusted[j]!)
        })
      })
    }
  })
})
