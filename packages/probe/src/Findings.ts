/**
 * What the literature predicts about how a model reads words, measured on this model:
 * (a) words and nonwords become separable at the last piece in the early-to-middle layers
 * (Kaplan et al. 2024, "From Tokens to Words"); (b) the identity of the pieces is erased at the
 * last piece of a multi-token word after the first layers (Feucht et al. 2024, "Token Erasure");
 * (c) the middle layers lean to English for Russian input (Wendler et al. 2024, "Do Llamas Work
 * in English?", `Pivot.ts`). Each check reads every item at every layer, and its verdict is a band
 * test against a permutation null (`Verdict.ts`), never the best layer of the run.
 */
import { choleskySolve } from "@hyperwords/core/LinearAlgebra"
import type { Model } from "@hyperwords/models/Model"
import { runProbeOutputs } from "@hyperwords/models/Probe"
import { commonWords, matchedNonword } from "./Lexicon.ts"
import { readIds } from "./Measure.ts"
import { englishPivot } from "./Pivot.ts"
import {
  type BandTest,
  bandLayers,
  bands,
  bandTest,
  type LayerBand,
  layerBand,
  type TestOptions,
  testFigure,
  type Verdict
} from "./Verdict.ts"

export { commonWords, russianEnglish } from "./Lexicon.ts"
export { englishPivot, pivotPrompt } from "./Pivot.ts"

/** A finding: the claim, the verdict of its band test on this model, and the figures measured. */
export interface Finding {
  readonly id:
    | "word-nonword"
    | "token-erasure"
    | "english-pivot"
    | "english-pivot-translation"
    | "superword-state"
    | "superword-patchscope"
  readonly claim: string
  readonly source: string
  readonly verdict: Verdict
  /** `verdict === "reproduced"`. */
  readonly reproduced: boolean
  /** The band statistic against its null, per layer too, and the rule that gave the verdict. */
  readonly test: BandTest
  /** The figures in words: the test's (statistic, CI, p, n, band) and what else was read. */
  readonly figure: string
  /** The measured curve(s) per layer (mean over items), for the report's charts. */
  readonly curves: Readonly<Record<string, ReadonlyArray<number>>>
  /** Each curve's bootstrap 95% CI per layer (items resampled). */
  readonly ci: Readonly<Record<string, Pick<LayerBand, "lo" | "hi">>>
}

/** Options of the checks. */
export interface FindingOptions {
  readonly seed: number
  /** Extra real words (the probe set's parts), with their language. */
  readonly words?: ReadonlyArray<{ readonly word: string; readonly lang: string }>
  readonly folds?: number
  readonly batchSize?: number
  /** Sign-flip permutations of the null (default 1999) and bootstrap resamples (default 2000). */
  readonly permutations?: number
  readonly resamples?: number
  /** Called as each check reads its prompts: the check's id, prompts read so far, their number. */
  readonly onProgress?: (check: Finding["id"], done: number, total: number) => void
  /**
   * Checks finished by an earlier, stopped run (`undefined`: measure it), and where each finished
   * check goes as soon as it is done, so that a stop loses only the check it interrupted.
   */
  readonly kept?: (check: FindingCheck) => ReadonlyArray<Finding> | undefined
  readonly keep?: (check: FindingCheck, findings: ReadonlyArray<Finding>) => void
}

/** The literature checks `measureFindings` runs, in order. */
export const findingChecks = ["word-nonword", "english-pivot", "english-pivot-translation"] as const
export type FindingCheck = (typeof findingChecks)[number]

/** States at the last two positions of each text, per layer: `[text][layer][H]`. */
const readTailStates = async (
  model: Model,
  texts: ReadonlyArray<string>,
  batchSize: number,
  onProgress?: (done: number, total: number) => void
) => {
  const graph = await model.hiddenStatesGraph()
  const last: Array<Array<Float32Array>> = []
  const prev: Array<Array<Float32Array>> = []
  const pieces: Array<number> = []
  const lastIds: Array<number> = []
  const prevIds: Array<number> = []
  for (let s = 0; s < texts.length; s += batchSize) {
    const reads = texts.slice(s, s + batchSize).map((t) => readIds(model, t))
    const res = await runProbeOutputs(graph, { ids: reads.map((r) => r.ids) }, ["hidden_states"])
    const hs = res.hidden_states!
    const data = hs.data as Float32Array
    const [layers, b, t, h] = hs.dims as [number, number, number, number]
    const at = (l: number, row: number, p: number) =>
      data.slice(((l * b + row) * t + p) * h, ((l * b + row) * t + p + 1) * h)
    reads.forEach((r, row) => {
      const n = r.ids.length
      last.push(Array.from({ length: layers }, (_, l) => at(l, row, n - 1)))
      prev.push(Array.from({ length: layers }, (_, l) => at(l, row, Math.max(r.start, n - 2))))
      pieces.push(n - r.start)
      lastIds.push(r.ids[n - 1]!)
      prevIds.push(r.ids[Math.max(r.start, n - 2)]!)
    })
    onProgress?.(last.length, texts.length)
  }
  return { last, prev, pieces, lastIds, prevIds }
}

/** Fold of each index, keeping pairs (2i, 2i+1) of a word and its nonword together. */
const pairFolds = (n: number, folds: number): Array<number> =>
  Array.from({ length: n }, (_, i) => Math.floor(i / 2) % folds)

const centeredUnit = (x: ArrayLike<number>, mean: ArrayLike<number>): Float64Array => {
  const out = new Float64Array(x.length)
  let s = 0
  for (let i = 0; i < x.length; i++) {
    out[i] = x[i]! - mean[i]!
    s += out[i]! * out[i]!
  }
  const r = Math.sqrt(s) || 1
  for (let i = 0; i < x.length; i++) out[i]! /= r
  return out
}

const mean = (xs: ReadonlyArray<ArrayLike<number>>): Float64Array => {
  const out = new Float64Array(xs[0]?.length ?? 0)
  for (const x of xs) for (let i = 0; i < out.length; i++) out[i]! += x[i]! / xs.length
  return out
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}

/**
 * Cross-validated nearest-centroid readout of two labelled classes (vectors centred on the
 * training mean and scaled to unit length, so every layer's scale counts the same): 1 where the
 * held-out vector was put in its class, else 0.
 */
export const centroidCorrect = (
  xs: ReadonlyArray<ArrayLike<number>>,
  labels: ReadonlyArray<0 | 1>,
  fold: ReadonlyArray<number>,
  folds: number
): Array<number> => {
  const correct = xs.map(() => 0)
  for (let f = 0; f < folds; f++) {
    const train = xs.flatMap((_, i) => (fold[i] === f ? [] : [i]))
    const test = xs.flatMap((_, i) => (fold[i] === f ? [i] : []))
    if (test.length === 0) continue
    const mu = mean(train.map((i) => xs[i]!))
    const unit = (i: number) => centeredUnit(xs[i]!, mu)
    const c0 = mean(train.filter((i) => labels[i] === 0).map(unit))
    const c1 = mean(train.filter((i) => labels[i] === 1).map(unit))
    for (const i of test) {
      const u = unit(i)
      const guess = dot(u, c1) > dot(u, c0) ? 1 : 0
      if (guess === labels[i]) correct[i] = 1
    }
  }
  return correct
}

const meanOf = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)

/** The cross-validated nearest-centroid accuracy (the share of `centroidCorrect`). */
export const centroidAccuracy = (
  xs: ReadonlyArray<ArrayLike<number>>,
  labels: ReadonlyArray<0 | 1>,
  fold: ReadonlyArray<number>,
  folds: number
): number => meanOf(centroidCorrect(xs, labels, fold, folds))

/**
 * Cross-validated linear readout of a token's identity (Feucht et al.'s probe, small-sample
 * form): kernel ridge regression from the states to the token's input embedding, then the
 * nearest candidate embedding by cosine; the share read right. `targets[i]` indexes `candidates`
 * (distinct tokens). A ridge prediction lies in the span of its training targets, so only tokens
 * that recur across states (common pieces) can be read: the figure is a lower bound. 1 where a
 * held-out state was read right, else 0.
 */
export const readoutCorrect = (
  xs: ReadonlyArray<ArrayLike<number>>,
  targets: ReadonlyArray<number>,
  candidates: ReadonlyArray<ArrayLike<number>>,
  folds: number
): Array<number> => {
  const n = xs.length
  const fold = Array.from({ length: n }, (_, i) => i % folds)
  const h = candidates[0]?.length ?? 0
  const cmu = mean(candidates)
  const cands = candidates.map((c) => centeredUnit(c, cmu))
  const correct = xs.map(() => 0)
  for (let f = 0; f < folds; f++) {
    const train = xs.flatMap((_, i) => (fold[i] === f ? [] : [i]))
    const test = xs.flatMap((_, i) => (fold[i] === f ? [i] : []))
    if (test.length === 0 || train.length === 0) continue
    const mu = mean(train.map((i) => xs[i]!))
    const z = (i: number) => centeredUnit(xs[i]!, mu)
    const zt = train.map(z)
    const m = train.length
    const k = new Float64Array(m * m)
    for (let i = 0; i < m; i++) for (let j = 0; j <= i; j++) k[i * m + j] = k[j * m + i] = dot(zt[i]!, zt[j]!)
    for (let i = 0; i < m; i++) k[i * m + i]! += 0.1
    // one right-hand side per embedding dimension: the dual weights α = (K + λI)⁻¹ Y
    const ys = Array.from({ length: h }, (_, d) => Float64Array.from(train, (i) => cands[targets[i]!]![d]!))
    const alpha = choleskySolve(k, m, ys)
    for (const i of test) {
      const zi = z(i)
      const kv = zt.map((t) => dot(t, zi))
      const pred = alpha.map((a) => dot(a, kv))
      let best = -1
      let bestScore = -Infinity
      cands.forEach((c, j) => {
        const s = dot(c, pred)
        if (s > bestScore) {
          bestScore = s
          best = j
        }
      })
      if (best === targets[i]) correct[i] = 1
    }
  }
  return correct
}

/** The cross-validated token readout's accuracy (the share of `readoutCorrect`). */
export const readoutAccuracy = (
  xs: ReadonlyArray<ArrayLike<number>>,
  targets: ReadonlyArray<number>,
  candidates: ReadonlyArray<ArrayLike<number>>,
  folds: number
): number => meanOf(readoutCorrect(xs, targets, candidates, folds))

const fmt = (x: number) => x.toFixed(2)
const transpose = (m: ReadonlyArray<ReadonlyArray<number>>): Array<Array<number>> =>
  (m[0] ?? []).map((_, j) => m.map((row) => row[j]!))
const at = (xs: ReadonlyArray<number>, layers: ReadonlyArray<number>) => meanOf(layers.map((l) => xs[l]!))

/**
 * Kaplan et al.'s claim as a band test: per word/nonword pair and layer, the share of the pair
 * read right (0, ½, 1), contrasted with the same pair at layer 0 (the pieces' embeddings alone),
 * so what counts is what the layers add to telling words from nonwords; the band's mean contrast
 * against the sign-flip null (`correct[pair][layer]`).
 */
export const wordNonwordTest = (
  correct: ReadonlyArray<ReadonlyArray<number>>,
  numLayers: number,
  options: TestOptions
): BandTest =>
  bandTest(
    correct.map((r) => r.map((x) => x - r[0]!)),
    bands.wordNonword,
    { ...options, numLayers, statistic: "band accuracy − layer-0 accuracy" }
  )

/**
 * Feucht et al.'s claim as a band test: per word and layer, whether the previous piece was read
 * from the last piece's state; each word's mean over the early band minus its reading at each
 * layer, the statistic that contrast's mean over the late band (`correct[word][layer]`).
 */
export const erasureTest = (
  correct: ReadonlyArray<ReadonlyArray<number>>,
  numLayers: number,
  options: TestOptions
): BandTest => {
  const early = bandLayers(numLayers, bands.erasureEarly)
  return bandTest(
    correct.map((r) => {
      const e = at(r, early)
      return r.map((x) => e - x)
    }),
    [bands.erasureLate, bands.erasureEarly],
    {
      ...options,
      numLayers,
      statistic: `previous-piece readout, early layers ${early[0]}–${early[early.length - 1]} − late band`
    }
  )
}

/** States at the last two pieces of texts that alternate a word and its nonword: `[text][layer][H]`. */
export interface TailStates {
  readonly last: ReadonlyArray<ReadonlyArray<ArrayLike<number>>>
  readonly prev: ReadonlyArray<ReadonlyArray<ArrayLike<number>>>
  readonly lastIds: ReadonlyArray<number>
  readonly prevIds: ReadonlyArray<number>
}

/** (a) and (b) from the states of word/nonword pairs (texts 2i and 2i+1). */
export const wordFindingsFromStates = (
  states: TailStates,
  options: Omit<FindingOptions, "words" | "batchSize"> & { readonly unmatched?: number }
): Array<Finding> => {
  const folds = options.folds ?? 5
  const test = { seed: options.seed, permutations: options.permutations, resamples: options.resamples }
  const layers = states.last[0]?.length ?? 0
  const numLayers = Math.max(1, layers - 1)
  const texts = states.last.length
  const labels = states.last.map((_, i) => (i % 2 === 0 ? 1 : 0) as 0 | 1)
  const fold = pairFolds(texts, folds)
  const perText = Array.from({ length: layers }, (_, l) =>
    centroidCorrect(
      states.last.map((s) => s[l]!),
      labels,
      fold,
      folds
    )
  )
  const pairs = Math.floor(texts / 2)
  const pairCorrect = Array.from({ length: pairs }, (_, p) =>
    perText.map((row) => (row[2 * p]! + row[2 * p + 1]!) / 2)
  )
  const kaplanTest = wordNonwordTest(pairCorrect, numLayers, test)
  const accuracy = layerBand(pairCorrect, options.seed)
  const kaplan: Finding = {
    id: "word-nonword",
    claim:
      "Words and nonwords become separable at the last piece in the early-to-middle layers (Kaplan et al. 2024, From Tokens to Words)",
    source: "Kaplan et al. 2024",
    verdict: kaplanTest.verdict,
    reproduced: kaplanTest.verdict === "reproduced",
    test: kaplanTest,
    figure:
      `${testFigure(kaplanTest)}. Nearest-centroid accuracy (${folds}-fold CV, ${pairs} multi-token words each with a nonword of as many pieces` +
      `${options.unmatched ? `; ${options.unmatched} words without one left out` : ""}): ` +
      `${fmt(accuracy.mean[0] ?? Number.NaN)} at layer 0, ${fmt(at(accuracy.mean, kaplanTest.layers))} over the band`,
    curves: { accuracy: accuracy.mean },
    ci: { accuracy: { lo: accuracy.lo, hi: accuracy.hi } }
  }

  // token erasure: real words only; read the previous and the current piece from the last piece's state
  const wordRows = Array.from({ length: pairs }, (_, p) => 2 * p)
  // distinct tokens: a piece shared by several words is one candidate
  const candidateIndex = new Map<number, number>()
  const candidates: Array<ArrayLike<number>> = []
  const candidate = (id: number, embedding: ArrayLike<number>) => {
    const known = candidateIndex.get(id)
    if (known !== undefined) return known
    candidateIndex.set(id, candidates.length)
    candidates.push(embedding)
    return candidates.length - 1
  }
  const prevTargets = wordRows.map((i) => candidate(states.prevIds[i]!, states.prev[i]![0]!))
  const curTargets = wordRows.map((i) => candidate(states.lastIds[i]!, states.last[i]![0]!))
  const readAll = (targets: ReadonlyArray<number>) =>
    transpose(
      Array.from({ length: layers }, (_, l) =>
        readoutCorrect(
          wordRows.map((i) => states.last[i]![l]!),
          targets,
          candidates,
          folds
        )
      )
    )
  const previousRows = readAll(prevTargets)
  const previous = layerBand(previousRows, options.seed)
  const current = layerBand(readAll(curTargets), options.seed)
  const feuchtTest = erasureTest(previousRows, numLayers, { ...test, seed: options.seed + 1 })
  const early = bandLayers(numLayers, bands.erasureEarly)
  const feucht: Finding = {
    id: "token-erasure",
    claim:
      "Information about earlier pieces is erased at the last piece of multi-token words after the first layers (Feucht et al. 2024, Token Erasure)",
    source: "Feucht et al. 2024",
    verdict: feuchtTest.verdict,
    reproduced: feuchtTest.verdict === "reproduced",
    test: feuchtTest,
    figure:
      `${testFigure(feuchtTest)}. Previous-piece readout (kernel ridge to the input embedding, ${folds}-fold CV, ${wordRows.length} words, ${candidates.length} candidates, chance ${fmt(1 / Math.max(1, candidates.length))}): ` +
      `${fmt(at(previous.mean, early))} over layers ${early[0]}–${early[early.length - 1]}, ${fmt(at(previous.mean, feuchtTest.layers))} over the late band; ` +
      `current piece ${fmt(current.mean[0] ?? Number.NaN)} at layer 0, ${fmt(at(current.mean, feuchtTest.layers))} over the late band`,
    curves: { previous: previous.mean, current: current.mean },
    ci: { previous: { lo: previous.lo, hi: previous.hi }, current: { lo: current.lo, hi: current.hi } }
  }
  return [kaplan, feucht]
}

/** A text's pieces (its tokens' texts) as the probe reads it: after BOS, with its leading space. */
export const piecesOf =
  (model: Model) =>
  (text: string): Array<string> => {
    const r = readIds(model, text)
    return r.ids.slice(r.start).map((id) => model.decode([id], { skipSpecialTokens: false }))
  }

/** (a) and (b) on a model: multi-token words, each paired with a nonword of as many pieces. */
export const wordFindings = async (model: Model, options: FindingOptions): Promise<Array<Finding>> => {
  const seen = new Set<string>()
  const words = [
    ...(options.words ?? []),
    ...commonWords.en.map((word) => ({ word, lang: "en" })),
    ...commonWords.ru.map((word) => ({ word, lang: "ru" }))
  ].filter((w) => {
    const key = w.word.toLowerCase()
    if (seen.has(key) || [...key].length < 3) return false
    seen.add(key)
    return true
  })
  const pieces = piecesOf(model)
  const multi = words.filter((w) => pieces(w.word).length >= 2)
  const paired = multi.flatMap((w) => {
    const nw = matchedNonword(w.word, w.lang, options.seed, pieces)
    return nw === undefined ? [] : [[w.word, nw] as const]
  })
  const states = await readTailStates(model, paired.flat(), options.batchSize ?? 16, (done, total) =>
    options.onProgress?.("word-nonword", done, total)
  )
  return wordFindingsFromStates(states, { ...options, unmatched: multi.length - paired.length })
}

/** All the checks on a model: (a), (b), and (c) on both of Wendler et al.'s tasks. */
export const measureFindings = async (model: Model, options: FindingOptions): Promise<Array<Finding>> => {
  const pivot = {
    seed: options.seed,
    permutations: options.permutations,
    resamples: options.resamples,
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize })
  }
  const once = async (check: FindingCheck, run: () => Promise<ReadonlyArray<Finding>>) => {
    const kept = options.kept?.(check)
    if (kept !== undefined) return kept
    const found = await run()
    options.keep?.(check, found)
    return found
  }
  return [
    ...(await once("word-nonword", () => wordFindings(model, options))),
    ...(await once("english-pivot", async () => [
      await englishPivot(model, {
        ...pivot,
        task: "repetition",
        onProgress: (done, total) => options.onProgress?.("english-pivot", done, total)
      })
    ])),
    ...(await once("english-pivot-translation", async () => [
      await englishPivot(model, {
        ...pivot,
        task: "translation",
        onProgress: (done, total) => options.onProgress?.("english-pivot-translation", done, total)
      })
    ]))
  ]
}
