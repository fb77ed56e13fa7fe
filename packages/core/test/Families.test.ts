import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import {
  type ExpandedConfig,
  expandConfig,
  type LoadedConfig,
  type PipelineConfig,
  paramsFor,
  resolveParams,
  topoOrder
} from "../src/Config.ts"
import { collectOutputs, forEachOutput, isStageFamily, makeFamily } from "../src/Families.ts"
import * as Core from "../src/index.ts"
import { makeProgress, Progress } from "../src/Progress.ts"
import { runPipeline } from "../src/Runner.ts"
import { defineStage, type InputRef, type Stage } from "../src/Stage.ts"
import { Store } from "../src/Store.ts"
import { makeProject, removeProjects, runCli } from "./fixtures/project.ts"

// toy stages: model versions, one measurement per version, one board over the measurements

const modelStage = (id: string) =>
  defineStage({
    id,
    description: `the model version ${id}`,
    codeVersion: "1",
    params: Schema.Struct({}),
    inputs: {},
    outputs: { model: "ModelVersion" },
    run: () =>
      Effect.succeed({
        model: {
          data: {
            schemaVersion: 1,
            name: id,
            model: { id, revision: "r1" },
            architecture: "toy",
            source: { kind: "local", detail: "in memory" },
            files: {}
          }
        }
      })
  })

const measureStage = (id: string, model: InputRef, extra: Record<string, InputRef> = {}) =>
  defineStage({
    id,
    description: `measures ${model.stage}`,
    codeVersion: "1",
    params: Schema.Struct({ samples: Schema.Int }),
    inputs: { model, ...extra },
    outputs: { field: "AssociativeField" },
    run: (ctx) =>
      Effect.sync(() => {
        const name = (ctx.inputs.model!.data as { name: string }).name
        writeFileSync(join(ctx.outputDir("field"), "field.json"), JSON.stringify({ name }))
        return {
          field: {
            data: {
              schemaVersion: 1,
              model: { id: name, revision: "r1" },
              nodes: ctx.params.samples,
              edges: 0,
              clouds: [],
              file: "field.json"
            }
          }
        }
      })
  })

const boardStage = (refs: ReadonlyArray<InputRef>) =>
  defineStage({
    id: "board",
    description: "a row per measurement",
    codeVersion: "1",
    params: Schema.Struct({}),
    inputs: Object.fromEntries(refs.map((r) => [r.stage, r])),
    outputs: { board: "HyperwordSet" },
    run: (ctx) =>
      Effect.sync(() => {
        const rows = Object.keys(ctx.inputs).sort()
        writeFileSync(
          join(ctx.outputDir("board"), "board.jsonl"),
          rows.map((r) => JSON.stringify(r)).join("\n")
        )
        return {
          board: {
            data: {
              schemaVersion: 1,
              file: "board.jsonl",
              count: rows.length,
              byLang: {},
              byOrigin: {},
              sources: []
            }
          }
        }
      })
  })

const measureId = (ref: InputRef) => (ref.stage === "models" ? "measure-base" : `measure-${ref.stage}`)
const measureEach = forEachOutput("ModelVersion", (ref) => measureStage(measureId(ref), ref))
const board = collectOutputs("AssociativeField", (refs) => boardStage(refs))

const file = "/project/pipeline.config.ts"
const expand = (config: PipelineConfig) => Effect.runPromise(expandConfig(file, config))
const expandError = async (config: PipelineConfig) =>
  (await Effect.runPromise(Effect.flip(expandConfig(file, config)))).message
const ids = (config: ExpandedConfig) => config.stages.map((s) => s.id)

describe("stage families", () => {
  it("expand in order, each seeing the stages before it, expanded", async () => {
    const config = await expand({
      stages: [modelStage("models"), modelStage("finetune"), modelStage("control"), measureEach, board]
    })
    expect(ids(config)).toEqual([
      "models",
      "finetune",
      "control",
      "measure-base",
      "measure-finetune",
      "measure-control",
      "board"
    ])
    expect(config.stages[4]!.inputs).toEqual({ model: { stage: "finetune", output: "model" } })
    expect(config.stages[6]!.inputs).toEqual({
      "measure-base": { stage: "measure-base", output: "field" },
      "measure-finetune": { stage: "measure-finetune", output: "field" },
      "measure-control": { stage: "measure-control", output: "field" }
    })
  })

  it("declaring one more producer gives one more expanded stage, and the collector sees it", async () => {
    const before = await expand({
      stages: [modelStage("models"), modelStage("finetune"), measureEach, board]
    })
    const after = await expand({
      stages: [modelStage("models"), modelStage("finetune"), modelStage("finetune-r16"), measureEach, board]
    })
    expect(ids(after).filter((id) => !ids(before).includes(id))).toEqual([
      "finetune-r16",
      "measure-finetune-r16"
    ])
    expect(Object.keys(after.stages.at(-1)!.inputs)).toEqual([
      "measure-base",
      "measure-finetune",
      "measure-finetune-r16"
    ])
  })

  it("a family sees only the stages before it", async () => {
    const config = await expand({ stages: [modelStage("models"), measureEach, modelStage("late"), board] })
    expect(ids(config)).toEqual(["models", "measure-base", "late", "board"])
  })

  it("skips outputs `make` returns undefined for, or the `where` predicate rejects", async () => {
    const tunedOnly = forEachOutput("ModelVersion", (ref) =>
      ref.stage === "models" ? undefined : measureStage(measureId(ref), ref)
    )
    const viaWhere = forEachOutput("ModelVersion", (ref) => measureStage(`w-${ref.stage}`, ref), {
      where: (producer) => producer.id !== "models"
    })
    const config = await expand({
      stages: [modelStage("models"), modelStage("finetune"), modelStage("placebo"), tunedOnly, viaWhere]
    })
    expect(ids(config).slice(3)).toEqual(["measure-finetune", "measure-placebo", "w-finetune", "w-placebo"])
  })

  it("gives `make` the producer, and one ref per output of the kind", async () => {
    const two = defineStage({ ...modelStage("two"), outputs: { a: "ModelVersion", b: "ModelVersion" } })
    const seen: Array<string> = []
    const family = forEachOutput("ModelVersion", (ref, producer) => {
      seen.push(`${producer.id}:${ref.output}`)
      return undefined
    })
    await expand({ stages: [modelStage("models"), two, family] })
    expect(seen).toEqual(["models:model", "two:a", "two:b"])
  })

  it("a kind no stage produces: forEach makes nothing, collect still makes its stage with no refs", async () => {
    let got: ReadonlyArray<InputRef> | undefined
    const config = await expand({
      stages: [
        modelStage("models"),
        forEachOutput("EvalRun", (ref) => measureStage(`x-${ref.stage}`, ref)),
        collectOutputs("EvalRun", (refs) => {
          got = refs
          return boardStage(refs)
        })
      ]
    })
    expect(ids(config)).toEqual(["models", "board"])
    expect(got).toEqual([])
  })

  it("two stages with one id fail naming the family", async () => {
    const msg = await expandError({
      stages: [
        modelStage("models"),
        modelStage("finetune"),
        measureStage("measure-finetune", { stage: "models", output: "model" }),
        measureEach
      ]
    })
    expect(msg).toBe(
      `${file}: two stages are named "measure-finetune" (stages[2] and forEachOutput("ModelVersion") at stages[3])`
    )
    const same = forEachOutput("ModelVersion", (ref) => measureStage("measure", ref), {
      name: "measure every version"
    })
    expect(await expandError({ stages: [modelStage("models"), modelStage("finetune"), same] })).toContain(
      'two stages are named "measure" (measure every version at stages[2] and measure every version at stages[2])'
    )
    expect(await expandError({ stages: [modelStage("a"), modelStage("a")] })).toContain(
      'two stages are named "a" (stages[0] and stages[1])'
    )
  })

  it("a family that throws, makes a non-stage, or makes a stage with a bad input fails naming it", async () => {
    const throws = makeFamily("broken family", () => {
      throw new Error("no metrics")
    })
    expect(await expandError({ stages: [modelStage("models"), throws] })).toBe(
      `${file}: broken family at stages[1] failed: no metrics`
    )
    const notStage = forEachOutput("ModelVersion", () => ({}) as Stage)
    expect(await expandError({ stages: [modelStage("models"), notStage] })).toContain(
      'forEachOutput("ModelVersion") at stages[1] made something that is not a stage'
    )
    const badInput = forEachOutput("ModelVersion", (ref) =>
      measureStage(measureId(ref), ref, { words: { stage: "nowhere", output: "set" } })
    )
    expect(await expandError({ stages: [modelStage("models"), badInput] })).toContain(
      'stage "measure-base" (made by forEachOutput("ModelVersion") at stages[1]) input "words" names unknown stage "nowhere"'
    )
    expect(await expandError({ stages: [modelStage("models"), 3 as never] })).toContain(
      "stages[1] is not a stage (no id)"
    )
  })

  it("topological order puts an expanded stage after what it reads, even if declared later", async () => {
    const words = defineStage({ ...modelStage("words"), outputs: { set: "HyperwordSet" } })
    const family = forEachOutput("ModelVersion", (ref) =>
      measureStage(measureId(ref), ref, { words: { stage: "words", output: "set" } })
    )
    const config = await expand({ stages: [modelStage("models"), family, words, board] })
    expect(ids(config)).toEqual(["models", "measure-base", "words", "board"])
    const order = await Effect.runPromise(topoOrder(config.stages))
    expect(order.map((s) => s.id)).toEqual(["models", "words", "measure-base", "board"])
  })

  it("are exported from the package index and recognised as families", () => {
    expect(Core.forEachOutput).toBe(forEachOutput)
    expect(Core.Families.collectOutputs).toBe(collectOutputs)
    expect(isStageFamily(board)).toBe(true)
    expect(isStageFamily(modelStage("models"))).toBe(false)
  })
})

describe("params with a wildcard", () => {
  it("a key ending in * applies by prefix before the exact id; a later layer wins", () => {
    const base = {
      "*": { shared: true },
      "measure-*": { samples: 3, temperature: 0.7 },
      "measure-fine*": { samples: 4 },
      "measure-base": { samples: 5 }
    }
    const quick = { "measure-*": { samples: 1 } }
    expect(paramsFor("measure-base", [base])).toEqual({ shared: true, samples: 5, temperature: 0.7 })
    expect(paramsFor("measure-finetune", [base])).toEqual({ shared: true, samples: 4, temperature: 0.7 })
    expect(paramsFor("measure-control", [base])).toEqual({ shared: true, samples: 3, temperature: 0.7 })
    expect(paramsFor("models", [base])).toEqual({ shared: true })
    expect(paramsFor("measure-base", [base, quick])).toEqual({ shared: true, samples: 1, temperature: 0.7 })
    expect(paramsFor("measure", [base, undefined])).toEqual({ shared: true })
  })

  it("resolveParams decodes expanded stages' params by id, wildcards included", async () => {
    const config = await expand({
      stages: [modelStage("models"), modelStage("finetune"), measureEach, board],
      params: { "measure-*": { samples: 3 }, "measure-base": { samples: 5 } },
      profiles: { quick: { "measure-*": { samples: 1 } } }
    })
    const loaded: LoadedConfig = { file, projectDir: "/project", storeDir: "/s", reportsDir: "/r", config }
    const resolved = (profile: "quick" | "default") =>
      Effect.runPromise(resolveParams(loaded, { profile, corpus: [] }))
    const def = await resolved("default")
    expect(def.get("measure-base")).toEqual({ samples: 5 })
    expect(def.get("measure-finetune")).toEqual({ samples: 3 })
    const quick = await resolved("quick")
    expect(quick.get("measure-base")).toEqual({ samples: 1 })
    expect(quick.get("measure-finetune")).toEqual({ samples: 1 })

    const missing: LoadedConfig = { ...loaded, config: { ...config, params: {} } }
    const err = await Effect.runPromise(
      Effect.flip(resolveParams(missing, { profile: "default", corpus: [] }))
    )
    expect(err.message).toMatch(/field params\.measure-base\.samples \(profile default\)/)

    // a params function that throws (a corpus not pulled yet) is an error naming the config and the reason
    const throwing: LoadedConfig = {
      ...loaded,
      config: {
        ...config,
        params: () => {
          throw new Error("the Shakespeare corpus is not pulled; run `pnpm hyperwords corpora pull`")
        }
      }
    }
    const thrown = await Effect.runPromise(
      Effect.flip(resolveParams(throwing, { profile: "default", corpus: [] }))
    )
    expect(thrown.message).toMatch(/params \(profile default\).*corpora pull/)
  })
})

describe("running an expanded pipeline", () => {
  const roots: Array<string> = []
  afterAll(() => {
    for (const r of roots) rmSync(r, { recursive: true, force: true })
    removeProjects()
  })

  const quiet = Layer.succeed(Progress, makeProgress({ isTTY: false, columns: 80, write: () => {} }))

  const project = () => {
    const dir = mkdtempSync(join(tmpdir(), "hw-families-"))
    roots.push(dir)
    return dir
  }

  const run = (dir: string, config: PipelineConfig, options: { only?: Array<string>; dry?: boolean } = {}) =>
    Effect.runPromise(
      Effect.gen(function* () {
        const loaded: LoadedConfig = {
          file: join(dir, "pipeline.config.ts"),
          projectDir: dir,
          storeDir: join(dir, ".hyperwords"),
          reportsDir: join(dir, "reports"),
          config: yield* expandConfig(join(dir, "pipeline.config.ts"), config)
        }
        return yield* Effect.scoped(runPipeline(loaded, { profile: "default", corpus: [], ...options }))
      }).pipe(
        Effect.provide(Layer.mergeAll(Store.layer(join(dir, ".hyperwords")), quiet, NodeServices.layer))
      )
    )

  const configWith = (models: ReadonlyArray<string>): PipelineConfig => ({
    stages: [...models.map(modelStage), measureEach, board],
    params: { "measure-*": { samples: 2 } }
  })

  it("runs the expanded stages, records them in the lock, restores them, and runs only what a new version adds", async () => {
    const dir = project()
    const first = await run(dir, configWith(["models", "finetune"]))
    expect(first.map((p) => [p.id, p.status, p.ran])).toEqual([
      ["models", "MISS", true],
      ["finetune", "MISS", true],
      ["measure-base", "MISS", true],
      ["measure-finetune", "MISS", true],
      ["board", "MISS", true]
    ])
    const lock = JSON.parse(readFileSync(join(dir, "pipeline.lock.json"), "utf8"))
    expect(Object.keys(lock.stages).sort()).toEqual([
      "board",
      "finetune",
      "measure-base",
      "measure-finetune",
      "models"
    ])
    expect(lock.stages["measure-base"].contributors.params).toEqual({ samples: 2 })

    const again = await run(dir, configWith(["models", "finetune"]))
    expect(again.every((p) => p.status === "HIT")).toBe(true)

    const dry = await run(dir, configWith(["models", "finetune", "placebo"]), { dry: true })
    expect(dry.map((p) => [p.id, p.status])).toEqual([
      ["models", "HIT"],
      ["finetune", "HIT"],
      ["placebo", "MISS"],
      ["measure-base", "HIT"],
      ["measure-finetune", "HIT"],
      ["measure-placebo", "MISS"],
      ["board", "MISS"]
    ])
    const more = await run(dir, configWith(["models", "finetune", "placebo"]))
    expect(more.filter((p) => p.ran).map((p) => p.id)).toEqual(["placebo", "measure-placebo", "board"])

    const only = await run(dir, configWith(["models", "finetune", "placebo", "control"]), {
      only: ["control", "measure-control"]
    })
    expect(only.filter((p) => p.ran).map((p) => p.id)).toEqual(["control", "measure-control"])
    expect(only.find((p) => p.id === "board")?.status).toBe("SKIPPED")
  })

  it("`hyperwords pipeline --dry --explain` shows the expanded stages of a config importing @hyperwords/core/Families", async () => {
    const dir = makeProject()
    const core = join(import.meta.dirname, "..", "src", "index.ts")
    writeFileSync(
      join(dir, "pipeline.config.ts"),
      `
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect, Schema } from "effect"
import { defineConfig, defineStage } from ${JSON.stringify(core)}
import { collectOutputs, forEachOutput } from "@hyperwords/core/Families"

const model = (id) => defineStage({
  id, description: "a version", codeVersion: "1", params: Schema.Struct({}), inputs: {},
  outputs: { model: "ModelVersion" },
  run: () => Effect.succeed({ model: { data: { schemaVersion: 1, name: id, model: { id, revision: "r" }, architecture: "toy", source: { kind: "local", detail: "toy" }, files: {} } } })
})
const measure = (ref) => defineStage({
  id: ref.stage === "models" ? "measure-base" : "measure-" + ref.stage, description: "measures", codeVersion: "1",
  params: Schema.Struct({ samples: Schema.Int }), inputs: { model: ref }, outputs: { field: "AssociativeField" },
  run: (ctx) => Effect.sync(() => {
    writeFileSync(join(ctx.outputDir("field"), "f.json"), "{}")
    return { field: { data: { schemaVersion: 1, model: { id: ctx.inputs.model.data.name, revision: "r" }, nodes: ctx.params.samples, edges: 0, clouds: [], file: "f.json" } } }
  })
})
const board = (refs) => defineStage({
  id: "board", description: "rows", codeVersion: "1", params: Schema.Struct({}),
  inputs: Object.fromEntries(refs.map((r) => [r.stage, r])), outputs: { rows: "HyperwordSet" },
  run: (ctx) => Effect.sync(() => {
    writeFileSync(join(ctx.outputDir("rows"), "rows.jsonl"), Object.keys(ctx.inputs).join("\\n"))
    return { rows: { data: { schemaVersion: 1, file: "rows.jsonl", count: Object.keys(ctx.inputs).length, byLang: {}, byOrigin: {}, sources: [] } } }
  })
})

export default defineConfig({
  stages: [model("models"), model("finetune"), forEachOutput("ModelVersion", measure), collectOutputs("AssociativeField", board)],
  params: { "measure-*": { samples: 2 } }
})
`
    )
    const plan = await runCli(dir, ["pipeline", "--dry", "--explain"])
    expect(plan.code, plan.stderr).toBe(0)
    expect(plan.stdout).toContain("measure-finetune\n    reads  finetune.model\n")
    expect(plan.stdout).toContain(
      "board\n    reads  measure-base.field as measure-base, measure-finetune.field as measure-finetune"
    )
    expect(plan.stdout).toMatch(/measure-base\s+MISS/)
    expect(plan.stdout).toMatch(/board\s+MISS/)
    const ran = await runCli(dir, ["pipeline"])
    expect(ran.code, ran.stderr).toBe(0)
    expect(ran.stdout).toMatch(/board\s+RAN/)
    expect(existsSync(join(dir, "pipeline.lock.json"))).toBe(true)
  })
})
