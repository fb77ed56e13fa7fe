/**
 * `pnpm bench models`: the TypeScript model runtime against its anchors, all in one run.
 * 1. generation tokens/s on the same prompt ids (greedy, exactly N new tokens each, end-of-sequence
 *    ignored): TS ONNX fp32 and q8 (onnxruntime-node), PyTorch eager (bridge venv,
 *    `model.generate`), llama.cpp on the GGUF (node-llama-cpp). Target: TS fp32 >= 1.0x PyTorch;
 *    the gap to llama.cpp is reported.
 * 2. the probe graph on P prompts x T tokens (batches of 8) against PyTorch with forward hooks
 *    collecting the same tensors (residual stream per layer, attentions, lens top-k and tracked
 *    log-probs). Target: >= 1.5x.
 *    Also TS ONNX with weight-only graphs (`w8`, `w4`: MatMulNBits blocks of 32, made by the bridge's
 *    `weight_quant` into a scratch copy of the folder, kept under `benchmarks/.tmp/weight-only/`),
 *    each with its parity against the fp32 graph (greedy 32-token continuations of 4 prompts equal
 *    token for token; the issue's bar is 3 of 4).
 * 3. each decoder's weights read per second (the bytes of the weights it multiplies per token ×
 *    tokens/s) as a fraction of this machine's bound, measured with onnxruntime in the same run
 *    (`python/machine_bound.py`: a float32 matrix-vector product streaming 256 MB; and matmul
 *    FLOP/s), so the remaining gap is visible.
 * Every figure is the median of `runs` timed passes after one warm-up.
 */
import { execFileSync } from "node:child_process"
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync
} from "node:fs"
import { createRequire } from "node:module"
import { basename, join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { forgetModels, loadModel, releaseSessions } from "@hyperwords/models"
import { median, table } from "./table.ts"

const root = resolve(import.meta.dirname, "..")
const repo = resolve(root, "..")
const python = join(repo, "packages", "train-bridge", "python", ".venv", "bin", "python")
const anchorScript = join(root, "python", "models_torch.py")
const boundScript = join(root, "python", "machine_bound.py")

/** Bytes of the weights each graph multiplies per token (machine_bound.py `weights`). */
const weightBytes = (graphs: ReadonlyArray<string>): Array<number> => {
  const out = JSON.parse(
    execFileSync(python, [boundScript, "weights", ...graphs], { encoding: "utf8" })
      .trim()
      .split("\n")
      .at(-1)!
  ) as Record<string, number>
  return graphs.map((g) => out[g] ?? Number.NaN)
}

/** The prompts of the parity tests: two English, two Russian. */
const prompts = [
  "The old cat sat on the warm windowsill and watched",
  "Кошка мурчит на тёплом подоконнике, а за окном",
  "In the evening the river smelled of rain and",
  "Ветер над рекой гонит холодные листья, и"
]

export interface ModelsSuiteOptions {
  /** Timed passes per measurement (median reported); >= 3. */
  readonly runs: number
  /** Models for the generation comparison (registered names or directories). */
  readonly models: ReadonlyArray<string>
  /** New tokens per prompt. */
  readonly newTokens: number
  /** Models for the probe comparison. */
  readonly probeModels: ReadonlyArray<string>
  readonly probePrompts: number
  readonly probeTokens: number
}

const torchAnchor = (mode: "generate" | "probe", dir: string, job: unknown, work: string) => {
  const jobFile = join(work, `${mode}-${basename(dir)}.json`)
  writeFileSync(jobFile, JSON.stringify(job))
  const out = execFileSync(python, [anchorScript, mode, dir, "--job", jobFile], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, HF_HUB_OFFLINE: "1", TOKENIZERS_PARALLELISM: "false" },
    stdio: ["ignore", "pipe", "pipe"]
  })
  const lines = out.trim().split("\n")
  return JSON.parse(lines[lines.length - 1]!) as { seconds: Array<number>; threads: number }
}

/** The GGUF a model directory was converted from (`hyperwords-model.json`). */
const ggufOf = (dir: string): string | undefined => {
  const meta = join(dir, "hyperwords-model.json")
  if (!existsSync(meta)) return undefined
  const gguf = (JSON.parse(readFileSync(meta, "utf8")) as { gguf?: { path?: string; file?: string } }).gguf
  const candidates = [
    gguf?.path,
    gguf?.file ? join(repo, ".hyperwords", "cache", "gguf", gguf.file) : undefined
  ]
  return candidates.find((p): p is string => p !== undefined && existsSync(p))
}

interface LlamaCpp {
  readonly tokensPerSecond: (
    gguf: string,
    ids: ReadonlyArray<ReadonlyArray<number>>,
    n: number,
    runs: number
  ) => Promise<Array<number>>
  readonly dispose: () => Promise<void>
}

/** node-llama-cpp 3.21.1, the copy the bridge installs (its prebuilt CPU binary). */
const llamaCpp = async (): Promise<LlamaCpp> => {
  const require = createRequire(join(repo, "packages", "train-bridge", "package.json"))
  // biome-ignore lint/suspicious/noExplicitAny: node-llama-cpp is loaded from the bridge package at run time
  const lib: any = await import(pathToFileURL(require.resolve("node-llama-cpp")).href)
  const llama = await lib.getLlama({ gpu: false, build: "never", logLevel: "error" })
  return {
    tokensPerSecond: async (gguf, ids, n, runs) => {
      const model = await llama.loadModel({ modelPath: gguf, gpuLayers: 0 })
      const context = await model.createContext({ contextSize: 512, threads: 2 })
      const sequence = context.getSequence()
      const pass = async () => {
        for (const prompt of ids) {
          let count = 0
          for await (const _ of sequence.evaluate([...prompt], { temperature: 0 })) {
            if (++count >= n) break
          }
          await sequence.clearHistory()
        }
      }
      await pass()
      const seconds: Array<number> = []
      for (let r = 0; r < runs; r++) {
        const t0 = performance.now()
        await pass()
        seconds.push((performance.now() - t0) / 1000)
      }
      await context.dispose()
      await model.dispose()
      return seconds
    },
    dispose: () => llama.dispose()
  }
}

/** What the bridge's weight-only parity check reports (`hyperwords_bridge.weight_quant.parity`). */
interface WeightOnlyParity {
  readonly prompts: number
  readonly steps: number
  readonly greedy_equal: number
  readonly agreed_tokens: ReadonlyArray<number>
  readonly first_top1_equal: number
}

/**
 * A scratch copy of a model folder (links to its files) holding a weight-only generation graph of
 * `bits` bits, made once and kept with its parity (`onnx/model_w<bits>.json`), so the store's
 * folder is never written to.
 */
const weightOnlyFolder = (dir: string, bits: 4 | 8): { dir: string; parity: WeightOnlyParity } => {
  const copy = join(root, ".tmp", "weight-only", basename(dir))
  const onnx = join(copy, "onnx")
  mkdirSync(onnx, { recursive: true })
  for (const sub of ["", "onnx"])
    for (const f of readdirSync(join(dir, sub))) {
      const to = join(copy, sub, f)
      if (f !== "onnx" && !existsSync(to)) symlinkSync(join(dir, sub, f), to)
    }
  const record = join(onnx, `model_w${bits}.json`)
  if (!existsSync(record)) {
    console.error(`bench models: making the ${bits}-bit weight-only graph of ${basename(dir)}`)
    const out = execFileSync(
      python,
      [
        "-m",
        "hyperwords_bridge.weight_quant",
        dir,
        "--bits",
        String(bits),
        "--out",
        join(onnx, `model_w${bits}.onnx`)
      ],
      {
        cwd: join(repo, "packages", "train-bridge", "python"),
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        maxBuffer: 1 << 24
      }
    )
    writeFileSync(record, out.trim().split("\n").at(-1)!)
  }
  return {
    dir: copy,
    parity: (JSON.parse(readFileSync(record, "utf8")) as { parity: WeightOnlyParity }).parity
  }
}

/** A deterministic stream of ints (mulberry32), so every runtime probes the same ids. */
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

const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : "-")

/** Run the models suite and print its table. */
export const modelsSuite = async (options: ModelsSuiteOptions): Promise<string> => {
  if (!existsSync(python)) {
    return `skipped: the bridge venv is absent (${python}); create it with: python3 packages/train-bridge/python/bootstrap.py`
  }
  const runs = Math.max(3, options.runs)
  const work = join(root, ".tmp")
  mkdirSync(work, { recursive: true })
  const dir = mkdtempSync(join(work, "models-"))
  const rows: Array<Array<string>> = [
    ["model", "measure", "runtime", `median of ${runs}`, "vs PyTorch", "target", "met"]
  ]
  const notes: Array<string> = []
  const started = performance.now()
  // this machine's bound, measured with onnxruntime itself (benchmarks/python/machine_bound.py)
  const machine = JSON.parse(
    execFileSync(python, [boundScript, "bound", "--runs", String(Math.max(5, runs))], { encoding: "utf8" })
      .trim()
      .split("\n")
      .at(-1)!
  ) as { bytes_per_s: number; flops_per_s: number }
  const boundRows: Array<Array<string>> = [
    ["model", "decoder", "weights read per token", `median of ${runs}`, "weights read", "÷ machine bound"]
  ]
  const llama = await llamaCpp().catch((e: unknown) => {
    notes.push(`llama.cpp unavailable: ${e instanceof Error ? e.message : String(e)}`)
    return undefined
  })
  try {
    for (const name of options.models) {
      const n = options.newTokens
      const fp32 = await loadModel(name)
      const ids = prompts.map((p) => fp32.encode(p))
      const tokens = n * ids.length
      const tsRate = async (dtype: "fp32" | "q8" | "w8" | "w4", folder: string = name) => {
        const model = dtype === "fp32" ? fp32 : await loadModel(folder, { dtype })
        const pass = async () => {
          for (const p of ids) await model.generate(p, { maxNewTokens: n, stopAtEos: false })
        }
        await pass()
        const seconds: Array<number> = []
        for (let r = 0; r < runs; r++) {
          const t0 = performance.now()
          await pass()
          seconds.push((performance.now() - t0) / 1000)
        }
        return tokens / median(seconds)
      }
      const tsFp32 = await tsRate("fp32")
      const tsQ8 = await tsRate("q8")
      const weightOnly = ([8, 4] as const).map((bits) => {
        const made = weightOnlyFolder(fp32.dir, bits)
        return { bits, ...made }
      })
      const weightOnlyRates: Array<number> = []
      for (const w of weightOnly) weightOnlyRates.push(await tsRate(w.bits === 8 ? "w8" : "w4", w.dir))
      await releaseSessions()
      forgetModels()
      const torch = torchAnchor("generate", fp32.dir, { prompts: ids, new_tokens: n, runs }, dir)
      const torchRate = tokens / median(torch.seconds)
      const gguf = ggufOf(fp32.dir)
      let llamaRate = Number.NaN
      if (llama && gguf) llamaRate = tokens / median(await llama.tokensPerSecond(gguf, ids, n, runs))
      else notes.push(`${name}: no GGUF found for llama.cpp (hyperwords-model.json gguf.path)`)
      const what = `generate ${ids.length}x${n} tok`
      rows.push([
        name,
        what,
        `PyTorch eager (${torch.threads} thr)`,
        `${fmt(torchRate)} tok/s`,
        "1.00",
        "",
        ""
      ])
      rows.push([
        name,
        what,
        "TS ONNX fp32",
        `${fmt(tsFp32)} tok/s`,
        fmt(tsFp32 / torchRate, 2),
        "≥ 1.0",
        tsFp32 / torchRate >= 1 ? "yes" : "NO"
      ])
      rows.push([name, what, "TS ONNX q8", `${fmt(tsQ8)} tok/s`, fmt(tsQ8 / torchRate, 2), "", ""])
      weightOnly.forEach((w, i) => {
        const p = w.parity
        rows.push([
          name,
          what,
          `TS ONNX w${w.bits} (greedy = fp32 on ${p.greedy_equal}/${p.prompts}, agreed ${p.agreed_tokens.join("/")} of ${p.steps})`,
          `${fmt(weightOnlyRates[i]!)} tok/s`,
          fmt(weightOnlyRates[i]! / torchRate, 2),
          "",
          ""
        ])
      })
      rows.push([
        name,
        what,
        `llama.cpp GGUF${gguf ? ` (${basename(gguf)})` : ""}`,
        `${fmt(llamaRate)} tok/s`,
        fmt(llamaRate / torchRate, 2),
        "",
        ""
      ])
      notes.push(
        `${name}: TS fp32 runs at ${fmt(tsFp32 / llamaRate, 2)}x llama.cpp, TS q8 at ${fmt(tsQ8 / llamaRate, 2)}x, ` +
          weightOnly
            .map(
              (w, i) =>
                `TS w${w.bits} at ${fmt(weightOnlyRates[i]! / llamaRate, 2)}x (parity ${w.parity.greedy_equal >= 3 ? "holds" : "fails"}: ${w.parity.greedy_equal} of ${w.parity.prompts} greedy continuations equal, bar 3)`
            )
            .join(", ")
      )
      // each decoder's weights read per second, against what this machine can stream
      const perToken = weightBytes([
        join(fp32.dir, "onnx", "model.onnx"),
        join(fp32.dir, "onnx", "model_quantized.onnx"),
        ...weightOnly.map((w) => join(w.dir, "onnx", `model_w${w.bits}.onnx`))
      ])
      for (const [runtime, rate, bytes] of [
        ["TS ONNX fp32", tsFp32, perToken[0]],
        ["TS ONNX q8", tsQ8, perToken[1]],
        ["TS ONNX w8", weightOnlyRates[0]!, perToken[2]],
        ["TS ONNX w4", weightOnlyRates[1]!, perToken[3]],
        ["llama.cpp GGUF", llamaRate, gguf ? statSync(gguf).size : Number.NaN]
      ] as const)
        boundRows.push([
          name,
          runtime,
          `${fmt(bytes! / 1e6, 0)} MB`,
          `${fmt(rate)} tok/s`,
          `${fmt((rate * bytes!) / 1e9, 2)} GB/s`,
          fmt((rate * bytes!) / machine.bytes_per_s, 3)
        ])
    }

    for (const name of options.probeModels) {
      const model = await loadModel(name)
      const { vocabSize } = model.config
      const next = seededInts(7)
      const ids = Array.from({ length: options.probePrompts }, () =>
        Array.from({ length: options.probeTokens }, () => next(vocabSize))
      )
      const tracked = ids.map(() => Array.from({ length: 4 }, () => next(vocabSize)))
      const batch = 8
      const graph = await model.probeGraphSession()
      const pass = async () => {
        for (let s = 0; s < ids.length; s += batch) {
          await model.probe({ ids: ids.slice(s, s + batch), tracked: tracked.slice(s, s + batch) })
        }
      }
      await model.probe({ ids: ids.slice(0, batch), tracked: tracked.slice(0, batch) })
      const seconds: Array<number> = []
      for (let r = 0; r < runs; r++) {
        const t0 = performance.now()
        await pass()
        seconds.push((performance.now() - t0) / 1000)
      }
      await releaseSessions()
      forgetModels()
      const torch = torchAnchor("probe", model.dir, { ids, tracked, batch, k: graph.spec.k, runs }, dir)
      const ts = median(seconds)
      const anchor = median(torch.seconds)
      const what = `probe ${options.probePrompts}x${options.probeTokens} tok`
      rows.push([name, what, `PyTorch hooks (${torch.threads} thr)`, `${fmt(anchor, 2)} s`, "1.00", "", ""])
      rows.push([
        name,
        what,
        "TS probe.onnx",
        `${fmt(ts, 2)} s`,
        fmt(anchor / ts, 2),
        "≥ 1.5",
        anchor / ts >= 1.5 ? "yes" : "NO"
      ])
    }
  } finally {
    await llama?.dispose()
    rmSync(dir, { recursive: true, force: true })
  }
  notes.push(`suite wall time ${fmt((performance.now() - started) / 1000, 0)} s`)
  return [
    table(rows),
    "",
    `This machine, measured with onnxruntime: ${fmt(machine.bytes_per_s / 1e9, 1)} GB/s streaming a 256 MB float32 ` +
      `matrix-vector product (the bound of a decoder that reads its weights once per token), ` +
      `${fmt(machine.flops_per_s / 1e9, 1)} GFLOP/s on a 256x1024x1024 matmul.`,
    "",
    table(boundRows),
    "",
    ...notes
  ].join("\n")
}

const list = (v: string | undefined, fallback: ReadonlyArray<string>) =>
  v === undefined ? fallback : v.split(",").filter((s) => s !== "")

/**
 * Options from the environment: BENCH_RUNS (3), BENCH_MODELS (comma list; both models),
 * BENCH_PROBE_MODELS (smollm2-135m), BENCH_TOKENS (32), BENCH_PROBE_PROMPTS (64),
 * BENCH_PROBE_TOKENS (32).
 */
export const modelsOptions = (env: NodeJS.ProcessEnv = process.env): ModelsSuiteOptions => ({
  runs: Number(env.BENCH_RUNS ?? 3),
  models: list(env.BENCH_MODELS, ["smollm2-135m", "gemma-3-270m"]),
  newTokens: Number(env.BENCH_TOKENS ?? 32),
  // Gemma's lens over 262k tokens x 19 states costs ~3x SmolLM2's: 64x32 on both would not fit
  // the suite's 10 minutes on 2 cores, so it is opt-in (BENCH_PROBE_MODELS=smollm2-135m,gemma-3-270m)
  probeModels: list(env.BENCH_PROBE_MODELS, ["smollm2-135m"]),
  probePrompts: Number(env.BENCH_PROBE_PROMPTS ?? 64),
  probeTokens: Number(env.BENCH_PROBE_TOKENS ?? 32)
})
