/**
 * `pnpm bench cut-readers`: what the embedding graph cuts give the readers, in the TS runtime: the
 * hidden states at the layers the sensory estimator (a third of the depth) and associative breadth
 * (layer 1) read (`Model.embed`, which takes the graph as the word readers do), for BENCH_WORDS
 * short words in batches of 32, from the whole embedding graph against the smallest cut that
 * reaches the layer; and the lens at each prompt's last token (`Model.lensAtLast`, the
 * English-pivot check's read) from the probe graph against the lens head on the embedding graph's
 * states. Sides alternate, BENCH_RUNS times, medians; the results must agree.
 * Environment: BENCH_MODEL (default gemma-3-270m), BENCH_RUNS (3), BENCH_WORDS (400), BENCH_PROMPTS (32).
 */
import { cpSync, linkSync, mkdirSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { loadModel, releaseModel } from "@hyperwords/models/Model"
import { embedCuts, resolveModelDir } from "@hyperwords/models/ModelDir"
import { median, table } from "./table.ts"

export const cutReadersOptions = () => ({
  model: process.env.BENCH_MODEL ?? "gemma-3-270m",
  runs: Number(process.env.BENCH_RUNS ?? 3),
  words: Number(process.env.BENCH_WORDS ?? 400),
  prompts: Number(process.env.BENCH_PROMPTS ?? 32)
})

/** Words of a few letters, deterministic: stand-ins for dictionary entries of one or two tokens. */
const someWords = (n: number): Array<string> => {
  const syllables = ["ka", "lo", "mi", "ren", "sa", "tor", "vel", "dun", "pa", "ri", "gos", "ne"]
  const out: Array<string> = []
  for (let i = 0; out.length < n; i++)
    out.push(
      syllables[i % 12]! + syllables[Math.floor(i / 12) % 12]! + (i >= 144 ? syllables[(i >> 3) % 12]! : "")
    )
  return out
}

export const cutReaders = async (o = cutReadersOptions()): Promise<string> => {
  const dir = resolveModelDir(o.model)
  const cuts = embedCuts(dir)
  if (cuts.length === 0)
    throw new Error(
      `${dir} has no embedding graph cuts: pull it again (pnpm hyperwords models pull ${o.model})`
    )
  // the same folder without its cuts: every file hard-linked but the cuts
  const whole = join(tmpdir(), `cut-readers-${process.pid}`, o.model)
  mkdirSync(join(whole, "onnx"), { recursive: true })
  try {
    for (const f of readdirSync(dir))
      if (f !== "onnx") cpSync(join(dir, f), join(whole, f), { recursive: true })
    for (const f of readdirSync(join(dir, "onnx")))
      if (!/^embed-upto-|^lens\.onnx$/.test(f)) linkSync(join(dir, "onnx", f), join(whole, "onnx", f))
    const words = someWords(o.words)
    const rows = [["reader's layer", "whole embedding graph", "cut", "ratio", "max |Δ|"]]
    for (const layer of cuts) {
      const times = { whole: [] as Array<number>, cut: [] as Array<number> }
      let diff = 0
      for (let r = 0; r < o.runs; r++) {
        const got: Record<string, Array<Float32Array>> = {}
        for (const [side, folder] of [
          ["whole", whole],
          ["cut", dir]
        ] as const) {
          const model = await loadModel(folder)
          await model.embed(words.slice(0, 8), { layer }) // the session opened outside the timing
          const t0 = performance.now()
          const e = await model.embed(words, { layer, batchSize: 32 })
          times[side].push((performance.now() - t0) / 1000)
          const h = e.dims[1]!
          got[side] = words.map((_, i) => e.data.slice(i * h, (i + 1) * h))
          await releaseModel(folder)
        }
        for (let i = 0; i < words.length; i++)
          for (let j = 0; j < got.whole![i]!.length; j++)
            diff = Math.max(diff, Math.abs(got.whole![i]![j]! - got.cut![i]![j]!))
      }
      rows.push([
        `${layer} of ${(await loadModel(dir)).config.numLayers}`,
        `${median(times.whole).toFixed(2)} s`,
        `${median(times.cut).toFixed(2)} s`,
        (median(times.cut) / median(times.whole)).toFixed(3),
        diff.toExponential(1)
      ])
    }
    // the lens at each prompt's last token (the English-pivot check's read): the probe graph,
    // which computes it at every position, against the lens head on the embedding graph's states
    const prompts = Array.from(
      { length: o.prompts },
      (_, i) =>
        `Français: "${words[i % words.length]}" - Русский: "кошка" - Français: "chat" - Русский: "${words[(i * 7) % words.length]}" - Français: "`
    )
    const lensRows = [["read", "probe graph", "lens head", "ratio", "max |Δ log-prob|"]]
    const lensTimes = { whole: [] as Array<number>, cut: [] as Array<number> }
    let lensDiff = 0
    for (let r = 0; r < o.runs; r++) {
      const got: Record<string, Float32Array> = {}
      for (const [side, folder] of [
        ["whole", whole],
        ["cut", dir]
      ] as const) {
        const model = await loadModel(folder)
        const ids = prompts.map((p) => model.encode(p))
        const tracked = ids.map((row) => [row[1]!, row[2]!, row[3]!])
        await model.lensAtLast(ids.slice(0, 2), tracked.slice(0, 2)) // sessions opened outside the timing
        const t0 = performance.now()
        const parts: Array<Float32Array> = []
        for (let s = 0; s < ids.length; s += 8)
          parts.push((await model.lensAtLast(ids.slice(s, s + 8), tracked.slice(s, s + 8))).data)
        lensTimes[side].push((performance.now() - t0) / 1000)
        got[side] = Float32Array.from(parts.flatMap((p) => Array.from(p)))
        await releaseModel(folder)
      }
      for (let i = 0; i < got.whole!.length; i++)
        lensDiff = Math.max(lensDiff, Math.abs(got.whole![i]! - got.cut![i]!))
    }
    lensRows.push([
      `${o.prompts} prompts (~40 tokens), batches of 8, every layer`,
      `${median(lensTimes.whole).toFixed(2)} s`,
      `${median(lensTimes.cut).toFixed(2)} s`,
      (median(lensTimes.cut) / median(lensTimes.whole)).toFixed(3),
      lensDiff.toExponential(1)
    ])
    return `${o.model}, ${o.words} words, ${o.runs} runs (medians)\n${table(rows)}\n\nthe lens at each prompt's last token\n${table(lensRows)}`
  } finally {
    rmSync(join(whole, ".."), { recursive: true, force: true })
  }
}
