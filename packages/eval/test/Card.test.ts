import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { Effect, Schema } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import {
  type CardCheck,
  cardFile,
  mergeCard,
  packageDirOf,
  readCard,
  recheckCard,
  type ValidationCard,
  writeCard
} from "../src/Card.ts"
import { buildLeaderboard, renderHtml, renderMarkdown } from "../src/Leaderboard.ts"
import { defineMetric } from "../src/Metric.ts"
import { cardIds, validationOf } from "../src/ReportStage.ts"

const dir = mkdtempSync(join(tmpdir(), "cards-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const check = (name: string, value: number, extra: Partial<CardCheck> = {}): CardCheck => ({
  name,
  data: "Glasgow norms",
  statistic: "Pearson r",
  value,
  ci: [value - 0.01, value + 0.01],
  n: 1888,
  floor: 0.8,
  status: value >= 0.8 ? "pass" : "fail",
  sources: ["../shared/data/en_glasgow_norms/glasgow_norms.csv"],
  command: `pnpm validate --judge j --check '${name}'`,
  seconds: 3,
  ...extra
})

const head = (judge: string, judgeRevision?: string): Omit<ValidationCard, "checks"> => ({
  kind: "hyperwords/validation-card",
  schemaVersion: 1,
  subject: "imageability",
  judge,
  ...(judgeRevision === undefined ? {} : { judgeRevision })
})

/** A plugin whose module sits in `<pkg>/src/index.ts`, as a real plugin's does. */
const pluginAt = (pkg: string) =>
  defineMetric({
    name: "imageability",
    version: "1.1.0",
    apiVersion: 2,
    description: "d",
    config: Schema.Struct({}),
    module: pathToFileURL(join(pkg, "src", "index.ts")).href,
    sample: () => {
      throw new Error("not scored here")
    }
  })

describe("validation cards", () => {
  it("finds a plugin's package from its module, in source or built form", () => {
    expect(packageDirOf("file:///r/plugins/metric-x/src/index.ts")).toBe("/r/plugins/metric-x")
    expect(packageDirOf("/r/plugins/metric-x/dist/index.js")).toBe("/r/plugins/metric-x")
    expect(cardFile("/r/plugins/metric-x", "smollm2-135m")).toBe(
      "/r/plugins/metric-x/cards/smollm2-135m.json"
    )
  })

  it("merges a partial run: same checks replaced, others kept, the suite's order; a new judge revision drops the old", () => {
    const old: ValidationCard = { ...head("j", "r1"), checks: [check("b", 0.9), check("a", 0.85)] }
    const merged = mergeCard(
      old,
      head("j", "r1"),
      [check("a", 0.7)],
      ["a — Glasgow norms", "b — Glasgow norms"]
    )
    expect(merged.checks.map((c) => [c.name, c.value])).toEqual([
      ["a", 0.7],
      ["b", 0.9]
    ])
    expect(mergeCard(old, head("j", "r2"), [check("a", 0.7)], []).checks.map((c) => c.name)).toEqual(["a"])
  })

  it("writes and reads a card, and refuses a file that is not one", () => {
    const file = join(dir, "rw", "cards", "j.json")
    const card: ValidationCard = { ...head("j"), checks: [check("imageability (en)", 0.88)] }
    writeCard(file, card)
    expect(readCard(file)).toEqual(card)
    expect(readCard(join(dir, "rw", "cards", "none.json"))).toBeUndefined()
    writeFileSync(join(dir, "rw", "cards", "bad.json"), JSON.stringify({ ...card, checks: [{ name: "x" }] }))
    expect(() => readCard(join(dir, "rw", "cards", "bad.json"))).toThrow()
  })

  it("gives the leaderboard the card of the judge used, and 'not validated' for a judge with none", () => {
    const pkg = join(dir, "metric-imageability")
    mkdirSync(join(pkg, "cards"), { recursive: true })
    writeCard(cardFile(pkg, "smollm2-135m"), {
      ...head("smollm2-135m"),
      checks: [check("imageability (en)", 0.81), check("imageability degenerate floor (en)", 0.6)]
    })
    const metric = pluginAt(pkg)
    const v = validationOf(metric, ["smollm2-135m", "gemma-3-270m", "unknown"], dir)
    expect(v[0]!.judge).toBe("smollm2-135m")
    expect(v[0]!.file).toBe(join("metric-imageability", "cards", "smollm2-135m.json"))
    expect(v[0]!.card?.checks.map((c) => c.value)).toEqual([0.81, 0.6])
    expect(v.slice(1)).toEqual([{ judge: "gemma-3-270m" }, { judge: "unknown" }])
    // the key changes with a card's content
    const before = cardIds([metric])
    writeCard(cardFile(pkg, "smollm2-135m"), {
      ...head("smollm2-135m"),
      checks: [check("imageability (en)", 0.82)]
    })
    expect(cardIds([metric])).not.toEqual(before)
    expect(cardIds([metric])[0]).toMatch(/^card:imageability\/smollm2-135m\.json#[0-9a-f]{12}$/)

    const data = buildLeaderboard({
      entries: [
        {
          name: "base",
          model: { id: "smollm2-135m", revision: "r" },
          summaries: [
            {
              name: "imageability",
              version: "1.1.0",
              id: "i",
              status: "ok",
              mean: 3,
              n: 2,
              higherIsBetter: true
            }
          ],
          rows: [
            { id: "a", promptId: "p", words: 3, scores: { imageability: 3 } },
            { id: "b", promptId: "q", words: 3, scores: { imageability: 3 } }
          ],
          examples: []
        }
      ],
      metrics: [
        { name: "imageability", validation: validationOf(metric, ["smollm2-135m", "gemma-3-270m"], dir) }
      ]
    })
    const html = renderHtml(data)
    expect(html).toContain("judge smollm2-135m")
    expect(html).toContain("0.82 [0.81, 0.83]")
    expect(html).toMatch(/judge gemma-3-270m<\/b>: <span class="below">not validated<\/span>/)
    const md = renderMarkdown(data)
    expect(md).toContain("Pearson r = 0.82 [0.81, 0.83], n = 1888, floor 0.8: PASS")
    expect(md).toContain("judge gemma-3-270m: not validated")
  })

  it("marks a known failure as FAIL (known), never as a pass", () => {
    const data = buildLeaderboard({
      entries: [],
      metrics: [
        {
          name: "m",
          validation: [
            {
              judge: "j",
              card: {
                ...head("j"),
                checks: [
                  check("composition score", 0.4, { floor: 0.7, status: "fail", knownFailure: "literature" })
                ]
              }
            }
          ]
        }
      ]
    })
    expect(renderMarkdown(data)).toContain("floor 0.7: FAIL \\(known\\)")
  })

  it("recheck: agrees inside the card's CI with the same n, disagrees outside it, breaks loudly, skips without data", async () => {
    const card: ValidationCard = {
      ...head("j"),
      checks: [check("a", 0.85), check("b", 0.85), check("c", 0.85), check("d", 0.85), check("e", 0.85)]
    }
    const v = (name: string, value: number, n = 1888, requires: ReadonlyArray<string> = []) => ({
      name,
      data: "Glasgow norms",
      statistic: "Pearson r",
      requires,
      run: Effect.sync(() => ({ value, n }))
    })
    const r = await Effect.runPromise(
      recheckCard(
        card,
        [
          v("a", 0.855),
          v("b", 0.9),
          v("c", 0.85, 100),
          { ...v("d", 0), run: Effect.fail(new Error("broken")) },
          v("e", 0.85, 1888, [join(dir, "absent.csv")])
        ],
        () => true
      )
    )
    expect(r.map((x) => x.agrees)).toEqual([true, false, false, false, undefined])
    expect(r[1]!.reason).toMatch(/computed 0.9 \(n 1888\), card 0.85 \[0.84, 0.86\]/)
    expect(r[4]!.computed).toBeUndefined()
    // only the picked checks run
    expect((await Effect.runPromise(recheckCard(card, [v("a", 0)], (c) => c.seconds > 100))).length).toBe(0)
  })
})
