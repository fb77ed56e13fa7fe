import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import {
  auc,
  compositionScore,
  compoundKey,
  farahmandHalf,
  readFarahmand,
  readReddy,
  spearman,
  withoutCompounds
} from "../src/Compositionality.ts"

describe("compositionality data and statistics", () => {
  const dir = mkdtempSync(join(tmpdir(), "compositionality-"))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it("reads Reddy's TSV (the third score is the compound's) and Farahmand's judgments", () => {
    writeFileSync(join(dir, "reddy.tsv"), "snail\tmail\t0.6\t4.5\t1.3\napplication\tform\t4.7\t4.8\t4.8\n")
    writeFileSync(join(dir, "far.csv"), "academy award,1,1,1,1\naccess card,0,0,1,0\n")
    expect(readReddy(join(dir, "reddy.tsv"))).toEqual([
      { parts: ["snail", "mail"], rating: 1.3 },
      { parts: ["application", "form"], rating: 4.8 }
    ])
    expect(readFarahmand(join(dir, "far.csv"))).toEqual([
      { parts: ["academy", "award"], rating: 0 },
      { parts: ["access", "card"], rating: 0.75 }
    ])
  })

  it("splits Farahmand by a hash of the compound: stable, order-free, case-free, about half each", () => {
    const words = Array.from({ length: 400 }, (_, i) => [`w${i}`, `x${(i * 7) % 13}`] as const)
    const halves = words.map((p) => farahmandHalf(p))
    const test = halves.filter((h) => h === "test").length
    expect(test).toBeGreaterThan(160)
    expect(test).toBeLessThan(240)
    expect([...words].reverse().map((p) => farahmandHalf(p))).toEqual([...halves].reverse())
    expect(farahmandHalf(["Snail", "MAIL"])).toBe(farahmandHalf(["snail", "mail"]))
    // sha1("snail mail") ends in 3 (odd: test), sha1("access card") in 0 (even: tune)
    expect(farahmandHalf(["snail", "mail"])).toBe("test")
    expect(farahmandHalf(["access", "card"])).toBe("tune")
    expect(compoundKey(["Snail", "Mail"])).toBe("snail mail")
  })

  it("leaves out of Reddy the compounds Farahmand also rates", () => {
    const reddy = [
      { parts: ["snail", "mail"] as const, rating: 1.3 },
      { parts: ["application", "form"] as const, rating: 4.8 },
      { parts: ["Rat", "Race"] as const, rating: 0.5 }
    ]
    const farahmand = [
      { parts: ["rat", "race"] as const, rating: 0 },
      { parts: ["academy", "award"] as const, rating: 0 }
    ]
    expect(withoutCompounds(reddy, farahmand).map((c) => c.parts.join(" "))).toEqual([
      "snail mail",
      "application form"
    ])
  })

  it("names the file and line of a row it cannot read", () => {
    writeFileSync(join(dir, "bad.tsv"), "a\tb\t1\t2\t3\nbroken line\n")
    expect(() => readReddy(join(dir, "bad.tsv"))).toThrow(/bad\.tsv:2: expected w1, w2/)
  })

  it("computes Spearman with ties, AUC and the composition score", () => {
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 40])).toBeCloseTo(1)
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1)
    expect(spearman([1, 1, 2, 2], [1, 2, 3, 4])).toBeCloseTo(0.894, 3)
    expect(auc([0.9, 0.8, 0.2, 0.1], [true, true, false, false])).toBe(1)
    expect(auc([0.5, 0.5], [true, false])).toBe(0.5)
    expect(
      compositionScore(
        [1, 1],
        [
          [1, 0],
          [0, 1]
        ]
      )
    ).toBeCloseTo(1)
    expect(
      compositionScore(
        [-1, -1],
        [
          [1, 0],
          [0, 1]
        ]
      )
    ).toBeCloseTo(-1)
  })
})
