/**
 * A failed column is not a cached success: the evaluate stage, run by the real runner over a real
 * store, does not restore a run whose columns failed; the next run scores only those columns
 * again (the others come from the failed run's stored scores), and the run after it is a hit.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { EvalRun } from "@hyperwords/core/Artifacts"
import { expandConfig, type LoadedConfig, type PipelineConfig } from "@hyperwords/core/Config"
import { makeProgress, Progress } from "@hyperwords/core/Progress"
import { runPipeline, type StagePlan } from "@hyperwords/core/Runner"
import { defineStage } from "@hyperwords/core/Stage"
import { makeStore, Store } from "@hyperwords/core/Store"
import { Effect, Layer, Schema } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { evaluateStage } from "../src/EvaluateStage.ts"
import { counted, flaky } from "./fixtures/retry.ts"

const tmp = join(import.meta.dirname, ".tmp")
const made: Array<string> = []
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true })
})

const promptSet = {
  id: "retry",
  version: "1",
  prompts: [
    {
      id: "en-a",
      lang: "en",
      task: "describe-image",
      request: "warm soft",
      prompt: "Sensations: warm, soft.\n"
    },
    { id: "en-b", lang: "en", task: "ten-words", prompt: "Ten nouns:\n1." }
  ]
}

/** A model version that is never loaded: every answer is already in the stage's work folder. */
const modelsStage = (dir: string) =>
  defineStage({
    id: "models",
    description: "a model version",
    codeVersion: "1",
    params: Schema.Struct({}),
    inputs: {},
    outputs: { model: "ModelVersion" },
    run: () =>
      Effect.succeed({
        model: {
          data: {
            schemaVersion: 1,
            name: "toy",
            model: { id: "toy", revision: "r1" },
            architecture: "llama",
            source: { kind: "local", detail: dir },
            dir,
            files: {}
          }
        }
      })
  })

const generateStage = defineStage({
  id: "generate",
  description: "a hyperword set",
  codeVersion: "1",
  params: Schema.Struct({}),
  inputs: {},
  outputs: { hyperwords: "HyperwordSet" },
  run: (ctx) =>
    Effect.sync(() => {
      writeFileSync(join(ctx.outputDir("hyperwords"), "poem_hyperwords.jsonl"), '{"surface":"warmsoft"}\n')
      return {
        hyperwords: {
          data: {
            schemaVersion: 1,
            file: "poem_hyperwords.jsonl",
            count: 1,
            byLang: { en: 1 },
            byOrigin: { mined: 1 },
            sources: []
          }
        }
      }
    })
})

/** What the runs printed, line by line. */
const printed: Array<string> = []
const quiet = Layer.succeed(
  Progress,
  makeProgress({ isTTY: false, columns: 80, write: (s: string) => void printed.push(...s.split("\n")) })
)

describe("the evaluate stage and failed columns", () => {
  it("retries only the failed columns on the next run, keeps the others, and is a hit once all are ok", async () => {
    mkdirSync(tmp, { recursive: true })
    const dir = mkdtempSync(join(tmp, "retry-"))
    made.push(dir)
    writeFileSync(join(dir, "set.json"), JSON.stringify(promptSet))
    const log = join(dir, "counted.log")
    const armed = join(dir, "armed")
    writeFileSync(armed, "")
    const config: PipelineConfig = {
      stages: [
        modelsStage(join(dir, "model")),
        generateStage,
        evaluateStage({
          id: "evaluate",
          model: { stage: "models", output: "model" },
          judge: { stage: "models", output: "model" },
          poetry: null,
          metrics: [counted.with({ log }), flaky.with({ armed })]
        })
      ],
      params: { evaluate: { promptSet: "set.json", samples: 2 } }
    }
    const storeDir = join(dir, ".hyperwords")
    const run = (options: { only?: Array<string>; dry?: boolean } = {}) =>
      Effect.runPromise(
        Effect.gen(function* () {
          const loaded: LoadedConfig = {
            file: join(dir, "pipeline.config.ts"),
            projectDir: dir,
            storeDir,
            reportsDir: join(dir, "reports"),
            config: yield* expandConfig(join(dir, "pipeline.config.ts"), config)
          }
          return yield* Effect.scoped(runPipeline(loaded, { profile: "default", corpus: [], ...options }))
        }).pipe(Effect.provide(Layer.mergeAll(Store.layer(storeDir), quiet, NodeServices.layer)))
      )
    const evaluate = (plans: ReadonlyArray<StagePlan>) => plans.find((p) => p.id === "evaluate")!
    const evalRun = async (hash: string) => {
      const manifest = await Effect.runPromise(makeStore(storeDir).readArtifact(hash))
      return Schema.decodeUnknownSync(EvalRun)(manifest.data)
    }

    // the answers are in the work folder already, as a stopped run leaves them: nothing generates
    await run({ only: ["models", "generate"] })
    const key = evaluate(await run({ dry: true })).key!
    const work = join(storeDir, "work", "evaluate", key.slice(0, 32))
    mkdirSync(work, { recursive: true })
    const answers = ["en-a#0", "en-a#1", "en-b#0", "en-b#1"].map((id) => ({
      id,
      promptId: id.slice(0, 4),
      text: `answer ${id}`,
      lang: "en",
      task: id.startsWith("en-a") ? "describe-image" : "ten-words"
    }))
    writeFileSync(join(work, "generations.jsonl"), answers.map((a) => `${JSON.stringify(a)}\n`).join(""))

    // run 1: flaky fails on its second sample; its first score is kept, marked partial
    const first = evaluate(await run())
    expect(first.ran).toBe(true)
    const one = await evalRun(first.outputs!.scores!)
    expect(one.metrics.map((m) => [m.name, m.status, m.n])).toEqual([
      ["counted", "ok", 4],
      ["flaky", "failed", 1]
    ])
    expect(one.metrics[1]!.reason).toMatch(/out of memory on en-a#1.*partial: 1 of 4 samples/)
    expect(readFileSync(log, "utf8").trim().split("\n")).toHaveLength(4)
    // each column's line says how long it took
    expect(printed).toContainEqual(
      expect.stringMatching(/^ {2}evaluate: counted mean [\d.]+ \(n 4\), \d+\.\d s$/)
    )
    expect(printed).toContainEqual(expect.stringMatching(/^ {2}evaluate: flaky FAILED — .*, \d+\.\d s$/))
    printed.length = 0

    // a run that does not select the stage restores it as it is, saying so
    const aside = evaluate(await run({ only: ["models"] }))
    expect(aside.status).toBe("HIT")
    expect(aside.reasons.join(" ")).toMatch(/not selected, restored as it is: .*flaky failed/)

    // run 2: same key, but the failed column is not a cached success: only flaky runs again
    rmSync(armed)
    const second = evaluate(await run())
    expect(second.status).toBe("MISS")
    expect(second.ran).toBe(true)
    expect(second.reasons.join(" ")).toMatch(/flaky failed/)
    const two = await evalRun(second.outputs!.scores!)
    expect(two.metrics.map((m) => [m.name, m.status, m.n])).toEqual([
      ["counted", "ok", 4],
      ["flaky", "ok", 4]
    ])
    expect(two.metrics[0]).toEqual(one.metrics[0])
    expect(printed).toContainEqual(expect.stringMatching(/^ {2}evaluate: counted mean [\d.]+ \(n 4\), kept$/))
    expect(readFileSync(log, "utf8").trim().split("\n")).toHaveLength(4)

    // run 3: everything ok: restored
    const third = evaluate(await run())
    expect(third.status).toBe("HIT")
    expect(existsSync(log)).toBe(true)
  })
})
