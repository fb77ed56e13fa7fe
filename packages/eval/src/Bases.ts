/**
 * One leaderboard across several base models (`models: { model: [...] }`, see
 * `@hyperwords/core/Matrix`): every row names the base model it descends from, a version name that
 * two bases share (`finetune`) gets its base (`finetune@smollm2-135m`) so each row is paired with
 * its own base and controls, and the board names its one judge.
 */

interface ModelRef {
  readonly id: string
  readonly revision: string
}

/** What this module needs of an evaluation run. */
export interface BaseRun {
  readonly stage: string
  readonly run: {
    readonly name?: string | undefined
    readonly model: ModelRef
    readonly base?: ModelRef | undefined
    readonly judge?: ModelRef | undefined
  }
}

const same = (a: ModelRef, b: ModelRef | undefined) =>
  b !== undefined && a.id === b.id && a.revision === b.revision

/** The run of the untouched base model a run descends from (itself for a base; none when it is not on the board). */
export const rootOf = <R extends BaseRun>(r: R, runs: ReadonlyArray<R>): R | undefined => {
  let at: R | undefined = r
  for (let hops = 0; at !== undefined && at.run.base !== undefined && hops < runs.length; hops++) {
    const base: ModelRef = at.run.base
    at = runs.find((o) => o !== at && same(o.run.model, base))
  }
  return at
}

/**
 * The row name of every run, by evaluate stage: its version name, with its base model's name after
 * `@` when another run of another base has the same name (boards of one base keep their names).
 */
export const rowNames = (runs: ReadonlyArray<BaseRun>): ReadonlyMap<string, string> => {
  const plain = (r: BaseRun) => r.run.name ?? r.run.model.id
  const out = new Map<string, string>()
  for (const r of runs) {
    const name = plain(r)
    const shared = runs.some((o) => o !== r && plain(o) === name)
    const root = rootOf(r, runs)
    out.set(r.stage, shared && root !== undefined && root !== r ? `${name}@${plain(root)}` : name)
  }
  return out
}

/** The base model a run descends from, by its row name (itself for a base). */
export const baseModelOf = (r: BaseRun, runs: ReadonlyArray<BaseRun>): string | undefined => {
  const root = rootOf(r, runs)
  return root === undefined ? undefined : (root.run.name ?? root.run.model.id)
}

/** The judges the runs name (one when the board compares bases fairly), "unknown" for runs that do not say. */
export const judgesOf = (runs: ReadonlyArray<BaseRun>): Array<string> => [
  ...new Set(runs.map((r) => r.run.judge?.id ?? "unknown"))
]
