/**
 * A project moved to another folder, its store with it, keeps its hits: the `models` stage (a
 * registered model, whose folder is in the store) and a fine-tune (its tuned folder in the store)
 * are restored, not rerun, and a stage that runs after the move loads both versions from their new
 * place. The store is built by the test: the real `models` stage on a model folder laid out in the
 * store (no pull, no bridge run), and a fine-tune's run written under the key the runner computes
 * for it (no training). The pipeline runs through the real `hyperwords` bin.
 */
import { spawn } from "node:child_process"
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { loadConfig } from "@hyperwords/core/Config"
import { Progress } from "@hyperwords/core/Progress"
import { runPipeline } from "@hyperwords/core/Runner"
import { Store } from "@hyperwords/core/Store"
import { Effect, Layer } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { requiredFiles, tunedFiles } from "../src/ModelDir.ts"

const packageDir = resolve(import.meta.dirname, "..")
const coreDir = resolve(packageDir, "..", "core")
const binPath = join(coreDir, "bin", "hyperwords.ts")
const root = join(packageDir, "test", ".tmp")

/** The bin's environment: the store is the project's own (`.hyperwords` beside the config). */
const env = (): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = { ...process.env, CI: "1" }
  delete e.HYPERWORDS_STORE
  delete e.HYPERWORDS_HOME
  return e
}

const runCli = (dir: string, args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; output: string }>((res) => {
    const child = spawn(process.execPath, [binPath, ...args], { cwd: dir, env: env() })
    let output = ""
    child.stdout.on("data", (d) => (output += d))
    child.stderr.on("data", (d) => (output += d))
    child.on("close", (code) => res({ code, output }))
  })

const config = `
import { existsSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect, Schema } from "effect"
import { defineConfig, defineStage } from ${JSON.stringify(join(coreDir, "src", "index.ts"))}
import { readModelVersion } from ${JSON.stringify(join(coreDir, "src", "Stage.ts"))}
import { modelsStage } from ${JSON.stringify(join(packageDir, "src", "ModelsStage.ts"))}
import { finetuneStage } from ${JSON.stringify(join(packageDir, "src", "FinetuneStage.ts"))}

const generate = defineStage({
  id: "generate", description: "a fixture set", codeVersion: "1", params: Schema.Struct({}), inputs: {},
  outputs: { hyperwords: "HyperwordSet", poetry: "PoetrySplit" },
  run: (ctx) => Effect.sync(() => {
    const poetry = ctx.outputDir("poetry")
    writeFileSync(join(poetry, "train.jsonl"), "")
    writeFileSync(join(poetry, "heldout.jsonl"), JSON.stringify({ doc: "h", lang: "en", lines: [{ line: 1, text: "the grey sea" }] }) + "\\n")
    const row = { id: "en:moonlight", surface: "moonlight", lang: "en", parts: ["moon", "light"], lemmas: ["moon", "light"], origin: "mined" }
    writeFileSync(join(ctx.outputDir("hyperwords"), "poem_hyperwords.jsonl"), JSON.stringify(row) + "\\n")
    return { hyperwords: { data: { schemaVersion: 1, file: "poem_hyperwords.jsonl", count: 1, byLang: { en: 1 }, byOrigin: { mined: 1 }, sources: [] } },
      poetry: { data: { schemaVersion: 1, train: "train.jsonl", heldout: "heldout.jsonl", fraction: 0.1, seed: 1,
        counts: { docs: 1, groups: 1, trainDocs: 0, heldoutDocs: 1, trainLines: 0, heldoutLines: 1, duplicateLines: 0,
          droppedHeldoutLines: 0, pinnedDocs: 0 }, byLang: { en: { trainDocs: 0, heldoutDocs: 1 } } } } }
  })
})

// a stage after the versions: where the runner says their folders are, and whether they are there
const where = defineStage({
  id: "where", description: "the versions' folders", codeVersion: "1", params: Schema.Struct({}),
  inputs: { base: { stage: "models", output: "model" }, tuned: { stage: "finetune", output: "model" } },
  outputs: { model: "ModelVersion" },
  run: (ctx) => Effect.gen(function* () {
    const base = yield* readModelVersion(ctx.inputs.base, "base")
    const tuned = yield* readModelVersion(ctx.inputs.tuned, "tuned")
    const seen = { base: base.dir, tuned: tuned.dir, there: [base.dir, tuned.dir].map((d) => existsSync(join(d, "config.json"))) }
    writeFileSync(join(ctx.projectDir, "where.json"), JSON.stringify(seen))
    return { model: { data: { ...tuned, name: "where" } } }
  })
})

export default defineConfig({
  store: ".hyperwords",
  stages: [modelsStage, generate, finetuneStage(), where],
  params: { models: { model: "smollm2-135m" }, finetune: { steps: 1 } }
})
`

/** A registered model's folder in the store, laid out as a pull leaves it (placeholder weights). */
const layOutModel = (dir: string, files: ReadonlyArray<string>, name: string) => {
  for (const f of files) {
    mkdirSync(join(dir, f, ".."), { recursive: true })
    writeFileSync(join(dir, f), `${name} ${f}\n`)
  }
  writeFileSync(join(dir, "config.json"), JSON.stringify({ model_type: "llama" }))
  writeFileSync(
    join(dir, "hyperwords-model.json"),
    JSON.stringify({ name, safetensors_sha256: "5".repeat(64), files: {} })
  )
  // a pull's last step, written after the graphs (`hyperwords_bridge.base_graphs`)
  writeFileSync(join(dir, "onnx", "references.json"), "{}\n")
}

/** Write the fine-tune's run into the project's store under the key the runner computes for it now. */
const writeFinetuneRun = (project: string) =>
  Effect.gen(function* () {
    const loaded = yield* loadConfig(join(project, "pipeline.config.ts"))
    const plan = yield* Effect.scoped(runPipeline(loaded, { profile: "default", corpus: [], dry: true }))
    const ft = plan.find((p) => p.id === "finetune")!
    if (ft.status !== "MISS" || ft.key === undefined) throw new Error(`finetune is ${ft.status}, not a MISS`)
    const key = ft.key
    const store = yield* Store
    const dir = join(store.root, "models", `finetune-${key.slice(0, 12)}`)
    layOutModel(dir, tunedFiles, "tiny+finetune")
    const inputs = plan.find((p) => p.id === "models")!.outputs!
    const runId = "built-by-the-test"
    const at = new Date().toISOString()
    const manifest = yield* store.writeArtifact({
      kind: "ModelVersion",
      data: {
        schemaVersion: 1,
        name: "finetune",
        model: { id: "smollm2-135m+finetune", revision: "6".repeat(64) },
        architecture: "llama",
        base: { id: "smollm2-135m", revision: "5".repeat(64) },
        source: { kind: "finetune", detail: "built by the test" },
        dir,
        files: {}
      },
      files: [],
      lineage: { stage: "finetune", key, codeVersion: "4", inputs, params: {}, runId, createdAt: at }
    })
    yield* store.writeRun({
      recordVersion: 1,
      stage: "finetune",
      key,
      contributors: {},
      outputs: { model: manifest.hash },
      runId,
      startedAt: at,
      finishedAt: at,
      durationMs: 1
    })
    return { key, dir }
  }).pipe(
    Effect.provide(
      Layer.mergeAll(Store.layer(join(project, ".hyperwords")), Progress.silent, NodeServices.layer)
    ),
    Effect.runPromise
  )

/** Each stage's status in a `--dry --explain` plan. */
const statuses = (output: string): Record<string, string> =>
  Object.fromEntries(
    [...output.matchAll(/^(models|generate|finetune|where)\s+(HIT|MISS|SKIPPED|RAN)\b/gm)].map((m) => [
      m[1]!,
      m[2]!
    ])
  )

describe("a moved project", () => {
  const made: Array<string> = []
  afterAll(() => {
    for (const d of made) rmSync(d, { recursive: true, force: true })
  })

  it("restores its models and fine-tune stages from the store, and loads their folders from the new place", async () => {
    mkdirSync(root, { recursive: true })
    const top = mkdtempSync(join(root, "moved-"))
    made.push(top)
    const before = join(top, "before")
    const after = join(top, "after")
    mkdirSync(before)
    writeFileSync(join(before, "pipeline.config.ts"), config)
    layOutModel(join(before, ".hyperwords", "models", "smollm2-135m"), requiredFiles, "smollm2-135m")

    const first = await runCli(before, ["pipeline", "--only", "models,generate"])
    expect(first.code, first.output).toBe(0)
    expect(statuses(first.output)).toMatchObject({ models: "RAN", generate: "RAN" })
    const tuned = await writeFinetuneRun(before)
    const here = await runCli(before, ["pipeline", "--dry", "--explain"])
    expect(here.code, here.output).toBe(0)
    expect(statuses(here.output)).toMatchObject({ models: "HIT", generate: "HIT", finetune: "HIT" })

    // the move: the folder, its store and its lock file go; nothing is left where it was
    cpSync(before, after, { recursive: true })
    rmSync(before, { recursive: true, force: true })
    const plan = await runCli(after, ["pipeline", "--dry", "--explain"])
    expect(plan.code, plan.output).toBe(0)
    expect(statuses(plan.output)).toMatchObject({ models: "HIT", generate: "HIT", finetune: "HIT" })

    // a stage that runs now is handed both versions in their new place
    const run = await runCli(after, ["pipeline", "--only", "where"])
    expect(run.code, run.output).toBe(0)
    expect(statuses(run.output)).toMatchObject({ where: "RAN" })
    expect(run.output).not.toMatch(/^(models|finetune)\s+RAN/m)
    expect(JSON.parse(readFileSync(join(after, "where.json"), "utf8"))).toEqual({
      base: join(after, ".hyperwords", "models", "smollm2-135m"),
      tuned: join(after, ".hyperwords", "models", `finetune-${tuned.key.slice(0, 12)}`),
      there: [true, true]
    })
    expect(existsSync(tuned.dir)).toBe(false)
  }, 120_000)
})
