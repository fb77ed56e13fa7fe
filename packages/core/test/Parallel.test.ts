import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import type { PipelineConfig } from "../src/Config.ts"
import { defineStage } from "../src/Stage.ts"
import { runToy, toyVersion } from "./fixtures/toyPipeline.ts"

// a root, three independent versions of it (as a sweep makes), and one board over the three

type Span = { id: string; start: number; end: number }
const spans: Array<Span> = []
const timed = (id: string, ms: number, fail = false) =>
  Effect.gen(function* () {
    const start = Date.now()
    yield* Effect.sleep(ms)
    if (fail) return yield* Effect.fail(new Error(`${id} broke`))
    spans.push({ id, start, end: Date.now() })
  })

const root = defineStage({
  id: "root",
  description: "the base",
  codeVersion: "1",
  params: Schema.Struct({}),
  inputs: {},
  outputs: { model: "ModelVersion" },
  run: () => timed("root", 50).pipe(Effect.as({ model: { data: toyVersion("root") } }))
})
const tuned = (id: string, fail = false) =>
  defineStage({
    id,
    description: "a version",
    codeVersion: "1",
    params: Schema.Struct({ ms: Schema.Int }),
    inputs: { base: { stage: "root", output: "model" } },
    outputs: { model: "ModelVersion" },
    run: (ctx) => timed(id, ctx.params.ms, fail).pipe(Effect.as({ model: { data: toyVersion(id) } }))
  })
const board = defineStage({
  id: "board",
  description: "one board",
  codeVersion: "1",
  params: Schema.Struct({}),
  inputs: {
    a: { stage: "a", output: "model" },
    b: { stage: "b", output: "model" },
    c: { stage: "c", output: "model" }
  },
  outputs: { board: "Leaderboard" },
  run: (ctx) =>
    Effect.gen(function* () {
      yield* timed("board", 10)
      writeFileSync(join(ctx.outputDir("board"), "board.json"), "{}")
      return {
        board: {
          data: { schemaVersion: 1, rows: [], html: "board.json", markdown: "board.json", json: "board.json" }
        }
      }
    })
})

const configOf = (failing?: string) =>
  ({
    stages: [root, tuned("a", failing === "a"), tuned("b"), tuned("c"), board],
    params: { a: { ms: 400 }, b: { ms: 400 }, c: { ms: 400 } }
  }) as unknown as PipelineConfig

const dirs: Array<string> = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const run = (config: PipelineConfig, parallel: number) => {
  const dir = mkdtempSync(join(tmpdir(), "hw-parallel-"))
  dirs.push(dir)
  spans.length = 0
  return runToy(dir, config, { parallel })
}

const span = (id: string) => spans.find((s) => s.id === id)!

describe("stages at once (--parallel)", () => {
  it.live("one at a time by default: each stage starts after the one before it ended", () =>
    Effect.gen(function* () {
      const plans = yield* run(configOf(), 1)
      expect(plans.map((p) => p.id)).toEqual(["root", "a", "b", "c", "board"])
      expect(span("b").start).toBeGreaterThanOrEqual(span("a").end)
      expect(span("c").start).toBeGreaterThanOrEqual(span("b").end)
    })
  )

  it.live("independent versions run side by side, each after its upstream, the board after all", () =>
    Effect.gen(function* () {
      const plans = yield* run(configOf(), 3)
      // the plans keep the config's order whatever the order stages finished in
      expect(plans.map((p) => p.id)).toEqual(["root", "a", "b", "c", "board"])
      expect(plans.every((p) => p.ran === true)).toBe(true)
      for (const id of ["a", "b", "c"]) {
        expect(span(id).start).toBeGreaterThanOrEqual(span("root").end)
        expect(span("board").start).toBeGreaterThanOrEqual(span(id).end)
      }
      // all three overlapped: a stage started before another ended
      const last = Math.max(...["a", "b", "c"].map((id) => span(id).start))
      const first = Math.min(...["a", "b", "c"].map((id) => span(id).end))
      expect(last).toBeLessThan(first)
    })
  )

  it.live("two at a time when asked for two", () =>
    Effect.gen(function* () {
      yield* run(configOf(), 2)
      const order = ["a", "b", "c"].map(span).sort((x, y) => x.start - y.start)
      expect(order[2]!.start).toBeGreaterThanOrEqual(Math.min(order[0]!.end, order[1]!.end))
    })
  )

  it.live("a failing stage stops the run, naming the stage, and nothing downstream runs", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(run(configOf("a"), 3))
      expect(String((error as Error).message)).toContain("a broke")
      expect(spans.some((s) => s.id === "board")).toBe(false)
    })
  )
})
