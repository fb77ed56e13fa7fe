/**
 * Repeated training runs on the board. Rows of this run whose fine-tune configs differ only in
 * `seed` (a sweep over seeds: `finetune-seed1`, `finetune-seed2`, …) form a group. Per metric, the
 * group gets the mean over its runs of each row's mean, with a Student-t interval over the runs:
 * the spread between training runs, which no single row's interval over prompts shows. n is the
 * number of runs; a metric with fewer than two runs scored gets no interval.
 */
import { mean, sd, studentTQuantile } from "./Stats.ts"

/** One setting trained with several seeds. */
export interface SeedGroup {
  /** The rows' common name without its seed (`finetune-rank16` for `finetune-rank16-seed1`, …). */
  readonly name: string
  /** The rows' shared config (every fine-tune param but the seed). */
  readonly config: ReadonlyArray<string>
  readonly seeds: ReadonlyArray<number>
  readonly rows: ReadonlyArray<string>
  /** Per metric: the mean over the runs, its t interval (95%) and how many runs had a score. */
  readonly cells: Readonly<
    Record<
      string,
      { readonly mean: number; readonly ci: readonly [number, number] | null; readonly n: number }
    >
  >
}

/** What a row needs to be grouped. */
interface GroupableRow {
  readonly name: string
  readonly arm: string
  readonly baseModel?: string
  readonly provenance?: { readonly run: string; readonly config: ReadonlyArray<string> }
  readonly cells: Readonly<Record<string, { readonly status: string; readonly mean?: number | null }>>
}

const SEED = /^seed: (-?\d+)$/

/** The name the rows share once their seed part is gone. */
const groupName = (names: ReadonlyArray<string>): string => {
  const stripped = names.map((n) =>
    n
      .replace(/-?seed-?\d+/i, "")
      .replace(/--+/g, "-")
      .replace(/-$/, "")
  )
  return stripped.every((s) => s === stripped[0]) && stripped[0] !== "" ? stripped[0]! : `${names[0]} …`
}

/** The seed groups of a board's rows (this run's tuned rows only), in the order of their first row. */
export const seedGroups = (
  rows: ReadonlyArray<GroupableRow>,
  metrics: ReadonlyArray<{ readonly name: string }>
): Array<SeedGroup> => {
  const groups = new Map<string, Array<{ row: GroupableRow; seed: number; config: Array<string> }>>()
  for (const row of rows) {
    const p = row.provenance
    if (p === undefined || p.run !== "current") continue
    const seedLine = p.config.find((l) => SEED.test(l))
    if (seedLine === undefined) continue
    const config = p.config.filter((l) => !SEED.test(l))
    const key = JSON.stringify([row.baseModel ?? "", row.arm, config])
    groups.set(key, [...(groups.get(key) ?? []), { row, seed: Number(SEED.exec(seedLine)![1]), config }])
  }
  const out: Array<SeedGroup> = []
  for (const members of groups.values()) {
    if (new Set(members.map((m) => m.seed)).size < 2) continue
    const cells: Record<string, { mean: number; ci: readonly [number, number] | null; n: number }> = {}
    for (const { name } of metrics) {
      const values = members.flatMap(({ row }) => {
        const c = row.cells[name]
        return c?.status === "ok" && typeof c.mean === "number" && Number.isFinite(c.mean) ? [c.mean] : []
      })
      if (values.length === 0) continue
      const m = mean(values)
      const half =
        values.length < 2
          ? Number.NaN
          : (studentTQuantile(0.975, values.length - 1) * sd(values)) / Math.sqrt(values.length)
      cells[name] = { mean: m, ci: Number.isFinite(half) ? [m - half, m + half] : null, n: values.length }
    }
    out.push({
      name: groupName(members.map((m) => m.row.name)),
      config: members[0]!.config,
      seeds: members.map((m) => m.seed).sort((a, b) => a - b),
      rows: members.map((m) => m.row.name),
      cells
    })
  }
  return out
}
