// Fit the shipped regression: imageability on the fit half of the Glasgow norms (the test half is
// what `pnpm validate` reports on), written to weights/<model>.imageability.json.
//   node plugins/metric-imageability/scripts/fit.ts [MODEL] [SHARED_DATA]
import { writeFileSync } from "node:fs"
import { defaultLayer, loadModel, sharedData } from "@hyperwords/eval/Sdk"
import { shippedWeights } from "../src/index.ts"
import { fitRegression } from "../src/Regression.ts"
import { splitRows } from "../src/Validation.ts"

const [modelName = "gemma-3-270m", data = sharedData] = process.argv.slice(2)
const model = await loadModel(modelName)
const { fit } = splitRows(data, "imageability")
const regression = await fitRegression(model, fit, {
  layer: defaultLayer(model),
  target: "imageability (Glasgow IMAG_M, 1-7)",
  source: "Glasgow norms (Scott et al. 2019), fit half (words with an even sha1)",
  command: `node plugins/metric-imageability/scripts/fit.ts ${modelName}`
})
const out = shippedWeights(modelName)
writeFileSync(out, `${JSON.stringify(regression)}\n`)
console.log(`${out}: ${fit.length} words, layer ${regression.layer}, λ ${regression.lambda}`)
