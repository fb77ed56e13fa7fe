import { describe, expect, it } from "vitest"
import { buildLeaderboard, type LeaderboardEntry, renderHtml, renderMarkdown } from "../src/Leaderboard.ts"
import { seedGroups } from "../src/SeedGroups.ts"
import { studentTQuantile } from "../src/Stats.ts"

const provenance = (
  version: string,
  config: ReadonlyArray<string>,
  run: "current" | "earlier" = "current"
) => ({
  run,
  version,
  date: "2026-12-06T12:00:00Z",
  commit: "c",
  stage: `evaluate-${version}`,
  key: "k",
  artifacts: { evalRun: "e", generations: "g" },
  config,
  samples: "s.jsonl"
})
const entry = (name: string, value: number, config: ReadonlyArray<string>, run?: "current" | "earlier") =>
  ({
    name,
    model: { id: name, revision: "r" },
    base: "base",
    baseModel: "base",
    summaries: [
      {
        name: "imageability",
        version: "1",
        id: "imageability@1",
        status: "ok",
        mean: value,
        n: 10,
        higherIsBetter: true
      }
    ],
    provenance: provenance(name, config, run)
  }) as unknown as LeaderboardEntry
// the base: no base of its own, no config
const { base: _, ...base } = entry("base", 4, []) as LeaderboardEntry & { base?: string }

describe("repeated training runs on the board", () => {
  const entries = [
    base,
    entry("finetune-rank8-seed1", 4.0, ["lora.rank: 8", "seed: 1", "steps: 60"]),
    entry("finetune-rank8-seed2", 4.6, ["lora.rank: 8", "seed: 2", "steps: 60"]),
    entry("finetune-rank8-seed3", 5.2, ["lora.rank: 8", "seed: 3", "steps: 60"]),
    entry("finetune-rank16-seed1", 3.0, ["lora.rank: 16", "seed: 1", "steps: 60"]),
    // one run of a setting, and a run of an earlier pipeline: no group
    entry("finetune-rank32-seed1", 3.0, ["lora.rank: 32", "seed: 1", "steps: 60"]),
    entry("finetune-rank16-seed2", 9.0, ["lora.rank: 16", "seed: 2", "steps: 60"], "earlier")
  ]

  it("groups this run's rows that differ only in the seed, with a t interval over the runs", () => {
    const data = buildLeaderboard({
      entries,
      metrics: [{ name: "imageability", higherIsBetter: true }],
      resamples: 200
    })
    expect(data.seedGroups?.map((g) => [g.name, g.seeds, g.rows])).toEqual([
      ["finetune-rank8", [1, 2, 3], ["finetune-rank8-seed1", "finetune-rank8-seed2", "finetune-rank8-seed3"]]
    ])
    const cell = data.seedGroups![0]!.cells.imageability!
    // mean 4.6, sd 0.6, n 3: half-width t(0.975, 2) · 0.6 / √3
    const half = (studentTQuantile(0.975, 2) * 0.6) / Math.sqrt(3)
    expect(cell.n).toBe(3)
    expect(cell.mean).toBeCloseTo(4.6, 12)
    expect(cell.ci![0]).toBeCloseTo(4.6 - half, 9)
    expect(cell.ci![1]).toBeCloseTo(4.6 + half, 9)
    expect(data.seedGroups![0]!.config).toEqual(["lora.rank: 8", "steps: 60"])
  })

  it("shows the groups on the page and in the Markdown, escaped", () => {
    const hostile = entries.map((e, i) =>
      i === 0 ? e : ({ ...e, name: `${e.name}<img src=x>` } as LeaderboardEntry)
    )
    const data = buildLeaderboard({
      entries: hostile,
      metrics: [{ name: "imageability", higherIsBetter: true }]
    })
    const html = renderHtml(data)
    expect(html).toContain("<h2>Repeated training runs</h2>")
    expect(html).not.toContain("<img src=x>")
    expect(html).toContain("&lt;img src=x&gt;")
    const md = renderMarkdown(data)
    expect(md).toContain("## Repeated training runs")
    expect(md).toMatch(/\| 1, 2, 3 \| 4\.6\d* \[/)
  })

  it("no board without two seeds of one setting has the section", () => {
    const data = buildLeaderboard({
      entries: entries.slice(0, 2),
      metrics: [{ name: "imageability", higherIsBetter: true }]
    })
    expect(data.seedGroups).toBeUndefined()
    expect(renderHtml(data)).not.toContain("Repeated training runs")
    expect(seedGroups([], [])).toEqual([])
  })
})
