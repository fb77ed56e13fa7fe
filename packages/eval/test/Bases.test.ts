import { describe, expect, it } from "@effect/vitest"
import { judgesOf, rowNames } from "../src/Bases.ts"
import { buildLeaderboard, renderHtml } from "../src/Leaderboard.ts"
import { entriesOf } from "../src/ReportStage.ts"

// fixture EvalRuns of a two-base matrix: each base with its tuned version and control, one judge

type Runs = Parameters<typeof entriesOf>[0]
const judge = { id: "gemma-3-270m", revision: "g" }
const run = (
  stage: string,
  name: string,
  model: { id: string; revision: string },
  extra: Record<string, unknown>,
  offset: number
) =>
  ({
    stage,
    run: {
      schemaVersion: 1,
      model,
      name,
      judge,
      generations: "0".repeat(64),
      metrics: [{ name: "imageability", version: "1", status: "ok", mean: 4 + offset, n: 12 }],
      file: "scores.jsonl",
      ...extra
    },
    rows: Array.from({ length: 12 }, (_, i) => ({
      id: `p${i}#0`,
      promptId: `p${i}`,
      words: 10,
      scores: { imageability: 4 + offset + (i % 3) * 0.1 }
    })),
    generations: []
  }) as unknown as Runs[number]

const gemma = { id: "gemma-3-270m", revision: "g" }
const smol = { id: "smollm2-135m", revision: "s" }
const runs: Runs = [
  run("evaluate-base@gemma-3-270m", "gemma-3-270m", gemma, { arm: "base" }, 0),
  run("evaluate-base@smollm2-135m", "smollm2-135m", smol, { arm: "base" }, -1),
  run(
    "evaluate-finetune@gemma-3-270m",
    "finetune",
    { id: "gemma-3-270m+finetune", revision: "gf" },
    { base: gemma, arm: "hyperwords", experiment: "finetune" },
    0.5
  ),
  run(
    "evaluate-finetune@smollm2-135m",
    "finetune",
    { id: "smollm2-135m+finetune", revision: "sf" },
    { base: smol, arm: "hyperwords", experiment: "finetune" },
    -0.5
  ),
  run(
    "evaluate-control@smollm2-135m",
    "control",
    { id: "smollm2-135m+control", revision: "sc" },
    { base: smol, arm: "control", experiment: "finetune" },
    -0.8
  )
]

describe("one leaderboard across base models", () => {
  it("names a version two bases share by its base, and keeps names one base has alone", () => {
    const names = rowNames(runs)
    expect([...names.values()]).toEqual([
      "gemma-3-270m",
      "smollm2-135m",
      "finetune@gemma-3-270m",
      "finetune@smollm2-135m",
      "control"
    ])
    expect(judgesOf(runs)).toEqual(["gemma-3-270m"])
  })

  it("pairs each row with its own base and controls, names the judge, and filters by base, metric and version", () => {
    const entries = entriesOf(runs, { examples: 0 })
    expect(entries.map((e) => [e.name, e.base, e.baseModel])).toEqual([
      ["gemma-3-270m", undefined, "gemma-3-270m"],
      ["smollm2-135m", undefined, "smollm2-135m"],
      ["finetune@gemma-3-270m", "gemma-3-270m", "gemma-3-270m"],
      ["finetune@smollm2-135m", "smollm2-135m", "smollm2-135m"],
      ["control", "smollm2-135m", "smollm2-135m"]
    ])
    const data = buildLeaderboard({
      entries,
      judges: judgesOf(runs),
      metrics: [{ name: "imageability", higherIsBetter: true }],
      resamples: 200
    })
    const vs = (name: string) =>
      (
        data.rows.find((r) => r.name === name)!.cells.imageability as { comparisons?: Array<{ vs: string }> }
      ).comparisons?.map((c) => c.vs)
    // the smollm2 version against its base and its control; the gemma one against its base only
    expect(vs("finetune@smollm2-135m")).toEqual(["smollm2-135m", "control"])
    expect(vs("finetune@gemma-3-270m")).toEqual(["gemma-3-270m"])
    expect(data.judges).toEqual(["gemma-3-270m"])
    const html = renderHtml(data)
    expect(html).toContain("Judge: <b>gemma-3-270m</b>")
    expect(html).toContain(
      '<tr data-base-model="smollm2-135m" data-version="finetune@smollm2-135m hyperwords">'
    )
    expect(html).toContain(
      '<select id="f-base"><option value="">all</option><option>gemma-3-270m</option><option>smollm2-135m</option></select>'
    )
    expect(html).toContain('data-metric="imageability"')
    expect(html).toContain('<th data-sort="base">base</th>')
  })
})
