/**
 * A board that accumulates (issue 17, item 4), through the real runner and store: a second run
 * with a changed LoRA rank adds its rows and keeps the first run's, each with its date, commit,
 * stage key, hashes and config difference; a tuned row is paired only within its own run; the
 * report is a hit when nothing new was stored; `store gc --keep-last 1` keeps (and lists) what the
 * board's rows refer to unless told to drop it.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { expandConfig, type LoadedConfig, type PipelineConfig } from "@hyperwords/core/Config"
import { Progress } from "@hyperwords/core/Progress"
import { gcBoardMessage, listPipelineRuns } from "@hyperwords/core/RunHistory"
import { runPipeline } from "@hyperwords/core/Runner"
import { defineStage, type LoadedArtifact } from "@hyperwords/core/Stage"
import { makeStore, Store } from "@hyperwords/core/Store"
import { Effect, Layer, Schema } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { configChanges } from "../src/BoardHistory.ts"
import type { LeaderboardData } from "../src/Leaderboard.ts"
import { readmeBoard } from "../src/ReadmeBoard.ts"
import { reportStage } from "../src/ReportStage.ts"
import { good } from "./fixtures/metrics.ts"

const tmp = join(import.meta.dirname, ".tmp")
const made: Array<string> = []
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true })
})

const baseRef = { id: "toy-base", revision: "r1" }

const modelsStage = defineStage({
  id: "models",
  description: "the base model",
  codeVersion: "1",
  params: Schema.Struct({}),
  inputs: {},
  outputs: { model: "ModelVersion" },
  run: () =>
    Effect.succeed({
      model: {
        data: {
          schemaVersion: 1,
          name: "toy-base",
          model: baseRef,
          architecture: "llama",
          source: { kind: "local", detail: "toy" },
          files: {}
        }
      }
    })
})

const TuneParams = Schema.Struct({
  steps: Schema.Int,
  lora: Schema.optionalKey(Schema.Struct({ rank: Schema.Int })),
  arm: Schema.String
})

/** A "fine-tune": a ModelVersion whose revision is its params, as the real stage's training record names its arm. */
const tuneStage = (id: string, arm: string) =>
  defineStage({
    id,
    description: `the ${arm} arm`,
    codeVersion: "1",
    params: TuneParams,
    inputs: { base: { stage: "models", output: "model" } },
    outputs: { model: "ModelVersion" },
    run: (ctx) =>
      Effect.succeed({
        model: {
          data: {
            schemaVersion: 1,
            name: id,
            model: { id, revision: `rank${ctx.params.lora?.rank ?? 8}` },
            architecture: "llama",
            base: baseRef,
            source: { kind: "finetune", detail: id },
            files: {},
            // as the real stage, the params with their defaults filled in
            training: {
              arm,
              experiment: "finetune",
              params: { ...ctx.params, lora: { rank: ctx.params.lora?.rank ?? 8 } }
            }
          }
        }
      })
  })

const prompts = ["p1", "p2", "p3", "p4", "p5", "p6"]

/** An "evaluation": answers whose scores grow with the model's rank (a tuned version scores more than its base). */
const evaluateStage = (id: string, model: string) =>
  defineStage({
    id,
    description: "scores of a version",
    codeVersion: "1",
    params: Schema.Struct({}),
    inputs: { model: { stage: model, output: "model" } },
    outputs: { generations: "Generations", scores: "EvalRun" },
    run: (ctx) =>
      Effect.sync(() => {
        const v = (ctx.inputs.model as LoadedArtifact).data as {
          name: string
          model: typeof baseRef
          base?: typeof baseRef
          training?: { arm: string; experiment: string }
        }
        const rank = Number(/rank(\d+)/.exec(v.model.revision)?.[1] ?? 0)
        const shift = rank / 8 + (v.training?.arm === "control" ? 0.5 : 0)
        const gens = prompts.map((p) => ({
          id: `${p}#0`,
          promptId: p,
          prompt: p,
          text: `answer ${p}`,
          sample: 0
        }))
        const rows = gens.map((g, i) => ({
          id: g.id,
          promptId: g.promptId,
          words: 2,
          scores: { chars: 10 + (i % 3) + shift }
        }))
        writeFileSync(
          join(ctx.outputDir("generations"), "generations.jsonl"),
          gens.map((g) => `${JSON.stringify(g)}\n`).join("")
        )
        writeFileSync(
          join(ctx.outputDir("scores"), "scores.jsonl"),
          rows.map((r) => `${JSON.stringify(r)}\n`).join("")
        )
        const mean = rows.reduce((s, r) => s + r.scores.chars, 0) / rows.length
        return {
          generations: {
            data: {
              schemaVersion: 1,
              model: v.model,
              promptSet: { id: "set", version: "1", sha256: "a".repeat(64) },
              samples: gens.length,
              file: "generations.jsonl"
            }
          },
          scores: {
            data: {
              schemaVersion: 1,
              model: v.model,
              name: v.name,
              ...(v.base === undefined ? {} : { base: v.base }),
              judge: baseRef,
              generations: "b".repeat(64),
              metrics: [
                {
                  name: "chars",
                  version: "1.0.0",
                  status: "ok",
                  mean,
                  ci: [mean - 1, mean + 1],
                  n: rows.length
                }
              ],
              ...(v.training === undefined
                ? { arm: "base" }
                : { arm: v.training.arm, experiment: v.training.experiment }),
              file: "scores.jsonl"
            }
          }
        }
      })
  })

const evaluations = ["evaluate-base", "evaluate-finetune", "evaluate-control"]

const setup = () => {
  mkdirSync(tmp, { recursive: true })
  const dir = mkdtempSync(join(tmp, "board-"))
  made.push(dir)
  const storeDir = join(dir, ".hyperwords")
  const layer = Layer.mergeAll(Store.layer(storeDir), Progress.silent, NodeServices.layer)
  const run = (rank: number | undefined) => {
    const config: PipelineConfig = {
      stages: [
        modelsStage,
        tuneStage("finetune", "hyperwords"),
        tuneStage("control", "control"),
        evaluateStage("evaluate-base", "models"),
        evaluateStage("evaluate-finetune", "finetune"),
        evaluateStage("evaluate-control", "control"),
        reportStage({ evaluations, metrics: [good] })
      ],
      params: {
        finetune: { steps: 30, ...(rank === undefined ? {} : { lora: { rank } }), arm: "hyperwords" },
        control: { steps: 30, ...(rank === undefined ? {} : { lora: { rank } }), arm: "control" },
        report: { resamples: 200 }
      }
    }
    return Effect.runPromise(
      Effect.gen(function* () {
        const loaded: LoadedConfig = {
          file: join(dir, "pipeline.config.ts"),
          projectDir: dir,
          storeDir,
          reportsDir: join(dir, "reports"),
          config: yield* expandConfig(join(dir, "pipeline.config.ts"), config)
        }
        return yield* Effect.scoped(runPipeline(loaded, { profile: "default", corpus: [] }))
      }).pipe(Effect.provide(layer))
    )
  }
  const board = () =>
    JSON.parse(
      readFileSync(join(dir, "reports", "leaderboard", "leaderboard.json"), "utf8")
    ) as LeaderboardData
  return { dir, storeDir, run, board }
}

type Row = LeaderboardData["rows"][number]
const vsOf = (r: Row | undefined) =>
  ((r?.cells.chars as { comparisons?: Array<{ vs: string }> } | undefined)?.comparisons ?? []).map(
    (c) => c.vs
  )

describe("a board that accumulates", () => {
  it("keeps the first run's rows with their date, commit, key and config when a second run changes the LoRA rank", async () => {
    const { dir, storeDir, run, board } = setup()
    await run(8)
    const first = board()
    expect(first.rows.map((r) => r.name)).toEqual(["toy-base", "finetune", "control"])
    expect(first.rows.every((r) => r.provenance?.run === "current")).toBe(true)
    const ft1 = first.rows[1]!.provenance!
    expect(ft1.config).toContain("lora.rank: 8")
    expect(ft1.commit).toMatch(/^[0-9a-f]{40}$|^unknown$/)
    expect(ft1.key).toMatch(/^[0-9a-f]{64}$/)
    expect(first.rows[0]!.provenance!.config).toEqual([]) // the base itself

    // a rerun gathers nothing new: the report is restored
    const again = await run(8)
    expect(again.find((p) => p.id === "report")?.status).toBe("HIT")

    const plans = await run(16)
    expect(plans.find((p) => p.id === "evaluate-base")?.status).toBe("HIT")
    expect(plans.find((p) => p.id === "report")?.ran).toBe(true)
    const second = board()
    const names = second.rows.map((r) => r.name)
    expect(names.slice(0, 3)).toEqual(["toy-base", "finetune", "control"])
    expect(names).toHaveLength(5)
    const earlierFt = second.rows.find((r) => r.name.startsWith("finetune (") && r.name !== "finetune")!
    const earlierCtl = second.rows.find((r) => r.name.startsWith("control ("))!
    expect(earlierFt.provenance).toMatchObject({
      run: "earlier",
      version: "finetune",
      date: ft1.date,
      commit: ft1.commit,
      key: ft1.key,
      stage: "evaluate-finetune"
    })
    expect(earlierFt.provenance!.artifacts.evalRun).toBe(ft1.artifacts.evalRun)
    expect(earlierFt.provenance!.config).toContain("lora.rank: 8")
    // the current finetune row says what changed since its previous row
    const ft2 = second.rows[1]!
    expect(ft2.provenance!.config).toContain("lora.rank: 16")
    expect(ft2.provenance!.changes).toEqual(["lora.rank: 8 → 16"])
    // pairing stays within a run: the base is shared, the controls are each run's own
    expect(vsOf(ft2)).toEqual(["toy-base", "control"])
    expect(vsOf(earlierFt)).toEqual(["toy-base", earlierCtl.name])
    expect(earlierFt.experiment).toBe(earlierFt.name)
    expect(earlierCtl.base).toBe("toy-base")

    // the page and the exports: a run column with details, per-sample scores and the earlier comparison
    const lb = join(dir, "reports", "leaderboard")
    const html = readFileSync(join(lb, "index.html"), "utf8")
    expect(html).toContain("earlier run")
    expect(html).toContain(ft1.key)
    const samples = earlierFt.provenance!.samples
    expect(html).toContain(`href="${samples}"`)
    expect(existsSync(join(lb, samples))).toBe(true)
    expect(JSON.parse(readFileSync(join(lb, samples), "utf8")).samples).toHaveLength(prompts.length)
    expect(existsSync(join(lb, "compare", `${ft1.artifacts.evalRun.slice(0, 12)}.html`))).toBe(true)

    // the README's summary keeps to this run's rows
    const readme = readmeBoard(second)
    expect(readme).toContain("| finetune |")
    expect(readme).not.toContain(earlierFt.name)

    // a rerun of the second config: nothing new, a hit
    expect((await run(16)).find((p) => p.id === "report")?.status).toBe("HIT")

    // gc: keep only the last pipeline run; the board's earlier rows are kept and said so
    expect(listPipelineRuns(storeDir).length).toBe(4)
    const store = makeStore(storeDir)
    const lock = JSON.parse(readFileSync(join(dir, "pipeline.lock.json"), "utf8")) as {
      stages: Record<string, { outputs: Record<string, string> }>
    }
    const roots = Object.values(lock.stages).flatMap((s) => Object.values(s.outputs))
    const kept = await Effect.runPromise(store.gc(roots, { keepLast: 1 }))
    expect(kept.droppedBoardReferences).toBe(false)
    expect(listPipelineRuns(storeDir).length).toBe(1)
    const refs = kept.boardReferences.map((r) => r.artifact)
    expect(refs).toContain(ft1.artifacts.evalRun)
    expect(gcBoardMessage(kept)).toContain("pass --drop-board-rows to drop them")
    expect(await Effect.runPromise(store.hasArtifact(ft1.artifacts.evalRun))).toBe(true)
    expect(await Effect.runPromise(store.findRun(ft1.key))).toBeDefined()
    // the board is still whole on the next run
    await run(16)
    expect(board().rows).toHaveLength(5)

    const dropped = await Effect.runPromise(store.gc(roots, { keepLast: 1, dropBoardRows: true }))
    expect(dropped.droppedBoardReferences).toBe(true)
    expect(dropped.removedRuns).toBeGreaterThan(0)
    expect(gcBoardMessage(dropped)).toContain("dropped")
    expect(await Effect.runPromise(store.hasArtifact(ft1.artifacts.evalRun))).toBe(false)
    expect(await Effect.runPromise(store.findRun(ft1.key))).toBeUndefined()
    // what the last run used is all there
    for (const h of roots) expect(await Effect.runPromise(store.hasArtifact(h))).toBe(true)
  }, 120_000)

  it("names a default the first run left out by its value, from the version's resolved params", async () => {
    const { run, board } = setup()
    await run(undefined)
    expect(board().rows[1]!.provenance!.config).toContain("lora.rank: 8")
    await run(16)
    const ft = board().rows[1]!
    expect(ft.provenance!.changes).toEqual(["lora.rank: 8 → 16"])
  }, 120_000)

  it("says what changed between two configs", () => {
    expect(configChanges(["lora.rank: 8", "steps: 30"], ["lora.rank: 16", "steps: 30", "lr: 0.001"])).toEqual(
      ["lora.rank: 8 → 16", "lr: (none) → 0.001"]
    )
  })
})
