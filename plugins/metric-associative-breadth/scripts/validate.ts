// Run this plugin's validation once and print the table: node scripts/validate.ts [MODEL] [dev|test]
import { formatValidations, runValidations } from "@hyperwords/eval/Sdk"
import { Effect } from "effect"
import { datValidations } from "../src/Validation.ts"

const [model, half] = process.argv.slice(2)
const started = Date.now()
const outcomes = await Effect.runPromise(
  runValidations(
    datValidations({
      ...(model ? { model } : {}),
      ...(half === "dev" || half === "test" ? { half } : {})
    })
  )
)
console.log(formatValidations(outcomes))
console.log(`took ${((Date.now() - started) / 1000).toFixed(0)} s`)
