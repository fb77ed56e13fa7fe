import { describe, expect, it } from "vitest"
import { selectSuperwords, superwordCandidates } from "../src/Superwords.ts"

const lines = [
  "The warm purring lap at dusk, of the night.",
  "A warm purring lap; the warm purring lap again",
  "Warm purring lap of the sea, of the moon",
  "My tongue-tied Muse, so tongue-tied still",
  "Кошка шла домой, и кошка шла назад",
  "Вот кошки шли домой"
]

/** Pieces as a byte-level BPE would roughly give them: one per word, plus one per hyphen. */
const pieces = (surface: string) => surface.trim().split(/[ -]/).length + (surface.match(/-/g)?.length ?? 0)

describe("superwordCandidates", () => {
  const candidates = superwordCandidates(lines, { maxWords: 3, minCount: 1 })
  const bySurface = new Map(candidates.map((c) => [c.surface, c]))

  it("keeps each exact form with the space before it, and counts forms apart", () => {
    expect(bySurface.get(" warm purring lap")?.count).toBe(3)
    expect(bySurface.get("Warm purring lap")?.count).toBe(1)
    expect(bySurface.get(" of the")?.count).toBe(3)
    expect(bySurface.get("Кошка шла")?.count).toBe(1)
    expect(bySurface.get(" кошка шла")?.count).toBe(1)
    // an inflected form is a form of its own: no lemmatiser is needed to find it in text
    expect(bySurface.get(" кошки шли")?.count).toBe(1)
    expect(bySurface.get(" tongue-tied")?.count).toBe(2)
    expect(bySurface.get(" tongue-tied")?.words).toEqual(["tongue", "tied"])
  })

  it("never spans punctuation other than a hyphen", () => {
    expect(candidates.some((c) => c.surface.includes(",") || c.surface.includes(";"))).toBe(false)
    expect(bySurface.has(" lap at")).toBe(true)
    expect(bySurface.has(" lap the")).toBe(false) // "lap; the"
    expect(bySurface.has(" Muse so")).toBe(false) // "Muse, so"
    expect(candidates.every((c) => c.words.length >= 2 && c.words.length <= 3)).toBe(true)
  })

  it("drops forms seen fewer than minCount times, and gives the n-gram's NPMI", () => {
    const frequent = superwordCandidates(lines, { maxWords: 3, minCount: 2 })
    expect(frequent.map((c) => c.surface).sort()).toEqual(
      [" of the", " purring lap", " tongue-tied", " warm purring", " warm purring lap"].sort()
    )
    for (const c of candidates) expect(c.npmi).toBeGreaterThanOrEqual(-1)
    for (const c of candidates) expect(c.npmi).toBeLessThanOrEqual(1)
    // "purring" never occurs without "warm": a stronger association than "of the"
    expect(bySurface.get(" warm purring")!.npmi).toBeGreaterThan(bySurface.get(" of the")!.npmi)
  })

  it("refuses a maxWords below 2", () => {
    expect(() => superwordCandidates(lines, { maxWords: 1 })).toThrow(/maxWords/)
  })
})

describe("selectSuperwords", () => {
  const candidates = superwordCandidates(lines, { maxWords: 3, minCount: 1 })

  it("by saving: count × (pieces − 1), the largest first, ties by surface", () => {
    const got = selectSuperwords(candidates, { k: 4, criterion: "saving", pieces })
    // 3 × 2; then " purring lap" 4 × 1 and " tongue-tied" 2 × 2 tie on 4; " of the" 3 × 1
    expect(got.map((s) => s.surface)).toEqual([
      " warm purring lap",
      " purring lap",
      " tongue-tied",
      " of the"
    ])
    expect(got[0]).toMatchObject({ count: 3, pieces: 3, score: 6, parts: ["warm", "purring", "lap"] })
  })

  it("by association: frequency × NPMI, never a negative association", () => {
    const got = selectSuperwords(candidates, { k: 100, criterion: "association", pieces })
    expect(got.length).toBeGreaterThan(0)
    for (const s of got) expect(s.score).toBeGreaterThan(0)
    for (let i = 1; i < got.length; i++) expect(got[i]!.score).toBeLessThanOrEqual(got[i - 1]!.score)
  })

  it("by hyperwords: only the mined image spans, whatever their form", () => {
    const got = selectSuperwords(candidates, {
      k: 10,
      criterion: "hyperwords",
      pieces,
      hyperwords: [
        ["warm", "purring", "lap"],
        ["кошка", "шла"]
      ]
    })
    expect(got.map((s) => s.surface).sort()).toEqual(
      [" warm purring lap", " кошка шла", "Warm purring lap", "Кошка шла"].sort()
    )
  })

  it("skips a form the base tokenizer already reads as one token", () => {
    const got = selectSuperwords(candidates, {
      k: 100,
      criterion: "saving",
      pieces: (s) => (s === " of the" ? 1 : pieces(s))
    })
    expect(got.some((s) => s.surface === " of the")).toBe(false)
  })

  it("k = 0 chooses nothing; a bad k or criterion is an error", () => {
    expect(selectSuperwords(candidates, { k: 0, criterion: "saving", pieces })).toEqual([])
    expect(() => selectSuperwords(candidates, { k: -1, criterion: "saving", pieces })).toThrow(/k -1/)
    expect(() => selectSuperwords(candidates, { k: 1, criterion: "frequency" as never, pieces })).toThrow(
      /criterion/
    )
  })
})
