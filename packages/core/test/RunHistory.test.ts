import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { gcBoardMessage, gitCommit, listPipelineRuns, writePipelineRun } from "../src/RunHistory.ts"
import { makeStore } from "../src/Store.ts"
import { fixtureConfig, makeProject, removeProjects, runCli } from "./fixtures/project.ts"

const dirs: Array<string> = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
  removeProjects()
})

const setData = (n: number) => ({
  schemaVersion: 1,
  file: "a.jsonl",
  count: n,
  byLang: { en: 1 },
  byOrigin: { mined: 1 },
  sources: []
})

/**
 * A store with three pipeline runs, each a `generate` (a HyperwordSet) read by a `use` stage (an
 * artifact whose lineage names it), and a board (run 3's) that refers to run 1's `use` output.
 */
const history = () =>
  Effect.gen(function* () {
    const root = mkdtempSync(join(tmpdir(), "hw-history-"))
    dirs.push(root)
    const store = makeStore(join(root, "store"))
    const out: Record<string, { gen: string; use: string }> = {}
    for (const n of [1, 2, 3]) {
      const src = join(root, `a${n}`)
      writeFileSync(src, `run ${n}\n`)
      const f = yield* store.putFile(src)
      const at = `2026-01-0${n}T00:00:00.000Z`
      const lineage = (stage: string, inputs: Record<string, string>) => ({
        stage,
        key: `${stage}-${n}`,
        codeVersion: "1",
        inputs,
        params: {},
        runId: `r${n}`,
        createdAt: at
      })
      const gen = yield* store.writeArtifact({
        kind: "HyperwordSet",
        data: setData(n),
        files: [{ ...f, path: "a.jsonl" }],
        lineage: lineage("generate", {})
      })
      const use = yield* store.writeArtifact({
        kind: "HyperwordSet",
        data: setData(10 + n),
        files: [],
        lineage: lineage("use", { set: gen.hash })
      })
      out[n] = { gen: gen.hash, use: use.hash }
      const record = (stage: string, hash: string) => ({
        recordVersion: 1 as const,
        stage,
        key: `${stage}-${n}`,
        contributors: {},
        outputs: { out: hash },
        runId: `r${n}`,
        startedAt: at,
        finishedAt: at,
        durationMs: 1
      })
      // run 1's generate has no run record of its own: only its user's lineage reaches it
      if (n !== 1) yield* store.writeRun(record("generate", gen.hash))
      yield* store.writeRun(record("use", use.hash))
      writePipelineRun(store.root, {
        recordVersion: 1,
        id: `p${n}`,
        profile: "default",
        startedAt: at,
        updatedAt: at,
        stages: {
          generate: { key: `generate-${n}`, outputs: { out: gen.hash } },
          use: { key: `use-${n}`, outputs: { out: use.hash } }
        }
      })
    }
    const board = yield* store.writeArtifact({
      kind: "Leaderboard",
      data: { schemaVersion: 1, rows: [], html: "index.html", markdown: "l.md", json: "l.json" },
      files: [],
      lineage: {
        stage: "report",
        key: "report-3",
        codeVersion: "7",
        inputs: { "scores:use": out[3]!.use, "earlier/x/scores:use": out[1]!.use },
        params: {},
        runId: "r3",
        createdAt: "2026-01-03T00:00:00.000Z"
      }
    })
    yield* store.writeRun({
      recordVersion: 1,
      stage: "report",
      key: "report-3",
      contributors: {},
      outputs: { leaderboard: board.hash },
      runId: "r3",
      startedAt: "2026-01-03T00:00:00.000Z",
      finishedAt: "2026-01-03T00:00:00.000Z",
      durationMs: 1
    })
    writePipelineRun(store.root, {
      recordVersion: 1,
      id: "p3",
      profile: "default",
      startedAt: "2026-01-03T00:00:00.000Z",
      updatedAt: "2026-01-03T00:00:00.000Z",
      stages: {
        generate: { key: "generate-3", outputs: { out: out[3]!.gen } },
        use: { key: "use-3", outputs: { out: out[3]!.use } },
        report: { key: "report-3", outputs: { leaderboard: board.hash } }
      }
    })
    return { store, out, board: board.hash }
  })

describe("run history and store gc", () => {
  it("lists pipeline runs newest first and reads the project's commit", () => {
    const root = mkdtempSync(join(tmpdir(), "hw-pruns-"))
    dirs.push(root)
    for (const n of [1, 3, 2])
      writePipelineRun(root, {
        recordVersion: 1,
        id: `p${n}`,
        profile: "quick",
        startedAt: `2026-01-0${n}T00:00:00.000Z`,
        updatedAt: `2026-01-0${n}T00:00:00.000Z`,
        stages: {}
      })
    assert.deepStrictEqual(
      listPipelineRuns(root).map((p) => p.id),
      ["p3", "p2", "p1"]
    )
    assert.strictEqual(gitCommit(root), undefined) // a temp folder is no repository
  })

  it.effect("gc without --keep-last keeps every run, as before", () =>
    Effect.gen(function* () {
      const { store, out } = yield* history()
      const r = yield* store.gc([])
      assert.strictEqual(r.removedRuns, 0)
      assert.deepStrictEqual(r.boardReferences, [])
      // run 1's generate: no run record reaches it, and without --keep-last lineage is not followed
      assert.isFalse(yield* store.hasArtifact(out[1]!.gen))
      assert.isTrue(yield* store.hasArtifact(out[2]!.use))
    })
  )

  it.effect(
    "--keep-last 1 trims older runs, keeps what the kept artifacts came from and lists what a board refers to",
    () =>
      Effect.gen(function* () {
        const { store, out, board } = yield* history()
        const r = yield* store.gc([], { keepLast: 1 })
        // run 2 is trimmed: its records and artifacts go
        assert.strictEqual(r.removedRuns, 2)
        assert.isFalse(yield* store.hasArtifact(out[2]!.use))
        assert.isFalse(yield* store.hasArtifact(out[2]!.gen))
        assert.isUndefined(yield* store.findRun("use-2"))
        // run 3 and its lineage stay
        assert.isTrue(yield* store.hasArtifact(out[3]!.gen))
        assert.isTrue(yield* store.hasArtifact(board))
        // the board's earlier row (run 1's use) is kept, with its run record and lineage, and said so
        assert.deepStrictEqual(r.boardReferences, [
          { board, input: "earlier/x/scores:use", artifact: out[1]!.use }
        ])
        assert.isFalse(r.droppedBoardReferences)
        assert.isTrue(yield* store.hasArtifact(out[1]!.use))
        assert.isTrue(yield* store.hasArtifact(out[1]!.gen))
        assert.isDefined(yield* store.findRun("use-1"))
        const message = gcBoardMessage(r)
        assert.include(message, "trimmed 2 run records")
        assert.include(message, "kept 1 artifacts that leaderboard rows refer to")
        assert.include(message, "--drop-board-rows")
        assert.include(
          message,
          `board ${board.slice(0, 12)} earlier/x/scores:use → ${out[1]!.use.slice(0, 12)}`
        )

        const dropped = yield* store.gc([], { keepLast: 1, dropBoardRows: true })
        assert.isTrue(dropped.droppedBoardReferences)
        assert.include(gcBoardMessage(dropped), "dropped 1 artifacts")
        assert.isFalse(yield* store.hasArtifact(out[1]!.use))
        assert.isUndefined(yield* store.findRun("use-1"))
        assert.isTrue(yield* store.hasArtifact(out[3]!.use))
      })
  )

  it("a pipeline records its run; `store gc --keep-last N` takes a count of runs", async () => {
    const dir = makeProject()
    expect((await runCli(dir, ["pipeline"])).code).toBe(0)
    expect((await runCli(dir, ["pipeline"])).code).toBe(0)
    const runs = listPipelineRuns(join(dir, ".hyperwords"))
    expect(runs).toHaveLength(2)
    expect(Object.keys(runs[0]!.stages).sort()).toEqual(["count", "write"])
    const refused = await runCli(dir, ["store", "gc", "--keep-last", "0"])
    expect(refused.code).not.toBe(0)
    expect(refused.stderr + refused.stdout).toContain("--keep-last takes a number of pipeline runs")
    const gc = await runCli(dir, ["store", "gc", "--keep-last", "1"])
    expect(gc.code, gc.stderr).toBe(0)
    expect(gc.stdout).toContain("store gc: kept")
    expect((await runCli(dir, ["pipeline", "--explain"])).stdout).toMatch(/count\s+HIT/)
  }, 60_000)

  it("two configs in one folder each keep their own lock: times read it, gc --keep-last 1 keeps both", async () => {
    const dir = makeProject({ label: "first" })
    // a second config beside the default, whose write stage has another label (another key)
    writeFileSync(join(dir, "other.config.ts"), fixtureConfig({ label: "second", chain: 1 }))
    expect((await runCli(dir, ["pipeline"])).code).toBe(0)
    const other = await runCli(dir, ["pipeline", "--config", "other.config.ts"])
    expect(other.code, other.stderr).toBe(0)
    const lockOf = (f: string) => JSON.parse(readFileSync(join(dir, f), "utf8")) as { stages: object }
    expect(Object.keys(lockOf("pipeline.lock.json").stages).sort()).toEqual(["count", "write"])
    expect(Object.keys(lockOf("other.lock.json").stages).sort()).toEqual(["count", "step0", "write"])
    const times = await runCli(dir, ["store", "times", "--config", "other.config.ts"])
    expect(times.code, times.stderr).toBe(0)
    expect(times.stdout).toMatch(/\| step0 \|/)
    expect((await runCli(dir, ["store", "times"])).stdout).not.toMatch(/step0/)
    // the last pipeline run is the other config's: the default config's outputs are kept by its lock
    const gc = await runCli(dir, ["store", "gc", "--keep-last", "1"])
    expect(gc.code, gc.stderr).toBe(0)
    const rerun = await runCli(dir, ["pipeline", "--explain"])
    expect(rerun.stdout).toMatch(/write\s+HIT/)
    expect(rerun.stdout).toMatch(/count\s+HIT/)
  }, 90_000)
})
