/**
 * What the experiment supports, in plain sentences computed from the leaderboard's comparisons
 * (no number in them is typed by hand): one per metric and comparison of each hyperwords
 * version (against its base, its controls, its placebos), and one per tuned row on the held-out
 * bits per byte. A difference is named, with its direction in the metric's good sense, only
 * when the Holm-adjusted p is below 0.05; otherwise the sentence says the two are **tied** (within
 * noise) and names no direction. Every comparison sentence states its minimum detectable effect,
 * so a tie reads as "no difference larger than this", not as "the same".
 */
import { ALPHA, isTied } from "./Comparisons.ts"
import type { Arm, Comparison, Finding, LeaderboardData } from "./Leaderboard.ts"

export { ALPHA }

type Metric = Pick<LeaderboardData["metrics"][number], "name" | "label" | "higherIsBetter">
/** A row of the board (findings read its name, arm, experiment, base and cells). */
type Row = Omit<LeaderboardData["rows"][number], "model">

/** A number in a sentence: three significant digits, a true minus sign. */
export const sentenceNumber = (x: number): string =>
  Number.isFinite(x) ? String(Number(x.toPrecision(3))).replace(/^-/, "−") : "n/a"

const signed = (x: number): string => (x > 0 ? `+${sentenceNumber(x)}` : sentenceNumber(x))

const interval = (ci: readonly [number, number] | undefined): string =>
  ci === undefined ? "" : ` [${sentenceNumber(ci[0])}, ${sentenceNumber(ci[1])}]`

/** `p = 0.012`, `p < 0.001`. */
export const pText = (p: number): string =>
  !Number.isFinite(p) ? "p = n/a" : p < 0.001 ? "p < 0.001" : `p = ${Number(p.toPrecision(2))}`

/** A row as a sentence names it: its name, with its arm when the name does not say it. */
const labelOf = (name: string, arm: Arm | undefined): string =>
  arm === undefined || arm === "hyperwords" || name.toLowerCase().includes(arm) ? name : `${name} (${arm})`

const prompts = (n: number) => `n = ${n} ${n === 1 ? "prompt" : "prompts"}`

/** The minimum detectable effect as a sentence says it. */
export const mdeText = (c: Pick<Comparison, "mde" | "n">): string =>
  c.mde === null
    ? `no MDE: ${c.n === 1 ? "1 prompt is" : `${c.n} prompts are`} too few for the test to reach its level`
    : `MDE ${sentenceNumber(c.mde)} at 80% power`

/** The sentence of one comparison on one metric. */
export const comparisonSentence = (row: string, metric: Metric, c: Comparison): string => {
  const vs = labelOf(c.vs, c.vsArm)
  const name = metric.label ?? metric.name
  const numbers = `Δ ${signed(c.delta)}${interval(c.ci)}, Holm ${pText(c.pHolm)}, ${prompts(c.n)}; ${mdeText(c)}`
  if (isTied(c.pHolm)) return `${row} and ${vs} tied on ${name} (${numbers})`
  const better = c.delta > 0 === metric.higherIsBetter
  const how = `${better ? "better" : "worse"}${metric.higherIsBetter ? "" : ", lower is better"}`
  return `${row} ${c.delta > 0 ? ">" : "<"} ${vs} on ${name} (${how}): ${numbers}`
}

/** The held-out sentence of a tuned row: its bits per byte over its base's. */
export const heldOutSentence = (
  row: string,
  base: string,
  cell: { readonly ratio: { readonly value: number; readonly ci?: readonly [number, number] } },
  extra: { readonly docs?: number; readonly source?: string }
): { readonly text: string; readonly supported: boolean; readonly better: boolean | null } => {
  const { value, ci } = cell.ratio
  const supported = ci !== undefined && (ci[0] > 1 || ci[1] < 1)
  // the direction the interval supports (a percentile CI need not hold the point value)
  const lower = ci !== undefined && ci[1] < 1
  const what = extra.source === undefined ? "held-out text" : `held-out ${extra.source}`
  const docs =
    extra.docs === undefined ? "" : ` (n ${extra.docs} ${extra.docs === 1 ? "document" : "documents"})`
  const verdict =
    ci === undefined
      ? "no interval, so no difference claimed"
      : supported
        ? `${lower ? "lower" : "higher"} than the base (${lower ? "better" : "worse"})`
        : "no difference detected"
  return {
    text: `${what}: ${row}/${base} bpb ratio ${sentenceNumber(value)}${interval(ci)}${docs}: ${verdict}`,
    supported,
    better: supported ? lower : null
  }
}

/**
 * The findings of a board: for each hyperwords version, its comparisons (by the row compared
 * with — base, controls, placebos — then by metric), then the held-out sentence of every tuned
 * row of its experiment; tuned rows of an experiment not on the board come last.
 */
export const findingsOf = (
  metrics: ReadonlyArray<Metric>,
  rows: ReadonlyArray<Row>,
  heldOutMetric: string
): Array<Finding> => {
  const out: Array<Finding> = []
  const heldOut = (r: Row, experiment: string) => {
    const cell = r.cells[heldOutMetric]
    if (cell?.status !== "ok" || cell.ratio === undefined) return
    const s = heldOutSentence(r.name, r.base ?? "base", { ratio: cell.ratio }, cell)
    out.push({ experiment, row: r.name, metric: heldOutMetric, vs: r.base ?? "base", ...s })
  }
  const done = new Set<Row>()
  for (const r of rows) {
    if (r.arm !== "hyperwords" && r.arm !== "superwords") continue
    const experiment = r.experiment ?? r.name
    // in the order the comparisons are made: the base, then the controls, then the placebos
    const targets = new Set(
      metrics.flatMap((m) => {
        const c = r.cells[m.name]
        return c?.status === "ok" ? (c.comparisons ?? []).map((x) => x.vs) : []
      })
    )
    for (const vs of targets) {
      for (const m of metrics) {
        const c = r.cells[m.name]
        const cmp = c?.status === "ok" ? c.comparisons?.find((x) => x.vs === vs) : undefined
        if (cmp === undefined) continue
        out.push({
          experiment,
          row: r.name,
          metric: m.name,
          vs,
          text: comparisonSentence(r.name, m, cmp),
          supported: !isTied(cmp.pHolm),
          better: cmp.better
        })
      }
    }
    for (const o of [r, ...rows.filter((o) => o !== r && o.arm !== "base" && o.experiment === experiment)]) {
      if (done.has(o)) continue
      done.add(o)
      heldOut(o, experiment)
    }
  }
  for (const r of rows) {
    if (r.arm === "base" || done.has(r)) continue
    done.add(r)
    heldOut(r, r.experiment ?? r.name)
  }
  return out
}
