/**
 * `pnpm bench probe`: capturing all layers of P prompts x T tokens (residual stream after every
 * layer, attention probabilities, logit-lens top-k and tracked log-probs; batches of 8) with the
 * TypeScript probe graph against PyTorch eager with forward hooks collecting the same tensors
 * (bridge venv), each in its own process: the median of `runs` timed passes after a warm-up, the
 * ratio (target >= 1.5x), and each process's peak resident memory.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { loadModel } from "@hyperwords/models"
import { readProbeSpec } from "@hyperwords/models/Probe"
import { median, table } from "./table.ts"

const root = resolve(import.meta.dirname, "..")
const repo = resolve(root, "..")
const python = join(repo, "packages", "train-bridge", "python", ".venv", "bin", "python")
const anchorScript = join(root, "python", "models_torch.py")
const worker = join(import.meta.dirname, "probe-worker.ts")

export interface ProbeSuiteOptions {
  readonly runs: number
  readonly models: ReadonlyArray<string>
  readonly prompts: number
  readonly tokens: number
}

/** A deterministic stream of ints (mulberry32), so both runtimes probe the same ids. */
const seededInts = (seed: number) => {
  let a = seed >>> 0
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n)
  }
}

const lastJson = <T>(out: string): T => {
  const lines = out.trim().split("\n")
  return JSON.parse(lines[lines.length - 1]!) as T
}

const fmt = (x: number, digits = 1) => x.toFixed(digits)

/** The suite's table. */
export const probeSuite = async (options: ProbeSuiteOptions): Promise<string> => {
  const dir = mkdtempSync(join(tmpdir(), "bench-probe-"))
  const rows: Array<Array<string>> = [
    ["model", "workload", "runtime", "median", "ratio", "peak RSS", "target", "met"]
  ]
  try {
    for (const name of options.models) {
      const model = await loadModel(name)
      const { spec } = readProbeSpec(model.dir)
      const next = seededInts(7)
      const ids = Array.from({ length: options.prompts }, () =>
        Array.from({ length: options.tokens }, () => next(spec.vocabSize))
      )
      const tracked = ids.map(() => Array.from({ length: 4 }, () => next(spec.vocabSize)))
      const job = { model: model.dir, ids, tracked, batch: 8, k: spec.k, runs: options.runs }
      const jobFile = join(dir, `${name.replace(/\W/g, "_")}.json`)
      writeFileSync(jobFile, JSON.stringify(job))
      const env = { ...process.env, HF_HUB_OFFLINE: "1", TOKENIZERS_PARALLELISM: "false" }
      const ts = lastJson<{ seconds: Array<number>; peakRssMb: number }>(
        execFileSync(process.execPath, [worker, jobFile], { encoding: "utf8", env, maxBuffer: 64 << 20 })
      )
      const torch = lastJson<{ seconds: Array<number>; threads: number; peak_rss_mb?: number }>(
        execFileSync(python, [anchorScript, "probe", model.dir, "--job", jobFile], {
          encoding: "utf8",
          env,
          maxBuffer: 64 << 20
        })
      )
      const what = `all layers ${options.prompts}x${options.tokens} tok`
      const anchor = median(torch.seconds)
      const mine = median(ts.seconds)
      rows.push([
        name,
        what,
        `PyTorch hooks (${torch.threads} thr)`,
        `${fmt(anchor, 2)} s`,
        "1.00",
        torch.peak_rss_mb === undefined ? "–" : `${fmt(torch.peak_rss_mb, 0)} MB`,
        "",
        ""
      ])
      rows.push([
        name,
        what,
        "TS probe.onnx",
        `${fmt(mine, 2)} s`,
        fmt(anchor / mine, 2),
        `${fmt(ts.peakRssMb, 0)} MB`,
        "≥ 1.5",
        anchor / mine >= 1.5 ? "yes" : "NO"
      ])
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return table(rows)
}

/** Options from the environment: BENCH_RUNS (3), BENCH_PROBE_MODELS (smollm2-135m), BENCH_PROBE_PROMPTS (64), BENCH_PROBE_TOKENS (32). */
export const probeOptions = (env: NodeJS.ProcessEnv = process.env): ProbeSuiteOptions => ({
  runs: Number(env.BENCH_RUNS ?? 3),
  models: (env.BENCH_PROBE_MODELS ?? "smollm2-135m").split(",").filter((s) => s !== ""),
  prompts: Number(env.BENCH_PROBE_PROMPTS ?? 64),
  tokens: Number(env.BENCH_PROBE_TOKENS ?? 32)
})
