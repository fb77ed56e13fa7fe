/**
 * `--json` on the core commands through the real bin, on the fixture project: one JSON document
 * on stdout, numbers as numbers, and errors as `{ "error": { "message", "code" } }` with the
 * documented exit codes.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { makeProject, removeProjects, runCli } from "./fixtures/project.ts"

afterAll(removeProjects)

/** stdout as one JSON document (fails the test when it is anything else). */
const doc = (r: { stdout: string }) => JSON.parse(r.stdout)

describe("hyperwords core commands with --json", () => {
  it("pipeline, pipeline --dry --explain, store times, verify and gc print one document each", async () => {
    const dir = makeProject()
    const ran = await runCli(dir, ["pipeline", "--json"])
    expect(ran.code, ran.stderr).toBe(0)
    const first = doc(ran)
    expect(first).toMatchObject({ dry: false, profile: "default", ran: 2, restored: 0, notImplemented: [] })
    expect(first.stages.map((s: { id: string; status: string }) => `${s.id}:${s.status}`)).toEqual([
      "write:RAN",
      "count:RAN"
    ])
    expect(typeof first.stages[0].durationMs).toBe("number")
    expect(first.stages[0].key).toMatch(/^[0-9a-f]{64}$/)
    expect(Object.keys(first.stages[0].outputs)).toEqual(["set"])
    expect(ran.stderr).toMatch(/2 stage\(s\) ran/) // the log stays on stderr

    const plan = doc(await runCli(dir, ["pipeline", "--dry", "--explain", "--json"]))
    expect(plan.dry).toBe(true)
    expect(plan.graph).toEqual([
      { id: "write", planned: false, reads: [], writes: { set: "HyperwordSet" } },
      {
        id: "count",
        planned: false,
        reads: [{ name: "set", stage: "write", output: "set" }],
        writes: { field: "AssociativeField" }
      }
    ])
    expect(plan.stages.map((s: { status: string }) => s.status)).toEqual(["HIT", "HIT"])
    expect(Array.isArray(plan.stages[0].reasons)).toBe(true)

    const times = await runCli(dir, ["store", "times", "--json"])
    expect(times.code, times.stderr).toBe(0)
    const t = doc(times)
    expect(t.stages.map((s: { stage: string }) => s.stage)).toEqual(["write", "count"])
    for (const s of t.stages) expect(typeof s.durationMs).toBe("number")
    expect(t).toMatchObject({ profile: "default", timed: 2, written: null })
    expect(t.totalMs).toBe(t.stages[0].durationMs + t.stages[1].durationMs)

    const verify = await runCli(dir, ["store", "verify", "--json"])
    expect(verify.code, verify.stderr).toBe(0)
    const v = doc(verify)
    expect(v).toMatchObject({ ok: true, problems: [], staging: 0 })
    for (const k of ["objects", "bytes", "artifacts", "runs"]) expect(typeof v[k]).toBe("number")
    expect(v.artifacts).toBeGreaterThanOrEqual(2)

    const gc = await runCli(dir, ["store", "gc", "--json"])
    expect(gc.code, gc.stderr).toBe(0)
    const g = doc(gc)
    expect(g.keptManifests).toBe(v.artifacts)
    for (const k of ["keptObjects", "removedObjects", "removedBytes", "removedManifests", "removedRuns"])
      expect(typeof g[k]).toBe("number")
    expect(g.boardReferences).toEqual([])
  })

  it("an error is one JSON document on stdout, the error line on stderr, exit code 1", async () => {
    const dir = makeProject()
    const noLock = await runCli(dir, ["store", "times", "--json"])
    expect(noLock.code).toBe(1)
    expect(doc(noLock)).toEqual({
      error: {
        message: expect.stringMatching(/^store times: no pipeline\.lock\.json in /),
        code: "UsageError"
      }
    })
    expect(noLock.stderr).toMatch(/^error: store times: no pipeline\.lock\.json/m)

    const bad = await runCli(dir, ["pipeline", "--only", "nope", "--json"])
    expect(bad.code).toBe(1)
    expect(doc(bad).error.message).toContain('there is no stage "nope"')
    expect(bad.stderr).toContain('there is no stage "nope"')

    // a command line the parser refuses: its help goes to stderr, the document says why
    const flag = await runCli(dir, ["store", "verify", "--bogus", "--json"])
    expect(flag.code).toBe(1)
    expect(doc(flag)).toEqual({
      error: {
        message: "Unrecognized flag: --bogus in command hyperwords store verify",
        code: "UnrecognizedOption"
      }
    })
    expect(flag.stderr).toContain("USAGE")

    // store verify with problems: its report, "ok": false, exit 1
    expect((await runCli(dir, ["pipeline"])).code).toBe(0)
    const artifacts = join(dir, ".hyperwords", "artifacts")
    const manifest = join(artifacts, readdirSync(artifacts)[0]!)
    const m = JSON.parse(readFileSync(manifest, "utf8"))
    m.lineage.stage = 42
    writeFileSync(manifest, JSON.stringify(m))
    const corrupt = await runCli(dir, ["store", "verify", "--json"])
    expect(corrupt.code).toBe(1)
    const c = doc(corrupt)
    expect(c.ok).toBe(false)
    expect(c.problems[0]).toMatch(/field lineage\.stage: Expected string, got 42/)
    expect(corrupt.stderr).toMatch(/problem: /)
  })
})
