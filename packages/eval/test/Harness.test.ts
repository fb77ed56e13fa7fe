import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { runMetrics } from "../src/Harness.ts"
import { loadMetric, loadMetrics, metricIds } from "../src/Metric.ts"
import * as F from "./fixtures/metrics.ts"

const inputs = [
  { id: "a", text: "warm purring lap", promptId: "p1" },
  { id: "b", text: "dusk", promptId: "p2" },
  { id: "c", text: "кошка шла вкусно есть", promptId: "p3" }
]
const ctx = { seed: 1 }

const column = (cols: ReadonlyArray<{ name: string }>, name: string) => {
  const c = cols.find((x) => x.name === name)
  if (!c) throw new Error(`no column ${name}`)
  return c as (typeof cols)[number] & {
    status: string
    reason?: string
    samples: ReadonlyArray<{ score: number | null }>
  }
}

describe("Harness", () => {
  it.live("records bad plugins (in worker threads by default) as failed columns while a good one fills", () =>
    Effect.gen(function* () {
      const loaded = yield* loadMetrics([
        F.good.with({ scale: 2 }),
        F.throwing,
        F.hanging,
        F.garbage,
        F.failing,
        F.promise
      ])
      const cols = yield* runMetrics(loaded, inputs, ctx, { concurrency: 6 })
      const good = column(cols, "chars")
      expect(good.status).toBe("ok")
      expect(good.samples.map((s) => s.score)).toEqual([32, 8, 42])
      // a failed column keeps what it scored before it failed
      expect(column(cols, "throws")).toMatchObject({
        status: "failed",
        reason: 'threw: the plugin broke on purpose on sample "b"',
        samples: [{ id: "a", score: 1 }]
      })
      // a worker lost to a timeout is replaced once; the second loss ends the column
      expect(column(cols, "hangs").reason).toBe(
        'timed out after 200 ms on sample "a" (worker thread stopped); ' +
          'then timed out after 200 ms on sample "b" (worker thread stopped); then gave up after 2 lost workers'
      )
      expect(column(cols, "garbage").reason).toMatch(/returned "very imageable"; expected a finite number/)
      expect(column(cols, "fails").reason).toBe('failed: NoEmbedding: no vector for this word on sample "a"')
      expect(column(cols, "promise").reason).toMatch(/returned a Promise instead of an Effect/)
    })
  )

  it.live("runs a plugin in the host only when it asks to (in-process)", () =>
    Effect.gen(function* () {
      const loaded = yield* loadMetrics([{ ...F.hanging, isolation: "in-process" as const }])
      const [col] = yield* runMetrics(loaded, inputs, ctx)
      // in the host a plugin that waits is stopped by the timeout (one that spins would not be)
      expect(col!.reason).toBe('timed out after 200 ms on sample "a"')
    })
  )

  it.live("runs child-process plugins in another process; a killed or busy child fails its column", () =>
    Effect.gen(function* () {
      const loaded = yield* loadMetrics([
        F.childGood.with({ offset: 10 }),
        F.childKilled,
        F.childBusy,
        F.good
      ])
      const cols = yield* runMetrics(loaded, inputs, ctx, { concurrency: 4 })
      const child = cols.find((c) => c.name === "child-words")!
      expect(child.status, child.reason).toBe("ok")
      expect(child.samples.map((s) => s.score)).toEqual([13, 11, 14])
      const pid = child.samples[0]!.details?.pid
      expect(typeof pid).toBe("number")
      expect(pid).not.toBe(process.pid)
      expect(child.corpus).toMatchObject({ score: 3 })
      const killed = cols.find((c) => c.name === "child-killed")!
      expect(killed.status).toBe("failed")
      expect(killed.reason).toMatch(
        /^child process was killed \(SIGKILL\) on sample "b"; its last output: about to be killed/
      )
      const busy = cols.find((c) => c.name === "child-busy")!
      expect(busy.reason).toMatch(/^timed out after 1500 ms on sample "a" \(child process killed\)/)
      expect(cols.find((c) => c.name === "chars")!.status).toBe("ok")
    })
  )

  it.live("names a plugin written for another API version, a bad config, and a name clash", () =>
    Effect.gen(function* () {
      const api = yield* Effect.exit(loadMetric(F.future))
      expect(Exit.isFailure(api) && String(api.cause)).toMatch(/future@1\.0\.0: was written for plugin API 3/)
      const bad = yield* Effect.flip(loadMetric(F.good.with({ scale: "x" } as never)))
      expect(bad.message).toMatch(/metric plugin chars@1\.0\.0: bad config: .*scale/)
      const clash = yield* Effect.flip(loadMetrics([F.good, F.good.with({ scale: 3 })]))
      expect(clash.message).toMatch(/has the same name as chars@1\.0\.0#/)
      const notAPlugin = yield* Effect.flip(loadMetric({ name: "x" } as never))
      expect(notAPlugin.message).toMatch(/make it with defineMetric/)
    })
  )

  it.live("gives a plugin an identity from name, version and canonical config", () =>
    Effect.gen(function* () {
      const a = yield* loadMetric(F.good.with({ scale: 2 }))
      const b = yield* loadMetric(F.good.with({ scale: 2 }))
      const c = yield* loadMetric(F.good.with({ scale: 3 }))
      expect(a.id).toMatch(/^chars@1\.0\.0#[0-9a-f]{12}$/)
      expect(a.id).toBe(b.id)
      expect(a.id).not.toBe(c.id)
      expect(metricIds([F.good.with({ scale: 2 }), F.throwing])).toEqual([
        a.id,
        expect.stringMatching(/^throws@1\.0\.0#/)
      ])
      expect(() => metricIds([F.future])).toThrow(/was written for plugin API 3/)
      expect(() => metricIds([F.old])).toThrow(
        /old@1\.0\.0: was written for plugin API 1, but this @hyperwords\/eval speaks API 2; .*@hyperwords\/eval\/Sdk/
      )
    })
  )
})
