import { describe, expect, it } from "@effect/vitest"
import type { HyperwordRecord } from "@hyperwords/core/Artifacts"
import { fuseLine, isHeldOut, trainingTexts } from "../src/Training.ts"

const mined = (surface: string, parts: Array<string>, lines: Array<[string, string]>): HyperwordRecord => ({
  id: `ru:${surface}`,
  surface,
  lang: "ru",
  parts: parts as [string, ...Array<string>],
  lemmas: parts,
  origin: "mined",
  evidence: lines.map(([doc, text], i) => ({ doc, line: i + 1, text }))
})

const generated = (surface: string, parts: Array<string>, gloss: string): HyperwordRecord => ({
  id: `en:gen:${surface}`,
  surface,
  lang: "en",
  parts: parts as [string, ...Array<string>],
  lemmas: parts,
  origin: "generated",
  gloss,
  seed: 1
})

describe("fuseLine", () => {
  it("replaces the adjacent parts by the surface, across spaces, hyphens, dashes and commas", () => {
    expect(fuseLine("Белая берёза под моим окном", ["белая", "берёза"], "белаяберёза")).toBe(
      "белаяберёза под моим окном"
    )
    expect(fuseLine("the sea-wind, blowing", ["sea", "wind"], "seawind")).toBe("the seawind, blowing")
    expect(fuseLine("cold, dark water", ["cold", "dark", "water"], "colddarkwater")).toBe("colddarkwater")
  })

  it("leaves words inside other words alone and says when the parts are apart", () => {
    expect(fuseLine("seasons of wind", ["sea", "wind"], "seawind")).toBeUndefined()
    expect(fuseLine("the sea and the wind", ["sea", "wind"], "seawind")).toBeUndefined()
    // brackets between the parts would be left unbalanced
    expect(fuseLine("a (star) light", ["star", "light"], "starlight")).toBeUndefined()
  })

  it("treats parts as text, not as patterns", () => {
    expect(fuseLine("a.b c", ["a.b", "c"], "a.bc")).toBe("a.bc")
    expect(fuseLine("axb c", ["a.b", "c"], "a.bc")).toBeUndefined()
  })
})

describe("trainingTexts", () => {
  const docs = Array.from({ length: 60 }, (_, i) => `poem-${i}`)
  const records = [
    mined(
      "белаяберёза",
      ["белая", "берёза"],
      docs.map((d) => [d, `Белая берёза под окном ${d}`] as [string, string])
    ),
    mined("seawind", ["sea", "wind"], [["poem-1", "the sea and the wind"]]),
    generated("warmdusk", ["warm", "dusk"], "warm dusk over the roofs")
  ]

  it("holds out whole documents, never trained on, and fuses the rest", () => {
    const t = trainingTexts(records, { heldoutFraction: 0.2 })
    expect(t.heldout.length).toBeGreaterThan(3)
    expect(t.heldout.length).toBeLessThan(30)
    for (const h of t.heldout) {
      expect(h).toContain("Белая берёза")
      expect(t.train.some((x) => x.endsWith(` ${h.split(" ").at(-1)!}`))).toBe(false)
    }
    const fused = t.train.filter((x) => x.startsWith("белаяберёза"))
    expect(fused.length + t.heldout.length).toBe(60)
    expect(t.counts.fusedLines).toBe(fused.length)
    expect(t.train).toContain("warm dusk over the roofs — warmdusk")
    expect(t.hyperwords.map((h) => h.surface).sort()).toEqual(["seawind", "warmdusk", "белаяберёза"])
  })

  it("appends the word to a line whose parts are apart", () => {
    const t = trainingTexts(records, { heldoutFraction: 0 })
    expect(t.train).toContain("the sea and the wind — seawind")
    expect(t.counts.appendedLines).toBe(1)
    expect(t.heldout).toEqual([])
  })

  it("does not depend on the order of the records", () => {
    const a = trainingTexts(records, { heldoutFraction: 0.3, seed: 4 })
    const b = trainingTexts([...records].reverse(), { heldoutFraction: 0.3, seed: 4 })
    expect([...a.heldout].sort()).toEqual([...b.heldout].sort())
    expect([...a.train].sort()).toEqual([...b.train].sort())
  })

  it("holds out a share of the scenes when there is no poetry (the embedded default)", () => {
    const scenes = Array.from({ length: 100 }, (_, i) =>
      generated(`w${i}x`, [`w${i}`, "x"], `scene ${i} of light`)
    )
    const t = trainingTexts(scenes, { heldoutFraction: 0.1 })
    expect(t.heldout.length).toBeGreaterThan(3)
    expect(t.heldout.length).toBeLessThan(25)
    expect(t.train.length + t.heldout.length).toBe(100)
    for (const h of t.heldout) expect(t.train.some((x) => x.startsWith(`${h} —`))).toBe(false)
  })

  it("refuses a held-out share outside 0..0.5", () => {
    expect(() => trainingTexts(records, { heldoutFraction: 0.9 })).toThrow(/heldoutFraction/)
  })

  it("splits by a stable hash", () => {
    expect(isHeldOut("poem-1", 0.5, 3)).toBe(isHeldOut("poem-1", 0.5, 3))
    const share = docs.filter((d) => isHeldOut(d, 0.5)).length / docs.length
    expect(share).toBeGreaterThan(0.25)
    expect(share).toBeLessThan(0.75)
  })
})
