import { describe, expect, it } from "vitest"
import { groupedByItem, metricScores, pairedByItem } from "../src/Tables.ts"

describe("Tables", () => {
  const a = [
    { item: "b", score: 1, unit: "x" },
    { item: "a", score: Number.NaN },
    { item: "b", score: 3, unit: "y" },
    { item: "c", score: 4, unit: "z" }
  ]
  const b = [
    { item: "a", score: 5 },
    { item: "b", score: 6, unit: "y" },
    { item: "d", score: 7, unit: "w" }
  ]

  it("groups answers by prompt, prompts sorted, answers in order, NaN and missing units kept", () => {
    expect(groupedByItem(a)).toEqual([[a[1]], [a[0], a[2]], [a[3]]])
  })

  it("joins two score sets on the prompts they share", () => {
    expect(pairedByItem(a, b)).toEqual([
      { a: [a[1]], b: [b[0]] },
      { a: [a[0], a[2]], b: [b[1]] }
    ])
    expect(pairedByItem(a, [])).toEqual([])
  })

  it("reads one metric's numbers from per-sample rows, the prompt as item and the id as unit", () => {
    const rows = [
      { id: "p1-0", promptId: "p1", words: 3, scores: { m: 0.5, n: null } },
      { id: "q", words: 2, scores: { m: 0.25 } },
      { id: "p1-1", promptId: "p1", words: 4, scores: { m: null } }
    ]
    expect(metricScores(rows, "m")).toEqual([
      { item: "p1", score: 0.5, unit: "p1-0" },
      { item: "q", score: 0.25 }
    ])
    expect(metricScores(rows, "n")).toEqual([])
  })
})
