/**
 * `pnpm validate`: every metric and estimator against the human data in `../shared/data`.
 * Prints one table; exits 1 when a check is under its floor or fails to run.
 */
import { enableCompileCache } from "node:module"

enableCompileCache?.()
const { Effect } = await import("effect")
const { Validation } = await import("@hyperwords/core")
const { validations, pending } = await import("../validations.config.ts")

const args = process.argv.slice(2)
const all = args.includes("--all") ? [...validations, ...pending] : validations
const only = args.filter((a) => !a.startsWith("-"))
const chosen = only.length > 0 ? all.filter((v) => only.some((o) => v.name.includes(o))) : all
if (!args.includes("--all") && pending.length > 0) {
  process.stderr.write(`(${pending.length} pending check(s) not run: pnpm validate --all)\n`)
}
const outcomes = await Effect.runPromise(
  Validation.runValidations(chosen, (o) =>
    process.stderr.write(`${o.status.padEnd(7)} ${o.validation.name} — ${o.validation.data}\n`)
  )
)
console.log(`\n${Validation.formatValidations(outcomes)}`)
const bad = outcomes.filter((o) => o.status === "fail" || o.status === "error")
if (bad.length > 0) {
  console.error(`\nvalidate: ${bad.length} check(s) under the floor or broken`)
  process.exit(1)
}
