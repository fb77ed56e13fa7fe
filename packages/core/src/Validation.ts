/**
 * Validation of metrics and estimators against human data: each check names its data, its
 * statistic and its floor; `pnpm validate` runs every registered check, prints one table and
 * fails when a check falls under its floor. Checks whose data is absent are reported as skipped.
 */
import { existsSync } from "node:fs"
import { Effect } from "effect"

/** What a check measured. */
export interface ValidationResult {
  /** The statistic's value (e.g. Spearman ρ). */
  readonly value: number
  /** Items it was computed on. */
  readonly n: number
  /** A 95% confidence interval, when computed. */
  readonly ci?: readonly [number, number]
  /** Anything else worth printing (per-dimension figures, the layer used, ...). */
  readonly detail?: string
}

/** One validation check. */
export interface Validation {
  /** What is validated, e.g. "composition score". */
  readonly name: string
  /** The human data, e.g. "Reddy et al. 2011". */
  readonly data: string
  /** e.g. "Spearman ρ", "mean Pearson r", "AUC". */
  readonly statistic: string
  /** The value under which the check fails (none: reported only). */
  readonly floor?: number
  /** Files or folders the check reads; absent ones make it skip. */
  readonly requires: ReadonlyArray<string>
  readonly run: Effect.Effect<ValidationResult, unknown>
}

/** The outcome of one check. */
export interface ValidationOutcome {
  readonly validation: Validation
  readonly status: "pass" | "fail" | "report" | "skipped" | "error"
  readonly result?: ValidationResult
  readonly reason?: string
}

/** Run checks one after another (they load models; running them together would fight for memory). */
export const runValidations = (
  validations: ReadonlyArray<Validation>,
  onDone?: (o: ValidationOutcome) => void
): Effect.Effect<Array<ValidationOutcome>> =>
  Effect.forEach(validations, (validation) =>
    Effect.gen(function* () {
      const missing = validation.requires.filter((p) => !existsSync(p))
      if (missing.length > 0) {
        const o: ValidationOutcome = { validation, status: "skipped", reason: `no ${missing.join(", ")}` }
        onDone?.(o)
        return o
      }
      const exit = yield* Effect.exit(validation.run)
      const o: ValidationOutcome =
        exit._tag === "Failure"
          ? { validation, status: "error", reason: String(exit.cause).slice(0, 500) }
          : {
              validation,
              result: exit.value,
              status:
                validation.floor === undefined
                  ? "report"
                  : exit.value.value >= validation.floor
                    ? "pass"
                    : "fail"
            }
      onDone?.(o)
      return o
    })
  )

const fmt = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(3))

/** The outcomes as a table. */
export const formatValidations = (outcomes: ReadonlyArray<ValidationOutcome>): string => {
  const rows = [["check", "human data", "statistic", "value [95% CI]", "n", "floor", "status"]]
  for (const o of outcomes) {
    const r = o.result
    rows.push([
      o.validation.name,
      o.validation.data,
      o.validation.statistic,
      r ? `${fmt(r.value)}${r.ci ? ` [${fmt(r.ci[0])}, ${fmt(r.ci[1])}]` : ""}` : "-",
      r ? String(r.n) : "-",
      o.validation.floor === undefined ? "-" : `≥ ${o.validation.floor}`,
      o.status.toUpperCase() + (o.reason ? ` (${o.reason})` : "")
    ])
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  const line = (r: ReadonlyArray<string>) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd()
  const details = outcomes
    .filter((o) => o.result?.detail)
    .map((o) => `  ${o.validation.name} (${o.validation.data}): ${o.result!.detail}`)
  return [
    line(rows[0]!),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...rows.slice(1).map(line),
    ...(details.length ? ["", ...details] : [])
  ].join("\n")
}
