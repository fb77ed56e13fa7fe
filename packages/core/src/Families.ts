/**
 * Stage families: config entries that stand for stages made from the stages declared before them.
 * `forEachOutput(kind, make)` makes one stage per output of an artifact kind (e.g. an evaluation of
 * every `ModelVersion`); `collectOutputs(kind, make)` makes one stage from all of them (e.g. the
 * leaderboard over every `EvalRun`). `loadConfig` expands them in order, so declaring one more
 * producer is enough for it to be picked up by every family after it.
 */
import { Result } from "effect"
import type { ArtifactKind } from "./Artifacts.ts"
import type { InputRef, Stage } from "./Stage.ts"

// biome-ignore lint/suspicious/noExplicitAny: stages have params of different types
type AnyStage = Stage<any>

const FamilyTypeId: unique symbol = Symbol.for("@hyperwords/core/Families/StageFamily")

/** A config entry that expands to stages made from the (expanded) stages before it. */
export interface StageFamily {
  readonly [FamilyTypeId]: typeof FamilyTypeId
  /** How errors name it, e.g. `forEachOutput("ModelVersion")`. */
  readonly label: string
  /** The stages it makes, given every stage before it (families before it already expanded). */
  readonly expand: (before: ReadonlyArray<Stage<unknown>>) => ReadonlyArray<AnyStage | undefined>
}

/** What `PipelineConfig.stages` holds: stages and families, mixed. */
export type StageEntry = AnyStage | StageFamily

/** Options every family takes. */
export interface FamilyOptions {
  /** Only outputs of producers for which this holds (e.g. every `ModelVersion` but the base's). */
  readonly where?: (producer: Stage<unknown>, ref: InputRef) => boolean
  /** How errors name the family (default `forEachOutput("KIND")` / `collectOutputs("KIND")`). */
  readonly name?: string
}

/** Whether a config entry is a family. */
export const isStageFamily = (u: unknown): u is StageFamily =>
  typeof u === "object" && u !== null && FamilyTypeId in u

/** A family of your own: `expand` gets every stage before it and returns the stages it makes. */
export const makeFamily = (
  label: string,
  expand: (before: ReadonlyArray<Stage<unknown>>) => ReadonlyArray<AnyStage | undefined>
): StageFamily => ({ [FamilyTypeId]: FamilyTypeId, label, expand })

/**
 * Every output of `kind` among `stages`, in stage order and, within a stage, in the order of its
 * outputs, with the stage producing it.
 */
export const outputsOfKind = (
  stages: ReadonlyArray<Stage<unknown>>,
  kind: ArtifactKind,
  where?: (producer: Stage<unknown>, ref: InputRef) => boolean
): Array<{ readonly ref: InputRef; readonly producer: Stage<unknown> }> => {
  const out: Array<{ ref: InputRef; producer: Stage<unknown> }> = []
  for (const producer of stages) {
    for (const [output, k] of Object.entries(producer.outputs)) {
      if (k !== kind) continue
      const ref = { stage: producer.id, output }
      if (where === undefined || where(producer, ref)) out.push({ ref, producer })
    }
  }
  return out
}

/**
 * One stage per output of `kind` among the stages before it; `make` returns `undefined` to skip
 * one. E.g. an evaluation of every model version:
 * `forEachOutput("ModelVersion", (ref) => evaluateStage({ id: \`evaluate-${ref.stage}\`, model: ref, metrics }))`.
 */
export const forEachOutput = (
  kind: ArtifactKind,
  make: (ref: InputRef, producer: Stage<unknown>) => AnyStage | undefined,
  options: FamilyOptions = {}
): StageFamily =>
  makeFamily(options.name ?? `forEachOutput(${JSON.stringify(kind)})`, (before) =>
    outputsOfKind(before, kind, options.where).map(({ ref, producer }) => make(ref, producer))
  )

/**
 * One stage made from every output of `kind` among the stages before it (`refs[i]` is produced
 * by `producers[i]`); with none, `make` gets empty lists. E.g. the leaderboard:
 * `collectOutputs("EvalRun", (refs) => reportStage({ evaluations: refs.map((r) => r.stage), metrics }))`.
 */
export const collectOutputs = (
  kind: ArtifactKind,
  make: (refs: ReadonlyArray<InputRef>, producers: ReadonlyArray<Stage<unknown>>) => AnyStage,
  options: FamilyOptions = {}
): StageFamily =>
  makeFamily(options.name ?? `collectOutputs(${JSON.stringify(kind)})`, (before) => {
    const found = outputsOfKind(before, kind, options.where)
    return [
      make(
        found.map((f) => f.ref),
        found.map((f) => f.producer)
      )
    ]
  })

/** An expanded stage and where it came from (for messages). */
export interface ExpandedStage {
  readonly stage: AnyStage
  /** `stages[3]`, or `forEachOutput("ModelVersion") at stages[5]` for a stage a family made. */
  readonly origin: string
  /** Whether a family made it. */
  readonly made: boolean
}

const errorMessage = (e: unknown): string =>
  e !== null && typeof e === "object" && "message" in e
    ? String((e as { message: unknown }).message)
    : String(e)

/**
 * Expand the families among `entries` in order: each sees every stage before it, expanded. Fails
 * with a message (no file) on an entry that is neither a stage nor a family, on a family that
 * throws or makes something that is not a stage, and on two stages with the same id.
 */
export const expandStagesWithOrigin = (
  entries: ReadonlyArray<unknown>
): Result.Result<Array<ExpandedStage>, string> => {
  const out: Array<ExpandedStage> = []
  const byId = new Map<string, string>()
  const add = (stage: AnyStage, origin: string, made: boolean): string | undefined => {
    const first = byId.get(stage.id)
    if (first !== undefined) return `two stages are named "${stage.id}" (${first} and ${origin})`
    byId.set(stage.id, origin)
    out.push({ stage, origin, made })
    return undefined
  }
  for (const [i, entry] of entries.entries()) {
    if (isStageFamily(entry)) {
      const origin = `${entry.label} at stages[${i}]`
      let made: ReadonlyArray<AnyStage | undefined>
      try {
        made = entry.expand(out.map((e) => e.stage))
      } catch (e) {
        return Result.fail(`${origin} failed: ${errorMessage(e)}`)
      }
      for (const [j, stage] of made.entries()) {
        if (stage === undefined) continue
        if (typeof (stage as { id?: unknown })?.id !== "string")
          return Result.fail(`${origin} made something that is not a stage (no id) as its stage ${j}`)
        const err = add(stage, origin, true)
        if (err !== undefined) return Result.fail(err)
      }
      continue
    }
    if (typeof (entry as { id?: unknown } | undefined)?.id !== "string")
      return Result.fail(`stages[${i}] is not a stage (no id)`)
    const err = add(entry as AnyStage, `stages[${i}]`, false)
    if (err !== undefined) return Result.fail(err)
  }
  return Result.succeed(out)
}

/** `expandStagesWithOrigin` without the origins: the stages the runner sees. */
export const expandStages = (entries: ReadonlyArray<unknown>): Result.Result<Array<AnyStage>, string> =>
  Result.map(expandStagesWithOrigin(entries), (xs) => xs.map((x) => x.stage))
