import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Schema } from "effect"
import { expandConfig, type PipelineConfig, resolveParams } from "../src/Config.ts"
import { collectOutputs, forEachOutput } from "../src/Families.ts"
import { defineStage, type InputRef } from "../src/Stage.ts"
import {
  applyPoint,
  expandSweep,
  MAX_POINTS,
  mergeSweeps,
  parseSweepFlags,
  setPath,
  sweepLabel,
  sweepPoints
} from "../src/Sweep.ts"
import { loadedOf, runToy, toyVersion } from "./fixtures/toyPipeline.ts"

describe("the sweep grid", () => {
  it("gives every point, the last name fastest, and a label per point", () => {
    const points = sweepPoints("finetune", { "lora.rank": [8, 16], seed: [1, 2] })
    expect(points).toEqual([
      { "lora.rank": 8, seed: 1 },
      { "lora.rank": 8, seed: 2 },
      { "lora.rank": 16, seed: 1 },
      { "lora.rank": 16, seed: 2 }
    ])
    expect(points.map(sweepLabel)).toEqual(["rank8-seed1", "rank8-seed2", "rank16-seed1", "rank16-seed2"])
    expect(sweepLabel({ lr: 0.0005, "superwords.criterion": "saving" })).toBe("lr0.0005-criterionsaving")
  })

  it("sets dotted names inside objects without touching the original", () => {
    const raw = { lora: { rank: 8, alpha: 16 }, steps: 60 }
    expect(setPath(raw, "lora.rank", 16)).toEqual({ lora: { rank: 16, alpha: 16 }, steps: 60 })
    expect(setPath(raw, "superwords.k", 500)).toEqual({ ...raw, superwords: { k: 500 } })
    expect(applyPoint(raw, { "lora.rank": 4, seed: 3 })).toEqual({
      lora: { rank: 4, alpha: 16 },
      steps: 60,
      seed: 3
    })
    expect(raw.lora.rank).toBe(8)
  })

  it("refuses an empty axis, a grid too large, an unknown stage and two points with one id", () => {
    expect(() => sweepPoints("f", {})).toThrow(/sweep.f names no param/)
    expect(() => sweepPoints("f", { seed: [] })).toThrow(/sweep.f.seed must be a non-empty list/)
    const many = Array.from({ length: 17 }, (_, i) => i)
    expect(() => sweepPoints("f", { a: many, b: many })).toThrow(new RegExp(`more than ${MAX_POINTS} points`))
    const stage = { id: "finetune", inputs: {}, outputs: {} }
    expect(() => expandSweep([stage], { probe: { seed: [1] } })).toThrow(
      /sweep names stage "probe", which is not among/
    )
    expect(() => expandSweep([stage], { finetune: { seed: ["1", 1] } })).toThrow(
      /two points give the id "finetune-seed1"/
    )
  })
})

// a root, a swept version, an evaluation per version (a family) and one board over them all

const seen: Array<{ stage: string; params: unknown; sweepOf: string | undefined }> = []
const root = defineStage({
  id: "models",
  description: "the base",
  codeVersion: "1",
  params: Schema.Struct({}),
  inputs: {},
  outputs: { model: "ModelVersion" },
  run: () => Effect.succeed({ model: { data: toyVersion("base") } })
})
const finetune = defineStage({
  id: "finetune",
  description: "a tuned version",
  codeVersion: "1",
  params: Schema.Struct({
    steps: Schema.Int,
    seed: Schema.Int,
    lora: Schema.Struct({ rank: Schema.Int, alpha: Schema.Int })
  }),
  inputs: { base: { stage: "models", output: "model" } },
  outputs: { model: "ModelVersion" },
  run: (ctx) =>
    Effect.sync(() => {
      seen.push({ stage: ctx.stage, params: ctx.params, sweepOf: ctx.sweepOf })
      return { model: { data: toyVersion(ctx.stage) } }
    })
})
const evaluate = (ref: InputRef) =>
  defineStage({
    id: `evaluate-${ref.stage}`,
    description: "scores a version",
    codeVersion: "1",
    params: Schema.Struct({}),
    inputs: { model: ref },
    outputs: { field: "AssociativeField" },
    run: (ctx) =>
      Effect.succeed({
        field: {
          data: {
            schemaVersion: 1,
            model: { id: (ctx.inputs.model!.data as { name: string }).name, revision: "r1" },
            nodes: 0,
            edges: 0,
            clouds: [],
            file: "field.json"
          }
        }
      })
  })
const board = collectOutputs("AssociativeField", (refs) =>
  defineStage({
    id: "board",
    description: "the rows",
    codeVersion: "1",
    params: Schema.Struct({}),
    inputs: Object.fromEntries(refs.map((r) => [r.stage, r])),
    outputs: { model: "ModelVersion" },
    run: (ctx) => Effect.succeed({ model: { data: toyVersion(Object.keys(ctx.inputs).sort().join(",")) } })
  })
)
const config = {
  stages: [root, finetune, forEachOutput("ModelVersion", evaluate), board],
  params: {
    finetune: { steps: 60, seed: 1, lora: { rank: 8, alpha: 16 } },
    "finetune-rank16-seed2": { steps: 90 }
  },
  sweep: { finetune: { "lora.rank": [8, 16], seed: [1, 2] } }
} as unknown as PipelineConfig

const dirs: Array<string> = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

describe("a sweep in the pipeline", () => {
  it.live("makes a version per point with its params, each evaluated, all on one board", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "hw-sweep-"))
      dirs.push(dir)
      const loaded = yield* loadedOf(dir, config)
      const ids = loaded.config.stages.map((s) => s.id)
      const copies = [
        "finetune-rank8-seed1",
        "finetune-rank8-seed2",
        "finetune-rank16-seed1",
        "finetune-rank16-seed2"
      ]
      expect(ids).toEqual([
        "models",
        ...copies,
        "evaluate-models",
        ...copies.map((c) => `evaluate-${c}`),
        "board"
      ])
      const params = yield* resolveParams(loaded, { profile: "default", corpus: [] })
      expect(params.get("finetune-rank16-seed1")).toEqual({
        steps: 60,
        seed: 1,
        lora: { rank: 16, alpha: 16 }
      })
      // params given for a copy's own id apply to it alone
      expect(params.get("finetune-rank16-seed2")).toEqual({
        steps: 90,
        seed: 2,
        lora: { rank: 16, alpha: 16 }
      })
      seen.length = 0
      const plans = yield* runToy(dir, config, { parallel: 4 })
      expect(plans.every((p) => p.ran)).toBe(true)
      expect(seen.map((s) => s.stage).sort()).toEqual([...copies].sort())
      // each copy is told which stage it copies (a fine-tune's experiment is the swept version)
      expect(new Set(seen.map((s) => s.sweepOf))).toEqual(new Set(["finetune"]))
      const boardPlan = plans.find((p) => p.id === "board")!
      expect(boardPlan.outputs).toBeDefined()
      // each point keys apart: the four copies have four keys
      expect(new Set(plans.filter((p) => p.id.startsWith("finetune-")).map((p) => p.key)).size).toBe(4)
    })
  )

  it.live("a sweep of a stage the config does not declare is an error naming the file", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        expandConfig("/p/pipeline.config.ts", {
          ...config,
          sweep: { evaluate: { seed: [1] } }
        } as PipelineConfig)
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect(String(exit)).toContain("/p/pipeline.config.ts")
      expect(String(exit)).toContain('sweep names stage "evaluate"')
    })
  )
})

describe("--sweep on the command line", () => {
  it("parses STAGE.PARAM=V1,V2 flags into grids, values as JSON where they parse", () => {
    expect(
      parseSweepFlags(["finetune.seed=1,2", "finetune.lora.rank=8, 16", "control.device=cpu,auto"])
    ).toEqual({
      finetune: { seed: [1, 2], "lora.rank": [8, 16] },
      control: { device: ["cpu", "auto"] }
    })
    expect(parseSweepFlags([])).toEqual({})
  })

  it("refuses a malformed flag or one param given twice, naming the flag", () => {
    for (const bad of ["finetune=1,2", "finetune.seed", "finetune.seed=", "finetune.seed=1,,2", ".seed=1"])
      expect(() => parseSweepFlags([bad])).toThrow(JSON.stringify(bad))
    expect(() => parseSweepFlags(["finetune.seed=1", "finetune.seed=2"])).toThrow("finetune.seed twice")
  })

  it("sets the flags' grids over the config's, param by param", () => {
    const config = { finetune: { seed: [1, 2], "lora.rank": [8] } }
    expect(mergeSweeps(config, undefined)).toBe(config)
    expect(mergeSweeps(config, { finetune: { seed: [3] }, control: { seed: [1] } })).toEqual({
      finetune: { seed: [3], "lora.rank": [8] },
      control: { seed: [1] }
    })
    expect(mergeSweeps(undefined, { finetune: { seed: [3] } })).toEqual({ finetune: { seed: [3] } })
  })

  it.live("expands a config that has no sweep of its own", () =>
    Effect.gen(function* () {
      const { sweep: _, ...plain } = config as unknown as Record<string, unknown>
      const expanded = yield* expandConfig("/p/pipeline.config.ts", plain as unknown as PipelineConfig, {
        profile: "default",
        corpus: [],
        sweep: parseSweepFlags(["finetune.seed=3,4"])
      })
      expect(expanded.stages.map((s) => s.id).filter((id) => id.startsWith("finetune"))).toEqual([
        "finetune-seed3",
        "finetune-seed4"
      ])
    })
  )
})
