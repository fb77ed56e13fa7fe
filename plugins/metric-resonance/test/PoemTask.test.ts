/**
 * The poem retrieval task on small fixtures (no shared data): which words make the request, that
 * they are removed from every candidate, which lines are positive and negative, determinism, and
 * the scoring with a fixture estimator.
 */

import { Degenerate } from "@hyperwords/eval"
import { type Channel, channels, contentWords, type Estimator, type Profile } from "@hyperwords/eval/Sdk"
import { describe, expect, it } from "vitest"
import {
  buildPoemTask,
  requestOf,
  retrievalAuc,
  summarise,
  type TaskNorms,
  withoutRequest
} from "../src/PoemTask.ts"
import { normsScorer, nounLemma, parseCsv, scorePoemTask } from "../src/PoemValidation.ts"

/** Norms over three channels: a word's values. */
const normValues: Record<string, [number, number, number]> = {
  sweet: [0.5, 0.2, 4.8],
  honey: [3.0, 0.1, 4.5],
  bell: [1.0, 4.9, 0.0],
  thunder: [2.0, 4.7, 0.1],
  red: [4.9, 0.1, 0.2],
  rose: [4.6, 0.2, 0.8],
  idea: [1.0, 1.0, 0.5],
  secret: [4.0, 0.1, 0.1]
}
const norms: TaskNorms = {
  channels: ["visual", "auditory", "gustatory"],
  lookup: (w) => normValues[w],
  allowed: (w) => w !== "secret",
  minStrength: 2.5
}
const words = (t: string) => contentWords(t, "en")

/** An eight-line fixture poem: a request half naming `first`, a second half about `second`. */
const poem = (id: string, first: string, second: string) => ({
  id,
  text: [
    `${first} in the morning ${id}`,
    `${first} at noon light`,
    "",
    "walking home again",
    "the secret idea of it",
    `${second} and ${first}ness falling`,
    `the ${second} again today`,
    "quiet field stands there",
    "stones under water"
  ].join("\n")
})
const poems = [
  poem("one", "sweet honey", "plum"),
  poem("two", "bell thunder", "drum"),
  poem("three", "red rose", "crimson"),
  poem("four", "sweet bell", "scarlet"),
  poem("five", "thunder red", "echo")
]

describe("the poem retrieval task", () => {
  it("makes the request of the first lines' sensory words, strongest first, and names its dominant channel", () => {
    const r = requestOf(words("idea sweet secret honey red"), norms, 2)
    // idea is under the scale's midpoint, secret is not allowed; red 4.9 and sweet 4.8 beat honey 4.5
    expect(r?.words).toEqual(["red", "sweet"])
    expect(r?.channel).toBe("visual") // mean of red and sweet: visual 2.7, gustatory 2.5
    expect(requestOf(words("idea secret"), norms, 4)).toBeUndefined()
  })

  it("removes the request's words, stem-matched, from every candidate", () => {
    expect(withoutRequest("sweetness of the sweet honey\nhoney bell", ["sweet", "honey"])).toBe(
      "of the\nbell"
    )
    const task = buildPoemTask(poems, norms, words, { lang: "en", poems: 5, negatives: 10, seed: 1 })
    expect(task).toHaveLength(5)
    for (const item of task) {
      for (const text of [item.positive, ...item.negatives.map((n) => n.text)]) {
        const left = words(text)
        // the metric's stem match: "sweetness" goes with "sweet", "redness" stays beside "red" (stems under four letters)
        for (const w of item.request) expect(left.some((x) => Degenerate.sameStem(w, x))).toBe(false)
      }
    }
  })

  it("takes the poem's own next lines as the positive and other poems' as negatives", () => {
    const task = buildPoemTask(poems, norms, words, { lang: "en", poems: 5, negatives: 3, seed: 1 })
    const one = task.find((i) => i.id === "one")!
    expect(one.request).toEqual(["sweet", "honey"])
    expect(one.channel).toBe("gustatory")
    expect(one.positive.split("\n")).toHaveLength(4)
    expect(one.positive).not.toContain("walking home again")
    expect(one.positive).toContain("plum and falling")
    expect(one.negatives).toHaveLength(3)
    expect(one.negatives.map((n) => n.id)).not.toContain("one")
    for (const n of one.negatives) {
      const other = poems.find((p) => p.id === n.id)!
      expect(n.text).toBe(withoutRequest(other.text.split("\n").slice(5, 9).join("\n"), one.request))
    }
  })

  it("skips short poems, poems without two sensory words and repeated poems; is deterministic by seed", () => {
    const extra = [
      { id: "short", text: "sweet honey\nred rose\nbell" },
      { id: "plain", text: Array(8).fill("the idea of a field").join("\n") },
      { ...poems[0]!, id: "copy" }
    ]
    const a = buildPoemTask([...poems, ...extra], norms, words, { lang: "en", poems: 10, seed: 3 })
    expect(a.map((i) => i.id).sort()).toEqual(["five", "four", "one", "three", "two"])
    const b = buildPoemTask([...poems, ...extra], norms, words, { lang: "en", poems: 10, seed: 3 })
    expect(b).toEqual(a)
    expect(buildPoemTask(poems, norms, words, { lang: "en", poems: 2, seed: 3 })).toHaveLength(2)
  })

  it("scores retrieval per poem and summarises per channel, weighted by how often each dominates", () => {
    expect(retrievalAuc(0.5, [0.1, 0.5, 0.9, 0.2])).toBe(0.625)
    const s = summarise([
      { channel: "visual", auc: 1 },
      { channel: "visual", auc: 0.5 },
      { channel: "visual", auc: 0.75 },
      { channel: "auditory", auc: 0 }
    ])
    expect(s.overall.value).toBeCloseTo(0.5625)
    expect(s.weighted).toBeCloseTo(s.overall.value)
    expect(s.unweighted).toBeCloseTo(0.375)
    expect(s.perChannel.map((c) => [c.channel, c.n])).toEqual([
      ["visual", 3],
      ["auditory", 1]
    ])
  })

  it("scores the task with the metric: a positive of the request's channel outranks the rest", async () => {
    const lexicon: Record<string, Channel> = {
      sweet: "gustatory",
      honey: "gustatory",
      plum: "gustatory",
      scarlet: "visual",
      bell: "auditory",
      thunder: "auditory",
      drum: "auditory",
      echo: "auditory",
      red: "visual",
      rose: "visual",
      crimson: "visual"
    }
    const estimator: Estimator = {
      mode: "zero-shot",
      modeOf: () => "zero-shot",
      layer: 0,
      profiles: async (texts) =>
        texts.map((t) => Object.fromEntries(channels.map((c) => [c, lexicon[t] === c ? 1 : 0.1])) as Profile)
    }
    const task = buildPoemTask(poems, norms, words, { lang: "en", poems: 5, negatives: 4, seed: 1 })
    const scored = await scorePoemTask(task, estimator, "en")
    const one = scored.find((x) => x.item.id === "one")!
    expect(one.auc).toBe(1) // plum is gustatory, the other poems' second words are not
    expect(one.degenerate).toEqual([-1, -1]) // the request echoed and a line repeated hit the gate
    expect(scored.find((x) => x.item.id === "two")!.auc).toBeGreaterThan(0.5)
  })
})

describe("the human norms in the estimator's place", () => {
  it("scores a candidate by its rated words' norm profile against the request's", async () => {
    const task = buildPoemTask(poems, norms, words, { lang: "en", poems: 5, negatives: 4, seed: 1 })
    const one = task.find((i) => i.id === "one")!
    const score = normsScorer(norms, "en")
    const taste = await score(one, "honey on the tongue", "a")
    const sound = await score(one, "bell and thunder", "b")
    expect(taste!).toBeGreaterThan(0.9)
    expect(sound!).toBeLessThan(0)
    expect(await score(one, "stones under water", "c")).toBeNull()
  })
})

describe("the readers", () => {
  it("finds the noun of the Russian norms a case form inflects", () => {
    const nouns = new Map([
      ["луна", 1],
      ["окно", 1],
      ["запах", 1],
      ["равнина", 1],
      ["здание", 1]
    ])
    expect(nounLemma("луну", nouns)).toBe("луна")
    expect(nounLemma("окна", nouns)).toBe("окно")
    expect(nounLemma("запахом", nouns)).toBe("запах")
    expect(nounLemma("здании", nouns)).toBe("здание")
    expect(nounLemma("равно", nouns)).toBeUndefined()
    expect(nounLemma("лунный", nouns)).toBeUndefined()
  })

  it("parses a CSV with quoted fields over several lines", () => {
    const rows = parseCsv('author,poem_text\r\nA,"one ""two""\nthree, four"\nB,plain\n')
    expect(rows).toEqual([
      { author: "A", poem_text: 'one "two"\nthree, four' },
      { author: "B", poem_text: "plain" }
    ])
  })
})
