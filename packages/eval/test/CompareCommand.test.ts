/**
 * `hyperwords compare A B` through the real bin, on a store made here: two evaluate runs of the
 * fixture versions and a probe report of B's model. The page is written and names both; the probe
 * report is copied beside it and linked; a name that is not in the store is refused with the
 * names that are.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { makeStore } from "@hyperwords/core/Store"
import { Effect } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import type { CompareSide } from "../src/ComparePairs.ts"
import { hostile, sideA, sideB } from "./fixtures/compare.ts"
import { makeProject, removeProjects, runCli } from "./fixtures/project.ts"

afterAll(removeProjects)

const lineage = (stage: string, key: string, model: string) => ({
  stage,
  key,
  codeVersion: "2",
  inputs: { model },
  params: {},
  runId: "test",
  createdAt: "2026-12-06T00:00:00Z"
})

/** Store one side as an evaluate stage's run: its Generations and EvalRun artifacts and the run record. */
const storeSide = (root: string, side: CompareSide, model: string, finishedAt: string) =>
  Effect.gen(function* () {
    const store = makeStore(root)
    const tmp = join(root, "..", `${side.stage}.tmp`)
    mkdirSync(tmp, { recursive: true })
    const put = (name: string, lines: ReadonlyArray<unknown>) => {
      writeFileSync(join(tmp, name), lines.map((l) => `${JSON.stringify(l)}\n`).join(""))
      return Effect.map(store.putFile(join(tmp, name)), (f) => ({ ...f, path: name }))
    }
    const key = side.key!
    const gens = yield* store.writeArtifact({
      kind: "Generations",
      data: {
        schemaVersion: 1,
        model: side.model,
        promptSet: { id: "t", version: "1", sha256: "x" },
        samples: side.answers.length,
        file: "generations.jsonl"
      },
      files: [yield* put("generations.jsonl", side.answers)],
      lineage: lineage(side.stage!, key, model)
    })
    const scores = yield* store.writeArtifact({
      kind: "EvalRun",
      data: {
        schemaVersion: 1,
        model: side.model,
        name: side.name,
        generations: "0".repeat(64),
        metrics: side.metrics.map((m) => ({ ...m, version: "1", id: `${m.name}@1`, n: 1 })),
        file: "scores.jsonl"
      },
      files: [yield* put("scores.jsonl", side.rows)],
      lineage: lineage(side.stage!, key, model)
    })
    yield* store.writeRun({
      recordVersion: 1,
      stage: side.stage!,
      key,
      contributors: {},
      outputs: { generations: gens.hash, scores: scores.hash },
      runId: "test",
      startedAt: finishedAt,
      finishedAt,
      durationMs: 1
    })
    return scores.hash
  })

const storeProbe = (root: string, model: string) =>
  Effect.gen(function* () {
    const store = makeStore(root)
    const file = join(root, "..", "report.html")
    writeFileSync(file, "<!doctype html><title>probe of B</title>")
    const f = yield* store.putFile(file)
    const report = yield* store.writeArtifact({
      kind: "ProbeReport",
      data: {
        schemaVersion: 1,
        model: sideB.model,
        items: 1,
        layers: 1,
        html: "report.html",
        json: "r.json",
        png: [],
        findings: []
      },
      files: [{ ...f, path: "report.html" }],
      lineage: { ...lineage("probe-finetune", "3".repeat(64), model), inputs: { model, base: "a-model" } }
    })
    yield* store.writeRun({
      recordVersion: 1,
      stage: "probe-finetune",
      key: "3".repeat(64),
      contributors: {},
      outputs: { report: report.hash },
      runId: "test",
      startedAt: "2026-12-06T00:00:00Z",
      finishedAt: "2026-12-06T00:00:00Z",
      durationMs: 1
    })
  })

describe("hyperwords compare", () => {
  it("writes the page of two stored evaluate runs, with B's probe report beside it", async () => {
    const dir = makeProject()
    const root = join(dir, ".hyperwords")
    const scoresA = await Effect.runPromise(storeSide(root, sideA, "a-model", "2026-12-06T01:00:00Z"))
    await Effect.runPromise(storeSide(root, sideB, "b-model", "2026-12-06T02:00:00Z"))
    await Effect.runPromise(storeProbe(root, "b-model"))

    const out = join(dir, "out", "page.html")
    // A by its EvalRun hash's start, B by its evaluate stage
    const r = await runCli(dir, ["compare", scoresA.slice(0, 10), "evaluate-finetune", "--out", out])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/paired samples/)
    expect(r.stdout).toContain(`(${statSync(out).size} bytes)`)
    const html = readFileSync(out, "utf8")
    expect(html).not.toContain(hostile.script)
    expect(html).toContain(`<a href="page.probe-b.html">probe report (probe-finetune)</a>`)
    // A is the probe's base: it links the same report, as the base
    expect(html).toContain(`<a href="page.probe-a.html">probe report (as the base in probe-finetune)</a>`)
    expect(readFileSync(join(dir, "out", "page.probe-b.html"), "utf8")).toContain("probe of B")

    // by stage key, into the default place under reports/compare/
    const byKey = await runCli(dir, ["compare", "1111111", "2222222"])
    expect(byKey.code, byKey.stderr).toBe(0)
    expect(byKey.stdout).toMatch(/wrote reports\/compare\/.+-vs-.+\.html/)
    expect(existsSync(join(dir, "reports", "compare"))).toBe(true)

    const json = await runCli(dir, [
      "compare",
      "1111111",
      "2222222",
      "--out",
      join(dir, "out", "j.html"),
      "--json"
    ])
    expect(json.code, json.stderr).toBe(0)
    const doc = JSON.parse(json.stdout)
    expect(doc.a.key).toMatch(/^1{7}/)
    expect(doc.b).toMatchObject({ stage: "evaluate-finetune" })
    expect(doc.file).toBe(join(dir, "out", "j.html"))
    expect(doc.bytes).toBe(statSync(doc.file).size)
    expect(typeof doc.paired).toBe("number")
    expect(doc.samples).toBeGreaterThanOrEqual(doc.paired)

    const missing = await runCli(dir, ["compare", "evaluate-base", "nosuch"])
    expect(missing.code).not.toBe(0)
    expect(missing.stderr).toMatch(/no evaluated version "nosuch"/)
    expect(missing.stderr).toContain("evaluate-finetune, key 222222222222")
  })
})
