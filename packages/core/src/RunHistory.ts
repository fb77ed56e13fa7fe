/**
 * The history of pipeline runs in a store: the project's git commit at run time, one record per
 * pipeline run (`pipelines/<id>.json`: every stage it ran or restored, with its key and outputs),
 * and what `store gc` keeps — everything by default, or with `--keep-last N` the last N pipeline
 * runs, what their artifacts came from (lineage), and whatever a kept board's rows refer to unless
 * told to drop it (`dropBoardRows`).
 */
import { execFileSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { join } from "node:path"
import { Result, Schema } from "effect"
import { decodeJsonText } from "./Decode.ts"
import { writeFileAtomic } from "./internal/fsAtomic.ts"
import type { Manifest, RunRecord } from "./Store.ts"

/** `git rev-parse HEAD` of a folder's repository, or undefined outside git (or without git). */
export const gitCommit = (dir: string): string | undefined => {
  try {
    const out = execFileSync("git", ["rev-parse", "HEAD"], {
      cwd: dir,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 5000
    }).trim()
    return /^[0-9a-f]{40,64}$/.test(out) ? out : undefined
  } catch {
    return undefined
  }
}

/** One pipeline run: the stages it ran or restored, with their keys and outputs. */
export const PipelineRun = Schema.Struct({
  recordVersion: Schema.Literal(1),
  id: Schema.String,
  profile: Schema.String,
  startedAt: Schema.String,
  updatedAt: Schema.String,
  commit: Schema.optionalKey(Schema.String),
  stages: Schema.Record(
    Schema.String,
    Schema.Struct({ key: Schema.String, outputs: Schema.Record(Schema.String, Schema.String) })
  )
})
export type PipelineRun = typeof PipelineRun.Type

const pipelinesDir = (root: string) => join(root, "pipelines")

/** Write (or rewrite, as stages finish) a pipeline run's record. */
export const writePipelineRun = (root: string, run: PipelineRun): void =>
  writeFileAtomic(join(pipelinesDir(root), `${run.id}.json`), `${JSON.stringify(run, null, 2)}\n`)

/** The store's pipeline runs, newest first (unreadable records are skipped). */
export const listPipelineRuns = (root: string): Array<PipelineRun> => {
  const dir = pipelinesDir(root)
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .flatMap((f) => {
      const r = decodeJsonText(PipelineRun, readFileSync(join(dir, f), "utf8"), join(dir, f))
      return Result.isSuccess(r) ? [r.success] : []
    })
    .sort((a, b) => b.startedAt.localeCompare(a.startedAt))
}

/** Remove the records of all but the newest `keep` pipeline runs (`store gc --keep-last`); returns how many. */
export const trimPipelineRuns = (root: string, keep: number): number => {
  const old = listPipelineRuns(root).slice(Math.max(0, keep))
  for (const p of old) rmSync(join(pipelinesDir(root), `${p.id}.json`), { force: true })
  return old.length
}

/** An artifact a kept board's row refers to that gc would drop. */
export interface BoardReference {
  /** The Leaderboard artifact. */
  readonly board: string
  /** Its input naming the artifact (e.g. `earlier/1a2b…/scores:evaluate-finetune`). */
  readonly input: string
  readonly artifact: string
}

/** What gc keeps. */
export interface GcKeep {
  readonly keepManifests: ReadonlySet<string>
  /** Run records to delete (only with `keepLast`): the runs trimmed. */
  readonly dropRuns: ReadonlyArray<RunRecord>
  /** What kept boards refer to that the trim (or a missing run record) would drop. */
  readonly boardReferences: ReadonlyArray<BoardReference>
  /** Whether those were dropped (`dropBoardRows`) or kept. */
  readonly droppedBoardReferences: boolean
}

/**
 * Decide what gc keeps. Without `keepLast`: the roots and every run record's outputs (as before),
 * plus what a kept board refers to. With `keepLast` N: the roots, the outputs of the last N
 * pipeline runs' stages (run records of other keys are dropped; a store from before pipeline
 * records keeps only the roots' runs), and everything those artifacts came from (lineage inputs).
 * Either way an artifact a kept board (a `Leaderboard`) refers to — its rows' evaluations, the
 * earlier boards it gathered — is kept with its run record and listed in `boardReferences`, unless
 * `dropBoardRows`.
 */
export const planKeep = (input: {
  readonly root: string
  readonly roots: ReadonlyArray<string>
  readonly records: ReadonlyArray<RunRecord>
  readonly read: (hash: string) => Manifest | undefined
  readonly keepLast?: number | undefined
  readonly dropBoardRows?: boolean | undefined
}): GcKeep => {
  const { records } = input
  const cache = new Map<string, Manifest | undefined>()
  const read = (hash: string) => {
    if (!cache.has(hash)) cache.set(hash, input.read(hash))
    return cache.get(hash)
  }
  const roots = new Set(input.roots)
  let keptRecords: Array<RunRecord>
  if (input.keepLast === undefined) keptRecords = [...records]
  else {
    const keys = new Set(
      listPipelineRuns(input.root)
        .slice(0, Math.max(0, input.keepLast))
        .flatMap((p) => Object.values(p.stages).map((s) => s.key))
    )
    keptRecords = records.filter((r) => keys.has(r.key) || Object.values(r.outputs).some((h) => roots.has(h)))
  }
  const keep = new Set<string>(roots)
  const recordOf = new Map<string, RunRecord>()
  for (const r of records) for (const h of Object.values(r.outputs)) if (!recordOf.has(h)) recordOf.set(h, r)
  const keptRecordSet = new Set(keptRecords)
  const pending: Array<string> = []
  const add = (hash: string) => {
    if (keep.has(hash)) return
    keep.add(hash)
    pending.push(hash)
  }
  for (const h of roots) pending.push(h)
  for (const r of keptRecords) for (const h of Object.values(r.outputs)) add(h)
  const boardReferences: Array<BoardReference> = []
  const seenBoards = new Set<string>()
  // lineage closure (with keepLast only: without it every run record keeps its outputs, as before);
  // a board's inputs are board references, decided below
  const close = () => {
    while (pending.length > 0) {
      const hash = pending.pop()!
      const m = read(hash)
      if (m === undefined || m.kind === "Leaderboard") continue
      if (input.keepLast !== undefined) for (const h of Object.values(m.lineage.inputs)) add(h)
    }
  }
  for (;;) {
    close()
    const before = keep.size
    for (const hash of [...keep]) {
      if (seenBoards.has(hash)) continue
      const m = read(hash)
      if (m?.kind !== "Leaderboard") continue
      seenBoards.add(hash)
      for (const [name, h] of Object.entries(m.lineage.inputs)) {
        if (keep.has(h) || read(h) === undefined) continue
        boardReferences.push({ board: hash, input: name, artifact: h })
        if (input.dropBoardRows) continue
        add(h)
        const r = recordOf.get(h)
        if (r !== undefined && !keptRecordSet.has(r)) {
          keptRecordSet.add(r)
          for (const o of Object.values(r.outputs)) add(o)
        }
      }
    }
    if (keep.size === before && pending.length === 0) break
  }
  return {
    keepManifests: keep,
    dropRuns: input.keepLast === undefined ? [] : records.filter((r) => !keptRecordSet.has(r)),
    boardReferences,
    droppedBoardReferences: input.dropBoardRows === true && boardReferences.length > 0
  }
}

/** What gc says about the artifacts a kept board refers to (empty when there are none to drop). */
export const gcBoardMessage = (r: {
  readonly boardReferences: ReadonlyArray<{ board: string; input: string; artifact: string }>
  readonly droppedBoardReferences: boolean
  readonly removedRuns: number
}): string => {
  const lines: Array<string> = []
  if (r.removedRuns > 0) lines.push(`store gc: trimmed ${r.removedRuns} run records of older pipeline runs`)
  const refs = r.boardReferences
  if (refs.length > 0) {
    lines.push(
      r.droppedBoardReferences
        ? `store gc: dropped ${refs.length} artifacts that leaderboard rows refer to (--drop-board-rows):`
        : `store gc: kept ${refs.length} artifacts that leaderboard rows refer to, which it would otherwise drop (pass --drop-board-rows to drop them):`
    )
    for (const x of refs)
      lines.push(`  board ${x.board.slice(0, 12)} ${x.input} → ${x.artifact.slice(0, 12)}`)
  }
  return lines.join("\n")
}
