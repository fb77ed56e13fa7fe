/**
 * `pnpm bench train`: training throughput of the fine-tune through the bridge (the TypeScript
 * Bridge service spawning `hyperwords_bridge.finetune`, NDJSON events decoded as the pipeline
 * decodes them) against a plain peft loop with the same settings in the same venv
 * (`python/train_peft.py`), as an overhead (target ≤ 3%), and the peak memory of both. Steady
 * state only: the first `warmup` steps are left out of both, and the bridge's step times are taken
 * where the TypeScript side receives each step's event. Sides alternate, `runs` times; medians.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Progress } from "@hyperwords/core/Progress"
import { Bridge } from "@hyperwords/train-bridge/Bridge"
import { venvPython } from "@hyperwords/train-bridge/Paths"
import { Effect, Layer } from "effect"
import { median, table } from "./table.ts"

const root = resolve(import.meta.dirname, "..")
const repo = resolve(root, "..")
const anchor = resolve(root, "python", "train_peft.py")

/** Options of the suite (environment: BENCH_RUNS, BENCH_STEPS, BENCH_MODEL, BENCH_THREADS). */
export const trainOptions = () => ({
  runs: Number(process.env.BENCH_RUNS ?? 3),
  steps: Number(process.env.BENCH_STEPS ?? 20),
  warmup: 3,
  model: process.env.BENCH_MODEL ?? "smollm2-135m",
  threads: Number(process.env.BENCH_THREADS ?? 2)
})

/** Training texts and hyperwords: the sonnets, with thirty adjacent word pairs as hyperwords. */
const jobTexts = (data: string) => {
  const sonnets = join(data, "en_poetry_shakespeare_sonnets", "shakespeare_sonnets.jsonl")
  const lines = existsSync(sonnets)
    ? readFileSync(sonnets, "utf8")
        .split("\n")
        .filter((l) => l.trim() !== "")
        .flatMap((l) => String((JSON.parse(l) as { text: string }).text).split("\n"))
        .map((l) => l.trim())
        .filter((l) => l !== "")
    : Array.from({ length: 600 }, (_, i) => `the warm moon light ${i} falls on the quiet water and the night`)
  const pairs = new Map<string, Array<string>>()
  for (const line of lines) {
    const w = line.toLowerCase().match(/\p{L}+/gu) ?? []
    for (let i = 0; i + 1 < w.length && pairs.size < 30; i++)
      if (w[i]!.length > 3 && w[i + 1]!.length > 3) pairs.set(w[i]! + w[i + 1]!, [w[i]!, w[i + 1]!])
  }
  return {
    train: lines.slice(0, -100),
    heldout: lines.slice(-100),
    hyperwords: [...pairs].map(([surface, parts]) => ({ surface, parts }))
  }
}

interface Side {
  readonly stepSeconds: number
  readonly tokensPerStep: number
  readonly peakMb: number
}

const viaBridge = (job: Record<string, unknown>, warmup: number): Promise<Side> => {
  const arrivals: Array<number> = []
  const layer = Bridge.layer.pipe(Layer.provide(Layer.mergeAll(NodeServices.layer, Progress.silent)))
  return Effect.runPromise(
    Effect.gen(function* () {
      const bridge = yield* Bridge
      const r = yield* bridge.run({
        label: "bench train",
        module: "hyperwords_bridge.finetune",
        args: [],
        input: job,
        onEvent: (e) => {
          if (e.type === "progress" && e.task === "train" && e.done > 0) arrivals[e.done] = performance.now()
        }
      })
      const steps = Number(job.steps)
      const seconds = (arrivals[steps]! - arrivals[warmup]!) / 1000 / (steps - warmup)
      const tokens = Number(job.batch_size) * Number(job.seq_len)
      return {
        stepSeconds: seconds,
        tokensPerStep: tokens,
        peakMb: Number(r.result.peak_rss_mb ?? Number.NaN)
      }
    }).pipe(Effect.provide(layer))
  )
}

const viaPeft = (jobFile: string, warmup: number): Side => {
  const r = spawnSync(venvPython, [anchor, jobFile], { encoding: "utf8", maxBuffer: 1 << 26 })
  if (r.status !== 0) throw new Error(`plain peft anchor failed (exit ${r.status}): ${r.stderr.slice(-2000)}`)
  const out = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as {
    step_seconds: Array<number>
    tokens_per_step: number
    peak_rss_mb: number
  }
  const steady = out.step_seconds.slice(warmup)
  return {
    stepSeconds: steady.reduce((a, b) => a + b, 0) / steady.length,
    tokensPerStep: out.tokens_per_step,
    peakMb: out.peak_rss_mb
  }
}

/** Run the train suite and print its table. */
export const trainSuite = async (o: ReturnType<typeof trainOptions>): Promise<string> => {
  const modelDir = resolve(repo, ".hyperwords", "models", o.model)
  if (!existsSync(join(modelDir, "model.safetensors")))
    return `skipped: ${modelDir} has no weights (pnpm hyperwords models pull ${o.model})`
  if (!existsSync(venvPython)) return `skipped: no bridge venv at ${venvPython}`
  const data = resolve(process.env.HYPERWORDS_SHARED_DATA ?? resolve(repo, "..", "shared", "data"))
  const texts = jobTexts(data)
  const work = resolve(root, ".tmp", "train")
  mkdirSync(work, { recursive: true })
  const job = {
    base_dir: modelDir,
    out_dir: join(work, "out"),
    hyperwords: texts.hyperwords,
    train_texts: texts.train,
    heldout_texts: texts.heldout,
    lora: { rank: 8, alpha: 16, dropout: 0.05, target_modules: ["q_proj", "k_proj", "v_proj", "o_proj"] },
    optimizer: { name: "adamw", lr: 2e-4, weight_decay: 0 },
    steps: o.steps,
    batch_size: 4,
    seq_len: 64,
    seed: 1,
    checkpoint_every: o.steps + 1,
    threads: o.threads
  }
  const jobFile = join(work, "job.json")
  writeFileSync(jobFile, JSON.stringify(job))
  const ours: Array<Side> = []
  const theirs: Array<Side> = []
  for (let i = 0; i < o.runs; i++) {
    rmSync(job.out_dir, { recursive: true, force: true })
    ours.push(await viaBridge(job, o.warmup))
    theirs.push(viaPeft(jobFile, o.warmup))
  }
  const tps = (s: ReadonlyArray<Side>) => median(s.map((x) => x.tokensPerStep / x.stepSeconds))
  const a = tps(ours)
  const b = tps(theirs)
  const overhead = b / a - 1
  return [
    `${o.model}, ${o.steps} steps (first ${o.warmup} left out), batch 4 × 64 tokens, LoRA r8 q/k/v/o + ${texts.hyperwords.length} token rows, ${o.threads} threads, median of ${o.runs}`,
    "",
    table([
      ["measure", "bridge", "plain peft", "ratio", "target"],
      [
        "training tokens/s",
        a.toFixed(1),
        b.toFixed(1),
        `overhead ${(overhead * 100).toFixed(1)}%`,
        `≤ 3% ${overhead <= 0.03 ? "✔" : "✘"}`
      ],
      [
        "peak memory (MB)",
        median(ours.map((x) => x.peakMb)).toFixed(0),
        median(theirs.map((x) => x.peakMb)).toFixed(0),
        (median(ours.map((x) => x.peakMb)) / median(theirs.map((x) => x.peakMb))).toFixed(2),
        "–"
      ]
    ]),
    "",
    `per run, bridge tokens/s: ${ours.map((x) => (x.tokensPerStep / x.stepSeconds).toFixed(1)).join(", ")}; plain: ${theirs.map((x) => (x.tokensPerStep / x.stepSeconds).toFixed(1)).join(", ")}`
  ].join("\n")
}
