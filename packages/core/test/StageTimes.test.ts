import { describe, expect, it } from "vitest"
import { stageTimesTable } from "../src/StageTimes.ts"

describe("stageTimesTable", () => {
  it("gives each stage its recorded time, in order, and the total of those with a record", () => {
    const table = stageTimesTable(
      [
        { stage: "models", durationMs: 0, status: "restored", startedAt: "2026-12-04T20:35:15.514Z" },
        { stage: "generate", durationMs: 150_000, status: "ran", startedAt: "2026-12-04T21:23:25.308Z" },
        { stage: "finetune", durationMs: 3_725_000, status: "ran" },
        { stage: "report", status: "planned" }
      ],
      "default"
    )
    expect(table.split("\n")).toEqual([
      "| stage (default profile) | time | last run |",
      "|---|---:|---|",
      "| models | 0s | restored 2026-12-04T20:35Z |",
      "| generate | 2m30s | ran 2026-12-04T21:23Z |",
      "| finetune | 1h02m | ran |",
      "| report | no record | planned |",
      "| **total** | **1h04m** | 3 of 4 stages |"
    ])
  })
})
