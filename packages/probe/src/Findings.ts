/**
 * What the literature predicts about how a model reads words, measured on this model:
 * (a) words and nonwords become separable at the last piece in the early layers (Kaplan et al.
 * 2024, "From Tokens to Words"); (b) the identity of the pieces is erased at the last piece of a
 * multi-token word after the early layers (Feucht et al. 2024, "Token Erasure"); (c) the middle
 * layers lean to English for Russian input (Wendler et al. 2024, "Do Llamas Work in English?").
 * Each check is a cross-validated readout or a logit-lens reading, with the figure it measured.
 */
import { choleskySolve } from "@hyperwords/core/LinearAlgebra"
import type { Model } from "@hyperwords/models/Model"
import { runProbe, runProbeOutputs } from "@hyperwords/models/Probe"
import { nonword, readIds } from "./Measure.ts"

/** A finding: the claim, whether this model reproduces it, and the figure measured. */
export interface Finding {
  readonly id: "word-nonword" | "token-erasure" | "english-pivot"
  readonly claim: string
  readonly source: string
  readonly reproduced: boolean
  readonly figure: string
  /** The measured curve(s) per layer, for the report's charts. */
  readonly curves: Readonly<Record<string, ReadonlyArray<number>>>
}

/** Russian words with their English translations (Wendler et al.'s setting, on everyday nouns). */
export const russianEnglish: ReadonlyArray<readonly [string, string]> = [
  ["вода", "water"],
  ["дом", "house"],
  ["кошка", "cat"],
  ["собака", "dog"],
  ["солнце", "sun"],
  ["луна", "moon"],
  ["небо", "sky"],
  ["дерево", "tree"],
  ["цветок", "flower"],
  ["река", "river"],
  ["море", "sea"],
  ["гора", "mountain"],
  ["огонь", "fire"],
  ["снег", "snow"],
  ["дождь", "rain"],
  ["ветер", "wind"],
  ["хлеб", "bread"],
  ["молоко", "milk"],
  ["яблоко", "apple"],
  ["рыба", "fish"],
  ["птица", "bird"],
  ["книга", "book"],
  ["окно", "window"],
  ["дверь", "door"],
  ["стол", "table"],
  ["рука", "hand"],
  ["глаз", "eye"],
  ["сердце", "heart"],
  ["голова", "head"],
  ["ночь", "night"],
  ["день", "day"],
  ["утро", "morning"],
  ["вечер", "evening"],
  ["зима", "winter"],
  ["лето", "summer"],
  ["город", "city"],
  ["дорога", "road"],
  ["лес", "forest"],
  ["поле", "field"],
  ["звезда", "star"],
  ["камень", "stone"],
  ["песня", "song"]
]

/** Real words, most of them several pieces long in small vocabularies. */
export const commonWords: Readonly<Record<"en" | "ru", ReadonlyArray<string>>> = {
  en: [
    "butterfly",
    "thunderstorm",
    "strawberry",
    "lighthouse",
    "afternoon",
    "candlelight",
    "waterfall",
    "moonlight",
    "grandmother",
    "chocolate",
    "blanket",
    "whisper",
    "lantern",
    "meadow",
    "orchard",
    "velvet",
    "cinnamon",
    "harvest",
    "horizon",
    "pillow",
    "umbrella",
    "lavender",
    "sparrow",
    "thimble",
    "honeycomb",
    "sunflower",
    "raspberry",
    "hummingbird",
    "snowflake",
    "campfire",
    "seashell",
    "footprint",
    "rainbow",
    "windowsill",
    "marigold",
    "crimson",
    "feather",
    "blossom",
    "twilight",
    "cathedral"
  ],
  ru: [
    "бабушка",
    "подушка",
    "одеяло",
    "черника",
    "земляника",
    "ласточка",
    "колокольчик",
    "одуванчик",
    "подсолнух",
    "снежинка",
    "радуга",
    "тишина",
    "шорох",
    "молния",
    "туман",
    "костёр",
    "корица",
    "бархат",
    "сумерки",
    "рассвет",
    ...russianEnglish.map(([ru]) => ru)
  ]
}

/** Options of the checks. */
export interface FindingOptions {
  readonly seed: number
  /** Extra real words (the probe set's parts), with their language. */
  readonly words?: ReadonlyArray<{ readonly word: string; readonly lang: string }>
  readonly folds?: number
  readonly batchSize?: number
}

/** States at the last two positions of each text, per layer: `[text][layer][H]`. */
const readTailStates = async (model: Model, texts: ReadonlyArray<string>, batchSize: number) => {
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
 * Cross-validated nearest-centroid accuracy of two labelled classes (vectors centred on the
 * training mean and scaled to unit length, so every layer's scale counts the same).
 */
export const centroidAccuracy = (
  xs: ReadonlyArray<ArrayLike<number>>,
  labels: ReadonlyArray<0 | 1>,
  fold: ReadonlyArray<number>,
  folds: number
): number => {
  let correct = 0
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
      if (guess === labels[i]) correct++
    }
  }
  return correct / xs.length
}

/**
 * Cross-validated linear readout of a token's identity (Feucht et al.'s probe, small-sample
 * form): kernel ridge regression from the states to the token's input embedding, then the
 * nearest candidate embedding by cosine; the share read right. `targets[i]` indexes `candidates`
 * (distinct tokens). A ridge prediction lies in the span of its training targets, so only tokens
 * that recur across states (common pieces) can be read: the figure is a lower bound.
 */
export const readoutAccuracy = (
  xs: ReadonlyArray<ArrayLike<number>>,
  targets: ReadonlyArray<number>,
  candidates: ReadonlyArray<ArrayLike<number>>,
  folds: number
): number => {
  const n = xs.length
  const fold = Array.from({ length: n }, (_, i) => i % folds)
  const h = candidates[0]?.length ?? 0
  const cmu = mean(candidates)
  const cands = candidates.map((c) => centeredUnit(c, cmu))
  let correct = 0
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
      if (best === targets[i]) correct++
    }
  }
  return correct / Math.max(1, n)
}

const fmt = (x: number) => x.toFixed(2)
const argmax = (xs: ReadonlyArray<number>, from = 0, to = xs.length): number => {
  let best = from
  for (let i = from; i < to; i++) if (xs[i]! > xs[best]!) best = i
  return best
}
const meanOf = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)

/** (a) and (b): word/nonword separability and token erasure at the last piece of multi-token words. */
export const wordFindings = async (model: Model, options: FindingOptions): Promise<Array<Finding>> => {
  const folds = options.folds ?? 5
  const batchSize = options.batchSize ?? 16
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
  // multi-token real words, each with its nonword right after it
  const multi = words.filter((w) => readIds(model, w.word).ids.length - readIds(model, w.word).start >= 2)
  const texts = multi.flatMap((w) => [w.word, nonword(w.word, w.lang, options.seed)])
  const states = await readTailStates(model, texts, batchSize)
  const layers = states.last[0]?.length ?? 0
  const labels = texts.map((_, i) => (i % 2 === 0 ? 1 : 0) as 0 | 1)
  const fold = pairFolds(texts.length, folds)
  const separability = Array.from({ length: layers }, (_, l) =>
    centroidAccuracy(
      states.last.map((s) => s[l]!),
      labels,
      fold,
      folds
    )
  )
  const early = Math.max(2, Math.ceil(layers * 0.4))
  const peakEarly = argmax(separability, 0, early)
  const gain = separability[peakEarly]! - separability[0]!
  const kaplan: Finding = {
    id: "word-nonword",
    claim:
      "Words and nonwords become separable at the last piece in the early layers (Kaplan et al. 2024, From Tokens to Words)",
    source: "Kaplan et al. 2024",
    reproduced: gain >= 0.05 && separability[peakEarly]! >= 0.7,
    figure:
      `nearest-centroid accuracy (${folds}-fold CV, ${multi.length} multi-token words vs as many nonwords): ` +
      `${fmt(separability[0]!)} at layer 0, ${fmt(separability[peakEarly]!)} at layer ${peakEarly} ` +
      `(best of layers 0–${early - 1}), ${fmt(Math.max(...separability))} at best (layer ${argmax(separability)})`,
    curves: { accuracy: separability }
  }

  // token erasure: real words only; read the previous and the current piece from the last piece's state
  const wordRows = texts.flatMap((_, i) => (i % 2 === 0 ? [i] : []))
  // distinct tokens: a piece shared by several words is one candidate
  const candidateIndex = new Map<number, number>()
  const candidates: Array<Float32Array> = []
  const candidate = (id: number, embedding: Float32Array) => {
    const at = candidateIndex.get(id)
    if (at !== undefined) return at
    candidateIndex.set(id, candidates.length)
    candidates.push(embedding)
    return candidates.length - 1
  }
  const prevTargets = wordRows.map((i) => candidate(states.prevIds[i]!, states.prev[i]![0]!))
  const curTargets = wordRows.map((i) => candidate(states.lastIds[i]!, states.last[i]![0]!))
  const previous = Array.from({ length: layers }, (_, l) =>
    readoutAccuracy(
      wordRows.map((i) => states.last[i]![l]!),
      prevTargets,
      candidates,
      folds
    )
  )
  const current = Array.from({ length: layers }, (_, l) =>
    readoutAccuracy(
      wordRows.map((i) => states.last[i]![l]!),
      curTargets,
      candidates,
      folds
    )
  )
  const third = Math.max(2, Math.ceil(layers / 3))
  const peak = argmax(previous, 1, third)
  const late = previous.slice(Math.floor(layers / 2))
  const lateMean = meanOf(late)
  const feucht: Finding = {
    id: "token-erasure",
    claim:
      "Information about earlier pieces is erased at the last piece of multi-token words after the early layers (Feucht et al. 2024, Token Erasure)",
    source: "Feucht et al. 2024",
    reproduced: previous[peak]! > 2 / candidates.length && lateMean <= 0.6 * previous[peak]!,
    figure:
      `previous-piece readout (kernel ridge to the input embedding, ${folds}-fold CV, ${wordRows.length} words, ${candidates.length} candidates, chance ${fmt(1 / candidates.length)}): ` +
      `${fmt(previous[peak]!)} at layer ${peak} (peak of layers 1–${third - 1}), ${fmt(lateMean)} mean over layers ${Math.floor(layers / 2)}–${layers - 1}, ` +
      `${fmt(previous[layers - 1]!)} at layer ${layers - 1}; current piece: ${fmt(current[0]!)} at layer 0, ${fmt(current[peak]!)} at layer ${peak}, ${fmt(current[layers - 1]!)} at layer ${layers - 1}`,
    curves: { previous, current }
  }
  return [kaplan, feucht]
}

/** The prompt of the English-pivot check: repeat a Russian word (Wendler et al.'s repetition task). */
export const pivotPrompt = (word: string): string => `«солнце» — «солнце», «дом» — «дом», «${word}» — «`

const logsumexp = (xs: ReadonlyArray<number>): number => {
  const m = Math.max(...xs)
  return m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0))
}

/** (c): lens probability of the English translation against the Russian answer per layer, on Russian input. */
export const englishPivot = async (
  model: Model,
  options: { readonly batchSize?: number; readonly pairs?: ReadonlyArray<readonly [string, string]> } = {}
): Promise<Finding> => {
  const graph = await model.probeGraphSession()
  const pairs = options.pairs ?? russianEnglish
  const batchSize = options.batchSize ?? 8
  const first = (text: string) => model.encode(text, { addSpecialTokens: false })[0] ?? 0
  const layers = graph.spec.numLayers + 1
  const en = Array.from({ length: layers }, () => 0)
  const ru = Array.from({ length: layers }, () => 0)
  for (let s = 0; s < pairs.length; s += batchSize) {
    const batch = pairs.slice(s, s + batchSize)
    const ids = batch.map(([word]) => readIds(model, pivotPrompt(word)).ids)
    // English as a word start with and without its space; Russian right after «
    const tracked = batch.map(([word, english]) => [first(word), first(` ${english}`), first(english)])
    const res = await runProbe(graph, { ids, tracked })
    const [, b, t, k] = res.trackedLogprobs.dims as [number, number, number, number]
    batch.forEach((_, row) => {
      const last = ids[row]!.length - 1
      for (let l = 0; l < layers; l++) {
        const at = ((l * b + row) * t + last) * k
        const lp = res.trackedLogprobs.data
        ru[l]! += Math.exp(lp[at]!) / pairs.length
        en[l]! += Math.exp(logsumexp([lp[at + 1]!, lp[at + 2]!])) / pairs.length
      }
    })
  }
  const lo = Math.floor(layers * 0.25)
  const hi = Math.ceil(layers * 0.75)
  const lead = en.map((e, l) => e - ru[l]!)
  const mid = argmax(lead, lo, hi)
  const last = layers - 1
  return {
    id: "english-pivot",
    claim:
      "Middle layers lean to English for Russian input (Wendler et al. 2024, Do Llamas Work in English?)",
    source: "Wendler et al. 2024",
    reproduced: en[mid]! > ru[mid]! && en[mid]! >= 1e-3 && ru[last]! > en[last]!,
    figure:
      `logit lens on ${pairs.length} Russian repetition prompts: P(English) ${en[mid]!.toExponential(2)} vs P(Russian) ${ru[mid]!.toExponential(2)} ` +
      `at layer ${mid} (most English of layers ${lo}–${hi - 1}); at the output (layer ${last}) P(English) ${en[last]!.toExponential(2)} vs P(Russian) ${ru[last]!.toExponential(2)}`,
    curves: { english: en, russian: ru }
  }
}

/** All three checks on a model. */
export const measureFindings = async (model: Model, options: FindingOptions): Promise<Array<Finding>> => [
  ...(await wordFindings(model, options)),
  await englishPivot(model, options.batchSize === undefined ? {} : { batchSize: options.batchSize })
]
