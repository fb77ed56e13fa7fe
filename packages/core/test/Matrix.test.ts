import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { expandConfig, type PipelineConfig, resolveParams } from "../src/Config.ts"
import { collectOutputs, forEachOutput } from "../src/Families.ts"
import { baseLabel, basesOf, splitBase, withBase } from "../src/Matrix.ts"
import { runPipeline } from "../src/Runner.ts"
import { defineStage, type InputRef } from "../src/Stage.ts"
import { Store } from "../src/Store.ts"
import { loadedOf, quiet, toyVersion } from "./fixtures/toyPipeline.ts"

// a toy of the default pipeline: models (the axis), generate (reads the model), finetune, a
// per-version evaluation judged by the first base, one board over every evaluation

const version = toyVersion

const field = (id: string, nodes: number) => ({
  schemaVersion: 1,
  model: { id, revision: "r1" },
  nodes,
  edges: 0,
  clouds: [],
  file: "field.json"
})

const models = defineStage({
  id: "models",
  description: "the base",
  codeVersion: "1",
  params: Schema.Struct({ model: Schema.String }),
  inputs: {},
  outputs: { model: "ModelVersion" },
  run: (ctx) => Effect.succeed({ model: { data: version(ctx.params.model, ctx.params.model) } })
})

const generate = defineStage({
  id: "generate",
  description: "mines with the base's tokenizer",
  codeVersion: "1",
  params: Schema.Struct({ seed: Schema.Int }),
  inputs: { model: { stage: "models", output: "model" } },
  outputs: { field: "AssociativeField" },
  run: (ctx) =>
    Effect.sync(() => {
      writeFileSync(join(ctx.outputDir("field"), "field.json"), "{}")
      const name = (ctx.inputs.model!.data as { name: string }).name
      return { field: { data: field(name, 0) } }
    })
})

const finetune = defineStage({
  id: "finetune",
  description: "a tuned version",
  codeVersion: "1",
  params: Schema.Struct({ rank: Schema.Int }),
  inputs: { base: { stage: "models", output: "model" }, set: { stage: "generate", output: "field" } },
  outputs: { model: "ModelVersion" },
  exports: [{ output: "model", file: "card.txt", to: "finetune/card.txt" }],
  run: (ctx) =>
    Effect.sync(() => {
      const base = (ctx.inputs.base!.data as { name: string }).name
      writeFileSync(join(ctx.outputDir("model"), "card.txt"), `${ctx.stage} of ${base}`)
      return { model: { data: version(ctx.stage, `${base}+${ctx.stage}`) } }
    })
})

const evaluate = (ref: InputRef) => {
  const { id, base } = splitBase(ref.stage)
  return defineStage({
    id: withBase(id === "models" ? "evaluate-base" : `evaluate-${id}`, base),
    description: "answers and scores",
    codeVersion: "1",
    params: Schema.Struct({ samples: Schema.Int }),
    inputs: {
      model: ref,
      judge: { stage: "models", output: "model", matrix: "first" },
      set: { stage: "generate", output: "field" }
    },
    outputs: { field: "AssociativeField" },
    run: (ctx) =>
      Effect.sync(() => {
        const judge = (ctx.inputs.judge!.data as { name: string }).name
        const model = (ctx.inputs.model!.data as { model: { id: string } }).model.id
        writeFileSync(join(ctx.outputDir("field"), "field.json"), JSON.stringify({ model, judge }))
        return { field: { data: field(model, 2) } }
      })
  })
}

const board = collectOutputs("AssociativeField", (refs) =>
  defineStage({
    id: "board",
    description: "one board",
    codeVersion: "1",
    params: Schema.Struct({}),
    inputs: Object.fromEntries(
      refs.filter((r) => splitBase(r.stage).id !== "generate").map((r) => [r.stage, r])
    ),
    outputs: { board: "Leaderboard" },
    run: (ctx) =>
      Effect.sync(() => {
        writeFileSync(join(ctx.outputDir("board"), "board.json"), "{}")
        const rows = Object.values(ctx.inputs).map((a) => {
          const d = a.data as { model: { id: string; revision: string } }
          return { model: d.model, name: d.model.id, metrics: {} }
        })
        return {
          board: {
            data: { schemaVersion: 1, rows, html: "board.json", markdown: "board.json", json: "board.json" }
          }
        }
      })
  })
)

const configOf = (model: string | ReadonlyArray<string>, profileModel?: string | ReadonlyArray<string>) =>
  ({
    stages: [models, generate, finetune, forEachOutput("ModelVersion", evaluate), board],
    params: {
      models: { model },
      generate: { seed: 1 },
      finetune: { rank: 8 },
      "finetune@b-model": { rank: 16 },
      "evaluate-*": { samples: 2 }
    },
    ...(profileModel === undefined ? {} : { profiles: { quick: { models: { model: profileModel } } } })
  }) as unknown as PipelineConfig

const roots: Array<string> = []
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true })
})

const run = (dir: string, config: PipelineConfig, profile: "default" | "quick" = "default") =>
  Effect.runPromise(
    Effect.gen(function* () {
      const loaded = yield* loadedOf(dir, config, profile)
      return yield* Effect.scoped(runPipeline(loaded, { profile, corpus: [] }))
    }).pipe(Effect.provide(Layer.mergeAll(Store.layer(join(dir, ".hyperwords")), quiet, NodeServices.layer)))
  )

const project = () => {
  const dir = mkdtempSync(join(tmpdir(), "hw-matrix-"))
  roots.push(dir)
  return dir
}

describe("Matrix: labels and bases", () => {
  it("labels names as they are and folders by their last part; refuses clashes and empty lists", () => {
    expect(baseLabel("gemma-3-270m")).toBe("gemma-3-270m")
    expect(baseLabel("./my-model")).toBe("my-model")
    expect(baseLabel("/abs/models/Qwen 2.5/")).toBe("Qwen-2.5")
    expect(basesOf("gemma-3-270m")).toBeUndefined()
    expect(basesOf(["a", "./x/b"])).toEqual([
      { model: "a", label: "a" },
      { model: "./x/b", label: "b" }
    ])
    expect(() => basesOf([])).toThrow(/empty list/)
    expect(() => basesOf(["./one/m", "./two/m"])).toThrow(/both labelled "m"/)
    expect(splitBase("evaluate-finetune@smollm2-135m")).toEqual({
      id: "evaluate-finetune",
      base: "smollm2-135m"
    })
    expect(splitBase("finetune")).toEqual({ id: "finetune" })
  })
})

describe("Matrix: expansion", () => {
  const ids = (
    model: string | ReadonlyArray<string>,
    profile: "default" | "quick" = "default",
    pm?: string[]
  ) =>
    Effect.runSync(
      expandConfig("pipeline.config.ts", configOf(model, pm), { profile, corpus: [] })
    ).stages.map((s) => s.id)

  it("one model, as a string or a list of one, keeps the plain stage ids", () => {
    const plain = ["models", "generate", "finetune", "evaluate-base", "evaluate-finetune", "board"]
    expect(ids("a-model")).toEqual(plain)
    expect(ids(["a-model"])).toEqual(plain)
  })

  it("several models: every stage after the models stage once per base, one board over all", () => {
    const stages = Effect.runSync(
      expandConfig("pipeline.config.ts", configOf(["a-model", "./dir/b-model"]), {
        profile: "default",
        corpus: []
      })
    ).stages
    expect(stages.map((s) => s.id)).toEqual([
      "models@a-model",
      "models@b-model",
      "generate@a-model",
      "generate@b-model",
      "finetune@a-model",
      "finetune@b-model",
      "evaluate-base@a-model",
      "evaluate-base@b-model",
      "evaluate-finetune@a-model",
      "evaluate-finetune@b-model",
      "board"
    ])
    const byId = new Map(stages.map((s) => [s.id, s]))
    expect(byId.get("finetune@b-model")!.inputs).toEqual({
      base: { stage: "models@b-model", output: "model" },
      set: { stage: "generate@b-model", output: "field" }
    })
    expect(byId.get("finetune@b-model")!.matrix).toEqual({ id: "finetune", base: "b-model" })
    // the evaluation reads its own base's set, and the first base judges every base
    expect(byId.get("evaluate-finetune@b-model")!.inputs.set!.stage).toBe("generate@b-model")
    expect(byId.get("evaluate-finetune@b-model")!.inputs.judge!.stage).toBe("models@a-model")
    expect(Object.keys(byId.get("board")!.inputs)).toHaveLength(4)
  })

  it("the profile's list makes the matrix; params per plain id, then per base", async () => {
    expect(ids("a-model", "quick", ["a-model", "b-model"])).toContain("finetune@b-model")
    expect(ids("a-model", "default", ["a-model", "b-model"])).toContain("finetune")
    const loaded = await Effect.runPromise(loadedOf("/tmp", configOf(["a-model", "b-model"])))
    const params = await Effect.runPromise(resolveParams(loaded, { profile: "default", corpus: [] }))
    expect(params.get("models@b-model")).toEqual({ model: "b-model" })
    expect(params.get("finetune@a-model")).toEqual({ rank: 8 })
    expect(params.get("finetune@b-model")).toEqual({ rank: 16 })
    expect(params.get("evaluate-finetune@b-model")).toEqual({ samples: 2 })
  })

  it("a stage a family makes that names a per-base stage without a base fails, naming a copy", () => {
    const bad = {
      ...configOf(["a-model", "b-model"]),
      stages: [
        models,
        generate,
        collectOutputs("ModelVersion", () =>
          defineStage({ ...finetune, id: "odd", inputs: { base: { stage: "models", output: "model" } } })
        )
      ]
    } as unknown as PipelineConfig
    const r = Effect.runSync(Effect.flip(expandConfig("pipeline.config.ts", bad)))
    expect(r.detail).toMatch(/runs once per base model: name one copy \(e\.g\. "models@a-model"\)/)
  })
})

describe("Matrix: runs", () => {
  it("leaves in the lock only the stages of the config last run", async () => {
    const dir = project()
    const lockStages = () =>
      Object.keys(JSON.parse(readFileSync(join(dir, "pipeline.lock.json"), "utf8")).stages).sort()
    await run(dir, configOf(["a-model", "b-model"]))
    expect(lockStages()).toContain("finetune@b-model")
    // back to one base: `store times` and the lock show this pipeline's stages, not the other base's
    const single = await run(dir, configOf(["a-model"]))
    expect(lockStages()).toEqual(single.map((p) => p.id).sort())
  })

  it("keys a base's stages as the plain pipeline does, runs a new base only, exports per base", async () => {
    const dir = project()
    const single = await run(dir, configOf("a-model"))
    expect(single.every((p) => p.ran)).toBe(true)
    const keyOf = (plans: typeof single, id: string) => plans.find((p) => p.id === id)?.key
    // the same model as a list of one: the same ids and keys, all restored
    const listed = await run(dir, configOf(["a-model"]))
    expect(listed.every((p) => p.status === "HIT")).toBe(true)
    expect(listed.map((p) => p.key)).toEqual(single.map((p) => p.key))

    const both = await run(dir, configOf(["a-model", "b-model"]))
    const status = Object.fromEntries(both.map((p) => [p.id, p.ran ? "ran" : p.status]))
    expect(status).toMatchObject({
      "models@a-model": "HIT",
      "generate@a-model": "HIT",
      "finetune@a-model": "HIT",
      "evaluate-base@a-model": "HIT",
      "evaluate-finetune@a-model": "HIT",
      "models@b-model": "ran",
      "finetune@b-model": "ran",
      "evaluate-finetune@b-model": "ran",
      board: "ran"
    })
    for (const id of ["models", "generate", "finetune", "evaluate-base", "evaluate-finetune"])
      expect(keyOf(both, withBase(id, "a-model"))).toBe(keyOf(single, id))
    expect(readFileSync(join(dir, "reports", "b-model", "finetune", "card.txt"), "utf8")).toBe(
      "finetune of b-model"
    )
    expect(readFileSync(join(dir, "reports", "finetune", "card.txt"), "utf8")).toBe("finetune of a-model")
    const lock = JSON.parse(readFileSync(join(dir, "pipeline.lock.json"), "utf8"))
    expect(lock.stages["finetune@b-model"].contributors.stage).toBe("finetune")
    expect(lock.stages["finetune@b-model"].contributors.params).toEqual({ rank: 16 })

    // reordered bases: the models, sets and tuned versions restored; the first base judges, so
    // the evaluations (a new judge) and the board run again
    const reordered = await run(dir, configOf(["b-model", "a-model"]))
    expect(
      reordered
        .filter((p) => p.ran)
        .map((p) => p.id)
        .sort()
    ).toEqual([
      "board",
      "evaluate-base@a-model",
      "evaluate-base@b-model",
      "evaluate-finetune@a-model",
      "evaluate-finetune@b-model"
    ])
  })
})
