/**
 * `pnpm bench scale`: the bridge jobs of a 4-version sweep (four real fine-tunes of SmolLM2, seeds
 * 1–4, quick settings), run one after another on this machine (the local executor: what
 * `pnpm pipeline` does) against all at once on a local Ray cluster of `cpus` CPUs (each job asking
 * 1 CPU and training on 1 thread, the cluster queueing the rest), started by this suite on loopback
 * and stopped after it. Also Ray's overhead per job: the same trivial job (a worker that only
 * answers) through the bridge locally and through the cluster, median of `runs`.
 *
 * On a machine of 2 cores the ratio is about what the cores allow: Ray runs two jobs where the
 * local executor runs one with two threads. Environment: BENCH_RUNS (3), BENCH_STEPS (30),
 * BENCH_VERSIONS (4), BENCH_RAY_CPUS (2), BENCH_MODEL (smollm2-135m).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Executor, type ExecutorSetting } from "@hyperwords/core/Executor"
import { Progress } from "@hyperwords/core/Progress"
import { Bridge, type WorkerJob } from "@hyperwords/train-bridge/Bridge"
import { startLocalRay } from "@hyperwords/train-bridge/RayCluster"
import { Effect, Layer } from "effect"
import { median, table } from "./table.ts"

const root = resolve(import.meta.dirname, "..")
const repo = resolve(root, "..")

/** Options of the suite (see the module comment). */
export const scaleOptions = () => ({
  runs: Number(process.env.BENCH_RUNS ?? 3),
  steps: Number(process.env.BENCH_STEPS ?? 30),
  versions: Number(process.env.BENCH_VERSIONS ?? 4),
  cpus: Number(process.env.BENCH_RAY_CPUS ?? 2),
  model: process.env.BENCH_MODEL ?? "smollm2-135m"
})

const layer = Bridge.layer.pipe(Layer.provide(Layer.mergeAll(NodeServices.layer, Progress.silent)))
const on = <A, E>(executor: ExecutorSetting, e: Effect.Effect<A, E, Bridge>) =>
  Effect.runPromise(e.pipe(Effect.provide(layer), Effect.provideService(Executor, executor)))

const lines = Array.from(
  { length: 400 },
  (_, i) => `the warm moon ${i} falls on the quiet water, and the night is long and still`
)

/** One version's fine-tune job (quick settings; the seed makes the versions). */
const finetuneJob = (
  modelDir: string,
  out: string,
  seed: number,
  steps: number,
  threads: number
): WorkerJob => ({
  label: `seed ${seed}`,
  module: "hyperwords_bridge.finetune",
  args: [],
  input: {
    base_dir: modelDir,
    out_dir: out,
    hyperwords: [{ surface: "warmmoonlight", parts: ["warm", "moon", "light"] }],
    train_texts: lines.slice(0, 360),
    heldout_texts: lines.slice(360),
    steps,
    batch_size: 4,
    seq_len: 64,
    seed,
    checkpoint_every: steps,
    threads
  },
  resources: { cpus: 1 },
  resumable: true,
  lock: join(out, "attempt.lock")
})

/** A job that only answers: the cost of starting a worker where it runs. */
const trivialJob = (dir: string): WorkerJob => {
  writeFileSync(
    join(dir, "answer.py"),
    'import json, sys\nprint(json.dumps({"type": "done", "result": {"ok": True}}), flush=True)\n'
  )
  return { label: "answer", module: "answer", args: [], env: { PYTHONPATH: dir } }
}

const seconds = async (f: () => Promise<unknown>): Promise<number> => {
  const t = performance.now()
  await f()
  return (performance.now() - t) / 1000
}

/** Run the scale suite and print its table. */
export const scaleSuite = async (o: ReturnType<typeof scaleOptions>): Promise<string> => {
  const modelDir = resolve(repo, ".hyperwords", "models", o.model)
  if (!existsSync(join(modelDir, "model.safetensors")))
    return `skipped: ${modelDir} has no weights (pnpm hyperwords models pull ${o.model})`
  const python = await on(
    "local",
    Bridge.use((b) => b.ensureEnvironment)
  )
  const work = resolve(root, ".tmp", "scale")
  rmSync(work, { recursive: true, force: true })
  mkdirSync(work, { recursive: true })
  const scratch = mkdtempSync(join(work, "answer-"))
  const ray = await startLocalRay(python, { cpus: o.cpus })
  try {
    const rayExec: ExecutorSetting = { ray: { address: ray.address } }
    // the overhead of one job: local and Ray alternate
    const local: Array<number> = []
    const remote: Array<number> = []
    for (let i = 0; i < Math.max(3, o.runs); i++) {
      local.push(
        await seconds(() =>
          on(
            "local",
            Bridge.use((b) => b.run(trivialJob(scratch)))
          )
        )
      )
      remote.push(
        await seconds(() =>
          on(
            rayExec,
            Bridge.use((b) => b.run(trivialJob(scratch)))
          )
        )
      )
    }
    // the sweep: one after another with both threads, and all at once on the cluster
    const sweepLocal: Array<number> = []
    const sweepRay: Array<number> = []
    const jobs = (tag: string, threads: number) =>
      Array.from({ length: o.versions }, (_, v) =>
        finetuneJob(modelDir, join(work, `${tag}-${v + 1}`), v + 1, o.steps, threads)
      )
    for (let i = 0; i < o.runs; i++) {
      const a = jobs(`local-${i}`, 2)
      sweepLocal.push(
        await seconds(() =>
          on(
            "local",
            Bridge.use((b) => Effect.forEach(a, (j) => b.run(j), { concurrency: 1 }))
          )
        )
      )
      const b = jobs(`ray-${i}`, 1)
      sweepRay.push(
        await seconds(() =>
          on(
            rayExec,
            Bridge.use((br) => Effect.forEach(b, (j) => br.run(j), { concurrency: "unbounded" }))
          )
        )
      )
      for (const j of [...a, ...b])
        rmSync((j.input as { out_dir: string }).out_dir, { recursive: true, force: true })
    }
    const l = median(sweepLocal)
    const r = median(sweepRay)
    return [
      `${o.versions} fine-tunes of ${o.model} (${o.steps} steps, batch 4 × 64, seeds 1–${o.versions}; training, merge and checks, no ONNX export), median of ${o.runs}; a local Ray cluster of ${o.cpus} CPUs started on loopback`,
      "",
      table([
        [
          "measure",
          "local (one at a time, 2 threads)",
          `Ray (${o.cpus} at a time, 1 thread each)`,
          "local ÷ Ray"
        ],
        ["sweep wall time (s)", l.toFixed(1), r.toFixed(1), (l / r).toFixed(2)],
        [
          "one trivial job (s)",
          median(local).toFixed(2),
          median(remote).toFixed(2),
          `Ray's overhead per job ${(median(remote) - median(local)).toFixed(2)} s`
        ]
      ]),
      "",
      `per run, sweep seconds: local ${sweepLocal.map((x) => x.toFixed(1)).join(", ")}; Ray ${sweepRay.map((x) => x.toFixed(1)).join(", ")}`,
      `per run, trivial job seconds: local ${local.map((x) => x.toFixed(2)).join(", ")}; Ray ${remote.map((x) => x.toFixed(2)).join(", ")}`
    ].join("\n")
  } finally {
    await ray.stop()
    rmSync(work, { recursive: true, force: true })
  }
}
