/**
 * The fitted regression from a model's word vectors to a norm: ridge on standardised vectors
 * (the sensory estimator's `ridge`, λ picked by 4-fold cross-validation on the fit words), folded
 * into one weight vector and a bias on raw vectors, and saved as a small JSON file. The file holds
 * no norm values, only the regression — which cannot give the norms back.
 */
import { readFileSync } from "node:fs"
import { type Model, pearson, ridge, wordVectors } from "@hyperwords/eval/Sdk"
import { Schema } from "effect"
import type { NormRow } from "./Norms.ts"

/** A fitted regression, as saved. */
export const Regression = Schema.Struct({
  kind: Schema.Literal("hyperwords/imageability-ridge"),
  schemaVersion: Schema.Literal(1),
  /** The model folder's name the vectors came from. */
  model: Schema.String,
  layer: Schema.Int,
  /** What it predicts, e.g. "imageability (Glasgow IMAG_M, 1-7)". */
  target: Schema.String,
  lambda: Schema.Finite,
  /** One weight per hidden dimension, on raw (unstandardised) vectors. */
  weights: Schema.Array(Schema.Finite),
  bias: Schema.Finite,
  /** How it was made: the data, the words, the command. */
  trainedOn: Schema.Struct({ source: Schema.String, words: Schema.Int, command: Schema.String })
})
export type Regression = typeof Regression.Type

/** Ridge strengths tried. */
export const lambdas: ReadonlyArray<number> = [30, 100, 300, 1000, 3000, 10000]

const fitFolded = (xs: ReadonlyArray<ArrayLike<number>>, ys: ReadonlyArray<number>, lambda: number) => {
  const fit = ridge(
    xs,
    ys.map((y) => [y]),
    lambda
  )
  const w = fit.weights[0]!
  const weights = Array.from(w, (x, j) => x / fit.scale[j]!)
  const bias = fit.bias[0]! - weights.reduce((s, x, j) => s + x * fit.mean[j]!, 0)
  return { weights, bias }
}

/** Predict with folded weights. */
export const predict = (
  r: { readonly weights: ReadonlyArray<number>; readonly bias: number },
  x: ArrayLike<number>
): number => {
  let s = r.bias
  for (let j = 0; j < r.weights.length; j++) s += r.weights[j]! * x[j]!
  return s
}

/** Fit a regression on norm rows (all of them: hold test words out before calling). */
export const fitRegression = async (
  model: Model,
  rows: ReadonlyArray<NormRow>,
  options: {
    readonly layer: number
    readonly target: string
    readonly source: string
    readonly command: string
  }
): Promise<Regression> => {
  const xs = await wordVectors(model, options.layer).vectors(rows.map((r) => r.word))
  const ys = rows.map((r) => r.value)
  let best = { lambda: lambdas[0]!, r: -Infinity }
  for (const lambda of lambdas) {
    const pred: Array<number> = []
    const truth: Array<number> = []
    for (let fold = 0; fold < 4; fold++) {
      const tr = xs.flatMap((_, i) => (i % 4 === fold ? [] : [i]))
      const f = fitFolded(
        tr.map((i) => xs[i]!),
        tr.map((i) => ys[i]!),
        lambda
      )
      xs.forEach((x, i) => {
        if (i % 4 === fold) {
          pred.push(predict(f, x))
          truth.push(ys[i]!)
        }
      })
    }
    const r = pearson(pred, truth)
    if (r > best.r) best = { lambda, r }
  }
  const f = fitFolded(xs, ys, best.lambda)
  return {
    kind: "hyperwords/imageability-ridge",
    schemaVersion: 1,
    model: model.name,
    layer: options.layer,
    target: options.target,
    lambda: best.lambda,
    weights: f.weights.map((x) => Number(x.toPrecision(6))),
    bias: f.bias,
    trainedOn: { source: options.source, words: rows.length, command: options.command }
  }
}

/** Read a saved regression. */
export const readRegression = (path: string): Regression =>
  Schema.decodeUnknownSync(Regression)(JSON.parse(readFileSync(path, "utf8")))

/** Predictions for words. */
export const predictWords = async (
  model: Model,
  regression: Regression,
  words: ReadonlyArray<string>
): Promise<Array<number>> => {
  const xs = await wordVectors(model, regression.layer).vectors(words)
  return xs.map((x) => predict(regression, x))
}
