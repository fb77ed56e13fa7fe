/**
 * Local against Ray, bit for bit: the fine-tune of a finished pipeline run trained again, its
 * exports included, on a local Ray cluster (started here on loopback, stopped after), and the two
 * versions' model folders compared file by file (the ONNX graphs included) with their revisions.
 * CI runs it after the quick pipeline:
 *
 *   node scripts/ray-parity.ts --profile quick [--corpus PATH]... [--stage finetune]
 *
 * The pipeline flags must be those of the local run, so the stage has the same key. The local
 * version's model folder and the stage's work folder (its checkpoints, from which a rerun would
 * resume) are moved aside first; they are removed when the versions match and kept, with the
 * paths printed, when they do not. Exits 1 on any difference.
 */
import { enableCompileCache } from "node:module"

enableCompileCache?.()
const { spawnSync } = await import("node:child_process")
const { existsSync, readFileSync, renameSync, rmSync } = await import("node:fs")
const { join, resolve } = await import("node:path")
const { startLocalRay } = await import("@hyperwords/train-bridge/RayCluster")
const { diffTable, diffVersions, folderHashes } = await import("@hyperwords/train-bridge/VersionDiff")
const { venvPython } = await import("@hyperwords/train-bridge/Paths")
type VersionFiles = import("@hyperwords/train-bridge/VersionDiff").VersionFiles

const root = resolve(import.meta.dirname, "..")
const args = process.argv.slice(2)
const stageAt = args.indexOf("--stage")
const stage = stageAt >= 0 ? args[stageAt + 1] : "finetune"
const flags = stageAt >= 0 ? args.filter((_, i) => i !== stageAt && i !== stageAt + 1) : args
if (stage === undefined || stage.startsWith("--")) throw new Error("--stage needs a stage id")

interface Planned {
  readonly store: string
  readonly stages: ReadonlyArray<{
    id: string
    status: string
    key: string | null
    outputs: Record<string, string>
  }>
}

/** `pnpm pipeline FLAGS... extra...` with `--json`: its document (progress goes to stderr). */
const pipeline = (extra: ReadonlyArray<string>, env: NodeJS.ProcessEnv = process.env): Planned => {
  const r = spawnSync(
    process.execPath,
    [join(root, "packages/core/bin/hyperwords.ts"), "pipeline", ...flags, ...extra, "--json"],
    { cwd: root, env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 << 20 }
  )
  if (r.status !== 0)
    throw new Error(`pipeline ${[...flags, ...extra].join(" ")} exited ${r.status}:\n${r.stdout}`)
  return JSON.parse(r.stdout) as Planned
}

/** The stage's `ModelVersion` document, with where the store keeps it. */
const versionOf = (planned: Planned) => {
  const row = planned.stages.find((s) => s.id === stage)
  const id = row?.outputs.model
  if (row === undefined || id === undefined || row.key === null)
    throw new Error(
      `the pipeline has no ${stage} stage with a model output (${planned.stages.map((s) => s.id)})`
    )
  const doc = JSON.parse(readFileSync(join(planned.store, "artifacts", `${id}.json`), "utf8")) as {
    data: VersionFiles & { dir: string }
  }
  return { key: row.key, artifact: id, version: doc.data }
}

const planned = pipeline(["--only", stage, "--dry"])
const local = versionOf(planned)
const store = planned.store
if (!existsSync(local.version.dir)) throw new Error(`${stage}'s model folder ${local.version.dir} is missing`)
const aside = (path: string) => {
  if (!existsSync(path)) return undefined
  rmSync(`${path}.local`, { recursive: true, force: true })
  renameSync(path, `${path}.local`)
  return `${path}.local`
}
const folders = [local.version.dir, join(store, "work", stage, local.key.slice(0, 32))]
const moved = folders.map(aside).filter((p): p is string => p !== undefined)
/** A Ray run that failed: the local folders back where they were (nothing of the local run lost). */
const putBack = () => {
  for (const f of folders)
    if (existsSync(`${f}.local`)) {
      rmSync(f, { recursive: true, force: true })
      renameSync(`${f}.local`, f)
    }
}
// every file of the folder, the ONNX graphs included (the document names only the model's own files)
const localVersion: VersionFiles = {
  model: local.version.model,
  files: await folderHashes(`${local.version.dir}.local`)
}

process.stderr.write(
  `${stage}: local version ${local.artifact.slice(0, 12)}; training it again on a local Ray cluster\n`
)
// The trainer's thread count is part of its arithmetic: a local run without HYPERWORDS_THREADS
// uses torch's default (this machine's cores), a Ray job the CPUs it asks for (1 by default).
// The Ray run is given the local run's count, so the two do the same sums.
const threads = Number(
  process.env.HYPERWORDS_THREADS ??
    spawnSync(venvPython, ["-c", "import torch; print(torch.get_num_threads())"], {
      encoding: "utf8"
    }).stdout.trim()
)
if (!(Number.isInteger(threads) && threads > 0))
  throw new Error("could not read the local trainer's thread count (torch.get_num_threads() in the venv)")
process.stderr.write(`${stage}: the local trainer's threads: ${threads}; the Ray job gets as many\n`)
const ray = await startLocalRay(venvPython, { cpus: Math.max(2, threads) })
let onRay: ReturnType<typeof versionOf>
try {
  onRay = versionOf(
    pipeline(["--only", stage, "--force", stage, "--executor", `ray:${ray.address}`], {
      ...process.env,
      HYPERWORDS_THREADS: String(threads)
    })
  )
} catch (e) {
  putBack()
  throw e
} finally {
  await ray.stop()
}
if (onRay.key !== local.key) throw new Error(`the Ray run has another key (${onRay.key} ≠ ${local.key})`)
const diff = diffVersions(localVersion, {
  model: onRay.version.model,
  files: await folderHashes(onRay.version.dir)
})
process.stdout.write(
  `${stage} (key ${local.key.slice(0, 12)}), local against Ray: revision ${diff.revisionSame ? "the same" : "DIFFERENT"}\n\n` +
    `${diffTable(diff, ["local", "Ray"])}\n\n`
)
if (!diff.same) {
  process.stdout.write(`the versions differ; the local run is kept in ${moved.join(" and ")}\n`)
  process.exit(1)
}
for (const p of moved) rmSync(p, { recursive: true, force: true })
process.stdout.write(`the same ${diff.rows.length} files, bit for bit\n`)
