import { describe, expect, it } from "vitest"
import { greedySuperwords } from "../src/GreedySuperwords.ts"
import { selectSuperwords, superwordCandidates } from "../src/Superwords.ts"

/** A fixture tokenizer: one piece per word, the leading space free. */
const pieces = (surface: string) => surface.trim().split(/[ -]/).length

/** Tokens of the lines once the chosen surfaces are matched, leftmost-longest, in the raw text. */
const tokensWith = (lines: ReadonlyArray<string>, surfaces: ReadonlyArray<string>): number => {
  const sorted = [...surfaces].sort((a, b) => b.length - a.length)
  let total = 0
  for (const line of lines) {
    let out = ""
    for (let i = 0; i < line.length; ) {
      const hit = sorted.find((s) => line.startsWith(s, i))
      out += hit === undefined ? line[i] : " \uE000 "
      i += hit === undefined ? 1 : hit.length
    }
    total += out.split(/\s+/).filter((w) => w !== "").length
  }
  return total
}

describe("greedySuperwords", () => {
  // " of the night" makes " of the" and " the night" save nothing more; "at dusk" stands apart
  const lines = [
    ...Array.from({ length: 6 }, () => "deep of the night"),
    ...Array.from({ length: 4 }, () => "sleep at dusk")
  ]

  it("credits overlapping forms only with the occurrences the chosen ones leave free", () => {
    const byCount = selectSuperwords(superwordCandidates(lines, { maxWords: 3 }), {
      k: 2,
      criterion: "saving",
      pieces
    }).map((s) => s.surface)
    const greedy = greedySuperwords(lines, { k: 2, pieces, maxWords: 3 })
    expect(greedy.map((s) => s.surface)).toEqual([" of the night", "sleep at dusk"])
    // count × (pieces − 1) spends its second token on the same six occurrences
    expect(byCount).toEqual([" of the night", "deep of the"])
    expect(
      tokensWith(
        lines,
        greedy.map((s) => s.surface)
      )
    ).toBe(6 * 2 + 4)
    expect(tokensWith(lines, byCount)).toBe(6 * 2 + 4 * 3)
    // the score is the saving left when it was chosen; nothing is left after these two
    expect(greedy.map((s) => s.score)).toEqual([12, 8])
    expect(greedySuperwords(lines, { k: 3, pieces, maxWords: 3 })).toHaveLength(2)
  })

  it("is deterministic, its top K a prefix of its top K + n, and skips one-piece forms", () => {
    const a = greedySuperwords(lines, { k: 5, pieces, maxWords: 4, minCount: 1 })
    const b = greedySuperwords(lines, { k: 2, pieces, maxWords: 4, minCount: 1 })
    expect(b).toEqual(a.slice(0, 2))
    const none = greedySuperwords(lines, { k: 5, pieces: () => 1 })
    expect(none).toEqual([])
  })

  it("counts a form's overlapping occurrences once (la la la holds one la la)", () => {
    const got = greedySuperwords(["x la la la", "x la la la"], { k: 1, pieces, maxWords: 2 })
    expect(got).toMatchObject([{ surface: " la la", count: 4, score: 2 }])
  })

  it("stops when nothing saves more, and refuses a bad k or maxWords", () => {
    expect(greedySuperwords(["a b", "c d"], { k: 5, pieces })).toEqual([])
    expect(greedySuperwords(lines, { k: 0, pieces })).toEqual([])
    expect(() => greedySuperwords(lines, { k: 1.5, pieces })).toThrow(/k 1.5/)
    expect(() => greedySuperwords(lines, { k: 1, pieces, maxWords: 1 })).toThrow(/maxWords 1/)
    expect(() => selectSuperwords([], { k: 1, criterion: "greedy", pieces })).toThrow(/greedySuperwords/)
  })
})
