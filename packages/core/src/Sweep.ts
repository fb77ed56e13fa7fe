/**
 * A sweep: `sweep: { finetune: { "lora.rank": [8, 16], seed: [1, 2] } }` in `pipeline.config.ts`
 * replaces the stage `finetune` with one copy per point of the grid (`finetune-rank8-seed1`,
 * `finetune-rank8-seed2`, …). Each copy reads `finetune`'s params with the point's values set over
 * them (a dotted name reaches into an object param), then params given for its own id. The
 * families that follow (probe, evaluate, the board) see every copy as a version of its own, so a
 * sweep lands on one leaderboard; seeds among the axes give repeated training runs of one setting.
 * The copies are independent of each other: `--parallel` (a Ray executor) runs them side by side.
 */
import { isStageFamily } from "./Families.ts"
import type { Stage } from "./Stage.ts"

// biome-ignore lint/suspicious/noExplicitAny: stages have params of different types
type AnyStage = Stage<any>

/** Per stage id: per param name (dotted for a nested field), the values to sweep. */
export type SweepSpec = Readonly<Record<string, Readonly<Record<string, ReadonlyArray<unknown>>>>>

/** At most this many copies of one stage (a typo of a long list should not start a week of training). */
export const MAX_POINTS = 256

/** The grid's points, the last name varying fastest. Throws on an empty list or too many points. */
export const sweepPoints = (
  stage: string,
  grid: Readonly<Record<string, ReadonlyArray<unknown>>>
): Array<Record<string, unknown>> => {
  const names = Object.keys(grid)
  if (names.length === 0) throw new Error(`sweep.${stage} names no param to sweep`)
  let points: Array<Record<string, unknown>> = [{}]
  for (const name of names) {
    const values = grid[name]
    if (!Array.isArray(values) || values.length === 0)
      throw new Error(`sweep.${stage}.${name} must be a non-empty list of values`)
    points = points.flatMap((p) => values.map((v) => ({ ...p, [name]: v })))
    if (points.length > MAX_POINTS)
      throw new Error(`sweep.${stage} has more than ${MAX_POINTS} points; sweep fewer values at once`)
  }
  return points
}

const labelValue = (v: unknown): string =>
  (typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? String(v) : JSON.stringify(v))
    .replace(/[^A-Za-z0-9.]+/g, "")
    .slice(0, 24)

/** A point's part of a copy's id: each name's last segment with its value (`rank16-seed2`). */
export const sweepLabel = (point: Readonly<Record<string, unknown>>): string =>
  Object.entries(point)
    .map(
      ([name, v]) =>
        `${name
          .split(".")
          .at(-1)!
          .replace(/[^A-Za-z0-9]+/g, "")}${labelValue(v)}`
    )
    .join("-")

/** `value` set at a dotted `path` of a copy of `obj` (objects on the way are copied, or made). */
export const setPath = (
  obj: Readonly<Record<string, unknown>>,
  path: string,
  value: unknown
): Record<string, unknown> => {
  const [head, ...rest] = path.split(".")
  if (rest.length === 0) return { ...obj, [head!]: value }
  const inner = obj[head!]
  const next =
    inner !== null && typeof inner === "object" && !Array.isArray(inner)
      ? (inner as Record<string, unknown>)
      : {}
  return { ...obj, [head!]: setPath(next, rest.join("."), value) }
}

/** The params of a sweep copy: `raw` with every value of its point set over it. */
export const applyPoint = (
  raw: Readonly<Record<string, unknown>>,
  point: Readonly<Record<string, unknown>>
): Record<string, unknown> =>
  Object.entries(point).reduce((acc, [path, v]) => setPath(acc, path, v), { ...raw })

/**
 * Replace each swept stage of `entries` with its copies, in place. Throws when the sweep names a
 * stage that is not in `entries` (families' stages cannot be swept: sweep the version they follow)
 * or two points give one id.
 */
export const expandSweep = (
  entries: ReadonlyArray<unknown>,
  sweep: SweepSpec | undefined
): Array<unknown> => {
  if (sweep === undefined || Object.keys(sweep).length === 0) return [...entries]
  const ids = new Set(
    entries
      .filter((e) => !isStageFamily(e))
      .map((e) => (e as AnyStage)?.id)
      .filter((id) => typeof id === "string")
  )
  for (const id of Object.keys(sweep))
    if (!ids.has(id))
      throw new Error(
        `sweep names stage "${id}", which is not among the config's stages (${[...ids].join(", ")}); a stage a family makes cannot be swept: sweep the version it follows`
      )
  return entries.flatMap((entry) => {
    if (isStageFamily(entry)) return [entry]
    const stage = entry as AnyStage
    const grid = sweep[stage?.id]
    if (grid === undefined) return [entry]
    const seen = new Set<string>()
    return sweepPoints(stage.id, grid).map((point) => {
      const id = `${stage.id}-${sweepLabel(point)}`
      if (seen.has(id))
        throw new Error(`sweep.${stage.id}: two points give the id "${id}"; sweep distinct values`)
      seen.add(id)
      return { ...stage, id, sweep: { id: stage.id, point } } satisfies AnyStage
    })
  })
}

/** The config's grids with those of the command line set over them, param by param. */
export const mergeSweeps = (
  config: SweepSpec | undefined,
  flags: SweepSpec | undefined
): SweepSpec | undefined => {
  if (flags === undefined || Object.keys(flags).length === 0) return config
  const out: Record<string, Readonly<Record<string, ReadonlyArray<unknown>>>> = { ...config }
  for (const [stage, grid] of Object.entries(flags)) out[stage] = { ...out[stage], ...grid }
  return out
}

/** A value of `--sweep`: JSON where it parses (`16`, `true`, `"x"`), else the text itself. */
const flagValue = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/**
 * The grids of `--sweep STAGE.PARAM=V1,V2` flags (`finetune.seed=1,2`, `finetune.lora.rank=8,16`):
 * the stage id ends at the first dot. Throws on a malformed flag, naming it.
 */
export const parseSweepFlags = (flags: ReadonlyArray<string>): SweepSpec => {
  const out: Record<string, Record<string, ReadonlyArray<unknown>>> = {}
  for (const flag of flags) {
    const m = /^([^.=\s]+)\.([^=\s]+)=(.+)$/.exec(flag.trim())
    const values = m?.[3]?.split(",").map((v) => v.trim())
    if (m === null || values === undefined || values.some((v) => v === ""))
      throw new Error(
        `--sweep ${JSON.stringify(flag)}: give STAGE.PARAM=V1,V2 (for example --sweep finetune.seed=1,2)`
      )
    const grid = out[m[1]!] ?? {}
    out[m[1]!] = grid
    if (m[2]! in grid) throw new Error(`--sweep names ${m[1]}.${m[2]} twice; give its values in one flag`)
    grid[m[2]!] = values.map(flagValue)
  }
  return out
}
