/**
 * The sensory estimator: a profile over visual, auditory, haptic, gustatory, olfactory,
 * interoceptive and motion for any word or short text, read from a model's hidden states.
 *
 * - **zero-shot** (no norms needed): the text's vector is compared, by cosine after
 *   standardising every dimension over the seed lexicon, with each channel's anchor — the mean of
 *   that channel's seed words (`SensationSeeds.ts`). Each channel is then scaled so that 0 is the
 *   mean score of the abstract anchor words below and 1 the mean score of the channel's own seeds.
 * - **supervised**: a ridge regression from the same vectors to norms (`fitSupervised`), saved as
 *   a small JSON file (`SupervisedModel`), its predictions put on the same 0/1 scale per language
 *   (`anchorScale`). The default models ship one fitted on the Lancaster norms
 *   (`weights/<model>.senses.json`, `scripts/fit-senses.ts`).
 *
 * Which mode a command, the generator or a metric uses by default is `SensesDefault.ts`'s: per
 * language, supervised where the shipped weights beat zero-shot on held-out words, else zero-shot.
 *
 * Vectors are read at `defaultLayer(model)` (a fixed fraction of the depth, chosen on the fit half
 * of the Lancaster norms; see `SensesValidation.ts`) after the context prefix "A word:".
 */

import { readFileSync } from "node:fs"
import { SenseChannels } from "@hyperwords/core/Artifacts"
import { choleskySolve } from "@hyperwords/core/LinearAlgebra"
import { Schema } from "effect"
import { readTable } from "./CsvTable.ts"
import { contextPrefix, WordVectors } from "./internal/wordVectors.ts"
import type { Model } from "./Model.ts"
import { type Channel, foldYo, type Lang, sensationSeeds } from "./SensationSeeds.ts"

/** A sensory profile: a number per channel (zero-shot: about 0 for abstract words, 1 for seeds). */
export type Profile = Record<Channel, number>

/** The channels, in the order of `SenseChannels`. */
export const channels: ReadonlyArray<Channel> = SenseChannels

/**
 * Words that name no sensation: the zero point of the zero-shot scale. Hand-written, like the
 * seed lexicon; validation leaves them (and the seeds) out of the words it scores.
 */
export const abstractAnchors: Readonly<Record<Lang, ReadonlyArray<string>>> = {
  en: `idea theory reason truth justice freedom law rule fact duty honour virtue fate chance luck hope
    faith belief opinion notion concept meaning purpose cause effect result method system process
    policy right value quality quantity number amount degree level ratio logic proof doubt question
    problem solution history future past era period wisdom knowledge mercy grace liberty democracy
    economy contract agreement permission obligation tendency probability possibility necessity
    consequence principle aspect factor context criterion status situation condition relation
    function version category option`
    .trim()
    .split(/\s+/),
  ru: `идея теория причина истина справедливость свобода закон правило факт долг честь добродетель
    судьба случай удача надежда вера мнение понятие смысл цель следствие результат метод система
    процесс политика право ценность качество количество число степень уровень логика доказательство
    сомнение вопрос проблема решение история будущее прошлое эпоха период мудрость знание милость
    демократия экономика договор согласие разрешение обязанность тенденция вероятность возможность
    необходимость принцип аспект фактор контекст критерий статус ситуация условие отношение функция
    версия категория`
    .trim()
    .split(/\s+/)
}

/**
 * The layer vectors are read at: a third of the depth (layer 6 of 18 in Gemma 3 270M, 10 of 30 in
 * SmolLM2), chosen by sweeping every layer on the fit half of the Lancaster norms (layers 6-8 were
 * best in both modes for Gemma; 8-10 for SmolLM2); the checks report on the other half.
 */
export const layerFraction = 1 / 3

/** Decoder layers and hidden size of a model, from its probe contract. */
export const modelShape = (model: Model): { readonly numLayers: number; readonly hiddenSize: number } => {
  const spec = JSON.parse(readFileSync(`${model.dir}/onnx/probe.json`, "utf8")) as {
    num_layers: number
    hidden_size: number
  }
  return { numLayers: spec.num_layers, hiddenSize: spec.hidden_size }
}

/** The default layer of a model. */
export const defaultLayer = (model: Model): number => Math.round(modelShape(model).numLayers * layerFraction)

const vectorsByModel = new Map<string, WordVectors>()

/** The word vectors of a model at a layer (default: `defaultLayer`), cached per process. */
export const wordVectors = (model: Model, layer?: number): WordVectors => {
  const l = layer ?? defaultLayer(model)
  const key = `${model.dir}\0${model.dtype}\0${l}`
  let v = vectorsByModel.get(key)
  if (v === undefined) {
    v = new WordVectors(model, l, modelShape(model).hiddenSize)
    vectorsByModel.set(key, v)
  }
  return v
}

/** The language of a text by its script (Cyrillic: Russian). */
export const detectLang = (text: string): Lang => (/[\u0400-\u04ff]/.test(text) ? "ru" : "en")

const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}

const unit = (v: Float64Array): Float64Array => {
  const n = Math.sqrt(dot(v, v)) || 1
  return v.map((x) => x / n)
}

/** Cosine similarity. */
export const cosine = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  const d = Math.sqrt(dot(a, a) * dot(b, b))
  return d === 0 ? 0 : dot(a, b) / d
}

/** How an estimator reads a language's profiles. */
export type Mode = "zero-shot" | "supervised"

/** Something that gives sensory profiles. */
export interface Estimator {
  /** The mode; `mixed` when the languages differ (`modeOf` says which). */
  readonly mode: Mode | "mixed"
  /** The mode a language's profiles are read in. */
  readonly modeOf: (lang: Lang) => Mode
  readonly layer: number
  /** Profiles of texts (words or short texts), in input order. */
  readonly profiles: (texts: ReadonlyArray<string>, lang?: Lang) => Promise<Array<Profile>>
}

/** The zero-shot estimator of a model: anchors from the seed lexicon of each language. */
export const zeroShot = (model: Model, options: { readonly layer?: number } = {}): Estimator => {
  const vectors = wordVectors(model, options.layer)
  const anchors = new Map<
    Lang,
    Promise<{
      readonly mean: Float64Array
      readonly scale: Float64Array
      readonly centroids: ReadonlyArray<Float64Array>
      readonly zero: ReadonlyArray<number>
      readonly one: ReadonlyArray<number>
    }>
  >()
  const standardised = (v: ArrayLike<number>, mean: Float64Array, scale: Float64Array) =>
    unit(Float64Array.from(mean, (m, j) => (v[j]! - m) / scale[j]!))
  const anchorsOf = (lang: Lang) => {
    let a = anchors.get(lang)
    if (a === undefined) {
      a = (async () => {
        const seeds = sensationSeeds[lang]
        const seedWords = [...new Set(channels.flatMap((c) => seeds[c]))]
        const abstract = abstractAnchors[lang]
        const all = await vectors.vectors([...seedWords, ...abstract])
        const seedVec = new Map(seedWords.map((w, i) => [w, all[i]!]))
        const h = vectors.hiddenSize
        const mean = new Float64Array(h)
        const scale = new Float64Array(h)
        for (const v of seedVec.values()) for (let j = 0; j < h; j++) mean[j]! += v[j]! / seedVec.size
        for (const v of seedVec.values())
          for (let j = 0; j < h; j++) scale[j]! += (v[j]! - mean[j]!) ** 2 / seedVec.size
        for (let j = 0; j < h; j++) scale[j] = Math.sqrt(scale[j]!) + 1e-6
        const centroids = channels.map((c) => {
          const sum = new Float64Array(h)
          for (const w of seeds[c]) {
            const z = standardised(seedVec.get(w)!, mean, scale)
            for (let j = 0; j < h; j++) sum[j]! += z[j]!
          }
          return sum.map((x) => x / seeds[c].length)
        })
        const raw = (v: ArrayLike<number>) => {
          const z = standardised(v, mean, scale)
          return centroids.map((c) => dot(z, c))
        }
        const abstractScores = all.slice(seedWords.length).map(raw)
        const zero = channels.map(
          (_, k) => abstractScores.reduce((s, r) => s + r[k]!, 0) / abstractScores.length
        )
        const one = channels.map((c, k) => {
          const own = seeds[c].map((w) => raw(seedVec.get(w)!)[k]!)
          return own.reduce((s, x) => s + x, 0) / own.length
        })
        return { mean, scale, centroids, zero, one }
      })()
      a.catch(() => anchors.delete(lang))
      anchors.set(lang, a)
    }
    return a
  }
  return {
    mode: "zero-shot",
    modeOf: () => "zero-shot",
    layer: vectors.layer,
    profiles: async (texts, lang) => {
      const langs = texts.map((t) => lang ?? detectLang(t))
      const vs = await vectors.vectors(texts)
      const out: Array<Profile> = []
      for (const [i, v] of vs.entries()) {
        const a = await anchorsOf(langs[i]!)
        const z = standardised(v, a.mean, a.scale)
        const p = {} as Profile
        channels.forEach((c, k) => {
          p[c] = (dot(z, a.centroids[k]!) - a.zero[k]!) / (a.one[k]! - a.zero[k]!)
        })
        out.push(p)
      }
      return out
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Norms and the supervised estimator

/** Human norms: a value per word for some channels. */
export interface Norms {
  readonly channels: ReadonlyArray<Channel>
  readonly rows: ReadonlyArray<{ readonly word: string; readonly values: ReadonlyArray<number> }>
}

const wordColumns = ["word", "english", "russian", "word_ru", "concept", "property", "lemma"]

/**
 * The column(s) each channel is read from, matched case-insensitively on the header. Motion has
 * no column in most norms: in the Lancaster norms it is the mean of the whole-body action
 * strengths, foot/leg and torso (hand/arm, head and mouth are excluded: they rate manipulation and
 * speech, not movement through space).
 */
const perceptualColumn = (c: Channel): ReadonlyArray<RegExp> => [
  new RegExp(`^${c}(\\.mean|_mean|strengthmean)?$`),
  new RegExp(`^english_${c}_mean$`)
]
const motionColumns: ReadonlyArray<ReadonlyArray<RegExp>> = [
  [/^foot_leg(\.mean|_mean)?$/, /^english_foot_action_mean$/],
  [/^torso(\.mean|_mean)?$/, /^english_torso_action_mean$/]
]

/** Read norms from a CSV or TSV file with a header row; columns are mapped to channels by name. */
export const readNorms = (path: string, options: { readonly wordColumn?: string } = {}): Norms => {
  const { header, records } = readTable(path)
  const lower = header.map((h) => h.toLowerCase().trim())
  const wanted = options.wordColumn === undefined ? wordColumns : [options.wordColumn.toLowerCase()]
  const wordCol = wanted.map((w) => lower.indexOf(w)).find((i) => i >= 0)
  if (wordCol === undefined) throw new Error(`${path}: no word column (one of ${wanted.join(", ")})`)
  const column = (res: ReadonlyArray<RegExp>) => {
    const i = lower.findIndex((h) => res.some((re) => re.test(h)))
    return i >= 0 ? header[i] : undefined
  }
  const found: Array<{ channel: Channel; cols: ReadonlyArray<string> }> = []
  for (const c of channels) {
    const col = column(perceptualColumn(c))
    if (col !== undefined) found.push({ channel: c, cols: [col] })
    else if (c === "motion") {
      const cols = motionColumns.map(column)
      if (cols.every((x) => x !== undefined)) found.push({ channel: c, cols: cols as Array<string> })
    }
  }
  if (found.length === 0) throw new Error(`${path}: no column names a sensory channel`)
  const wordKey = header[wordCol]!
  const seen = new Set<string>()
  const rows: Array<{ word: string; values: Array<number> }> = []
  for (const r of records) {
    const word = (r[wordKey] ?? "").trim().toLowerCase()
    if (word === "" || seen.has(foldYo(word))) continue
    const values = found.map((f) => f.cols.reduce((s, col) => s + Number(r[col]), 0) / f.cols.length)
    if (values.some((v) => !Number.isFinite(v))) continue
    seen.add(foldYo(word))
    rows.push({ word, values })
  }
  return { channels: found.map((f) => f.channel), rows }
}

/** A fitted supervised estimator, as saved to JSON. */
export const SupervisedModel = Schema.Struct({
  kind: Schema.Literal("hyperwords/senses-ridge"),
  schemaVersion: Schema.Literal(1),
  /** The model folder's name the vectors came from. */
  model: Schema.String,
  layer: Schema.Int,
  prefix: Schema.String,
  lambda: Schema.Finite,
  channels: Schema.Array(Schema.Literals(SenseChannels)),
  mean: Schema.Array(Schema.Finite),
  scale: Schema.Array(Schema.Finite),
  /** One row of `[H]` weights per channel, on standardised vectors. */
  weights: Schema.Array(Schema.Array(Schema.Finite)),
  bias: Schema.Array(Schema.Finite),
  /** What it was fitted on (shipped weights also record the files, the split and the command). */
  trainedOn: Schema.Struct({
    source: Schema.String,
    words: Schema.Int,
    files: Schema.optionalKey(Schema.Array(Schema.String)),
    split: Schema.optionalKey(Schema.String),
    command: Schema.optionalKey(Schema.String)
  }),
  /**
   * Shipped weights: held-out figures of both modes (computed by the fit script) and the mode each
   * language defaults to (supervised where its mean r beats zero-shot's). See `SensesDefault.ts`.
   */
  validation: Schema.optionalKey(
    Schema.Record(
      Schema.Literals(["en", "ru"]),
      Schema.Struct({
        data: Schema.String,
        n: Schema.Int,
        supervised: Schema.Finite,
        zeroShot: Schema.Finite,
        default: Schema.Literals(["zero-shot", "supervised"])
      })
    )
  )
})
export type SupervisedModel = typeof SupervisedModel.Type

/** Ridge regression on standardised vectors; returns weights per target and the standardisation. */
export const ridge = (
  xs: ReadonlyArray<ArrayLike<number>>,
  ys: ReadonlyArray<ReadonlyArray<number>>,
  lambda: number
): { mean: Float64Array; scale: Float64Array; weights: Array<Float64Array>; bias: Array<number> } => {
  const n = xs.length
  const h = xs[0]!.length
  const t = ys[0]!.length
  const mean = new Float64Array(h)
  const scale = new Float64Array(h)
  for (const x of xs) for (let j = 0; j < h; j++) mean[j]! += x[j]! / n
  for (const x of xs) for (let j = 0; j < h; j++) scale[j]! += (x[j]! - mean[j]!) ** 2 / n
  for (let j = 0; j < h; j++) scale[j] = Math.sqrt(scale[j]!) + 1e-6
  const z = xs.map((x) => Float64Array.from(mean, (m, j) => (x[j]! - m) / scale[j]!))
  const bias = Array.from({ length: t }, (_, k) => ys.reduce((s, y) => s + y[k]!, 0) / n)
  const a = new Float64Array(h * h)
  for (const zi of z) {
    for (let i = 0; i < h; i++) {
      const v = zi[i]!
      if (v === 0) continue
      for (let j = 0; j <= i; j++) a[i * h + j]! += v * zi[j]!
    }
  }
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < i; j++) a[j * h + i] = a[i * h + j]!
    a[i * h + i]! += lambda
  }
  const rhs = Array.from({ length: t }, (_, k) => {
    const b = new Float64Array(h)
    z.forEach((zi, r) => {
      const y = ys[r]![k]! - bias[k]!
      for (let j = 0; j < h; j++) b[j]! += zi[j]! * y
    })
    return b
  })
  return { mean, scale, weights: choleskySolve(a, h, rhs), bias }
}

/** Pearson correlation. */
export const pearson = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number => {
  const n = a.length
  const ma = a.reduce((s, x) => s + x, 0) / n
  const mb = b.reduce((s, x) => s + x, 0) / n
  let sab = 0
  let saa = 0
  let sbb = 0
  for (let i = 0; i < n; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb)
    saa += (a[i]! - ma) ** 2
    sbb += (b[i]! - mb) ** 2
  }
  return saa === 0 || sbb === 0 ? 0 : sab / Math.sqrt(saa * sbb)
}

/** Ridge strengths tried when fitting (picked by 4-fold cross-validation on the training words). */
export const lambdas: ReadonlyArray<number> = [100, 300, 1000, 3000, 10000]

/** Fit a supervised estimator on norms (all of `norms.rows`; hold test words out before calling). */
export const fitSupervised = async (
  model: Model,
  norms: Norms,
  options: { readonly layer?: number; readonly source?: string; readonly lambda?: number } = {}
): Promise<SupervisedModel> => {
  const vectors = wordVectors(model, options.layer)
  const xs = await vectors.vectors(norms.rows.map((r) => r.word))
  const ys = norms.rows.map((r) => r.values)
  let lambda = options.lambda
  if (lambda === undefined) {
    let best = -Infinity
    for (const l of lambdas) {
      const preds: Array<Array<number>> = []
      const truth: Array<ReadonlyArray<number>> = []
      for (let fold = 0; fold < 4; fold++) {
        const tr = xs.flatMap((_, i) => (i % 4 === fold ? [] : [i]))
        const te = xs.flatMap((_, i) => (i % 4 === fold ? [i] : []))
        const fit = ridge(
          tr.map((i) => xs[i]!),
          tr.map((i) => ys[i]!),
          l
        )
        for (const i of te) {
          preds.push(predictWith(fit, xs[i]!))
          truth.push(ys[i]!)
        }
      }
      const r =
        norms.channels.reduce(
          (s, _, k) =>
            s +
            pearson(
              preds.map((p) => p[k]!),
              truth.map((y) => y[k]!)
            ),
          0
        ) / norms.channels.length
      if (r > best) {
        best = r
        lambda = l
      }
    }
  }
  const fit = ridge(xs, ys, lambda!)
  return {
    kind: "hyperwords/senses-ridge",
    schemaVersion: 1,
    model: model.name,
    layer: vectors.layer,
    prefix: contextPrefix,
    lambda: lambda!,
    channels: [...norms.channels],
    mean: Array.from(fit.mean),
    scale: Array.from(fit.scale),
    weights: fit.weights.map((w) => Array.from(w)),
    bias: fit.bias,
    trainedOn: { source: options.source ?? "norms", words: norms.rows.length }
  }
}

const predictWith = (
  fit: {
    readonly mean: ArrayLike<number>
    readonly scale: ArrayLike<number>
    readonly weights: ReadonlyArray<ArrayLike<number>>
    readonly bias: ReadonlyArray<number>
  },
  x: ArrayLike<number>
): Array<number> =>
  fit.weights.map((w, k) => {
    let s = fit.bias[k]!
    for (let j = 0; j < w.length; j++) s += ((x[j]! - fit.mean[j]!) / fit.scale[j]!) * w[j]!
    return s
  })

/**
 * The zero-shot scale for a regression's predictions in one language: per channel, 0 is the mean
 * prediction over the abstract anchors and 1 the mean over the channel's seed words. An affine map
 * per channel (Pearson r per channel is unchanged when the seeds score above the anchors), so that
 * profiles of both modes mean the same thing and channels compare with each other (raw norms do
 * not: every word is rated fairly visual).
 */
export const anchorScale = async (
  predict: (texts: ReadonlyArray<string>) => Promise<ReadonlyArray<ReadonlyArray<number>>>,
  chans: ReadonlyArray<Channel>,
  lang: Lang
): Promise<{ readonly zero: ReadonlyArray<number>; readonly one: ReadonlyArray<number> }> => {
  const seeds = sensationSeeds[lang]
  const abstract = abstractAnchors[lang]
  const seedWords = chans.map((c) => seeds[c])
  const preds = await predict([...abstract, ...seedWords.flat()])
  const meanOf = (rows: ReadonlyArray<ReadonlyArray<number>>, k: number) =>
    rows.reduce((s, r) => s + r[k]!, 0) / Math.max(1, rows.length)
  const zero = chans.map((_, k) => meanOf(preds.slice(0, abstract.length), k))
  let at = abstract.length
  const one = chans.map((_, k) => {
    const rows = preds.slice(at, at + seedWords[k]!.length)
    at += seedWords[k]!.length
    return meanOf(rows, k)
  })
  return { zero, one }
}

/**
 * The supervised estimator of a fitted model, on the zero-shot scale of each language
 * (`anchorScale`); channels the norms lacked come from `fallback`.
 */
export const supervised = (model: Model, fitted: SupervisedModel, fallback?: Estimator): Estimator => {
  const vectors = wordVectors(model, fitted.layer)
  const raw = async (texts: ReadonlyArray<string>) =>
    (await vectors.vectors(texts)).map((v) => predictWith(fitted, v))
  const scales = new Map<Lang, ReturnType<typeof anchorScale>>()
  const scaleOf = (lang: Lang) => {
    let s = scales.get(lang)
    if (s === undefined) {
      s = anchorScale(raw, fitted.channels, lang)
      s.catch(() => scales.delete(lang))
      scales.set(lang, s)
    }
    return s
  }
  return {
    mode: "supervised",
    modeOf: () => "supervised",
    layer: fitted.layer,
    profiles: async (texts, lang) => {
      const preds = await raw(texts)
      const rest =
        fallback && fitted.channels.length < channels.length
          ? await fallback.profiles(texts, lang)
          : undefined
      const out: Array<Profile> = []
      for (const [i, pred] of preds.entries()) {
        const s = await scaleOf(lang ?? detectLang(texts[i]!))
        const p = {} as Profile
        for (const c of channels) {
          const k = fitted.channels.indexOf(c)
          const span = k >= 0 ? s.one[k]! - s.zero[k]! : 0
          p[c] = k >= 0 ? (pred[k]! - s.zero[k]!) / (Math.abs(span) > 1e-9 ? span : 1) : (rest?.[i]?.[c] ?? 0)
        }
        out.push(p)
      }
      return out
    }
  }
}

/** Read a saved supervised model. */
export const readSupervised = (path: string): SupervisedModel =>
  Schema.decodeUnknownSync(SupervisedModel)(JSON.parse(readFileSync(path, "utf8")))

/** Round a profile for records and printing. */
export const roundProfile = (p: Profile, digits = 3): Profile => {
  const f = 10 ** digits
  const out = {} as Profile
  for (const c of channels) out[c] = Math.round(p[c] * f) / f
  return out
}
