/**
 * The held-out split: lines normalised and deduplicated across corpora, whole document groups held
 * out, pinned documents always held out, and no normalised held-out line in any training document.
 */
import { describe, expect, it } from "vitest"
import type { Poem } from "../src/Corpus.ts"
import { inHeldOutShare, normalizeLine, splitPoetry } from "../src/Split.ts"

const poem = (doc: string, lines: ReadonlyArray<string>, lang: "ru" | "en" = "en"): Poem => ({
  doc,
  lang,
  lines: lines.map((text, i) => ({ line: i + 1, text }))
})

/** Every normalised line of a side of the split. */
const norms = (docs: ReadonlyArray<Poem>) =>
  new Set(docs.flatMap((d) => d.lines.map((l) => normalizeLine(l.text))))

const many = Array.from({ length: 200 }, (_, i) =>
  poem(`corpus-a#${i}`, [
    `the ${i} river runs under the moon`,
    `and ${i} birds are singing in the dark`,
    "O me!"
  ])
)

describe("normalizeLine", () => {
  it("folds case, punctuation, whitespace and ё", () => {
    expect(normalizeLine("  Ещё — ЁЛКА,   в лесу!  ")).toBe("еще елка в лесу")
    expect(normalizeLine("Shall I compare thee to a summer's day?")).toBe(
      "shall i compare thee to a summer s day"
    )
    expect(normalizeLine("Shall  I compare thee to a Summer’s day")).toBe(
      "shall i compare thee to a summer s day"
    )
  })
})

describe("splitPoetry", () => {
  it("holds out about the asked share of whole documents, the same way each time", () => {
    const a = splitPoetry(many, { fraction: 0.1, seed: 1 })
    expect(a.counts.heldoutDocs).toBeGreaterThan(8)
    expect(a.counts.heldoutDocs).toBeLessThan(35)
    expect(a.counts.trainDocs + a.counts.heldoutDocs).toBe(200)
    const b = splitPoetry([...many].reverse(), { fraction: 0.1, seed: 1 })
    expect(new Set(b.heldout.map((d) => d.doc))).toEqual(new Set(a.heldout.map((d) => d.doc)))
    for (const d of a.heldout) expect(inHeldOutShare(d.doc, 0.1, 1)).toBe(true)
  })

  it("never lets a normalised held-out line occur in a training document", () => {
    const s = splitPoetry(many, { fraction: 0.2, seed: 3 })
    const train = norms(s.train)
    for (const n of norms(s.heldout)) expect(train.has(n)).toBe(false)
    // the shared formula "O me!" stays in the first document that has it, which is not held out
    expect(s.counts.duplicateLines).toBe(199)
  })

  it("reads the same poem in two corpora once, as one document group held out or trained on together", () => {
    const sonnet = ["Shall I compare thee to a summer's day?", "Thou art more lovely and more temperate:"]
    const copy = ["SHALL I COMPARE THEE TO A SUMMER’S DAY", "Thou art more lovely and more temperate"]
    const poems = [...many, poem("corpus-b#18", sonnet), poem("corpus-c#XVIII", copy)]
    for (let seed = 0; seed < 30; seed++) {
      const s = splitPoetry(poems, { fraction: 0.3, seed })
      const inTrain = s.train.some((d) => d.doc === "corpus-b#18")
      const inHeld = s.heldout.some((d) => d.doc === "corpus-b#18")
      expect(inTrain !== inHeld).toBe(true)
      // the copy's lines were dropped as duplicates: it is in neither side
      expect([...s.train, ...s.heldout].some((d) => d.doc === "corpus-c#XVIII")).toBe(false)
      const train = norms(s.train)
      for (const n of norms(s.heldout)) expect(train.has(n)).toBe(false)
    }
  })

  it("ties a copy that differs by a line to its original, so neither half leaks", () => {
    const original = poem("a#1", [
      "the grey sea and the long black land",
      "and the yellow half moon large and low"
    ])
    const variant = poem("b#1", [
      "the grey sea and the long black land",
      "and the startled little waves that leap"
    ])
    let seen = 0
    for (let seed = 0; seed < 60; seed++) {
      const s = splitPoetry([...many, original, variant], { fraction: 0.3, seed })
      const side = (doc: string) => (s.heldout.some((d) => d.doc === doc) ? "held" : "train")
      expect(side("a#1")).toBe(side("b#1"))
      if (side("a#1") === "held") seen++
    }
    expect(seen).toBeGreaterThan(0)
  })

  it("holds out the documents of pinned lines (the prompts' lines), and reports pins found nowhere", () => {
    const pinnedPoem = poem(
      "ru#tyutchev",
      ["Люблю грозу в начале мая,", "Когда весенний, первый гром,"],
      "ru"
    )
    const s = splitPoetry([...many, pinnedPoem], {
      fraction: 0,
      seed: 1,
      pinned: ["Люблю грозу в начале мая,\n", "I wandered lonely as a cloud\n"]
    })
    expect(s.heldout.map((d) => d.doc)).toEqual(["ru#tyutchev"])
    expect(s.counts.pinnedDocs).toBe(1)
    expect(s.unmatchedPinned).toEqual(["i wandered lonely as a cloud"])
    expect(s.byLang.ru).toEqual({ trainDocs: 0, heldoutDocs: 1 })
  })

  it("does not let a refrain shared by many poems tie them all together", () => {
    const refrain = "and the wind blows over the hill"
    const poems = Array.from({ length: 50 }, (_, i) =>
      poem(`r#${i}`, [`verse ${i} of the long road home`, refrain])
    )
    const s = splitPoetry(poems, { fraction: 0.2, seed: 2 })
    expect(s.counts.groups).toBe(50)
    expect(s.counts.heldoutDocs).toBeGreaterThan(2)
    expect(s.counts.heldoutDocs).toBeLessThan(25)
  })

  it("drops a held-out line that lies inside a training line, or holds one (other line breaks)", () => {
    const joined = poem("train#1", ["the long black land and the yellow half moon large and low"])
    const broken = poem("held#1", ["the yellow half moon large and low", "a line of its own here"])
    const holds = poem("held#2", [
      "so spoke the grey sea and the long black land at last",
      "another line of its own"
    ])
    const trainOnly = poem("train#2", ["the grey sea and the long black land"])
    const s = splitPoetry([...many, joined, trainOnly, broken, holds], {
      fraction: 0,
      seed: 1,
      pinned: ["a line of its own here", "another line of its own"]
    })
    const held = s.heldout.flatMap((d) => d.lines.map((l) => l.text))
    expect(held).toContain("a line of its own here")
    expect(held).toContain("another line of its own")
    expect(held).not.toContain("the yellow half moon large and low")
    expect(held).not.toContain("so spoke the grey sea and the long black land at last")
    expect(s.counts.droppedHeldoutLines).toBe(2)
  })

  it("ties a pinned poem to every document that shares a line with it, even a refrain many share", () => {
    const refrain = "and the wind blows over the hill"
    const pinnedPoem = poem("pinned#1", ["I wandered lonely as a cloud", refrain])
    const others = Array.from({ length: 6 }, (_, i) =>
      poem(`r#${i}`, [`verse ${i} of the long road home`, refrain])
    )
    const s = splitPoetry([pinnedPoem, ...others], {
      fraction: 0,
      seed: 1,
      pinned: ["I wandered lonely as a cloud"]
    })
    expect(s.counts.trainDocs).toBe(0)
    expect(s.heldout.map((d) => d.doc).sort()).toEqual(["pinned#1", ...others.map((d) => d.doc)].sort())
  })

  it("refuses a held-out share outside 0..0.5", () => {
    expect(() => splitPoetry(many, { fraction: 0.7 })).toThrow(/outside 0..0.5/)
  })
})
