/**
 * Plugins run where they can be stopped: a plugin that spins synchronously or calls
 * `process.exit` fails its own column, named, in bounded time, and the host and the other
 * columns go on. Real plugins (test/fixtures/unruly.ts) in real worker threads.
 */
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
})
