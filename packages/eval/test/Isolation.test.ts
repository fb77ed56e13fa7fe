/**
 * Plugins run where they can be stopped: a plugin that spins synchronously or calls
 * `process.exit` fails its own column, named, in bounded time, and the host and the other
 * columns go on. Real plugins (test/fixtures/unruly.ts) in real worker threads.
 */
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { threadId } from "node:worker_threads"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { runMetrics } from "../src/Harness.ts"
import { loadMetrics } from "../src/Metric.ts"
import * as U from "./fixtures/unruly.ts"

const inputs = [
  { id: "a", text: "warm purring lap", promptId: "p1" },
  { id: "b", text: "dusk", promptId: "p2" },
  { id: "c", text: "кошка шла вкусно есть", promptId: "p3" }
]
const ctx = { seed: 1 }

describe("plugin isolation", () => {
  it.live("a busy-looping plugin fails its column after its timeout; the others fill", () =>
    Effect.gen(function* () {
      const loaded = yield* loadMetrics([U.steady, U.busyLoop])
      const started = Date.now()
      const cols = yield* runMetrics(loaded, inputs, ctx, { concurrency: 2 })
      expect(Date.now() - started).toBeLessThan(15_000)
      const steady = cols.find((c) => c.name === "steady")!
      expect(steady.status, steady.reason).toBe("ok")
      expect(steady.samples.map((s) => s.score)).toEqual([3, 1, 4])
      // by default a plugin runs off the host's thread
      expect(steady.samples[0]!.details?.thread).not.toBe(threadId)
      const busy = cols.find((c) => c.name === "busy-loop")!
      expect(busy.status).toBe("failed")
      expect(busy.reason).toMatch(/^timed out after 1000 ms on sample "b" \(worker thread stopped\)/)
      // what it scored is kept: before it hung, and after, in a new worker
      expect(busy.samples.map((s) => [s.id, s.score])).toEqual([
        ["a", 1],
        ["c", 1]
      ])
    })
  )

  it.live("a plugin that calls process.exit fails its column, naming the call; the run goes on", () =>
    Effect.gen(function* () {
      const loaded = yield* loadMetrics([U.exits, U.steady])
      const cols = yield* runMetrics(loaded, inputs, ctx, { concurrency: 2 })
      const exits = cols.find((c) => c.name === "exits")!
      expect(exits.status).toBe("failed")
      expect(exits.reason).toMatch(/called process\.exit\(3\) on sample "b"/)
      expect(exits.samples.map((s) => [s.id, s.score])).toEqual([["a", 2]])
      expect(cols.find((c) => c.name === "steady")!.status).toBe("ok")
    })
  )

  it.live("a thread that crashes fails its column with the plugin's last output", () =>
    Effect.gen(function* () {
      const [col] = yield* runMetrics(yield* loadMetrics([U.crashes]), inputs, ctx)
      expect(col!.status).toBe("failed")
      expect(col!.reason).toMatch(
        /^worker thread failed on sample "b": .*boom.*; its last output: about to crash/
      )
      expect(col!.samples.map((s) => [s.id, s.score])).toEqual([
        ["a", 5],
        ["c", 5]
      ])
    })
  )

  it.live(
    "a worker outlives its stage: the next stage with the same plugin and config reuses it, loaded",
    () =>
      Effect.gen(function* () {
        const threads = []
        for (let stage = 0; stage < 2; stage++) {
          const loaded = yield* loadMetrics([U.steady])
          const [col] = yield* runMetrics(loaded, inputs, ctx)
          expect(col!.status).toBe("ok")
          threads.push(col!.samples.map((s) => s.details?.thread))
        }
        expect(new Set(threads.flat()).size).toBe(1)
        expect(threads[0]![0]).not.toBe(threadId)
        // a worker that was lost is not kept: the busy loop's next stage starts anew and scores again
        for (let stage = 0; stage < 2; stage++) {
          const [busy] = yield* runMetrics(yield* loadMetrics([U.busyLoop]), inputs, ctx)
          expect(busy!.samples.map((s) => s.id)).toEqual(["a", "c"])
        }
      })
  )

  it("a host whose plugin worker is parked still ends when its work does", () => {
    // beside the package, where its dependencies resolve
    mkdirSync(join(import.meta.dirname, ".tmp"), { recursive: true })
    const dir = mkdtempSync(join(import.meta.dirname, ".tmp", "parked-"))
    try {
      const script = join(dir, "host.ts")
      const src = (f: string) => JSON.stringify(resolve(import.meta.dirname, f))
      writeFileSync(
        script,
        `import { Effect } from "effect"
import { runMetrics } from ${src("../src/Harness.ts")}
import { loadMetrics } from ${src("../src/Metric.ts")}
import { childGood } from ${src("./fixtures/metrics.ts")}
import { steady } from ${src("./fixtures/unruly.ts")}
const cols = await Effect.runPromise(
  Effect.flatMap(loadMetrics([steady, childGood.with({ offset: 1 })]), (l) => runMetrics(l, [{ id: "a", text: "x y", promptId: "p" }], {}))
)
console.log(cols.map((c) => c.status + " " + c.samples[0].score).join(", "))
`
      )
      const started = Date.now()
      const out = execFileSync(process.execPath, [script], {
        cwd: resolve(import.meta.dirname, ".."),
        encoding: "utf8",
        timeout: 30_000
      })
      // a worker thread and a child process, both parked when the host's work ends
      expect(out.trim()).toBe("ok 2, ok 3")
      expect(Date.now() - started).toBeLessThan(20_000)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
