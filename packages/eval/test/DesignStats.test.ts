/**
 * Statistics that respect the design: several answers per prompt share the prompt, so intervals
 * resample prompts and then answers; differences within noise are called tied; each comparison
 * states the effect its number of prompts can detect. Checked by simulation with a seeded
 * generator, so every run draws the same numbers.
 */
import { describe, expect, it } from "vitest"
import { compareRow } from "../src/Comparisons.ts"
import type { LeaderboardEntry } from "../src/Leaderboard.ts"
import type { MetricSummary, SampleScores } from "../src/Scoring.ts"
import {
  bootstrapMean,
  clusteredBootstrapMean,
  makeRng,
  minimumDetectableEffect,
  pairedBootstrap,
  studentTQuantile
} from "../src/Stats.ts"

/** Standard normal draws (Box–Muller) from a seeded uniform generator. */
const normals = (seed: number) => {
  const u = makeRng(seed)
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u())
}

/** Answers to `prompts` prompts, `answers` each: prompt effect (SD `between`) plus answer noise (SD `within`). */
const clustered = (seed: number, prompts: number, answers: number, between: number, within: number) => {
  const z = normals(seed)
  return Array.from({ length: prompts }, (_, i) => {
    const u = between * z()
    return Array.from({ length: answers }, () => ({ cluster: `p${i}`, score: u + within * z() }))
  }).flat()
}

const covers = (ci: readonly [number, number], x: number) => ci[0] <= x && x <= ci[1]

describe("the two-stage bootstrap of a mean", () => {
  it("is wider than the answer-level bootstrap when answers share their prompt, and covers near 95%", () => {
    // 30 prompts × 4 answers, prompt SD = answer SD = 1 (intra-prompt correlation 0.5): the
    // answer-level interval is too narrow by the design effect √(1 + 3 · 0.5) ≈ 1.6
    const seeds = 200
    let naiveCovers = 0
    let twoStageCovers = 0
    let wider = 0
    const ratios: Array<number> = []
    for (let seed = 1; seed <= seeds; seed++) {
      const scores = clustered(seed, 30, 4, 1, 1)
      const naive = bootstrapMean(
        scores.map((s) => s.score),
        { resamples: 400, seed }
      )
      const two = clusteredBootstrapMean(scores, { resamples: 400, seed })
      expect(two.mean).toBeCloseTo(naive.mean, 12)
      expect(two).toMatchObject({ n: 120, clusters: 30 })
      if (covers(naive.ci, 0)) naiveCovers++
      if (covers(two.ci, 0)) twoStageCovers++
      if (two.ci[1] - two.ci[0] > naive.ci[1] - naive.ci[0]) wider++
      ratios.push((two.ci[1] - two.ci[0]) / (naive.ci[1] - naive.ci[0]))
    }
    expect(wider).toBe(seeds)
    expect(naiveCovers / seeds).toBeLessThan(0.85)
    expect(twoStageCovers / seeds).toBeGreaterThanOrEqual(0.91)
    expect(twoStageCovers / seeds).toBeLessThanOrEqual(0.99)
    const meanRatio = ratios.reduce((a, b) => a + b, 0) / seeds
    expect(meanRatio).toBeGreaterThan(1.4)
  })

  it("is the bootstrap of prompts with one answer per prompt, and reproducible", () => {
    const scores = clustered(5, 40, 1, 1, 0.5)
    const a = clusteredBootstrapMean(scores, { seed: 3 })
    const b = bootstrapMean(
      scores.map((s) => s.score),
      { seed: 3 }
    )
    // the same draws of prompts; the second stage draws its one answer (and advances the generator)
    expect(a.mean).toBe(b.mean)
    expect(Math.abs(a.ci[1] - a.ci[0] - (b.ci[1] - b.ci[0]))).toBeLessThan(0.25 * (b.ci[1] - b.ci[0]))
    expect(clusteredBootstrapMean(scores, { seed: 3 })).toEqual(a)
    expect(clusteredBootstrapMean([], {}).n).toBe(0)
    expect(clusteredBootstrapMean([{ cluster: "p", score: 2 }]).ci).toEqual([2, 2])
  })
})

describe("the paired bootstrap", () => {
  it("pairs answers by seed inside a prompt and covers the true difference near 95%", () => {
    // per prompt a version × prompt effect (SD 0.5) and per answer noise (SD 1) on each side
    const seeds = 200
    let covered = 0
    for (let seed = 1; seed <= seeds; seed++) {
      const z = normals(seed)
      const version: Array<{ item: string; score: number; unit: string }> = []
      const base: Array<{ item: string; score: number; unit: string }> = []
      for (let i = 0; i < 25; i++) {
        const prompt = z()
        const interaction = 0.5 * z()
        for (let k = 0; k < 3; k++) {
          const seedEffect = 0.5 * z() // what the shared sampling seed gives both versions
          base.push({ item: `p${i}`, unit: `p${i}#${k}`, score: prompt + seedEffect + z() })
          version.push({
            item: `p${i}`,
            unit: `p${i}#${k}`,
            score: 0.3 + prompt + interaction + seedEffect + z()
          })
        }
      }
      const d = pairedBootstrap(version, base, { resamples: 400, seed })
      expect(d.n).toBe(25)
      if (covers(d.ci, 0.3)) covered++
    }
    expect(covered / seeds).toBeGreaterThanOrEqual(0.91)
    expect(covered / seeds).toBeLessThanOrEqual(0.995)
  })
})

describe("Student's t and the minimum detectable effect", () => {
  it("gives the t quantiles of the tables", () => {
    expect(studentTQuantile(0.975, 10)).toBeCloseTo(2.228139, 5)
    expect(studentTQuantile(0.8, 10)).toBeCloseTo(0.879058, 5)
    expect(studentTQuantile(0.975, 1)).toBeCloseTo(12.7062, 3)
    expect(studentTQuantile(0.025, 3)).toBeCloseTo(-3.182446, 5)
    expect(studentTQuantile(0.975, 1e6)).toBeCloseTo(1.959964, 4)
    expect(studentTQuantile(0.5, 7)).toBe(0)
  })

  it("is (t[1 − α/2k, n − 1] + t[0.8, n − 1]) · sd / √n, and infinite where the test cannot reach α/k", () => {
    // scipy: (t.ppf(1 − 0.05/6, 16) + t.ppf(0.8, 16)) · 0.0205798 / √17 = 0.0176579
    expect(minimumDetectableEffect(0.0205798, 17, { tests: 3 })).toBeCloseTo(0.0176579, 6)
    expect(minimumDetectableEffect(1, 30)).toBeCloseTo(((2.04523 + 0.854045) * 1) / Math.sqrt(30), 4)
    // five prompts: the smallest sign-flip p is 2/32 > 0.05; six: 2/64 < 0.05 but > 0.05/3
    expect(minimumDetectableEffect(1, 5)).toBe(Number.POSITIVE_INFINITY)
    expect(Number.isFinite(minimumDetectableEffect(1, 6))).toBe(true)
    expect(minimumDetectableEffect(1, 6, { tests: 3 })).toBe(Number.POSITIVE_INFINITY)
    expect(minimumDetectableEffect(0, 20)).toBe(0)
    expect(minimumDetectableEffect(2, 40)).toBeCloseTo(2 * minimumDetectableEffect(1, 40), 12)
  })

  it("is the effect the sign-flip test finds about 80% of the time", () => {
    const n = 30
    const effect = minimumDetectableEffect(1, n)
    const seeds = 300
    let found = 0
    for (let seed = 1; seed <= seeds; seed++) {
      const z = normals(1000 + seed)
      const diffs = Array.from({ length: n }, (_, i) => ({ item: `p${i}`, score: effect + z() }))
      const zero = diffs.map((d) => ({ item: d.item, score: 0 }))
      if (pairedBootstrap(diffs, zero, { resamples: 1000, seed }).p < 0.05) found++
    }
    expect(found / seeds).toBeGreaterThan(0.72)
    expect(found / seeds).toBeLessThan(0.88)
  })
})

// --- the rule on the leaderboard: detected and called, or tied ---------------------------------

const METRICS = [
  { name: "up", higherIsBetter: true },
  { name: "down", higherIsBetter: false }
] as const

const summary = (name: string, higherIsBetter: boolean, n: number): MetricSummary => ({
  name,
  version: "1",
  id: `${name}@1`,
  status: "ok",
  mean: 0,
  n,
  higherIsBetter
})

/**
 * A base and a tuned version answering the same prompts, `answers` times each with shared seeds:
 * a prompt effect both share (SD 1), a version × prompt effect (SD 0.3) and answer noise (SD 1);
 * the tuned version shifted by `shift` on every metric.
 */
const pair = (seed: number, prompts: number, answers: number, shift: Record<string, number>) => {
  const z = normals(seed)
  const baseRows: Array<SampleScores> = []
  const tunedRows: Array<SampleScores> = []
  for (let i = 0; i < prompts; i++) {
    const effects = METRICS.map(() => [z(), 0.3 * z()] as const)
    for (let k = 0; k < answers; k++) {
      const id = `p${i}#${k}`
      const b: Record<string, number> = {}
      const t: Record<string, number> = {}
      METRICS.forEach((m, j) => {
        const [prompt, interaction] = effects[j]!
        b[m.name] = prompt + z()
        t[m.name] = prompt + interaction + (shift[m.name] ?? 0) + z()
      })
      baseRows.push({ id, promptId: `p${i}`, words: 10, scores: b })
      tunedRows.push({ id, promptId: `p${i}`, words: 10, scores: t })
    }
  }
  const summaries = METRICS.map((m) => summary(m.name, m.higherIsBetter, prompts * answers))
  const base: LeaderboardEntry = {
    name: "base",
    model: { id: "m", revision: "r" },
    arm: "base",
    summaries,
    rows: baseRows
  }
  const tuned: LeaderboardEntry = {
    name: "tuned",
    model: { id: "m+t", revision: "r" },
    base: "base",
    arm: "hyperwords",
    summaries,
    rows: tunedRows
  }
  return compareRow(tuned, [base, tuned], METRICS, { resamples: 500, seed })
}

describe("tied or called", () => {
  it("calls a planted effect, in the metric's good direction, on both metrics", () => {
    // +0.8 on a higher-is-better metric and −0.8 on a lower-is-better one: both better
    let called = 0
    const seeds = 60
    for (let seed = 1; seed <= seeds; seed++) {
      const cmp = pair(seed, 24, 3, { up: 0.8, down: -0.8 })
      for (const m of METRICS) {
        const c = cmp.get(m.name)![0]!
        expect(c.better).not.toBe(false) // never the wrong way
        if (!c.tied) {
          called++
          expect(c.better).toBe(true)
          expect(c.mark).not.toBe("")
        }
        expect(c.mde).not.toBeNull()
        expect(c.mde!).toBeGreaterThan(0)
      }
    }
    expect(called / (2 * seeds)).toBeGreaterThan(0.95)
  })

  it("calls pure noise tied in at least 92% of 200 seeds, on any metric of the comparison", () => {
    const seeds = 200
    let anyCalled = 0
    let mdeSum = 0
    for (let seed = 1; seed <= seeds; seed++) {
      const cmp = pair(10_000 + seed, 24, 3, {})
      const cs = METRICS.map((m) => cmp.get(m.name)![0]!)
      for (const c of cs) {
        expect(c.n).toBe(24)
        if (c.tied) expect(c.better).toBeNull()
        mdeSum += c.mde!
      }
      if (cs.some((c) => !c.tied)) anyCalled++
    }
    // Holm over the two metrics keeps the family-wise false-positive rate at 5%
    expect(anyCalled / seeds).toBeLessThanOrEqual(0.08)
    // the SD of a prompt's difference is √(0.3² + 2/3) ≈ 0.87: MDE ≈ (t[0.9875, 23] + t[0.8, 23]) · 0.87 / √24 ≈ 0.6
    expect(mdeSum / (2 * seeds)).toBeGreaterThan(0.5)
    expect(mdeSum / (2 * seeds)).toBeLessThan(0.7)
  })
})

describe("the paired interval", () => {
  it("does not count the answers' spread twice: prompts that all differ by the same amount give an interval at it", () => {
    // every prompt's mean difference is 0.1; its three answers differ by +5.1, −4.9 and +0.1
    const version: Array<{ item: string; score: number; unit: string }> = []
    const base: Array<{ item: string; score: number; unit: string }> = []
    for (let i = 0; i < 20; i++)
      [5.1, -4.9, 0.1].forEach((d, k) => {
        version.push({ item: `p${i}`, score: 10 + d, unit: `p${i}#${k}` })
        base.push({ item: `p${i}`, score: 10, unit: `p${i}#${k}` })
      })
    const r = pairedBootstrap(version, base)
    expect(r.delta).toBeCloseTo(0.1, 12)
    expect(r.p).toBeLessThan(0.001)
    // drawing the answers again inside each prompt spread the interval over 0
    expect(r.ci[0]).toBeCloseTo(0.1, 9)
    expect(r.ci[1]).toBeCloseTo(0.1, 9)
  })
})
