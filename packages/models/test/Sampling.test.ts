import { describe, expect, it } from "@effect/vitest"
import { argmax, sampleToken, seededUniform, topKIndices } from "../src/Sampling.ts"

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
})
