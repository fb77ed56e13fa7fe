/**
 * `pnpm bench engine`: the pipeline engine's overhead.
 * 1. a no-op rerun of a six-stage pipeline with every output cached, wall time of the real
 *    `hyperwords pipeline` process (target ≤ 2 s on this machine);
 * 2. store hashing throughput on 1 GB of artifacts as a ratio to `sha256sum` on the same files,
 *    both run here on the same page-cached files (target ≥ 0.8).
 */
import { execFileSync, spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { Hash } from "@hyperwords/core"
import { median, table, timeMs } from "./table.ts"

const root = resolve(import.meta.dirname, "..")
const bin = resolve(root, "..", "packages", "core", "bin", "hyperwords.ts")
const coreIndex = resolve(root, "..", "packages", "core", "src", "index.ts")

const sixStageConfig = `
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect, Schema } from "effect"
import { defineConfig, defineStage } from ${JSON.stringify(coreIndex)}

const stage = (i) => defineStage({
  id: "stage" + i,
  description: "link " + i,
  codeVersion: "1",
  params: Schema.Struct({ n: Schema.Int }),
  inputs: i === 0 ? {} : { prev: { stage: "stage" + (i - 1), output: "set" } },
  outputs: { set: "HyperwordSet" },
  sources: () => (i === 0 ? ["corpus"] : []),
  exports: [{ output: "set", file: "set.jsonl", to: "stage" + i + ".jsonl" }],
  run: (ctx) => Effect.sync(() => {
    const prev = i === 0 ? "" : readFileSync(ctx.inputs.prev.file("set.jsonl"), "utf8")
    writeFileSync(join(ctx.outputDir("set"), "set.jsonl"), prev + JSON.stringify({ i, n: ctx.params.n }) + "\\n")
    return { set: { data: { schemaVersion: 1, file: "set.jsonl", count: i + 1, byLang: {}, byOrigin: {}, sources: [] } } }
  })
})

export default defineConfig({
  stages: Array.from({ length: 6 }, (_, i) => stage(i)),
  params: Object.fromEntries(Array.from({ length: 6 }, (_, i) => ["stage" + i, { n: i }]))
})
`

const runPipeline = (dir: string): void => {
  const r = spawnSync(process.execPath, [bin, "pipeline"], {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, CI: "1" }
  })
  if (r.status !== 0) throw new Error(`pipeline failed: ${r.stderr}`)
}

/** Run the engine suite and print its table. */
export const engineSuite = async (options: {
  readonly runs: number
  readonly gigabytes: number
}): Promise<string> => {
  const work = join(root, ".tmp")
  mkdirSync(work, { recursive: true })
  const dir = mkdtempSync(join(work, "engine-"))
  try {
    // 1. six cached stages, rerun
    mkdirSync(join(dir, "corpus"))
    for (let i = 0; i < 50; i++)
      writeFileSync(join(dir, "corpus", `poem${i}.txt`), `line ${i}\n`.repeat(2000))
    writeFileSync(join(dir, "pipeline.config.ts"), sixStageConfig)
    runPipeline(dir)
    const reruns: Array<number> = []
    for (let i = 0; i < options.runs; i++) reruns.push(await timeMs(() => runPipeline(dir)))
    const nodeStart: Array<number> = []
    for (let i = 0; i < options.runs; i++) {
      nodeStart.push(await timeMs(() => execFileSync(process.execPath, ["-e", "0"])))
    }

    // 2. hashing 1 GB: ours against sha256sum on the same files
    const files: Array<string> = []
    const fileBytes = 128 * 1024 * 1024
    const count = Math.max(1, Math.round((options.gigabytes * 1024 ** 3) / fileBytes))
    const block = Buffer.alloc(fileBytes)
    for (let i = 0; i < count; i++) {
      for (let j = 0; j < block.length; j += 4) block.writeUInt32LE((j * 2654435761 + i) >>> 0, j)
      const f = join(dir, `artifact${i}.bin`)
      writeFileSync(f, block)
      files.push(f)
    }
    const total = count * fileBytes
    execFileSync("sha256sum", files) // warm the page cache for both
    const ours: Array<number> = []
    const anchor: Array<number> = []
    for (let i = 0; i < options.runs; i++) {
      ours.push(
        await timeMs(() => {
          for (const f of files) Hash.hashFileSync(f)
        })
      )
      anchor.push(await timeMs(() => execFileSync("sha256sum", files)))
    }
    const mbps = (ms: number) => total / 1e6 / (ms / 1000)
    const ratio = mbps(median(ours)) / mbps(median(anchor))
    const rerun = median(reruns)
    return table([
      ["measure", `median of ${options.runs}`, "anchor", "ratio", "target", "met"],
      [
        "no-op rerun, 6 cached stages (wall)",
        `${(rerun / 1000).toFixed(2)} s`,
        `node -e 0: ${(median(nodeStart) / 1000).toFixed(2)} s`,
        "-",
        "≤ 2 s",
        rerun <= 2000 ? "yes" : "NO"
      ],
      [
        `store hashing, ${(total / 1024 ** 3).toFixed(1)} GiB`,
        `${mbps(median(ours)).toFixed(0)} MB/s`,
        `sha256sum: ${mbps(median(anchor)).toFixed(0)} MB/s`,
        ratio.toFixed(2),
        "≥ 0.8",
        ratio >= 0.8 ? "yes" : "NO"
      ]
    ])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
