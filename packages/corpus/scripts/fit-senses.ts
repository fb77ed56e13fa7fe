// Fit the shipped sensory regression of a model: ridge from its word vectors to the Lancaster
// sensorimotor norms, on the fit half (words whose sha1 ends in an even hex digit); then score both
// modes on the held-out words (the Lancaster test half; Miklashevsky 2018, Russian, never fitted
// on) and record the figures and the default mode each language gets (supervised only where it
// beats zero-shot). Writes packages/models/weights/<model>.senses.json.
//   node packages/corpus/scripts/fit-senses.ts [MODEL] [SHARED_DATA]
import { writeFileSync } from "node:fs"
import { relative, resolve } from "node:path"
import { loadModel } from "@hyperwords/models/Model"
import { fitSupervised, type SupervisedModel, supervised, zeroShot } from "../src/Senses.ts"
import { shippedSensesWeights } from "../src/SensesDefault.ts"
import { fitHalf, heldOutData, heldOutFigures, lancasterFiles, sharedData } from "../src/SensesValidation.ts"

const [modelName = "gemma-3-270m", data = sharedData] = process.argv.slice(2)
const model = await loadModel(modelName)
const fit = fitHalf(data)
const command = `node packages/corpus/scripts/fit-senses.ts ${modelName}`
const fit0 = await fitSupervised(model, fit, { source: "Lancaster sensorimotor norms (Lynott et al. 2020)" })
// the coefficients as shipped (6 significant digits): the figures below are those of the file
const round = (x: number) => Number(x.toPrecision(6))
const fitted: SupervisedModel = {
  ...fit0,
  mean: fit0.mean.map(round),
  scale: fit0.scale.map(round),
  weights: fit0.weights.map((row) => row.map(round)),
  trainedOn: {
    source: fit0.trainedOn.source,
    words: fit.rows.length,
    files: lancasterFiles.map((f) =>
      relative(resolve(import.meta.dirname, "..", "..", ".."), resolve(data, f))
    ),
    split: "fit half: words whose sha1 (hex) ends in an even digit; the odd half is held out",
    command
  }
}
const zero = zeroShot(model)
const sup = supervised(model, fitted, zero)
const validation: Record<string, NonNullable<SupervisedModel["validation"]>["en"]> = {}
for (const lang of ["en", "ru"] as const) {
  const f = await heldOutFigures({ zero, supervised: sup }, lang, data)
  validation[lang] = {
    data: heldOutData[lang],
    n: f.supervised.n,
    supervised: f.supervised.mean,
    zeroShot: f.zeroShot.mean,
    default: f.default
  }
  console.log(
    `${lang}: supervised ${f.supervised.mean.toFixed(3)} [${f.supervised.ci.map((x) => x.toFixed(3)).join(", ")}], ` +
      `zero-shot ${f.zeroShot.mean.toFixed(3)} [${f.zeroShot.ci.map((x) => x.toFixed(3)).join(", ")}], ` +
      `n ${f.supervised.n} -> ${f.default}`
  )
}
const out: SupervisedModel = {
  ...fitted,
  validation: validation as NonNullable<SupervisedModel["validation"]>
}
const file = shippedSensesWeights(modelName)
writeFileSync(file, `${JSON.stringify(out)}\n`)
console.log(`${file}: ${fit.rows.length} words, layer ${fitted.layer}, λ ${fitted.lambda}`)
