import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { MetricColumn } from "../src/Harness.ts"
import { loadMetrics } from "../src/Metric.ts"
import { rowsToJsonl, scoreGenerations, summarize, wordCount } from "../src/Scoring.ts"
import * as F from "./fixtures/metrics.ts"

const withFile = (text: string) => {
  const dir = mkdtempSync(join(tmpdir(), "scoring-"))
  const file = join(dir, "generations.jsonl")
  writeFileSync(file, text)
  return { file, done: () => rmSync(dir, { recursive: true }) }
}

const column = (scores: ReadonlyArray<number | null>): MetricColumn => ({
  name: "m",
  version: "1",
  id: "m@1#0",
  description: "",
  higherIsBetter: true,
  status: "ok",
  samples: scores.map((score, i) => ({ id: `s${i}`, score })),
  durationMs: 0
})

describe("Scoring", () => {
  it.live(
    "scores a Generations file: rows per sample, a summary per column, a failed column's partial scores kept and marked",
    () =>
      Effect.gen(function* () {
        const { file, done } = withFile(
          [
            { id: "a", promptId: "p1", text: "warm purring lap" },
            { id: "b", promptId: "p1", text: "dusk" },
            { id: "c", promptId: "p2", text: "rain on the roof tonight" }
          ]
            .map((g) => JSON.stringify(g))
            .join("\n")
        )
        const metrics = yield* loadMetrics([F.good, F.throwing])
        const set = yield* scoreGenerations(file, metrics, { resamples: 200 })
        done()
        expect(set.rows.map((r) => [r.id, r.words, r.scores])).toEqual([
          // "throws" scored "a" before it threw on "b": kept; nothing for the samples it never scored
          ["a", 3, { chars: 16, throws: 1 }],
          ["b", 1, { chars: 4 }],
          ["c", 5, { chars: 24 }]
        ])
        const [chars, throws] = set.summaries
        expect(chars).toMatchObject({ name: "chars", status: "ok", n: 3, mean: 44 / 3 })
        expect(chars!.length?.r).toBeGreaterThan(0.9)
        expect(chars!.length?.applied).toBe(true)
        expect(throws).toMatchObject({
          status: "failed",
          n: 1,
          partial: { scored: 1, of: 3 },
          reason:
            'threw: the plugin broke on purpose on sample "b" (partial: 1 of 3 samples scored before it failed, kept per sample)'
        })
        expect(throws).not.toHaveProperty("mean")
        expect(rowsToJsonl(set.rows).split("\n")).toHaveLength(4)
      })
  )

  it.effect("names file and line of a bad generation", () =>
    Effect.gen(function* () {
      const { file, done } = withFile(
        `${JSON.stringify({ id: "a", promptId: "p", text: "x" })}\n{"id": "b", "text": 3}\n`
      )
      const metrics = yield* loadMetrics([F.good])
      const e = yield* Effect.flip(scoreGenerations(file, metrics))
      done()
      expect(e.message).toMatch(/generations\.jsonl:2: field promptId: Missing key/)
    })
  )

  it("leaves null scores out of the mean and reports length control only past the threshold", () => {
    const words = new Map([
      ["s0", 1],
      ["s1", 10],
      ["s2", 100],
      ["s3", 1]
    ])
    const s = summarize(column([1, 2, null, 1]), words, { resamples: 100 })
    expect(s.n).toBe(3)
    expect(s.mean).toBeCloseTo(4 / 3, 12)
    expect(s.length?.applied).toBe(true)
    const flat = summarize(column([1, 1, 1, 1]), words)
    expect(flat.length).toBeUndefined() // no variance: no correlation to speak of
    expect(wordCount("кошка шла, вкусно есть!")).toBe(4)
    expect(wordCount("")).toBe(1)
  })
})
