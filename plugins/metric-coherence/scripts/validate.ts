// Run this plugin's validations once and print the table: node scripts/validate.ts [MODEL]
import { formatValidations, runValidations } from "@hyperwords/eval/Sdk"
import { Effect } from "effect"
import { coherenceValidations } from "../src/Validation.ts"

const [model] = process.argv.slice(2)
const started = Date.now()
const outcomes = await Effect.runPromise(
  runValidations(coherenceValidations(model ? { model } : {}), (o) =>
    console.error(
      `${o.validation.name}: ${o.status} ${o.result?.value ?? ""} (${((Date.now() - started) / 1000).toFixed(0)} s)`
    )
  )
)
console.log(formatValidations(outcomes))
console.log(`took ${((Date.now() - started) / 1000).toFixed(0)} s`)
