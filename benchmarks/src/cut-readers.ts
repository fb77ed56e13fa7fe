/**
 * `pnpm bench cut-readers`: what the embedding graph cuts give the readers, in the TS runtime: the
 * hidden states at the layers the sensory estimator (a third of the depth) and associative breadth
 * (layer 1) read (`Model.embed`, which takes the graph as the word readers do), for BENCH_WORDS
 * short words in batches of 32, from the whole embedding graph against the smallest cut that
 * reaches the layer; sides alternate, BENCH_RUNS times, medians; the states must agree.
 * Environment: BENCH_MODEL (default gemma-3-270m), BENCH_RUNS (3), BENCH_WORDS (400).
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
  words: Number(process.env.BENCH_WORDS ?? 400)
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
      if (!/^embed-upto-/.test(f)) linkSync(join(dir, "onnx", f), join(whole, "onnx", f))
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
    return `${o.model}, ${o.words} words, ${o.runs} runs (medians)\n${table(rows)}`
  } finally {
    rmSync(join(whole, ".."), { recursive: true, force: true })
  }
}
