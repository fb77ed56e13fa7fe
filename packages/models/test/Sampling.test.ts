import { describe, expect, it } from "@effect/vitest"
import {
  argmax,
  countBelowMax,
  largest,
  sampleToken,
  seededUniform,
  topKIndices,
  type Uniform
} from "../src/Sampling.ts"

const logits = Float32Array.from([0.5, 3, -1, 2.5, 3, 0, -4, 1])

describe("Sampling", () => {
  it("argmax takes the first of equal maxima, like torch.argmax", () => {
    expect(argmax(logits)).toBe(1)
  })

  it("topKIndices orders by value, then by index", () => {
    expect(topKIndices(logits, 4)).toEqual([1, 4, 3, 7])
    expect(topKIndices(logits, 100)).toHaveLength(logits.length)
    expect(topKIndices(logits, 0)).toEqual([])
  })

  it("the seeded generator is Python's MT19937 stream", () => {
    // Python: random.Random(42).random() == 0.6394267984578837
    expect(seededUniform(42).random()).toBe(0.6394267984578837)
  })

  it("the same seed gives the same tokens, another seed other tokens", () => {
    const draw = (seed: number) => {
      const u = seededUniform(seed)
      return Array.from({ length: 40 }, () => sampleToken(logits, { temperature: 1.5 }, u))
    }
    expect(draw(7)).toEqual(draw(7))
    expect(draw(7)).not.toEqual(draw(8))
  })

  it("top-k keeps only the k most likely tokens", () => {
    const u = seededUniform(1)
    const seen = new Set(
      Array.from({ length: 500 }, () => sampleToken(logits, { temperature: 5, topK: 3 }, u))
    )
    expect([...seen].sort()).toEqual([1, 3, 4])
  })

  it("top-p keeps the smallest most likely set reaching p", () => {
    // softmax of [10, 9, 0, ...]: 0.731, 0.269, then ~0 — p = 0.5 keeps only the first
    const peaked = Float32Array.from([9, 10, 0, 0, 0])
    const u = seededUniform(2)
    const onlyTop = new Set(Array.from({ length: 200 }, () => sampleToken(peaked, { topP: 0.5 }, u)))
    expect([...onlyTop]).toEqual([1])
    const two = new Set(Array.from({ length: 400 }, () => sampleToken(peaked, { topP: 0.9 }, u)))
    expect([...two].sort()).toEqual([0, 1])
  })

  it("top-p grows its window past 64 candidates on a flat distribution", () => {
    const flat = new Float32Array(1000)
    const u = seededUniform(3)
    const seen = new Set(Array.from({ length: 1000 }, () => sampleToken(flat, { topP: 0.5 }, u)))
    expect(seen.size).toBeGreaterThan(300)
    expect(Math.max(...seen)).toBeLessThan(500) // the window is the 500 lowest indices on ties
  })

  it("frequencies follow the softmax", () => {
    const two = Float32Array.from([Math.log(3), 0]) // p = 0.75, 0.25
    const u = seededUniform(4)
    let first = 0
    for (let i = 0; i < 4000; i++) if (sampleToken(two, {}, u) === 0) first++
    expect(first / 4000).toBeGreaterThan(0.72)
    expect(first / 4000).toBeLessThan(0.78)
  })

  it("rejects a temperature or top-p out of range", () => {
    const u = seededUniform(5)
    expect(() => sampleToken(logits, { temperature: 0 }, u)).toThrow(/temperature/)
    expect(() => sampleToken(logits, { topP: 0 }, u)).toThrow(/topP/)
  })

  describe("top-p over a whole vocabulary, from bounds on its normaliser", () => {
    // the sampler as it was before the bounds: the exact normaliser, summed in token order, and
    // windows of the most likely tokens from 64, four times larger until they hold top-p
    const exactTopP = (row: Float32Array, temperature: number, topP: number, uniform: Uniform): number => {
      let max = Number.NEGATIVE_INFINITY
      for (const v of row) if (v > max) max = v
      const scaled = (i: number) => Math.exp((row[i]! - max) / temperature)
      let total = 0
      for (let i = 0; i < row.length; i++) total += scaled(i)
      let m = Math.min(row.length, 64)
      let candidates: Array<number>
      let mass: Array<number>
      for (;;) {
        candidates = topKIndices(row, m)
        mass = candidates.map(scaled)
        if (m >= row.length || mass.reduce((a, b) => a + b, 0) / total >= topP) break
        m = Math.min(row.length, m * 4)
      }
      let keep = candidates.length
      let acc = 0
      for (let i = 0; i < mass.length; i++) {
        acc += mass[i]! / total
        if (acc >= topP) {
          keep = i + 1
          break
        }
      }
      let sum = 0
      for (let i = 0; i < keep; i++) sum += mass[i]!
      let x = uniform.random() * sum
      for (let i = 0; i < keep; i++) {
        x -= mass[i]!
        if (x < 0) return candidates[i]!
      }
      return candidates[keep - 1]!
    }

    // rows like a language model's: a broad body and a few tokens far above it
    const gaussian = (u: Uniform) =>
      Math.sqrt(-2 * Math.log(1 - u.random())) * Math.cos(2 * Math.PI * u.random())
    const modelRow = (vocab: number, seed: number, spread: number, peaks: number): Float32Array => {
      const u = seededUniform(seed)
      const row = Float32Array.from({ length: vocab }, () => spread * gaussian(u))
      for (let k = 0; k < peaks; k++) row[Math.floor(u.random() * vocab)] = 8 + 20 * u.random()
      return row
    }

    it("draws the token the exact normaliser draws, row after row", () => {
      const rows = [
        ...Array.from({ length: 12 }, (_, k) => modelRow(65_536, 100 + k, 2 + (k % 4), k % 6)),
        modelRow(262_144, 7, 3, 3),
        new Float32Array(20_000), // flat: the window grows to thousands
        Float32Array.from({ length: 30_000 }, (_, i) => (i % 97 === 0 ? 5 : i % 3)), // many ties
        // ten tokens far above the rest: a window of 64 reaches beyond the nearest buckets
        Float32Array.from(modelRow(40_000, 8, 1, 0), (v, i) => (i % 4000 === 0 ? 30 : v)),
        Float32Array.from(modelRow(40_000, 10, 0.3, 0), (v, i) => (i % 4000 === 0 ? 16 : v))
      ]
      let draws = 0
      rows.forEach((row, r) => {
        for (const [temperature, topP] of [
          [0.8, 0.95],
          [1, 0.9],
          [0.6, 0.5],
          [1.3, 0.99],
          [1, 0.9999]
        ] as const) {
          const fast = seededUniform(r)
          const exact = seededUniform(r)
          for (let k = 0; k < 6; k++) {
            expect(sampleToken(row, { temperature, topP }, fast)).toBe(
              exactTopP(row, temperature, topP, exact)
            )
            draws++
          }
        }
      })
      expect(draws).toBe(17 * 5 * 6)
    })

    it("finds the k most likely tokens as topKIndices does, from near, middle and far buckets", () => {
      const rows = {
        body: modelRow(30_000, 21, 3, 4),
        // ten tokens 30 above the rest: the 11th lies beyond the buckets whose exp is computed
        beyond: Float32Array.from(modelRow(30_000, 22, 1, 0), (v, i) => (i % 3000 === 0 ? 30 : v)),
        // the rest past every bucket: the last bucket holds them all
        past: Float32Array.from(modelRow(30_000, 23, 1, 0), (v, i) => (i % 3000 === 0 ? 90 : v))
      }
      for (const row of Object.values(rows)) {
        let max = Number.NEGATIVE_INFINITY
        for (const v of row) if (v > max) max = v
        const counted = countBelowMax(row, max, 0.8)
        for (const k of [1, 10, 11, 64, 256, 4096])
          expect(largest(row, k, max, 0.8, counted)).toEqual(topKIndices(row, k))
      }
    })

    it("bounds the normaliser closely, around its exact sum", () => {
      for (let k = 0; k < 8; k++) {
        const row = modelRow(65_536, 300 + k, 2 + k, 2)
        let max = Number.NEGATIVE_INFINITY
        for (const v of row) if (v > max) max = v
        let exact = 0
        for (const v of row) exact += Math.exp((v - max) / 0.8)
        const { lo, hi, nan } = countBelowMax(row, max, 0.8)
        expect(nan).toBe(false)
        expect(lo).toBeLessThanOrEqual(exact)
        expect(hi).toBeGreaterThanOrEqual(exact)
        // close enough that a cut is rarely undecided: the far tokens' mass within 0.4%
        expect((hi - lo) / exact).toBeLessThan(4e-3)
      }
    })

    it("a row with NaN or infinite logits draws as the exact normaliser does", () => {
      const row = modelRow(10_000, 9, 3, 2)
      row[5] = Number.NEGATIVE_INFINITY
      const withNaN = Float32Array.from(row)
      withNaN[17] = Number.NaN
      let max = Number.NEGATIVE_INFINITY
      for (const v of withNaN) if (v > max) max = v
      expect(countBelowMax(withNaN, max, 1).nan).toBe(true)
      for (const r of [row, withNaN]) {
        const [a, b] = [seededUniform(11), seededUniform(11)]
        for (let k = 0; k < 5; k++) expect(sampleToken(r, { topP: 0.9 }, a)).toBe(exactTopP(r, 1, 0.9, b))
      }
    })
  })
})
