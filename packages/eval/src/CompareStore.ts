/**
 * The evaluate runs of a store for `hyperwords compare A B`: every stored run record whose
 * `scores` output is an `EvalRun`, found by version name, evaluate stage, stage key or artifact
 * hash (a unique prefix of at least 6 hex digits of the key, the EvalRun or its Generations); a
 * name several runs share takes the one `pipeline.lock.json` names, else the newest. The probe
 * report of a version is the newest stored `ProbeReport` whose stage read the same ModelVersion
 * (for a base, one whose stage read it as its base).
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import { EvalRun } from "@hyperwords/core/Artifacts"
import { decodeJsonlFile, decodeJsonText, decodeValue } from "@hyperwords/core/Decode"
import { UsageError } from "@hyperwords/core/Errors"
import type { PipelineLock } from "@hyperwords/core/Runner"
import { type makeStore, RunRecord } from "@hyperwords/core/Store"
import { Effect, Result } from "effect"
import type { CompareSide } from "./ComparePairs.ts"
import { GenerationRecord, SampleScores } from "./Scoring.ts"

type StoreService = ReturnType<typeof makeStore>

/** A stored evaluate run, as `compare` lists it. */
export interface StoredEvalRun {
  readonly name: string
  readonly stage: string
  readonly key: string
  readonly scores: string
  readonly generations: string
  readonly finishedAt: string
  /** The ModelVersion artifact the run evaluated. */
  readonly modelArtifact?: string
  readonly run: typeof EvalRun.Type
}

/** A stage run's outputs of a kind, from the store's run records, newest first. */
export const runRecords = (store: StoreService) => {
  const dir = join(store.root, "runs")
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .flatMap((f) => {
      const r = decodeJsonText(RunRecord, readFileSync(join(dir, f), "utf8"), join(dir, f))
      return Result.isSuccess(r) ? [r.success] : []
    })
    .sort((a, b) => b.finishedAt.localeCompare(a.finishedAt))
}

/** Every evaluate run of the store whose artifacts are present, newest first. */
export const listEvalRuns = (store: StoreService) =>
  Effect.gen(function* () {
    const out: Array<StoredEvalRun> = []
    for (const record of runRecords(store)) {
      const scores = record.outputs.scores
      const generations = record.outputs.generations
      if (scores === undefined || generations === undefined) continue
      const manifest = yield* store.readArtifact(scores).pipe(Effect.orElseSucceed(() => undefined))
      if (manifest?.kind !== "EvalRun") continue
      const run = decodeValue(EvalRun, manifest.data, { file: `artifact ${scores}` })
      if (Result.isFailure(run)) continue
      out.push({
        name: run.success.name ?? run.success.model.id,
        stage: record.stage,
        key: record.key,
        scores,
        generations,
        finishedAt: record.finishedAt,
        ...(manifest.lineage.inputs.model === undefined
          ? {}
          : { modelArtifact: manifest.lineage.inputs.model }),
        run: run.success
      })
    }
    return out
  })

/** How a run is listed in an error: `finetune (evaluate-finetune, key aef57f8bace5, EvalRun 57f126d2c157, 2026-12-06T01:33)`. */
export const describeRun = (r: StoredEvalRun): string =>
  `${r.name} (${r.stage}, key ${r.key.slice(0, 12)}, EvalRun ${r.scores.slice(0, 12)}, ${r.finishedAt.slice(0, 16)})`

/**
 * The run `ref` names: a hex prefix (6+) of a stage key, an EvalRun hash or a Generations hash;
 * else a version name, evaluate stage (`evaluate-finetune`, or just `finetune`) or model id.
 * Several runs of one name: the one the lock file names, else the newest (`note` says so).
 */
export const resolveRun = (
  ref: string,
  runs: ReadonlyArray<StoredEvalRun>,
  lock?: PipelineLock,
  storeRoot = "the store"
): Result.Result<{ readonly run: StoredEvalRun; readonly note?: string }, UsageError> => {
  const r = ref.trim().toLowerCase()
  if (/^[0-9a-f]{6,64}$/.test(r)) {
    const hits = runs.filter(
      (x) => x.key.startsWith(r) || x.scores.startsWith(r) || x.generations.startsWith(r)
    )
    if (hits.length === 1) return Result.succeed({ run: hits[0]! })
    if (hits.length > 1)
      return Result.fail(
        new UsageError({
          detail: `"${ref}" is the start of ${hits.length} stored evaluate runs' hashes: ${hits.map(describeRun).join("; ")}; give more digits`
        })
      )
  }
  const named = runs.filter(
    (x) =>
      x.name === ref ||
      x.stage === ref ||
      x.stage === `evaluate-${ref}` ||
      x.run.model.id === ref ||
      (ref === "base" && x.run.arm === "base")
  )
  if (named.length === 0) {
    const names = [...new Set(runs.map((x) => x.name))]
    return Result.fail(
      new UsageError({
        detail:
          runs.length === 0
            ? `no evaluated version "${ref}": ${storeRoot} holds no evaluate runs (run the pipeline first)`
            : `no evaluated version "${ref}" in ${storeRoot}. Versions: ${names.join(", ")}. ` +
              `Stored evaluate runs (name, stage, stage key, EvalRun hash; any of these, or a 6+ digit prefix of a hash, names one): ` +
              runs.map(describeRun).join("; ")
      })
    )
  }
  const locked = named.find((x) => lock?.stages[x.stage]?.outputs.scores === x.scores)
  const chosen = locked ?? named[0]!
  const others = named.length - 1
  return Result.succeed({
    run: chosen,
    ...(others === 0
      ? {}
      : {
          note:
            `"${ref}" names ${named.length} stored runs; took ${locked ? "the one pipeline.lock.json names" : "the newest"}, ` +
            `${describeRun(chosen)} (pass a stage key or hash to choose another)`
        })
  })
}

/**
 * The newest stored probe report of a ModelVersion artifact: its own, else one that read it as its
 * base (the one that probed `other`, the compared version, when there is one).
 */
export const findProbeReport = (store: StoreService, modelArtifact: string | undefined, other?: string) =>
  Effect.gen(function* () {
    if (modelArtifact === undefined) return undefined
    const found: Array<{ html: string; stage: string; asBase: boolean; of: string | undefined }> = []
    for (const record of runRecords(store)) {
      const hash = record.outputs.report
      if (hash === undefined) continue
      const m = yield* store.readArtifact(hash).pipe(Effect.orElseSucceed(() => undefined))
      if (m?.kind !== "ProbeReport") continue
      const own = m.lineage.inputs.model === modelArtifact
      if (!own && m.lineage.inputs.base !== modelArtifact) continue
      const name = (m.data as { html?: string }).html ?? "report.html"
      const file = m.files.find((f) => f.path === name)
      if (file !== undefined && existsSync(store.objectPath(file.sha256)))
        found.push({
          html: store.objectPath(file.sha256),
          stage: record.stage,
          asBase: !own,
          of: m.lineage.inputs.model
        })
    }
    return (
      found.find((f) => !f.asBase) ?? found.find((f) => other !== undefined && f.of === other) ?? found[0]
    )
  })

/** A probe report for a page at `page`: a copy of the stored (self-contained) report beside it. */
export const linkProbeReport = (
  probe: { readonly html: string; readonly stage: string; readonly asBase: boolean },
  page: string,
  side: "a" | "b"
): { readonly probeReport: string; readonly probeLabel: string } => {
  const base = page.replace(/\.html$/, "")
  const target = `${base}.probe-${side}.html`
  mkdirSync(dirname(target), { recursive: true })
  rmSync(target, { force: true }) // a copy from an earlier run is read-only, as the object was
  copyFileSync(probe.html, target)
  chmodSync(target, 0o644)
  return {
    probeReport: relative(dirname(page), target),
    probeLabel: probe.asBase
      ? `probe report (as the base in ${probe.stage})`
      : `probe report (${probe.stage})`
  }
}

/** A stored run as one side of a comparison: its EvalRun, per-sample scores and answers. */
export const loadSide = (store: StoreService, r: StoredEvalRun) =>
  Effect.gen(function* () {
    const scores = yield* store.readArtifact(r.scores)
    const scoresFile = scores.files.find((f) => f.path === r.run.file)
    const generations = yield* store.readArtifact(r.generations)
    const genName = (generations.data as { file?: string }).file ?? "generations.jsonl"
    const genFile = generations.files.find((f) => f.path === genName)
    if (scoresFile === undefined || genFile === undefined)
      return yield* new UsageError({
        detail: `${describeRun(r)}: its ${scoresFile === undefined ? r.run.file : genName} is not in the store`
      })
    const rows = yield* decodeJsonlFile(SampleScores, store.objectPath(scoresFile.sha256))
    const answers = yield* decodeJsonlFile(GenerationRecord, store.objectPath(genFile.sha256))
    return {
      name: r.name,
      model: r.run.model,
      stage: r.stage,
      key: r.key,
      scores: r.scores,
      generations: r.generations,
      createdAt: r.finishedAt,
      metrics: r.run.metrics,
      rows,
      answers
    } satisfies CompareSide
  })
