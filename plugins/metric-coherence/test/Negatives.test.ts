/**
 * The negatives and the bag-of-words baseline of the validation, on fixtures written for these
 * tests (no shared data, no model).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Degenerate, type SampleInput, Stats } from "@hyperwords/eval"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { bagOfWords, readVectorTable } from "../src/Baseline.ts"
import { referenceWords } from "../src/Coherence.ts"
import {
  degenerateAuc,
  describeDegenerate,
  lineScore,
  pairedAuc,
  scoreSets,
  shuffledPairs,
  splicedPairs
} from "../src/Negatives.ts"
import { scoreSample } from "../src/Sample.ts"
import { makeTrials } from "../src/Validation.ts"

/** Sea words along one axis, fire words along another, stone words along the third. */
const space: Record<string, ReadonlyArray<number>> = {
  sea: [1, 0.1, 0],
  wave: [0.9, 0, 0.1],
  salt: [1, 0, 0.05],
  gull: [0.8, 0.1, 0.1],
  tide: [0.9, 0.1, 0],
  fire: [0, 1, 0.1],
  ember: [0.1, 0.9, 0],
  smoke: [0, 1, 0],
  ash: [0.1, 1, 0.1],
  stone: [0, 0.1, 1],
  rock: [0.1, 0, 0.9],
  cliff: [0.1, 0.1, 1]
}
const vectorsOf = async (words: ReadonlyArray<string>) =>
  words.map((w) => {
    const v = space[w]
    if (v === undefined) throw new Error(`no fixture vector for ${w}`)
    return Float64Array.from(v)
  })
const known = (w: string) => w in space

describe("line shuffles", () => {
  it("never returns a shuffle that reads as the original, and leaves out a poem that has none", () => {
    const same = Array.from({ length: 8 }, () => "the sea and the salt").join("\n")
    const nearly = [...Array.from({ length: 7 }, () => "the sea and the salt"), "the fire"].join("\n")
    for (let seed = 1; seed <= 20; seed++) {
      const [a, b] = makeTrials([same, nearly], "en", { count: 2, seed })
      const bySource = [a!, b!].sort((x, y) => x.original.length - y.original.length)
      expect(bySource[1]!.shuffled).toBeUndefined()
      expect(bySource[0]!.shuffled).toBeDefined()
      expect(bySource[0]!.shuffled).not.toBe(bySource[0]!.original)
      expect([...bySource[0]!.shuffled!.split("\n")].sort()).toEqual(
        [...bySource[0]!.original.split("\n")].sort()
      )
    }
  })

  it("scores a poem of one image above its splice with a poem of another", async () => {
    const sea = "the sea\nthe wave\nthe salt\nthe gull"
    const splice = "the sea\nthe ember\nthe salt\nthe ash"
    const [p] = await splicedPairs([{ original: sea, spliced: splice }], "en", vectorsOf)
    expect(p!.original!).toBeGreaterThan(p!.negative!)
  })

  it("scores a poem whose images run in blocks above its lines shuffled into alternation", async () => {
    const blocks = "the sea\nthe wave\nthe salt\nthe fire\nthe ember\nthe smoke"
    const alternating = "the sea\nthe fire\nthe wave\nthe ember\nthe salt\nthe smoke"
    const pairs = await shuffledPairs([{ original: blocks, shuffled: alternating }], "en", vectorsOf)
    expect(pairs[0]!.original!).toBeGreaterThan(pairs[0]!.negative!)
    expect(await shuffledPairs([{ original: blocks, shuffled: undefined }], "en", vectorsOf)).toEqual([])
  })
})

describe("paired AUC", () => {
  it("counts only poems scored on both sides, with the paired win rate", () => {
    const a = pairedAuc([
      { original: 0.9, negative: 0.1 },
      { original: 0.8, negative: 0.2 },
      { original: 0.3, negative: 0.4 },
      { original: undefined, negative: 0.0 },
      { original: 0.5, negative: undefined }
    ])
    expect(a.n).toBe(3)
    expect(a.value).toBeCloseTo(Stats.auc([0.9, 0.8, 0.3], [0.1, 0.2, 0.4]))
    expect(a.win).toBeCloseTo(2 / 3)
    expect(a.ci[0]).toBeLessThanOrEqual(a.value)
    expect(a.ci[1]).toBeGreaterThanOrEqual(a.value)
  })
})

describe("degenerate negatives", () => {
  const humans: Array<SampleInput> = [
    {
      id: "h1",
      text: "a gull over the wave\nthe salt of the sea",
      prompt: "The tide.\n",
      task: "continue-line",
      lang: "en"
    },
    {
      id: "h2",
      text: "the ember and the smoke\nash in the fire",
      prompt: "The hearth.\n",
      task: "continue-line",
      lang: "en"
    },
    {
      id: "h3",
      text: "the stone of the cliff\na rock in the rain",
      prompt: "The hill.\n",
      task: "continue-line",
      lang: "en"
    }
  ]
  const nouns = ["sea", "fire", "stone", "ember", "cliff", "tide"]
  const sets = () => {
    const rng = Stats.makeRng(2)
    return humans.map((human) => ({
      human,
      variants: Degenerate.degenerateVariants(human, {
        nouns,
        otherLanguage: "Чайка над морем,\nсоль на волне",
        examples: ["sea", "fire", "stone"],
        rng
      })
    }))
  }
  const scorer = (gate: boolean) => async (input: SampleInput) => {
    const s = await Effect.runPromise(
      scoreSample(input, {}, () => Effect.succeed(vectorsOf), { known, gate })
    )
    return s === null ? null : typeof s === "number" ? s : s.score
  }

  it("puts every degenerate answer below the poems with the gate on", async () => {
    const scored = await scoreSets(sets(), scorer(true))
    const a = degenerateAuc(scored)
    expect(a.value).toBe(1)
    expect(a.n).toBe(3)
    expect(a.negatives).toBe(scored.flatMap((p) => p.variants).length)
  })

  it("shows, with the gate off, that one line repeated outscores the poems on the vectors alone", async () => {
    const scored = await scoreSets(sets(), scorer(false))
    expect(degenerateAuc(scored, "repeated-line").value).toBe(0)
    // an empty answer has no words to score: left out, not counted as a negative
    expect(degenerateAuc(scored, "empty").negatives).toBe(0)
    expect(describeDegenerate(scored)).toContain("empty no score")
  })

  it("leaves out words the baseline's vectors lack (a line of unknown words drops out)", async () => {
    expect(await lineScore("the sea\nthe wave\nthe quasar", "en", vectorsOf, known)).toBeCloseTo(
      (await lineScore("the sea\nthe wave", "en", vectorsOf))!
    )
    expect(await lineScore("the sea\nthe quasar", "en", vectorsOf, known)).toBeUndefined()
  })
})

describe("bag-of-words baseline", () => {
  it("reads a vector table, knows possessives, and standardises over the reference words it has", async () => {
    const [r1, r2] = referenceWords("en")
    const dir = mkdtempSync(join(tmpdir(), "coherence-glove-"))
    const file = join(dir, "table.json")
    writeFileSync(file, JSON.stringify({ [r1!]: [1, 10], [r2!]: [3, 30], sea: [2, 20] }))
    const b = bagOfWords(readVectorTable(file), "en")
    expect(b.size).toBe(3)
    expect(b.reference).toBe(2)
    expect(b.known("sea")).toBe(true)
    expect(b.known("sea's")).toBe(true)
    expect(b.known("quasar")).toBe(false)
    const [v1, sea] = await b.vectorsOf([r1!, "sea's"])
    // the reference mean is (2, 20), its SD (1, 10): r1 sits one SD below, sea on the mean
    expect(v1![0]).toBeCloseTo(-1, 4)
    expect(v1![1]).toBeCloseTo(-1, 4)
    expect(sea![0]).toBeCloseTo(0, 6)
    await expect(b.vectorsOf(["quasar"])).rejects.toThrow(/no baseline vector/)
    rmSync(dir, { recursive: true, force: true })
  })
})
