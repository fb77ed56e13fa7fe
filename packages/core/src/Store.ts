/**
 * The content-addressed store (`.hyperwords/` by default): immutable sha256 objects, a typed
 * manifest per artifact with its lineage, run records keyed by stage key, and the lock that
 * lets one pipeline at a time write. Every write is atomic (temp file, fsync, rename), and a
 * manifest is written only after its objects, so a crash never leaves a partial artifact visible.
 */
import { randomBytes } from "node:crypto"
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync
} from "node:fs"
import { basename, dirname, join, relative, sep } from "node:path"
import { Context, Effect, Layer, Result, Schema, type Scope } from "effect"
import { type ArtifactKind, ArtifactKinds } from "./Artifacts.ts"
import { decodeJsonText } from "./Decode.ts"
import { DecodeError, StoreError, type StoreLockedError } from "./Errors.ts"
import { hashFileSync, hashValue } from "./Hash.ts"
import { fsyncPath, writeFileAtomic } from "./internal/fsAtomic.ts"
import { type BoardReference, planKeep, trimPipelineRuns } from "./RunHistory.ts"
import { acquireLock, type LockInfo, mayOwn, releaseLock } from "./StoreLock.ts"

export { LockInfo, processStart } from "./StoreLock.ts"

/** A file of an artifact: its name inside the artifact and the object holding it. */
export const ArtifactFile = Schema.Struct({
  path: Schema.String,
  sha256: Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/)),
  bytes: Schema.Int
})
export type ArtifactFile = typeof ArtifactFile.Type

/** Where an artifact came from. */
export const Lineage = Schema.Struct({
  stage: Schema.String,
  key: Schema.String,
  codeVersion: Schema.String,
  inputs: Schema.Record(Schema.String, Schema.String),
  params: Schema.Unknown,
  runId: Schema.String,
  createdAt: Schema.String,
  /** `git rev-parse HEAD` of the project when the stage ran (absent for older runs and outside git). */
  commit: Schema.optionalKey(Schema.String)
})
export type Lineage = typeof Lineage.Type

const kindNames = Object.keys(ArtifactKinds) as Array<ArtifactKind>

/** The manifest of one artifact. Its `hash` covers kind, data and files (not lineage). */
export const Manifest = Schema.Struct({
  manifestVersion: Schema.Literal(1),
  hash: Schema.String,
  kind: Schema.Literals(kindNames),
  data: Schema.Unknown,
  files: Schema.Array(ArtifactFile),
  lineage: Lineage
})
export type Manifest = typeof Manifest.Type

/** A stage run: its key, what went into it, and the artifacts it produced. */
export const RunRecord = Schema.Struct({
  recordVersion: Schema.Literal(1),
  stage: Schema.String,
  key: Schema.String,
  contributors: Schema.Unknown,
  outputs: Schema.Record(Schema.String, Schema.String),
  runId: Schema.String,
  startedAt: Schema.String,
  finishedAt: Schema.String,
  durationMs: Schema.Finite,
  /** `git rev-parse HEAD` of the project when the stage ran (absent for older runs and outside git). */
  commit: Schema.optionalKey(Schema.String)
})
export type RunRecord = typeof RunRecord.Type

/** What `store verify` found. */
export interface VerifyReport {
  readonly objects: number
  readonly bytes: number
  readonly manifests: number
  readonly runs: number
  readonly problems: ReadonlyArray<string>
  readonly staging: number
}

/** What `store gc` removed and kept. */
export interface GcReport {
  readonly keptObjects: number
  readonly removedObjects: number
  readonly removedBytes: number
  readonly keptManifests: number
  readonly removedManifests: number
  readonly removedStaging: number
  /**
   * Work folders (`work/<stage>/<key>`) of stage runs that finished (a run record has their key):
   * checkpoints that nothing resumes from any more. Those of stopped runs are kept.
   */
  readonly removedWork: number
  /** Model folders (`models/<stage>-<key12>`) a stage wrote that no kept artifact points to. */
  readonly removedModels: number
  /** Bytes of the removed work and model folders. */
  readonly removedFolderBytes: number
  /**
   * Temp files and folders of writers that died (`models/*.tmp`, `runs/*.tmp`, the reports'
   * `.<pid>-*.tmp`): those whose pid still runs, started before the file was written, are kept.
   */
  readonly removedTemp: number
  /** Run records dropped by `keepLast` (the trimmed runs). */
  readonly removedRuns: number
  /** What kept boards refer to that gc would have dropped: kept, unless `dropBoardRows` (see `RunHistory.planKeep`). */
  readonly boardReferences: ReadonlyArray<BoardReference>
  readonly droppedBoardReferences: boolean
}

/** Options of `store gc`. */
export interface GcOptions {
  /** The reports folder, whose interrupted exports (`.<pid>-*.tmp`) gc removes too. */
  readonly reportsDir?: string
  /** Keep only the last N pipeline runs' artifacts and what they came from (`store gc --keep-last N`). */
  readonly keepLast?: number | undefined
  /** Drop what a kept board's rows refer to, too (otherwise kept and listed). */
  readonly dropBoardRows?: boolean | undefined
}

/** A model folder a stage wrote (`<stage>-<12 hex of its key>`), as opposed to a pulled one. */
const stageModelFolder = /^[a-z0-9][a-z0-9-]*-[0-9a-f]{12}$/

const folderBytes = (dir: string): number =>
  listFilesRecursive(dir).reduce((n, f) => {
    try {
      return n + statSync(f).size
    } catch {
      return n
    }
  }, 0)

/** A model folder by its place in the store (`models/<name>`), wherever the project was when it was recorded. */
export const storeModelPath = (dir: string): string | undefined =>
  basename(dirname(dir)) === "models" ? `models/${basename(dir)}` : undefined

/**
 * A model folder a ModelVersion names, found from a store at `root`: where it was recorded, or —
 * when that is gone, as after the project moved with its store — its place in this store.
 */
export const locateModelFolder = (root: string, dir: string): string | undefined => {
  if (existsSync(dir)) return dir
  const place = storeModelPath(dir)
  return place !== undefined && existsSync(join(root, place)) ? join(root, place) : undefined
}

/** The pid a temp file's name carries (`.<name>.<pid>.tmp`, `.<pid>-<hex>.tmp`), if any. */
const tempOwner = (name: string): number | undefined => {
  const m = /[.-](\d+)(?:-[0-9a-f]+)?\.tmp$/.exec(name) ?? /^\.(\d+)-[0-9a-f]+\.tmp$/.exec(name)
  return m ? Number(m[1]) : undefined
}

/** Whether a temp file of a writer is a leftover: no live process that started before it owns it. */
const isLeftover = (path: string, name: string): boolean => {
  const pid = tempOwner(name)
  if (pid === undefined) return true // gc holds the store's lock: no pipeline is writing
  let mtimeMs: number
  try {
    mtimeMs = statSync(path).mtimeMs
  } catch {
    return false
  }
  return !mayOwn(pid, mtimeMs)
}

/** The artifact hash: a digest of kind, data and the files' names and hashes. */
export const artifactHash = (kind: string, data: unknown, files: ReadonlyArray<ArtifactFile>): string =>
  hashValue({ kind, data, files: [...files].sort((a, b) => a.path.localeCompare(b.path)) })

const tryStore = <A>(path: string, f: () => A): Effect.Effect<A, StoreError> =>
  Effect.try({
    try: f,
    catch: (e) => new StoreError({ path, detail: (e as Error).message ?? String(e) })
  })

const listFilesRecursive = (dir: string): Array<string> => {
  if (!existsSync(dir)) return []
  const out: Array<string> = []
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name)
      if (entry.isDirectory()) walk(p)
      else if (entry.isFile()) out.push(p)
    }
  }
  walk(dir)
  return out.sort()
}

/** The store at a root directory. */
export class Store extends Context.Service<
  Store,
  {
    readonly root: string
    /** Path of the object holding a sha256. */
    readonly objectPath: (sha256: string) => string
    /** Move (or copy) a file into the objects; returns its hash and size. */
    readonly putFile: (
      src: string,
      options?: { readonly move?: boolean }
    ) => Effect.Effect<ArtifactFile, StoreError>
    /** Write an artifact's manifest after its objects are in place. */
    readonly writeArtifact: (input: {
      readonly kind: ArtifactKind
      readonly data: unknown
      readonly files: ReadonlyArray<ArtifactFile>
      readonly lineage: Lineage
    }) => Effect.Effect<Manifest, StoreError | DecodeError>
    /** Read and check an artifact's manifest. */
    readonly readArtifact: (hash: string) => Effect.Effect<Manifest, StoreError | DecodeError>
    /** Whether an artifact and all its objects are present. */
    readonly hasArtifact: (hash: string) => Effect.Effect<boolean>
    /** The run record of a stage key, if that key ran before and its outputs are present. */
    readonly findRun: (key: string) => Effect.Effect<RunRecord | undefined, StoreError | DecodeError>
    readonly writeRun: (record: RunRecord) => Effect.Effect<void, StoreError>
    /** A fresh staging directory inside the store, removed when the scope closes. */
    readonly staging: (label: string) => Effect.Effect<string, StoreError, Scope.Scope>
    /** Hold the store's exclusive lock for the scope. */
    readonly lock: (command: string) => Effect.Effect<LockInfo, StoreLockedError | StoreError, Scope.Scope>
    readonly verify: (
      onProgress?: (done: number, total: number) => void
    ) => Effect.Effect<VerifyReport, StoreError>
    readonly gc: (roots: ReadonlyArray<string>, options?: GcOptions) => Effect.Effect<GcReport, StoreError>
  }
>()("hyperwords/core/Store") {
  /** The store rooted at `root`. */
  static readonly layer = (root: string): Layer.Layer<Store> => Layer.succeed(Store, makeStore(root))
}

/** Build the store service for a root directory (created on first write). */
export const makeStore = (root: string): Store["Service"] => {
  const objectsDir = join(root, "objects", "sha256")
  const artifactsDir = join(root, "artifacts")
  const runsDir = join(root, "runs")
  const tmpDir = join(root, "tmp")
  const lockPath = join(root, "LOCK")
  const objectPath = (sha: string) => join(objectsDir, sha.slice(0, 2), sha.slice(2))
  const manifestPath = (hash: string) => join(artifactsDir, `${hash}.json`)

  const putFile = (src: string, options?: { readonly move?: boolean }) =>
    tryStore(src, () => {
      const { sha256, bytes } = hashFileSync(src)
      const target = objectPath(sha256)
      if (existsSync(target)) {
        if (options?.move) rmSync(src, { force: true })
      } else {
        mkdirSync(join(objectsDir, sha256.slice(0, 2)), { recursive: true })
        const tmp = join(tmpDir, `obj-${process.pid}-${randomBytes(6).toString("hex")}`)
        mkdirSync(tmpDir, { recursive: true })
        if (options?.move) renameSync(src, tmp)
        else copyFileSync(src, tmp)
        chmodSync(tmp, 0o444) // objects are immutable
        const fd = openSync(tmp, "r")
        try {
          fsyncSync(fd)
        } finally {
          closeSync(fd)
        }
        renameSync(tmp, target)
        fsyncPath(join(objectsDir, sha256.slice(0, 2)))
      }
      return { path: "", sha256, bytes }
    })

  const readManifestSync = (hash: string): Result.Result<Manifest, StoreError | DecodeError> => {
    const file = manifestPath(hash)
    let text: string
    try {
      text = readFileSync(file, "utf8")
    } catch (e) {
      return Result.fail(
        new StoreError({ path: file, detail: `no such artifact (${(e as NodeJS.ErrnoException).code})` })
      )
    }
    const decoded = decodeJsonText(Manifest, text, file)
    if (Result.isFailure(decoded)) return decoded
    const m = decoded.success
    const expected = artifactHash(m.kind, m.data, m.files)
    if (m.hash !== hash || expected !== hash) {
      return Result.fail(
        new DecodeError({ file, field: "hash", detail: `manifest does not match its hash (${expected})` })
      )
    }
    const kindCheck = Schema.decodeUnknownResult(ArtifactKinds[m.kind] as unknown as Schema.Codec<unknown>)(
      m.data
    )
    if (Result.isFailure(kindCheck)) {
      return Result.fail(
        new DecodeError({
          file,
          field: "data",
          detail: `not a valid ${m.kind}: ${String(kindCheck.failure)}`
        })
      )
    }
    return Result.succeed(m)
  }

  /** Re-hash a ModelVersion's folder against the sha256s it records. */
  const verifyModelFolder = (data: unknown): Array<string> => {
    const v = data as { name?: string; dir?: string; files?: Record<string, string> }
    if (typeof v.dir !== "string" || v.files === undefined) return []
    const dir = locateModelFolder(root, v.dir)
    if (dir === undefined) return [`model ${v.name}: its folder ${v.dir} is missing`]
    const problems: Array<string> = []
    for (const [file, sha] of Object.entries(v.files)) {
      const path = join(dir, file)
      if (!existsSync(path)) problems.push(`model ${v.name}: ${path} is missing`)
      else {
        const h = hashFileSync(path).sha256
        if (h !== sha)
          problems.push(`model ${v.name}: ${path} is corrupt (its content hashes to ${h}, recorded ${sha})`)
      }
    }
    return problems
  }

  const service: Store["Service"] = {
    root,
    objectPath,
    putFile,
    writeArtifact: ({ kind, data, files, lineage }) =>
      Effect.gen(function* () {
        const kindCheck = Schema.decodeUnknownResult(ArtifactKinds[kind] as unknown as Schema.Codec<unknown>)(
          data
        )
        if (Result.isFailure(kindCheck)) {
          return yield* new DecodeError({
            file: `${lineage.stage} output`,
            field: "data",
            detail: `not a valid ${kind}: ${String(kindCheck.failure)}`
          })
        }
        for (const f of files) {
          if (!existsSync(objectPath(f.sha256))) {
            return yield* new StoreError({
              path: objectPath(f.sha256),
              detail: `object of ${f.path} missing`
            })
          }
        }
        const hash = artifactHash(kind, data, files)
        const manifest: Manifest = { manifestVersion: 1, hash, kind, data, files, lineage }
        if (!existsSync(manifestPath(hash))) {
          yield* tryStore(manifestPath(hash), () =>
            writeFileAtomic(manifestPath(hash), JSON.stringify(manifest, null, 2))
          )
        }
        return manifest
      }),
    readArtifact: (hash) => Effect.suspend(() => Effect.fromResult(readManifestSync(hash))),
    hasArtifact: (hash) =>
      Effect.sync(() => {
        const m = readManifestSync(hash)
        return Result.isSuccess(m) && m.success.files.every((f) => existsSync(objectPath(f.sha256)))
      }),
    findRun: (key) =>
      Effect.gen(function* () {
        const file = join(runsDir, `${key}.json`)
        if (!existsSync(file)) return undefined
        const text = yield* tryStore(file, () => readFileSync(file, "utf8"))
        const record = yield* Effect.fromResult(decodeJsonText(RunRecord, text, file))
        for (const hash of Object.values(record.outputs)) {
          const present = yield* service.hasArtifact(hash)
          if (!present) return undefined
        }
        return record
      }),
    writeRun: (record) =>
      tryStore(join(runsDir, `${record.key}.json`), () =>
        writeFileAtomic(join(runsDir, `${record.key}.json`), JSON.stringify(record, null, 2))
      ),
    staging: (label) =>
      Effect.acquireRelease(
        tryStore(tmpDir, () => {
          const dir = join(tmpDir, `${label}-${process.pid}-${randomBytes(6).toString("hex")}`)
          mkdirSync(dir, { recursive: true })
          return dir
        }),
        (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
      ),
    lock: (command) =>
      Effect.map(
        Effect.acquireRelease(acquireLock(root, lockPath, command), (held) => releaseLock(lockPath, held)),
        (held) => held.info
      ),
    verify: (onProgress) =>
      tryStore(root, () => {
        const problems: Array<string> = []
        const objects = listFilesRecursive(objectsDir)
        let bytes = 0
        objects.forEach((file, i) => {
          const name = relative(objectsDir, file).split(sep).join("")
          const h = hashFileSync(file)
          bytes += h.bytes
          if (h.sha256 !== name)
            problems.push(`object ${name} is corrupt (its content hashes to ${h.sha256})`)
          onProgress?.(i + 1, objects.length)
        })
        const manifests = listFilesRecursive(artifactsDir).filter((f) => f.endsWith(".json"))
        for (const file of manifests) {
          const hash = relative(artifactsDir, file).replace(/\.json$/, "")
          const m = readManifestSync(hash)
          if (Result.isFailure(m)) {
            problems.push(m.failure.message)
            continue
          }
          for (const f of m.success.files) {
            if (!existsSync(objectPath(f.sha256)))
              problems.push(`artifact ${hash}: object ${f.sha256} of ${f.path} is missing`)
          }
          if (m.success.kind === "ModelVersion") problems.push(...verifyModelFolder(m.success.data))
        }
        const runs = listFilesRecursive(runsDir).filter((f) => f.endsWith(".json"))
        for (const file of runs) {
          const r = decodeJsonText(RunRecord, readFileSync(file, "utf8"), file)
          if (Result.isFailure(r)) {
            problems.push(r.failure.message)
            continue
          }
          for (const [name, hash] of Object.entries(r.success.outputs)) {
            if (!existsSync(manifestPath(hash)))
              problems.push(`${file}: output ${name} (${hash}) has no manifest`)
          }
        }
        const staging = existsSync(tmpDir) ? readdirSync(tmpDir).length : 0
        return {
          objects: objects.length,
          bytes,
          manifests: manifests.length,
          runs: runs.length,
          problems,
          staging
        }
      }),
    gc: (roots, options) =>
      tryStore(root, () => {
        const records: Array<RunRecord> = []
        for (const file of listFilesRecursive(runsDir).filter((f) => f.endsWith(".json"))) {
          const r = decodeJsonText(RunRecord, readFileSync(file, "utf8"), file)
          if (Result.isSuccess(r)) records.push(r.success)
        }
        const finishedKeys = records.map((r) => r.key)
        const plan = planKeep({
          root,
          roots,
          records,
          read: (hash) => Result.getOrUndefined(readManifestSync(hash)),
          keepLast: options?.keepLast,
          dropBoardRows: options?.dropBoardRows
        })
        const keepManifests = plan.keepManifests
        for (const r of plan.dropRuns) rmSync(join(runsDir, `${r.key}.json`), { force: true })
        if (options?.keepLast !== undefined) trimPipelineRuns(root, options.keepLast)
        const keepObjects = new Set<string>()
        const keepDirs = new Set<string>()
        let keptManifests = 0
        let removedManifests = 0
        for (const file of listFilesRecursive(artifactsDir)) {
          const hash = relative(artifactsDir, file).replace(/\.json$/, "")
          const m = readManifestSync(hash)
          if (keepManifests.has(hash) && Result.isSuccess(m)) {
            keptManifests++
            for (const f of m.success.files) keepObjects.add(f.sha256)
            const dir = (m.success.data as { dir?: unknown } | null)?.dir
            const place = typeof dir === "string" ? storeModelPath(dir) : undefined
            if (place !== undefined) keepDirs.add(place)
          } else {
            unlinkSync(file)
            removedManifests++
          }
        }
        let removedObjects = 0
        let removedBytes = 0
        let keptObjects = 0
        for (const file of listFilesRecursive(objectsDir)) {
          const name = relative(objectsDir, file).split(sep).join("")
          if (keepObjects.has(name)) keptObjects++
          else {
            removedBytes += statSync(file).size
            unlinkSync(file)
            removedObjects++
          }
        }
        let removedStaging = 0
        if (existsSync(tmpDir)) {
          for (const entry of readdirSync(tmpDir)) {
            rmSync(join(tmpDir, entry), { recursive: true, force: true })
            removedStaging++
          }
        }
        let removedWork = 0
        let removedModels = 0
        let removedFolderBytes = 0
        const remove = (dir: string) => {
          removedFolderBytes += folderBytes(dir)
          rmSync(dir, { recursive: true, force: true })
        }
        const workDir = join(root, "work")
        if (existsSync(workDir)) {
          for (const stage of readdirSync(workDir)) {
            if (!statSync(join(workDir, stage)).isDirectory()) continue
            for (const key of readdirSync(join(workDir, stage))) {
              if (key.length >= 12 && finishedKeys.some((k) => k.startsWith(key))) {
                remove(join(workDir, stage, key))
                removedWork++
              }
            }
          }
        }
        const modelsDir = join(root, "models")
        if (existsSync(modelsDir)) {
          for (const name of readdirSync(modelsDir)) {
            const dir = join(modelsDir, name)
            if (
              !stageModelFolder.test(name) ||
              keepDirs.has(`models/${name}`) ||
              !statSync(dir).isDirectory()
            )
              continue
            remove(dir)
            removedModels++
          }
        }
        let removedTemp = 0
        const removeTemp = (path: string) => {
          removedFolderBytes += statSync(path).isDirectory() ? folderBytes(path) : statSync(path).size
          rmSync(path, { recursive: true, force: true })
          removedTemp++
        }
        for (const dir of [modelsDir, runsDir]) {
          if (!existsSync(dir)) continue
          for (const name of readdirSync(dir))
            if (name.endsWith(".tmp") && isLeftover(join(dir, name), name)) removeTemp(join(dir, name))
        }
        const reportsDir = options?.reportsDir
        if (reportsDir !== undefined && existsSync(reportsDir)) {
          const walk = (d: string) => {
            for (const e of readdirSync(d, { withFileTypes: true })) {
              const p = join(d, e.name)
              if (e.isDirectory()) walk(p)
              else if (/^\.\d+-[0-9a-f]+\.tmp$/.test(e.name) && isLeftover(p, e.name)) removeTemp(p)
            }
          }
          walk(reportsDir)
        }
        return {
          removedRuns: plan.dropRuns.length,
          boardReferences: plan.boardReferences,
          droppedBoardReferences: plan.droppedBoardReferences,
          removedTemp,
          keptObjects,
          removedObjects,
          removedBytes,
          keptManifests,
          removedManifests,
          removedStaging,
          removedWork,
          removedModels,
          removedFolderBytes
        }
      })
  }
  return service
}
