/**
 * `pnpm bench answers`: the evaluate stage's answers through a model's generation graph with its
 * logits cut to the last position (`hyperwords_bridge.last_logits`, what an export writes now)
 * against the same graph with logits at every position fed (as exported before). The jobs are
 * the default profile's (every BENCH_EVERY-th of the built-in prompt set, three samples, eight
 * for ten-words), in the stage's batches (`batchesOf`, its default size, `answerBatch`). Both folders hold the
 * same weights (hard links); only the graph's proto differs. Sides alternate, BENCH_RUNS times,
 * medians; the answers of the two sides are compared one by one.
 * Environment: BENCH_MODEL (default gemma-3-270m), BENCH_RUNS (3), BENCH_EVERY (4).
 */
import { spawnSync } from "node:child_process"
import { cpSync, existsSync, linkSync, mkdirSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { answerBatch, batchesOf, evaluateDefaults, jobsOf } from "@hyperwords/eval/EvaluateStage"
import { loadPromptSet } from "@hyperwords/eval/PromptSet"
import { loadModel, releaseModel } from "@hyperwords/models/Model"
import { resolveModelDir } from "@hyperwords/models/ModelDir"
import { venvPython } from "@hyperwords/train-bridge/Paths"
import { Effect } from "effect"
import { median, table } from "./table.ts"

const bridgeCwd = resolve(import.meta.dirname, "..", "..", "packages", "train-bridge", "python")

export const answersOptions = () => ({
  model: process.env.BENCH_MODEL ?? "gemma-3-270m",
  runs: Number(process.env.BENCH_RUNS ?? 3),
  every: Number(process.env.BENCH_EVERY ?? 4)
})

/** `python -m hyperwords_bridge.last_logits GRAPH [--undo]`: what it did. */
const lastLogits = (graph: string, undo: boolean): Record<string, unknown> => {
  const r = spawnSync(
    venvPython,
    ["-m", "hyperwords_bridge.last_logits", graph, ...(undo ? ["--undo"] : [])],
    { cwd: bridgeCwd, encoding: "utf8" }
  )
  if (r.status !== 0)
    throw new Error(`hyperwords_bridge.last_logits ${graph} failed: ${r.stderr.slice(-2000)}`)
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Record<string, unknown>
}

/** A folder beside the model's: every file hard-linked, `onnx/model.onnx` a copy to rewrite. */
const sibling = (dir: string, to: string) => {
  mkdirSync(join(to, "onnx"), { recursive: true })
  for (const f of readdirSync(dir)) if (f !== "onnx") cpSync(join(dir, f), join(to, f), { recursive: true })
  for (const f of readdirSync(join(dir, "onnx")))
    if (f === "model.onnx") cpSync(join(dir, "onnx", f), join(to, "onnx", f))
    else linkSync(join(dir, "onnx", f), join(to, "onnx", f))
}

export const answersSuite = async (o = answersOptions()): Promise<string> => {
  const dir = resolveModelDir(o.model)
  if (!existsSync(join(dir, "onnx", "model.onnx")))
    throw new Error(
      `BENCH_MODEL=${o.model}: ${dir} has no onnx/model.onnx (a pulled model's name or a model folder)`
    )
  const work = join(tmpdir(), `bench-answers-${process.pid}`)
  try {
    const sides = { every: join(work, "every"), last: join(work, "last") } as const
    sibling(dir, sides.every)
    sibling(dir, sides.last)
    lastLogits(join(sides.every, "onnx", "model.onnx"), true)
    const cut = lastLogits(join(sides.last, "onnx", "model.onnx"), false)
    if (cut.cut !== true) return `${o.model}: the graph cannot be cut (${String(cut.reason)})`
    const set = await Effect.runPromise(loadPromptSet())
    const all = jobsOf(set, { ...evaluateDefaults, taskSamples: { "ten-words": 8 } })
    const jobs = all.filter((_, i) => i % o.every === 0)
    const batches = batchesOf(jobs, evaluateDefaults.batchSize)
    const times = { every: [] as Array<number>, last: [] as Array<number> }
    const answers: Record<string, Array<string>> = {}
    let differ = 0
    for (let r = 0; r < o.runs; r++) {
      for (const side of ["every", "last"] as const) {
        const model = await loadModel(sides[side])
        await model.generationGraph() // the session opened outside the timing
        const t0 = performance.now()
        const texts: Array<string> = []
        for (const batch of batches) texts.push(...(await answerBatch(model, batch, evaluateDefaults)))
        times[side].push((performance.now() - t0) / 1000)
        answers[side] = texts
        await releaseModel(sides[side])
      }
      differ = Math.max(differ, answers.every!.filter((t, i) => t !== answers.last![i]).length)
    }
    const [e, l] = [median(times.every), median(times.last)]
    const rows = [
      ["what", "logits at every position", "at the last position", "ratio", "answers that differ"],
      [
        `${jobs.length} answers of ${all.length}, ${batches.length} batches of ≤ ${evaluateDefaults.batchSize}`,
        `${e.toFixed(1)} s`,
        `${l.toFixed(1)} s`,
        (l / e).toFixed(3),
        `${differ} of ${jobs.length}`
      ]
    ]
    return `${o.model}, ${o.runs} runs (medians; each run: ${times.every.map((t) => t.toFixed(1)).join(", ")} s against ${times.last.map((t) => t.toFixed(1)).join(", ")} s)\n${table(rows)}`
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}
