/**
 * The stage runner: computes each stage's key from everything that shapes its outputs, restores
 * outputs of a key seen before, runs the rest in dependency order, and records what ran in
 * `pipeline.lock.json`. `--dry --explain` says per stage HIT or MISS and which contributor changed.
 */
import { randomBytes } from "node:crypto"
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync
} from "node:fs"
import { basename, dirname, isAbsolute, join, normalize, relative, resolve, sep } from "node:path"
import { Cause, Deferred, Effect, Result, Schema } from "effect"
import { type ArtifactKind, ArtifactKinds } from "./Artifacts.ts"
import { type LoadedConfig, type RunOptions, resolveParams, topoOrder } from "./Config.ts"
import { decodeJsonText } from "./Decode.ts"
import { type DecodeError, StageError, StoreError, UsageError } from "./Errors.ts"
import { hashFileSync, hashValue } from "./Hash.ts"
import { fsyncPath, tempPathBeside, writeFileAtomic } from "./internal/fsAtomic.ts"
import { Progress } from "./Progress.ts"
import { gitCommit, writePipelineRun } from "./RunHistory.ts"
import { explainDifference } from "./RunnerExplain.ts"
import type { LoadedArtifact, Stage } from "./Stage.ts"
import { type ArtifactFile, locateModelFolder, type Manifest, Store } from "./Store.ts"

/** Everything hashed into a stage key. */
export interface Contributors {
  readonly stage: string
  readonly codeVersion: string
  readonly params: unknown
  readonly inputs: Readonly<Record<string, string>>
  readonly sources: Readonly<Record<string, string>>
  readonly plugins: ReadonlyArray<string>
  readonly model: { readonly id: string; readonly revision: string } | null
  readonly runtime: Readonly<Record<string, string>>
}

/** `pipeline.lock.json`: what ran last, per stage. */
export const PipelineLock = Schema.Struct({
  lockVersion: Schema.Literal(1),
  profile: Schema.String,
  updatedAt: Schema.String,
  stages: Schema.Record(
    Schema.String,
    Schema.Struct({
      key: Schema.String,
      contributors: Schema.Unknown,
      outputs: Schema.Record(Schema.String, Schema.String),
      runId: Schema.String,
      status: Schema.Literals(["ran", "restored"]),
      durationMs: Schema.Finite,
      at: Schema.String
    })
  )
})
export type PipelineLock = typeof PipelineLock.Type

/** What became of one stage. */
export interface StagePlan {
  readonly id: string
  readonly status: "HIT" | "MISS" | "PLANNED" | "SKIPPED"
  readonly key?: string
  readonly reasons: ReadonlyArray<string>
  readonly ran?: boolean
  readonly durationMs?: number
  readonly outputs?: Readonly<Record<string, string>>
}

/** Options of one pipeline run. */
export interface PipelineOptions extends RunOptions {
  readonly only?: ReadonlyArray<string>
  readonly from?: string
  readonly force?: ReadonlyArray<string>
  readonly dry?: boolean
  readonly command?: string
  /** Stages run at once, each when its upstream has finished (default 1: one at a time, in config order). */
  readonly parallel?: number
}

/** The runtime fingerprint: Node major and platform, plus the config's own entries. */
export const runtimeFingerprint = (loaded: LoadedConfig): Record<string, string> => ({
  node: `v${process.versions.node.split(".")[0]}`,
  platform: `${process.platform}-${process.arch}`,
  ...(loaded.config.runtime?.() ?? {})
})

const statCacheFile = (storeDir: string) => join(storeDir, "cache", "source-hashes.json")
type StatCache = Record<string, { size: number; mtimeMs: number; sha256: string }>

const hashSource = (path: string, cache: StatCache): string => {
  const st = statSync(path)
  const fileHash = (p: string): string => {
    const s = statSync(p)
    const hit = cache[p]
    if (hit && hit.size === s.size && hit.mtimeMs === s.mtimeMs) return hit.sha256
    const h = hashFileSync(p).sha256
    cache[p] = { size: s.size, mtimeMs: s.mtimeMs, sha256: h }
    return h
  }
  if (!st.isDirectory()) {
    if (!st.isFile()) throw new Error(`${path} is not a regular file`)
    return fileHash(path)
  }
  const entries: Array<[string, string]> = []
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((x, y) => x.name.localeCompare(y.name))) {
      if (e.name.startsWith(".")) continue
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.isFile()) entries.push([relative(path, p).split(sep).join("/"), fileHash(p)])
    }
  }
  walk(path)
  return hashValue(entries)
}

/**
 * The name of a source in a stage key: its path inside the project, or — outside it — the path as
 * the stage gave it (absolute, or relative to a project that moves together with it). A path
 * relative to the project from outside it would change whenever the project moves.
 */
const sourceName = (projectDir: string, given: string, abs: string): string => {
  const rel = relative(projectDir, abs)
  if (rel === "") return "."
  if (!rel.startsWith("..") && !isAbsolute(rel)) return rel.split(sep).join("/")
  return (isAbsolute(given) ? abs : normalize(given).replace(/[\\/]+$/, "")).split(sep).join("/")
}

/** Why a source would block its hashing (neither a regular file nor a folder), or undefined. */
const sourceProblem = (abs: string): string | undefined => {
  let st: ReturnType<typeof statSync>
  try {
    st = statSync(abs)
  } catch {
    return undefined // a missing or unreadable source is reported where its stage's key is computed
  }
  return st === undefined || st.isFile() || st.isDirectory()
    ? undefined
    : `source ${abs} is not a regular file (a FIFO, device or socket); give a file or a folder`
}

const listStagedFiles = (dir: string): Array<string> => {
  const out: Array<string> = []
  const walk = (d: string) => {
    if (!existsSync(d)) return
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.isFile()) out.push(p)
    }
  }
  walk(dir)
  return out.sort()
}

/**
 * The lock file of a config, beside it: `pipeline.lock.json` for `pipeline.config.ts`, and for any
 * other config a file of its own (`superwords.config.ts` → `superwords.lock.json`), so two configs
 * in one folder each keep what they ran last (`store times`, `rescore`, `compare` read it).
 */
export const lockFileOf = (configFile: string): string => {
  const name = basename(configFile).replace(/(\.config)?\.[cm]?[jt]s$/, "")
  return join(dirname(configFile), `${name === "" ? "pipeline" : name}.lock.json`)
}

/** Every config's lock in a folder (`*.lock.json` that reads as one), by file name. */
export const readLocksIn = (dir: string): Effect.Effect<ReadonlyArray<PipelineLock>, DecodeError> =>
  Effect.suspend(() => {
    const files = existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => f.endsWith(".lock.json"))
          .sort()
      : []
    return Effect.forEach(files, (f) =>
      Effect.fromResult(decodeJsonText(PipelineLock, readFileSync(join(dir, f), "utf8"), join(dir, f))).pipe(
        // a file of that name that is no pipeline lock (another tool's) is not one of ours
        Effect.map((lock): ReadonlyArray<PipelineLock> => [lock]),
        Effect.catch(() => Effect.succeed([] as ReadonlyArray<PipelineLock>))
      )
    ).pipe(Effect.map((locks) => locks.flat()))
  })

/** Read a lock file if present. */
export const readLock = (file: string): Effect.Effect<PipelineLock | undefined, DecodeError> =>
  Effect.suspend(() => {
    if (!existsSync(file)) return Effect.succeed(undefined)
    return Effect.fromResult(decodeJsonText(PipelineLock, readFileSync(file, "utf8"), file))
  })

/**
 * An artifact's data as a stage sees it: a `ModelVersion` whose recorded folder is gone but whose
 * place is in this store (the project moved with its store) names the folder where it is now. The
 * artifact, its hash and the keys that read it stay as they were recorded.
 */
const relocated = (store: Store["Service"], manifest: Manifest): unknown => {
  const data = manifest.data as { dir?: unknown } | null
  if (manifest.kind !== "ModelVersion" || typeof data?.dir !== "string") return manifest.data
  const found = locateModelFolder(store.root, data.dir)
  return found === undefined || found === data.dir ? manifest.data : { ...data, dir: found }
}

const loadArtifact = (store: Store["Service"], hash: string) =>
  Effect.gen(function* () {
    const manifest: Manifest = yield* store.readArtifact(hash)
    const byPath = new Map(manifest.files.map((f) => [f.path, f]))
    const loaded: LoadedArtifact = {
      hash,
      manifest,
      data: relocated(store, manifest),
      file: (path: string) => {
        const f = byPath.get(path)
        if (!f) throw new Error(`artifact ${manifest.kind} ${hash.slice(0, 10)} has no file ${path}`)
        return store.objectPath(f.sha256)
      }
    }
    return loaded
  })

/** Where a stage's reports go: `reports/`, or `reports/<base>/` for a base's copy in a matrix (`Matrix.ts`). */
export const reportsDirOf = (loaded: LoadedConfig, stage: Stage<unknown>): string =>
  stage.matrix === undefined ? loaded.reportsDir : join(loaded.reportsDir, stage.matrix.base)

/** Whether `path` is a file with exactly the bytes of `file` (same size, then same sha256). */
const holdsBytes = (path: string, file: ArtifactFile): boolean => {
  try {
    const st = statSync(path)
    return st.isFile() && st.size === file.bytes && hashFileSync(path).sha256 === file.sha256
  } catch {
    return false
  }
}

const exportFiles = (
  store: Store["Service"],
  stage: Stage<unknown>,
  outputs: Readonly<Record<string, string>>,
  reportsDir: string
) =>
  Effect.gen(function* () {
    for (const spec of stage.exports ?? []) {
      const hash = outputs[spec.output]
      if (!hash) continue
      const art = yield* loadArtifact(store, hash)
      // a folder (`file` ending in "/"): every file under it, to the same place under `to`
      const sources = spec.file.endsWith("/")
        ? art.manifest.files
            .filter((f) => f.path.startsWith(spec.file))
            .map((f) => ({ src: f, target: resolve(reportsDir, spec.to, f.path.slice(spec.file.length)) }))
        : art.manifest.files
            .filter((f) => f.path === spec.file)
            .map((f) => ({ src: f, target: resolve(reportsDir, spec.to) }))
      for (const { src, target } of sources)
        yield* Effect.try({
          try: () => {
            // a report that already holds these bytes is left as it is (a restored run writes nothing)
            if (holdsBytes(target, src)) return
            mkdirSync(dirname(target), { recursive: true })
            const tmp = tempPathBeside(target)
            copyFileSync(store.objectPath(src.sha256), tmp)
            chmodSync(tmp, 0o644) // the object is read-only; the report is the user's
            // rename over the old export: readers see the old file or the new one
            renameSync(tmp, target)
            fsyncPath(dirname(target))
          },
          catch: (e) => new StoreError({ path: target, detail: `cannot export: ${(e as Error).message}` })
        })
    }
  })

/** Plan and run the pipeline. With `dry`, only plan. */
export const runPipeline = (loaded: LoadedConfig, options: PipelineOptions) =>
  Effect.gen(function* () {
    const store = yield* Store
    const progress = yield* Progress
    const stages = (yield* topoOrder(loaded.config.stages).pipe(
      Effect.mapError((detail) => new UsageError({ detail }))
    )) as Array<Stage<unknown>>
    const byId = new Map(stages.map((s) => [s.id, s]))
    for (const name of [
      ...(options.only ?? []),
      ...(options.force ?? []),
      ...(options.from ? [options.from] : [])
    ]) {
      if (!byId.has(name)) {
        return yield* new UsageError({
          detail: `there is no stage "${name}"; stages: ${stages.map((s) => s.id).join(", ")}`
        })
      }
    }
    const params = yield* resolveParams(loaded, options)
    const lockFile = lockFileOf(loaded.file)
    const previous = yield* readLock(lockFile)
    const runtime = runtimeFingerprint(loaded)

    // which stages run (the rest are restored from the store when something downstream needs them)
    const downstreamOf = (id: string): Set<string> => {
      const out = new Set([id])
      for (const s of stages) if (Object.values(s.inputs).some((r) => out.has(r.stage))) out.add(s.id)
      return out
    }
    const selected = new Set<string>(
      options.only && options.only.length > 0
        ? options.only
        : options.from
          ? downstreamOf(options.from)
          : stages.map((s) => s.id)
    )
    const forced = new Set(options.force ?? [])

    // a FIFO or a device among the sources would block the hashing below (and Ctrl-C with it):
    // refuse it before the lock is taken
    for (const stage of stages) {
      if (!stage.run) continue
      for (const src of stage.sources?.(params.get(stage.id), loaded.projectDir) ?? []) {
        const problem = sourceProblem(resolve(loaded.projectDir, src))
        if (problem !== undefined) return yield* new UsageError({ detail: `stage ${stage.id}: ${problem}` })
      }
    }

    if (!options.dry) yield* store.lock(options.command ?? "hyperwords pipeline")

    const statCachePath = statCacheFile(loaded.storeDir)
    let statCache: StatCache = {}
    try {
      statCache = JSON.parse(readFileSync(statCachePath, "utf8")) as StatCache
    } catch {
      statCache = {}
    }

    // the lock keeps what ran last of this config's stages (a partial run keeps the others' entries);
    // stages another config or profile had (another base of a matrix) are not this pipeline's
    const lockStages: Record<string, PipelineLock["stages"][string]> = Object.fromEntries(
      Object.entries(previous?.stages ?? {}).filter(([id]) => byId.has(id))
    )
    const lock = { lockVersion: 1, profile: options.profile, stages: lockStages }
    // the project's commit goes into every run record and lineage, and this run's record of the
    // stages it used (`RunHistory.ts`: what `store gc --keep-last N` keeps)
    const commit = options.dry ? undefined : gitCommit(loaded.projectDir)
    const pipelineStartedAt = new Date().toISOString()
    const pipelineRun = {
      recordVersion: 1 as const,
      id: `${pipelineStartedAt.replace(/[:.]/g, "-")}-${randomBytes(3).toString("hex")}`,
      profile: options.profile,
      startedAt: pipelineStartedAt,
      ...(commit === undefined ? {} : { commit }),
      stages: {} as Record<string, { key: string; outputs: Readonly<Record<string, string>> }>
    }
    // restored stages are recorded in the lock once, at the end (or with the next stage that runs):
    // a restored run wrote the lock and its run record once per stage
    let unsaved = false
    const saveLock = () =>
      Effect.try({
        try: () => {
          unsaved = false
          const updatedAt = new Date().toISOString()
          writeFileAtomic(lockFile, `${JSON.stringify({ ...lock, updatedAt }, null, 2)}\n`)
          for (const [id, st] of Object.entries(lockStages))
            if (st.at >= pipelineStartedAt) pipelineRun.stages[id] = { key: st.key, outputs: st.outputs }
          writePipelineRun(store.root, { ...pipelineRun, updatedAt })
        },
        catch: (e) => new StoreError({ path: lockFile, detail: (e as Error).message })
      })

    const outputsOf = new Map<string, Readonly<Record<string, string>>>()
    const willRun = new Set<string>()
    const plans: Array<StagePlan> = []

    // one stage: wait for nothing (its upstream has finished), key it, restore it or run it
    const step = (stage: Stage<unknown>) =>
      Effect.gen(function* () {
        const p = params.get(stage.id)
        if (!stage.run) {
          plans.push({
            id: stage.id,
            status: "PLANNED",
            reasons: [`not implemented yet${stage.plannedIn ? ` (${stage.plannedIn})` : ""}`]
          })
          return
        }
        const missing = Object.entries(stage.inputs).filter(
          ([, ref]) => !outputsOf.has(ref.stage) && !willRun.has(ref.stage)
        )
        if (missing.length > 0) {
          const [name, ref] = missing[0]!
          const upstream = plans.find((q) => q.id === ref.stage)
          const why =
            upstream?.status === "PLANNED"
              ? `needs ${ref.stage} (input ${name}), which is not implemented yet`
              : `needs ${ref.stage} (input ${name}), which is not in the store`
          if (selected.has(stage.id) && upstream?.status !== "PLANNED" && !options.dry) {
            return yield* new UsageError({
              detail:
                `stage ${stage.id} ${why}; run it too (--only ${ref.stage},${stage.id}) ` +
                `or run the pipeline without --only`
            })
          }
          plans.push({ id: stage.id, status: "SKIPPED", reasons: [why] })
          return
        }
        const pending = Object.values(stage.inputs).filter((ref) => willRun.has(ref.stage))
        if (pending.length > 0) {
          // upstream runs in this pipeline (dry mode): the key is known only after it ran
          plans.push({ id: stage.id, status: "MISS", reasons: [`upstream ${pending[0]!.stage} runs first`] })
          willRun.add(stage.id)
          return
        }
        const inputs: Record<string, string> = {}
        for (const [name, ref] of Object.entries(stage.inputs))
          inputs[name] = outputsOf.get(ref.stage)![ref.output]!
        if (stage.discover) {
          const found = yield* stage.discover({ params: p, inputs: { ...inputs } }).pipe(
            Effect.mapError(
              (e) =>
                new StageError({
                  stage: stage.id,
                  detail: `cannot gather its inputs from the store: ${(e as Error)?.message ?? String(e)}`
                })
            )
          )
          for (const [name, hash] of Object.entries(found)) if (!(name in inputs)) inputs[name] = hash
        }
        const sources: Record<string, string> = {}
        for (const src of stage.sources?.(p, loaded.projectDir) ?? []) {
          const abs = resolve(loaded.projectDir, src)
          const h = yield* Effect.try({
            try: () => hashSource(abs, statCache),
            catch: (e) =>
              new UsageError({
                detail: `stage ${stage.id}: cannot read source ${abs} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`
              })
          })
          sources[sourceName(loaded.projectDir, src, abs)] = h
        }
        const contributors: Contributors = {
          // a base's copy keys as its plain id would (`Matrix.ts`): its base comes in through its inputs
          stage: stage.matrix?.id ?? stage.id,
          codeVersion: stage.codeVersion,
          params: p ?? {},
          inputs,
          sources,
          plugins: [...(stage.plugins?.(p) ?? [])].sort(),
          model: stage.model?.(p) ?? null,
          runtime
        }
        const key = hashValue(contributors)
        const seen = yield* store.findRun(key)
        const prev = previous?.stages[stage.id]
        const isSelected = selected.has(stage.id)
        const isForced = forced.has(stage.id)

        let usable = seen !== undefined
        let retry: string | undefined
        if (seen && stage.restorable) {
          const restored: Record<string, LoadedArtifact> = {}
          for (const [name, hash] of Object.entries(seen.outputs))
            restored[name] = yield* loadArtifact(store, hash)
          const verdict = stage.restorable(restored)
          usable = verdict !== false
          if (typeof verdict === "object") retry = verdict.retry
        }
        if (seen && usable && !isForced && !(retry !== undefined && isSelected)) {
          outputsOf.set(stage.id, seen.outputs)
          const reasons = [
            `key ${key.slice(0, 10)}… ran ${seen.finishedAt} in ${(seen.durationMs / 1000).toFixed(1)}s`
          ]
          if (retry !== undefined) reasons.push(`(not selected, restored as it is: ${retry})`)
          if (prev && prev.key !== key)
            reasons.push(
              `(restored an earlier run; last run differed: ${explainDifference(prev.contributors, contributors).join("; ")})`
            )
          if (!options.dry) {
            yield* exportFiles(store, stage, seen.outputs, reportsDirOf(loaded, stage))
            lockStages[stage.id] = {
              key,
              contributors,
              outputs: seen.outputs,
              runId: seen.runId,
              status: "restored",
              durationMs: 0,
              at: new Date().toISOString()
            }
            unsaved = true
          }
          plans.push({ id: stage.id, status: "HIT", key, reasons, outputs: seen.outputs })
          return
        }
        const reasons = isForced
          ? ["forced (--force)"]
          : retry !== undefined
            ? [retry]
            : prev === undefined
              ? ["never ran"]
              : seen && !usable
                ? ["its restored outputs are no longer usable (files outside the store are gone)"]
                : prev.key === key
                  ? ["its outputs are no longer in the store"]
                  : explainDifference(prev.contributors, contributors)
        if (!isSelected) {
          plans.push({
            id: stage.id,
            status: "SKIPPED",
            key,
            reasons: ["not selected, and not in the store", ...reasons]
          })
          return
        }
        if (options.dry) {
          willRun.add(stage.id)
          plans.push({ id: stage.id, status: "MISS", key, reasons })
          return
        }

        // run it
        progress.log(`▶ ${stage.id}: ${reasons.join("; ")}`)
        const runId = `${new Date().toISOString().replace(/[:.]/g, "-")}-${randomBytes(3).toString("hex")}`
        const startedAt = new Date()
        const produced = yield* Effect.scoped(
          Effect.gen(function* () {
            const staging = yield* store.staging(stage.id)
            const loadedInputs: Record<string, LoadedArtifact> = {}
            for (const [name, hash] of Object.entries(inputs))
              loadedInputs[name] = yield* loadArtifact(store, hash)
            const outputDir = (name: string) => {
              if (!(name in stage.outputs)) throw new Error(`stage ${stage.id} has no output "${name}"`)
              const d = join(staging, name)
              mkdirSync(d, { recursive: true })
              return d
            }
            const result = yield* stage.run!({
              stage: stage.matrix?.id ?? stage.id,
              params: p,
              inputs: loadedInputs,
              outputDir,
              runId,
              key,
              reportsDir: reportsDirOf(loaded, stage),
              projectDir: loaded.projectDir,
              ...(stage.sweep === undefined ? {} : { sweepOf: stage.sweep.id })
            }).pipe(
              Effect.onInterrupt(() =>
                Effect.sync(() =>
                  progress.log(`■ ${stage.id}: stopped; nothing partial was kept — rerun to continue`)
                )
              ),
              Effect.catchCause((cause) =>
                Effect.gen(function* () {
                  if (Cause.hasInterrupts(cause)) return yield* Effect.failCause(cause)
                  const err = causeMessage(cause)
                  return yield* new StageError({ stage: stage.id, detail: err })
                })
              )
            )
            const outputs: Record<string, string> = {}
            for (const [name, kind] of Object.entries(stage.outputs) as Array<[string, ArtifactKind]>) {
              const out = result[name]
              if (!out)
                return yield* new StageError({ stage: stage.id, detail: `produced no output "${name}"` })
              const check = Schema.decodeUnknownResult(
                ArtifactKinds[kind] as unknown as Schema.Codec<unknown>
              )(out.data)
              if (Result.isFailure(check)) {
                return yield* new StageError({
                  stage: stage.id,
                  detail: `output "${name}" is not a valid ${kind}: ${String(check.failure)}`
                })
              }
              const dir = join(staging, name)
              const files: Array<ArtifactFile> = []
              for (const f of listStagedFiles(dir)) {
                const stored = yield* store.putFile(f, { move: true })
                files.push({ ...stored, path: relative(dir, f).split(sep).join("/") })
              }
              const manifest = yield* store.writeArtifact({
                kind,
                data: check.success,
                files,
                lineage: {
                  stage: stage.id,
                  key,
                  codeVersion: stage.codeVersion,
                  inputs,
                  params: p ?? {},
                  runId,
                  createdAt: new Date().toISOString(),
                  ...(commit === undefined ? {} : { commit })
                }
              })
              outputs[name] = manifest.hash
            }
            return outputs
          })
        )
        const finishedAt = new Date()
        const durationMs = finishedAt.getTime() - startedAt.getTime()
        yield* store.writeRun({
          recordVersion: 1,
          stage: stage.id,
          key,
          contributors,
          outputs: produced,
          runId,
          startedAt: startedAt.toISOString(),
          finishedAt: finishedAt.toISOString(),
          durationMs,
          ...(commit === undefined ? {} : { commit })
        })
        outputsOf.set(stage.id, produced)
        yield* exportFiles(store, stage, produced, reportsDirOf(loaded, stage))
        lockStages[stage.id] = {
          key,
          contributors,
          outputs: produced,
          runId,
          status: "ran",
          durationMs,
          at: finishedAt.toISOString()
        }
        yield* saveLock()
        plans.push({ id: stage.id, status: "MISS", key, reasons, ran: true, durationMs, outputs: produced })
      })

    // `parallel` stages at once (a Ray cluster runs their bridge jobs side by side), each when its
    // upstream has finished; one at a time in config order otherwise
    const parallel = Math.max(1, Math.floor(options.parallel ?? 1))
    // what was restored is in the lock however the run ends (a stage failed, Ctrl-C)
    const saveRestored = Effect.suspend(() => (unsaved ? saveLock() : Effect.void)).pipe(
      Effect.orElseSucceed(() => undefined)
    )
    if (parallel === 1) {
      yield* Effect.forEach(stages, step, { discard: true }).pipe(Effect.ensuring(saveRestored))
    } else {
      const finished = new Map(stages.map((s) => [s.id, Deferred.makeUnsafe<void>()]))
      yield* Effect.forEach(
        stages,
        (stage, i) =>
          Effect.gen(function* () {
            // a stage that gathers from the store (the leaderboard) waits for every stage before it
            const upstream = stage.discover
              ? stages.slice(0, i).map((s) => s.id)
              : Object.values(stage.inputs).map((r) => r.stage)
            for (const id of upstream) yield* Deferred.await(finished.get(id)!)
            yield* step(stage)
            yield* Deferred.succeed(finished.get(stage.id)!, undefined)
          }),
        { concurrency: parallel, discard: true }
      ).pipe(Effect.ensuring(saveRestored))
      const order = new Map(stages.map((s, i) => [s.id, i]))
      plans.sort((a, b) => order.get(a.id)! - order.get(b.id)!)
    }
    yield* Effect.sync(() => {
      try {
        writeFileAtomic(statCachePath, JSON.stringify(statCache))
      } catch {
        // a cache only
      }
    })
    return plans
  })

const causeMessage = (cause: Cause.Cause<unknown>): string => {
  const e = Cause.squash(cause)
  if (e !== null && typeof e === "object" && "message" in e)
    return String((e as { message: unknown }).message)
  return String(e)
}

export { explainDifference, formatGraph, formatPlans } from "./RunnerExplain.ts"
