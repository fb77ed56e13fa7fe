/**
 * `hyperwords compare`'s data: pairing two versions' samples by id, the flip rule (largest move in
 * percentile rank over the metrics) and its order, element ids, the leaderboard's compare link,
 * and finding a stored evaluate run by name, stage, key or hash — with the available names when
 * none matches.
 */
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { renderComparePage } from "../src/ComparePage.ts"
import { anchorsOf, comparePairs, percentileOf } from "../src/ComparePairs.ts"
import { resolveRun, type StoredEvalRun } from "../src/CompareStore.ts"
import { buildLeaderboard, renderHtml } from "../src/Leaderboard.ts"
import { hostile, sideA, sideB } from "./fixtures/compare.ts"

describe("comparePairs", () => {
  const data = comparePairs(sideA, sideB, { generatedAt: "2026-12-06T00:00:00Z" })

  it("pairs the samples by id and puts the most flipped first, then those only one side has", () => {
    const ids = data.pairs.map((p) => p.id)
    expect(ids.slice(0, 3)).toEqual(["p2#0", "p1#0", "p1#1"])
    expect(ids.slice(3, 23)).toEqual(Array.from({ length: 20 }, (_, i) => `f${i}#0`))
    expect(ids.slice(23)).toEqual(["p3#0", "p4#0"])
    const [p2, p1] = data.pairs
    // m2 over its four rows [0, 0, 0, 1]: 0 is at (0 + 3/2)/4, 1 at (3 + 1/2)/4
    expect(p2!.flip).toBeCloseTo(0.5, 12)
    expect(p2!.flipMetric).toBe("m2")
    const m2 = p2!.metrics.find((m) => m.metric === "m2")!
    expect(m2).toMatchObject({ a: 0, b: 1, delta: 1, better: false }) // lower is better
    // m1 over 48 scores (40 zeros): 1 is at 40.5/48, 8 at 47.5/48
    expect(p1!.flip).toBeCloseTo(7 / 48, 12)
    expect(p1!.metrics.find((m) => m.metric === "m1")).toMatchObject({ a: 1, b: 8, delta: 7, better: true })
    expect(data.pairs[2]!.flip).toBe(0)
    const onlyA = data.pairs.find((p) => p.id === "p3#0")!
    expect(onlyA.flip).toBeNull()
    expect(onlyA.a).toContain("only in A")
    expect(onlyA.b).toBeUndefined()
    expect(data.pairs.find((p) => p.id === "p4#0")!.a).toBeUndefined()
  })

  it("summarises each metric over the samples both sides scored", () => {
    const m1 = data.metrics.find((m) => m.name === "m1")!
    expect(m1.n).toBe(23)
    expect(m1.meanDelta).toBeCloseTo(7 / 23, 12)
    expect([m1.bBetter, m1.aBetter]).toEqual([1, 0])
    const m2 = data.metrics.find((m) => m.name === "m2")!
    expect([m2.n, m2.bBetter, m2.aBetter, m2.higherIsBetter]).toEqual([2, 0, 1, false])
    expect(data.tasks).toContain("ten-words")
    expect(data.langs).toEqual(["en", "ru"])
  })

  it("is the same whichever side is first, with the sign of every change reversed", () => {
    const back = comparePairs(sideB, sideA)
    expect(back.pairs.slice(0, 3).map((p) => [p.id, p.flip])).toEqual(
      data.pairs.slice(0, 3).map((p) => [p.id, p.flip])
    )
    expect(back.pairs[0]!.metrics.find((m) => m.metric === "m2")!.delta).toBe(-1)
  })

  it("places a value among sorted scores by mid-rank", () => {
    expect(percentileOf([1, 2, 2, 3], 2)).toBeCloseTo(0.5, 12)
    expect(percentileOf([1, 2, 2, 3], 0)).toBe(0)
    expect(percentileOf([1, 2, 2, 3], 9)).toBe(1)
    expect(percentileOf([], 1)).toBe(0.5)
  })

  it("gives every sample an element id of safe characters, unique", () => {
    expect(anchorsOf(["p1#0", "p1-0", 'x"><b>#1'])).toEqual([
      "sample-p1-0",
      "sample-p1-0-2",
      "sample-x---b--1"
    ])
  })

  it("escapes every text of the page", () => {
    const html = renderComparePage(data)
    expect(html).not.toContain(hostile.script)
    expect(html).not.toContain("<img")
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;")
    expect(html).not.toContain(`href="javascript:`) // an unsafe probe link is shown as text only
  })
})

describe("a model's control characters on the compare page", () => {
  it("are shown as control pictures, and the page holds none raw (newlines and tabs stay)", () => {
    const noisy = {
      ...sideB,
      answers: sideB.answers.map((a, i) =>
        i === 0 ? { ...a, text: "bell\u0007 esc\u001b[31m red\u007f\n\tnext" } : a
      )
    }
    const html = renderComparePage(comparePairs(sideA, noisy, { generatedAt: "2026-12-06T00:00:00Z" }))
    expect(html).toContain("bell\u2407 esc\u241b[31m red\u2421\n\tnext")
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for them
    expect(html).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/)
  })
})

describe("the leaderboard's compare links", () => {
  it("links a row to its comparison page when the report stage wrote one", () => {
    const board = buildLeaderboard({
      generatedAt: "2026-12-06T00:00:00Z",
      entries: [
        { name: "base", model: { id: "b", revision: "r" }, summaries: [] },
        { name: "tuned", base: "base", model: { id: "t", revision: "r" }, summaries: [] }
      ]
    })
    const html = renderHtml(board, { compare: { tuned: "compare-evaluate-tuned.html" } })
    expect(html).toContain(`<a href="compare-evaluate-tuned.html">compare with base</a>`)
    expect(renderHtml(board)).not.toContain("compare with")
  })
})

const stored = (
  name: string,
  stage: string,
  key: string,
  scores: string,
  finishedAt: string
): StoredEvalRun => ({
  name,
  stage,
  key,
  scores,
  generations: `9${scores.slice(1)}`,
  finishedAt,
  run: {
    schemaVersion: 1,
    model: { id: name === "gemma" ? "gemma" : `gemma+${name}`, revision: "r" },
    name,
    generations: "g",
    metrics: [],
    file: "scores.jsonl",
    ...(name === "gemma" ? { arm: "base" as const } : {})
  }
})

describe("resolveRun", () => {
  const runs = [
    stored(
      "finetune",
      "evaluate-finetune",
      "aaaa1111".padEnd(64, "0"),
      "cccc".padEnd(64, "1"),
      "2026-12-06T02:00"
    ),
    stored(
      "finetune",
      "evaluate-finetune",
      "aaaa2222".padEnd(64, "0"),
      "dddd".padEnd(64, "1"),
      "2026-12-06T01:00"
    ),
    stored("gemma", "evaluate-base", "bbbb".padEnd(64, "0"), "eeee".padEnd(64, "1"), "2026-12-06T00:00")
  ]
  const ok = (r: ReturnType<typeof resolveRun>) => {
    if (Result.isFailure(r)) throw r.failure
    return r.success
  }

  it("finds a run by name, stage, model id or arm; the newest of several, or the lock file's", () => {
    expect(ok(resolveRun("finetune", runs)).run).toBe(runs[0])
    expect(ok(resolveRun("finetune", runs)).note).toMatch(/names 2 stored runs; took the newest/)
    expect(ok(resolveRun("evaluate-base", runs)).run).toBe(runs[2])
    expect(ok(resolveRun("gemma+finetune", runs)).run).toBe(runs[0])
    expect(ok(resolveRun("base", runs)).run).toBe(runs[2])
    const lock = {
      lockVersion: 1 as const,
      profile: "default",
      updatedAt: "x",
      stages: {
        "evaluate-finetune": {
          key: runs[1]!.key,
          contributors: {},
          outputs: { scores: runs[1]!.scores },
          runId: "r",
          status: "ran" as const,
          durationMs: 1,
          at: "x"
        }
      }
    }
    expect(ok(resolveRun("finetune", runs, lock)).run).toBe(runs[1])
  })

  it("finds a run by a prefix of its stage key, EvalRun or Generations hash", () => {
    expect(ok(resolveRun("aaaa2222", runs)).run).toBe(runs[1])
    expect(ok(resolveRun(runs[2]!.scores, runs)).run).toBe(runs[2])
    expect(ok(resolveRun("9ddd11", runs)).run).toBe(runs[1])
    const both = resolveRun("aaaa11", [...runs, { ...runs[1]!, key: "aaaa11".padEnd(64, "f") }])
    expect(Result.isFailure(both) && both.failure.message).toMatch(/start of 2 stored evaluate runs/)
  })

  it("names what was not found and lists what there is", () => {
    const r = resolveRun("nosuch", runs, undefined, "/x/.hyperwords")
    expect(Result.isFailure(r)).toBe(true)
    const message = Result.isFailure(r) ? r.failure.message : ""
    expect(message).toMatch(/no evaluated version "nosuch" in \/x\/\.hyperwords/)
    expect(message).toMatch(/Versions: finetune, gemma/)
    expect(message).toContain("evaluate-base, key bbbb00000000")
    const empty = resolveRun("finetune", [])
    expect(Result.isFailure(empty) && empty.failure.message).toMatch(/holds no evaluate runs/)
  })
})
