import { describe, expect, it } from "vitest"
import { recordCounts, topLemmas } from "../src/Statistics.ts"

describe("corpus statistics", () => {
  it("count records by language in order of first appearance, and by origin", () => {
    const records = [
      { lang: "ru", origin: "mined" },
      { lang: "en", origin: "generated" },
      { lang: "ru", origin: "mined" },
      { lang: "en", origin: "mined" }
    ] as const
    const c = recordCounts(records)
    expect(c.byLang).toEqual({ ru: 2, en: 2 })
    expect(Object.keys(c.byLang)).toEqual(["ru", "en"])
    expect(c.byOrigin).toEqual({ mined: 3, generated: 1 })
    expect(Object.keys(c.byOrigin)).toEqual(["mined", "generated"])
    expect(recordCounts([{ lang: "en", origin: "generated" }]).byOrigin).toEqual({ generated: 1 })
    expect(recordCounts([])).toEqual({ byLang: {}, byOrigin: {} })
  })

  it("rank lemmas by summed weight, ties by lemma, at most the limit", () => {
    const rows = [
      { lemma: "луна", weight: 2 },
      { lemma: "кот", weight: 1 },
      { lemma: "река", weight: 3 },
      { lemma: "кот", weight: 2 },
      { lemma: "Ёж", weight: 3 }
    ]
    // summed: река 3, кот 3, Ёж 3, луна 2; ties in code-unit order ("Ё" U+0401 < "к" U+043A < "р")
    expect(topLemmas(rows, 10)).toEqual(["Ёж", "кот", "река", "луна"])
    expect(topLemmas(rows, 2)).toEqual(["Ёж", "кот"])
    expect(topLemmas([], 5)).toEqual([])
  })
})
