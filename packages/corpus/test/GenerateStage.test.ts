import { copyFileSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { HyperwordRecord } from "@hyperwords/core/Artifacts"
import { Schema } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { fixture } from "./fixtures/paths.ts"
import { makeProject, removeProjects, runCli } from "./fixtures/project.ts"

const manifestOf = (dir: string, kind: string) => {
  const artifacts = join(dir, ".hyperwords", "artifacts")
  for (const a of readdirSync(artifacts)) {
    const m = JSON.parse(readFileSync(join(artifacts, a), "utf8"))
    if (m.kind === kind) return m
  }
  throw new Error(`no ${kind} in the store`)
}
const setOf = (dir: string) => manifestOf(dir, "HyperwordSet").data

/** The documents of one side of the run's poetry split, read from the store. */
const splitDocs = (dir: string, side: "train" | "heldout") => {
  const m = manifestOf(dir, "PoetrySplit")
  const file = (m.files as Array<{ path: string; sha256: string }>).find(
    (f) => f.path === m.data[side]
  )!.sha256
  const text = readFileSync(
    join(dir, ".hyperwords", "objects", "sha256", file.slice(0, 2), file.slice(2)),
    "utf8"
  )
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as { doc: string; lines: Array<{ text: string }> })
}

describe("the generate stage", () => {
  afterAll(removeProjects)

  it("mines the corpora through the CLI, exports poem_hyperwords.jsonl and lists the skips", async () => {
    const dir = makeProject({ corpus: ["ru_poems.jsonl", "en_poems.csv", "malformed.jsonl"] })
    for (const f of ["ru_poems.jsonl", "en_poems.csv"]) copyFileSync(fixture(f), join(dir, f))
    copyFileSync(fixture("bad", "malformed.jsonl"), join(dir, "malformed.jsonl"))
    const r = await runCli(dir, ["pipeline"])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/generate\s+RAN/)
    expect(r.stderr).toMatch(/generate: \d+ lines .* mined hyperwords, 2 skipped/)
    const lines = readFileSync(join(dir, "reports", "poem_hyperwords.jsonl"), "utf8")
      .trim()
      .split("\n")
    const records = lines.map((l) => Schema.decodeUnknownSync(HyperwordRecord)(JSON.parse(l)))
    expect(records.map((x) => x.id)).toContain("ru:кошка+шла+вкусно+есть")
    expect(records.map((x) => x.id)).toContain("en:cold+rain")
    const set = setOf(dir)
    expect(set).toMatchObject({ schemaVersion: 1, file: "poem_hyperwords.jsonl", count: records.length })
    expect(set.byLang.ru + set.byLang.en).toBe(records.length)
    expect(set.sources.map((s: { path: string }) => s.path)).toEqual([
      "ru_poems.jsonl",
      "en_poems.csv",
      "malformed.jsonl"
    ])
    expect(set.skipped.map((s: { line: number }) => s.line)).toEqual([2, 3])

    const again = await runCli(dir, ["pipeline", "--explain"])
    expect(again.stdout).toMatch(/generate\s+HIT/)
  })

  it("mines only training documents: no evidence line comes from a held-out document", async () => {
    const dir = makeProject({
      corpus: ["ru_poems.jsonl", "en_poems.csv"],
      heldoutFraction: 0.5,
      pinned: ["I wandered lonely as a cloud"]
    })
    for (const f of ["ru_poems.jsonl", "en_poems.csv"]) copyFileSync(fixture(f), join(dir, f))
    const r = await runCli(dir, ["pipeline"])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/generate: \d+ documents in \d+ groups; .* held out/)
    const held = splitDocs(dir, "heldout")
    const train = splitDocs(dir, "train")
    expect(held.length).toBeGreaterThan(0)
    expect(train.length).toBeGreaterThan(0)
    const heldDocs = new Set(held.map((d) => d.doc))
    const records = readFileSync(join(dir, "reports", "poem_hyperwords.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { evidence?: Array<{ doc: string }> })
    for (const rec of records) for (const e of rec.evidence ?? []) expect(heldDocs.has(e.doc)).toBe(false)
  })

  it("a corpus that cannot be read fails the stage with one line naming the file and line", async () => {
    const dir = makeProject({ corpus: ["poems.txt"] })
    copyFileSync(fixture("bad", "cp1251.txt"), join(dir, "poems.txt"))
    const r = await runCli(dir, ["pipeline"])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/stage generate failed: .*poems\.txt:1: not valid UTF-8/)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })
})
