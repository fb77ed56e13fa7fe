/**
 * A board that accumulates: every evaluation the store holds that used the same prompt set and
 * judge as this run's is gathered into the report stage (`discoverEarlier`, the stage's
 * `discover` hook, so the gathered hashes are part of its key), grouped by the earlier report run
 * that showed it (a run's tuned rows are paired only with the base and controls of their own run;
 * an evaluation no report showed stands alone). Each row carries where it came from
 * (`RowProvenance`): its date, the project's git commit, the stage key, the artifact hashes and its
 * fine-tune config with what changed since the same version's previous row.
 */
import { canonicalJson } from "@hyperwords/core/Hash"
import type { LoadedArtifact } from "@hyperwords/core/Stage"
import { type makeStore, Store } from "@hyperwords/core/Store"
import { Effect, Option } from "effect"
import { listEvalRuns, runRecords } from "./CompareStore.ts"

type StoreService = ReturnType<typeof makeStore>

/** The prefix of the report's gathered inputs: `earlier/<group>/scores:<stage>`, `…/generations:<stage>`, `…/board`. */
export const EARLIER = "earlier/"

/** Where a board row came from (in `leaderboard.json` and the page's details cell). */
export interface RowProvenance {
  /** `current`: this run's evaluate stages; `earlier`: gathered from the store. */
  readonly run: "current" | "earlier"
  /** The earlier run it belongs to: the earlier board's hash (12), or `eval-<hash12>` for an evaluation no board showed. */
  readonly group?: string
  /** The version's name within its own run (the row name adds the date for earlier rows). */
  readonly version: string
  /** When the evaluation was made (ISO). */
  readonly date: string
  /** `git rev-parse HEAD` when the evaluation ran, or `unknown` (older runs, outside git). */
  readonly commit: string
  readonly stage: string
  readonly key: string
  readonly artifacts: {
    readonly evalRun: string
    readonly generations: string
    readonly model?: string
  }
  /** Its config as a difference from its base: the fine-tune's params (`lora.rank: 16`); none for a base. */
  readonly config: ReadonlyArray<string>
  /** What changed since the same version's previous (older) row on the board (`lora.rank: 8 → 16`). */
  readonly changes?: ReadonlyArray<string>
  /** The per-sample scores behind the row's cells, relative to the board. */
  readonly samples: string
}

const sameRef = (a: { id: string; revision: string } | undefined) =>
  a === undefined ? "unknown" : `${a.id}@${a.revision}`

const promptSetOf = (store: StoreService, generations: string) =>
  store.readArtifact(generations).pipe(
    Effect.map((m) => (m.data as { promptSet?: { sha256?: string } }).promptSet?.sha256),
    Effect.orElseSucceed(() => undefined)
  )

/**
 * The report stage's `discover`: earlier evaluations with this run's prompt set and judge, as
 * inputs named `earlier/<group>/…`. Groups are earlier report runs (newest first; their own
 * `scores:`/`generations:` inputs), kept when they show an evaluation not shown yet; then each
 * evaluation no report showed, alone. This run's own evaluations are never gathered.
 */
export const discoverEarlier = (inputs: Readonly<Record<string, string>>) =>
  Effect.gen(function* () {
    const store = yield* Store
    const current = Object.entries(inputs).filter(([n]) => n.startsWith("scores:"))
    const judges = new Set<string>()
    const promptSets = new Set<string>()
    for (const [name, hash] of current) {
      const m = yield* store.readArtifact(hash)
      judges.add(sameRef((m.data as { judge?: { id: string; revision: string } }).judge))
      const gens = inputs[`generations:${name.slice("scores:".length)}`]
      const sha = gens === undefined ? undefined : yield* promptSetOf(store, gens)
      if (sha !== undefined) promptSets.add(sha)
    }
    const stored = yield* listEvalRuns(store)
    const matching = new Map<string, { generations: string; stage: string }>()
    for (const r of stored) {
      if (matching.has(r.scores) || !judges.has(sameRef(r.run.judge))) continue
      const sha = yield* promptSetOf(store, r.generations)
      if (sha !== undefined && promptSets.has(sha))
        matching.set(r.scores, { generations: r.generations, stage: r.stage })
    }
    const shown = new Set(current.map(([, h]) => h))
    const out: Record<string, string> = {}
    for (const record of runRecords(store)) {
      const board = record.outputs.leaderboard
      if (board === undefined) continue
      const m = yield* store.readArtifact(board).pipe(Effect.orElseSucceed(() => undefined))
      if (m?.kind !== "Leaderboard") continue
      const members = Object.entries(m.lineage.inputs).flatMap(([n, h]) => {
        const gens = m.lineage.inputs[`generations:${n.slice("scores:".length)}`]
        return n.startsWith("scores:") && matching.has(h) && gens !== undefined
          ? [{ stage: n.slice("scores:".length), scores: h, generations: gens }]
          : []
      })
      if (!members.some((x) => !shown.has(x.scores))) continue
      const group = `${EARLIER}${board.slice(0, 12)}/`
      out[`${group}board`] = board
      for (const x of members) {
        out[`${group}scores:${x.stage}`] = x.scores
        out[`${group}generations:${x.stage}`] = x.generations
        shown.add(x.scores)
      }
    }
    for (const [scores, x] of matching) {
      if (shown.has(scores)) continue
      const group = `${EARLIER}eval-${scores.slice(0, 12)}/`
      out[`${group}scores:${x.stage}`] = scores
      out[`${group}generations:${x.stage}`] = x.generations
      shown.add(scores)
    }
    return out
  })

/** An earlier group of the report's inputs: its evaluations and (for an earlier board) the board. */
export interface EarlierGroup {
  readonly id: string
  readonly board?: LoadedArtifact
  readonly members: ReadonlyArray<{
    readonly stage: string
    readonly scores: LoadedArtifact
    readonly generations: LoadedArtifact
  }>
}

const createdAt = (a: LoadedArtifact | undefined): string =>
  (a?.manifest as { lineage?: { createdAt?: string } } | undefined)?.lineage?.createdAt ?? ""

/** The earlier groups among a report's inputs, newest first. */
export const earlierGroups = (inputs: Readonly<Record<string, LoadedArtifact>>): Array<EarlierGroup> => {
  const groups = new Map<
    string,
    { board?: LoadedArtifact; members: Array<EarlierGroup["members"][number]> }
  >()
  for (const [name, art] of Object.entries(inputs)) {
    if (!name.startsWith(EARLIER)) continue
    const [id, what] = [
      name.slice(EARLIER.length, name.lastIndexOf("/")),
      name.slice(name.lastIndexOf("/") + 1)
    ]
    const g = groups.get(id) ?? { members: [] }
    groups.set(id, g)
    if (what === "board") g.board = art
    else if (what.startsWith("scores:")) {
      const stage = what.slice("scores:".length)
      const generations = inputs[`${EARLIER}${id}/generations:${stage}`]
      if (generations !== undefined) g.members.push({ stage, scores: art, generations })
    }
  }
  const dateOf = (g: { board?: LoadedArtifact; members: ReadonlyArray<{ scores: LoadedArtifact }> }) =>
    g.board !== undefined ? createdAt(g.board) : createdAt(g.members[0]?.scores)
  return [...groups.entries()]
    .map(([id, g]) => ({ id, ...(g.board === undefined ? {} : { board: g.board }), members: g.members }))
    .sort((a, b) => dateOf(b).localeCompare(dateOf(a)) || a.id.localeCompare(b.id))
}

/** The date a group's new rows are labelled with (`2026-12-05 22:20`). */
export const groupLabel = (g: EarlierGroup): string => {
  const d = g.board !== undefined ? createdAt(g.board) : createdAt(g.members[0]?.scores)
  return d === "" ? g.id : d.slice(0, 16).replace("T", " ")
}

const flattenConfig = (value: unknown, prefix: string, out: Map<string, string>) => {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>))
      flattenConfig(v, prefix ? `${prefix}.${k}` : k, out)
  } else if (prefix !== "") out.set(prefix, typeof value === "string" ? value : canonicalJson(value))
  return out
}

/** Differences of one config from an older one (`lora.rank: 8 → 16`), in key order. */
export const configChanges = (older: ReadonlyArray<string>, newer: ReadonlyArray<string>): Array<string> => {
  const parse = (xs: ReadonlyArray<string>) =>
    new Map(xs.map((x) => [x.slice(0, x.indexOf(": ")), x.slice(x.indexOf(": ") + 2)]))
  const a = parse(older)
  const b = parse(newer)
  return [...new Set([...a.keys(), ...b.keys()])]
    .sort()
    .filter((k) => a.get(k) !== b.get(k))
    .map((k) => `${k}: ${a.get(k) ?? "(none)"} → ${b.get(k) ?? "(none)"}`)
}

const lineageOf = (a: LoadedArtifact) =>
  (a.manifest as { lineage?: Partial<import("@hyperwords/core/Store").Lineage> } | undefined)?.lineage

/**
 * A row's provenance from its artifacts: the EvalRun's lineage (stage, key, date, commit — from
 * the lineage, else the stage's run record, else `unknown`) and the fine-tune params of the
 * ModelVersion it evaluated (read from the store when there is one).
 */
export const provenanceOf = (input: {
  readonly run: "current" | "earlier"
  readonly group?: string
  readonly version: string
  readonly stage: string
  readonly scores: LoadedArtifact
  readonly generations: LoadedArtifact
  readonly samples: string
}) =>
  Effect.gen(function* () {
    const store = Option.getOrUndefined(yield* Effect.serviceOption(Store))
    const lineage = lineageOf(input.scores)
    const key = lineage?.key ?? ""
    const record =
      store === undefined || key === ""
        ? undefined
        : yield* store.findRun(key).pipe(Effect.orElseSucceed(() => undefined))
    const model = lineage?.inputs?.model
    const version =
      store === undefined || model === undefined
        ? undefined
        : yield* store.readArtifact(model).pipe(Effect.orElseSucceed(() => undefined))
    const tuned = (version?.data as { source?: { kind?: string } } | undefined)?.source?.kind === "finetune"
    // the params with their defaults filled in, as the fine-tune recorded them (else as configured),
    // so a default the config left out reads as its value (`lora.rank: 8 → 16`, not `(none) → 16`)
    const resolved = (version?.data as { training?: { params?: unknown } } | undefined)?.training?.params
    const config = tuned
      ? [...flattenConfig(resolved ?? version?.lineage.params, "", new Map())].map(([k, v]) => `${k}: ${v}`)
      : []
    return {
      run: input.run,
      ...(input.group === undefined ? {} : { group: input.group }),
      version: input.version,
      date: lineage?.createdAt ?? record?.finishedAt ?? "unknown",
      commit: lineage?.commit ?? record?.commit ?? "unknown",
      stage: lineage?.stage ?? input.stage,
      key: key === "" ? "unknown" : key,
      artifacts: {
        evalRun: input.scores.hash,
        generations: input.generations.hash,
        ...(model === undefined ? {} : { model })
      },
      config,
      samples: input.samples
    } satisfies RowProvenance
  })

/** Each row's `changes`: its config against the next older row of the same version and base model. */
export const withChanges = <R extends { readonly baseModel?: string; readonly provenance?: RowProvenance }>(
  rows: ReadonlyArray<R>
): Array<R> =>
  rows.map((r, i) => {
    const p = r.provenance
    if (p === undefined) return r
    const older = rows
      .slice(i + 1)
      .find((o) => o.provenance?.version === p.version && o.baseModel === r.baseModel)?.provenance
    if (older === undefined) return r
    return { ...r, provenance: { ...p, changes: configChanges(older.config, p.config) } }
  })
