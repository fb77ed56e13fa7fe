import { describe, expect, it } from "@effect/vitest"
import type { HyperwordRecord } from "@hyperwords/core/Artifacts"
import { fuseLine, isHeldOut, placeboWords, trainingTexts } from "../src/Training.ts"

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

  it("reads held-out poetry from the split: its documents, a document index per line, never trained on", () => {
    const heldoutPoetry = [
      {
        doc: "sonnets#XVIII",
        lines: [
          { line: 1, text: "Shall I compare thee to a summer's day?" },
          { line: 2, text: "Thou art more lovely and more temperate:" }
        ]
      },
      { doc: "sonnets#XIX", lines: [{ line: 1, text: "Devouring Time, blunt thou the lion's paws," }] }
    ]
    const t = trainingTexts(records, { heldoutPoetry })
    expect(t.heldoutSource).toBe("poetry")
    expect(t.heldout).toEqual([
      "Shall I compare thee to a summer's day?",
      "Thou art more lovely and more temperate:",
      "Devouring Time, blunt thou the lion's paws,"
    ])
    expect(t.heldoutDocs).toEqual([0, 0, 1])
    expect(t.heldoutDocNames).toEqual(["sonnets#XVIII", "sonnets#XIX"])
    // the evidence documents are all trained on: the split already kept held-out documents out of mining
    expect(t.train.filter((x) => x.startsWith("белаяберёза")).length).toBe(60)
    // a cap keeps the opening passage of every document, as long as fits
    const capped = trainingTexts(records, { heldoutPoetry, maxHeldoutLines: 2 })
    expect(capped.heldoutDocNames.length).toBe(2)
    expect([...capped.heldout].sort()).toEqual(
      ["Shall I compare thee to a summer's day?", "Devouring Time, blunt thou the lion's paws,"].sort()
    )
    const many = Array.from({ length: 30 }, (_, d) => ({
      doc: `play#${d}`,
      lines: Array.from({ length: 40 }, (_, i) => ({ line: i + 1, text: `line ${i} of scene ${d}` }))
    }))
    const spread = trainingTexts(records, { heldoutPoetry: many, maxHeldoutLines: 100 })
    expect(spread.heldout.length).toBe(90) // three opening lines of each of the 30 documents
    expect(spread.heldoutDocNames.length).toBe(30)
    expect(spread.heldout).toContain("line 0 of scene 7")
    expect(spread.heldout).toContain("line 2 of scene 7")
    expect(spread.heldout).not.toContain("line 3 of scene 7")
  })
})

describe("training on every poetry line with a span", () => {
  it("fuses each span of the training documents' lines, longest first; held-out documents stay out", () => {
    const recs = [
      mined("coldriver", ["cold", "river"], [["a#1", "the cold river runs"]]),
      mined("colddarkriver", ["cold", "dark", "river"], [["a#1", "a cold dark river"]])
    ]
    const trainPoetry = [
      {
        doc: "a#1",
        lines: [
          { line: 1, text: "the cold river runs" },
          { line: 2, text: "no image here" }
        ]
      },
      { doc: "a#2", lines: [{ line: 1, text: "by the cold river, and a cold dark river" }] }
    ]
    const heldoutPoetry = [{ doc: "h#1", lines: [{ line: 1, text: "the cold river in a held-out poem" }] }]
    const t = trainingTexts(recs, { trainPoetry, heldoutPoetry })
    expect(t.train).toContain("by the coldriver, and a colddarkriver")
    expect(t.train).toContain("the coldriver runs")
    expect(t.train).not.toContain("no image here")
    expect(t.heldout).toEqual(["the cold river in a held-out poem"])
    expect(t.train.some((x) => x.includes("held-out"))).toBe(false)
    const control = trainingTexts(recs, { trainPoetry, heldoutPoetry, arm: "control" })
    expect(control.train).toContain("by the cold river, and a cold dark river")
  })
})

describe("arms", () => {
  const docs = Array.from({ length: 12 }, (_, i) => `poem-${i}`)
  const tail = ["alpha", "beta", "gamma", "delta", "omega", "sigma"]
  const lines = docs.map(
    (d, i) =>
      [
        d,
        i < 6
          ? `the cold river runs under old stones ${tail[i]}`
          : `the pale moon hangs over still water ${tail[i - 6]}`
      ] as [string, string]
  )
  const records = [
    mined("coldriver", ["cold", "river"], lines.slice(0, 6)),
    mined("palemoon", ["pale", "moon"], lines.slice(6)),
    generated("warmdusk", ["warm", "dusk"], "warm dusk over the roofs")
  ]
  const opts = { heldoutFraction: 0, seed: 2 }

  it("control: the same lines with the spans as plain words, no added tokens", () => {
    const tuned = trainingTexts(records, { ...opts, arm: "hyperwords" })
    const control = trainingTexts(records, { ...opts, arm: "control" })
    expect(control.hyperwords).toEqual([])
    expect(control.train.length).toBe(tuned.train.length)
    expect(control.train).toContain(lines[0]![1])
    expect(control.train).toContain("warm dusk over the roofs — warm dusk")
    expect(control.train.some((t) => t.includes("coldriver") || t.includes("warmdusk"))).toBe(false)
    // undo the fusion of every tuned line: the control's lines
    const unfused = tuned.train
      .map((t) =>
        t.replace("coldriver", "cold river").replace("palemoon", "pale moon").replace("warmdusk", "warm dusk")
      )
      .sort()
    expect(unfused).toEqual([...control.train].sort())
  })

  it("every arm trains on as many lines, one for one, when a line holds several spans or is evidence twice", () => {
    const line = "the cold river under the pale moon"
    const twice = "a cold river and a cold river again"
    const recs = [
      mined(
        "coldriver",
        ["cold", "river"],
        [
          ["a#1", line],
          ["a#2", twice]
        ]
      ),
      mined("palemoon", ["pale", "moon"], [["a#1", line]])
    ]
    const trainPoetry = [
      { doc: "a#1", lines: [{ line: 1, text: line }] },
      { doc: "a#2", lines: [{ line: 1, text: twice }] }
    ]
    const [tuned, control, placebo] = (["hyperwords", "control", "placebo"] as const).map((arm) =>
      trainingTexts(recs, { ...opts, arm, trainPoetry })
    )
    expect(tuned!.train).toEqual(["the coldriver under the palemoon", "a coldriver and a coldriver again"])
    expect(control!.train).toEqual([line, twice])
    expect(placebo!.train.length).toBe(2)
  })

  it("placebo: as many added tokens, from non-image n-grams of the same length and near frequency", () => {
    const tuned = trainingTexts(records, { ...opts, arm: "hyperwords" })
    const placebo = trainingTexts(records, { ...opts, arm: "placebo" })
    expect(placebo.hyperwords.length).toBe(tuned.hyperwords.length)
    const imageWords = new Set(["cold", "river", "pale", "moon", "warm", "dusk"])
    for (const w of placebo.hyperwords) {
      expect(w.parts.length).toBe(2)
      expect(w.parts.some((p) => imageWords.has(p))).toBe(false)
      expect(w.parts.join("")).toBe(w.surface)
    }
    // the placebo words are used in the training lines, as often as the hyperwords they stand for
    for (const p of placebo.placebo!) {
      const used = placebo.train.filter((t) => t.includes(p.surface)).length
      expect(used).toBe(p.count)
      expect(Math.abs(p.count - p.matchCount)).toBeLessThanOrEqual(1)
    }
    expect(placebo.train.length).toBe(tuned.train.length)
    expect(placebo.counts.linesWithTokens).toBeGreaterThan(0)
  })

  it("placebo words depend on the seed only, not on the order of the records", () => {
    const a = trainingTexts(records, { ...opts, arm: "placebo" })
    const b = trainingTexts([...records].reverse(), { ...opts, arm: "placebo" })
    expect([...a.hyperwords].map((w) => w.surface).sort()).toEqual(
      [...b.hyperwords].map((w) => w.surface).sort()
    )
  })

  it("placeboWords keeps the count of tokens when image-free n-grams run out, still never an image span", () => {
    const got = placeboWords(
      [
        { surface: "redsun", parts: ["red", "sun"], count: 1 },
        { surface: "bluesea", parts: ["blue", "sea"], count: 1 },
        { surface: "greysky", parts: ["grey", "sky"], count: 1 }
      ],
      ["the red sun sets on the blue sea", "a grey sky"],
      0
    )
    expect(got.length).toBe(3)
    for (const g of got) expect(["red sun", "blue sea", "grey sky"]).not.toContain(g.parts.join(" "))
    // the only image-free bigram comes first
    expect(got.map((g) => g.parts.join(" "))).toContain("on the")
  })

  it("placeboWords takes an inflected image for an image, and never makes a word the lines already have", () => {
    const got = placeboWords(
      [{ surface: "темныйлес", parts: ["темный", "лес"], lemmas: ["темный", "лес"], count: 1 }],
      ["в темного леса тени", "go in to the house", "a house into the night"],
      0
    )
    expect(got.length).toBe(1)
    expect(got[0]!.parts.join(" ")).not.toBe("темного леса")
    expect(got[0]!.surface).not.toBe("into")
  })

  it("placeboWords never picks an image, a word of its hyperword, or a word twice", () => {
    const got = placeboWords(
      [
        { surface: "redsun", parts: ["red", "sun"], count: 2 },
        { surface: "bluesea", parts: ["blue", "sea"], count: 1 }
      ],
      ["the red sun sets", "the red sun rises", "a blue sea and a wide sky", "a wide sky at dawn"],
      0
    )
    expect(got.length).toBe(2)
    const words = got.flatMap((g) => g.parts)
    expect(new Set(words).size).toBe(words.length)
    for (const g of got) expect(["red sun", "blue sea"]).not.toContain(g.parts.join(" "))
    expect(words).not.toContain("red")
    expect(words).not.toContain("sea")
  })
})
