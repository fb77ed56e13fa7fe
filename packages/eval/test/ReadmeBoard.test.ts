/**
 * The README's board is computed from `leaderboard.json` by `hyperwords readme`: the test builds a
 * board, renders its summary and writes it into a README's generated block through the real CLI.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { escapeMarkdown } from "@hyperwords/core/Html"
import { afterAll, describe, expect, it } from "vitest"
import { buildLeaderboard, type LeaderboardInput, writeLeaderboard } from "../src/Leaderboard.ts"
import { readmeBoard } from "../src/ReadmeBoard.ts"
import { hostileExperimentInput, payloads } from "./fixtures/leaderboard.ts"
import { makeProject, removeProjects, runCli } from "./fixtures/project.ts"

afterAll(removeProjects)

/** The hostile experiment with held-out poetry on the base and the tuned version. */
const input: LeaderboardInput = {
  ...hostileExperimentInput,
  entries: hostileExperimentInput.entries.map((e, i) =>
    i === 0
      ? { ...e, heldOut: { bitsPerByte: 3.9, ci: [3.8, 4.0] as const, docs: 17, source: "poetry" } }
      : i === 1
        ? {
            ...e,
            heldOut: {
              bitsPerByte: 2.15,
              ci: [2.09, 2.2] as const,
              ratio: 0.547,
              ratioCi: [0.534, 0.559] as const,
              docs: 17,
              source: "poetry"
            }
          }
        : e
  )
}

describe("the README's board", () => {
  const data = buildLeaderboard(input)
  const md = readmeBoard(data)

  it("has a row per version with each metric's mean, interval and n, and the held-out ratio", () => {
    const rows = md.split("\n").filter((l) => l.startsWith("| "))
    expect(rows).toHaveLength(2 + data.rows.length)
    expect(rows[0]).toContain("imageability ↑")
    expect(rows[0]).toContain("held-out poetry bpb ↓ | ratio to base")
    const tuned = rows.find((r) => r.includes("hyperwords") || r.includes("tuned"))!
    const cell = data.rows.find((r) => r.name.startsWith("tuned"))!.cells.imageability!
    if (cell.status !== "ok") throw new Error("fixture: imageability should be ok")
    expect(tuned).toContain(`(n ${cell.n})`)
    expect(tuned).toContain("2.15 [2.09, 2.2] (17 docs) | 0.547 [0.534, 0.559]")
    expect(tuned).toContain("| failed |")
    expect(md).toContain("generated 2026-05-01T00:00:00.000Z")
  })

  it("lists what the experiment supports from the board's own sentences", () => {
    const vsControl = data.findings.filter((f) => f.vs.startsWith("control"))
    expect(vsControl.length).toBeGreaterThan(0)
    for (const f of vsControl) expect(md).toContain(`- ${escapeMarkdown(f.text)}`)
    expect(md).toMatch(/held-out poetry/)
  })

  it("escapes every text: no raw tag or table-breaking bar from the data", () => {
    for (const p of payloads) expect(md).not.toContain(p)
    expect(md).not.toMatch(/<script|<img|<\/style/i)
    for (const line of md.split("\n").filter((l) => l.startsWith("| ")))
      expect(line.replace(/\\\|/g, "").split("|")).toHaveLength(md.split("\n")[2]!.split("|").length)
  })

  it("is written into the README's block by `hyperwords readme`, and a README without one is refused", async () => {
    const dir = makeProject()
    writeLeaderboard(join(dir, "reports", "leaderboard"), data)
    const readme = "# project\n\n<!-- generated:board -->\ntyped figures\n<!-- /generated:board -->\n\nmore\n"
    writeFileSync(join(dir, "README.md"), readme)
    const r = await runCli(dir, ["readme"])
    expect(r.code, r.stderr).toBe(0)
    const text = readFileSync(join(dir, "README.md"), "utf8")
    expect(text).not.toContain("typed figures")
    expect(text).toContain(readmeBoard(data, "reports/leaderboard/leaderboard.json"))
    expect(text.endsWith("<!-- /generated:board -->\n\nmore\n")).toBe(true)

    writeFileSync(join(dir, "reports", "leaderboard", "leaderboard.json"), '{"schemaVersion": 2}')
    const bad = await runCli(dir, ["readme"])
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toContain("leaderboard.json")
    expect(readFileSync(join(dir, "README.md"), "utf8")).toBe(text)
  })
})
