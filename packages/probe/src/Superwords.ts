/**
 * A superword version's one token against the span its base reads (issue 14, item 6). A superword
 * is an added token whose text is a span of running text (` warm purring lap`, leading space
 * included); the base reads the same text as several pieces and assembles it at the last one.
 * Each superword is read after BOS alone, in both models — the neutral frame `<BOS><span>`: the
 * tuned model sees one token, the base sees the span's pieces. Per layer:
 *
 * - the cosine of the tuned state at the superword token to the base state at the span's last
 *   piece (where the base has read the whole span), against the cosine to the base state of the
 *   other superwords' spans (the pairing null, `Verdict.pairingBandTest`);
 * - a Patchscope decoding (Ghandeharioun et al. 2024): the tuned superword state patched at a
 *   layer of the band into the base's repeat-the-word prompt (`Measure.patchscopePrompt`) at the same layer,
 *   greedy continuation in the base; the share of the span's words that the continuation
 *   reproduces, against the share of another span's words (the same null). The base's own span
 *   state, patched the same way, is the reference: what the base decodes from what it assembled.
 *
 * The verdicts are band tests over `Verdict.bands.superword`, fixed before any reading.
 */
import { mulberry32 } from "@hyperwords/core/Random"
import type { Model } from "@hyperwords/models/Model"
import { runProbeOutputs, view } from "@hyperwords/models/Probe"
import type { Finding } from "./Findings.ts"
import { cosine, lastStates, logitsOfStates, patchscopePrompt, patchscopeTarget } from "./Measure.ts"
import {
  alpha,
  bandColumns,
  bands,
  layerBand,
  pairingBandTest,
  type TestOptions,
  testFigure
} from "./Verdict.ts"

/** A superword as the finetune stage wrote it (`superwords.json`). */
export interface SuperwordEntry {
  /** The token's text: the span with its leading space. */
  readonly surface: string
  /** Its words, lower-cased. */
  readonly parts: ReadonlyArray<string>
  readonly count?: number
  /** Base pieces, as the finetune stage counted them. */
  readonly pieces?: number
}

const wordRe = /[\p{L}\p{N}]+/gu

/** The words of a text, lower-cased. */
export const wordsOf = (text: string): Array<string> =>
  [...text.matchAll(wordRe)].map((m) => m[0].toLowerCase())

/**
 * The superwords of a model version: `undefined` unless its training arm is `superwords`; then the
 * list of `superwords.json` (read by `read`, undefined when absent), else the first ones the version
 * records (`training.superwords.first`, their words split from the surface).
 */
export const superwordsOf = (
  training: Readonly<Record<string, unknown>> | undefined,
  read: () => unknown
): Array<SuperwordEntry> | undefined => {
  if (training?.arm !== "superwords") return undefined
  const valid = (x: unknown): x is { surface: string } =>
    typeof x === "object" && x !== null && typeof (x as { surface?: unknown }).surface === "string"
  const entry = (x: {
    surface: string
    parts?: unknown
    count?: unknown
    pieces?: unknown
  }): SuperwordEntry => ({
    surface: x.surface,
    parts: Array.isArray(x.parts) ? x.parts.map(String) : wordsOf(x.surface),
    ...(typeof x.count === "number" ? { count: x.count } : {}),
    ...(typeof x.pieces === "number" ? { pieces: x.pieces } : {})
  })
  const list = read()
  if (Array.isArray(list)) return list.filter(valid).map(entry)
  const first = (training.superwords as { first?: unknown } | undefined)?.first
  return Array.isArray(first) ? first.filter(valid).map(entry) : []
}

/** Up to `count` superwords in a seeded order (a sample of the whole list, not its best-scored head). */
export const drawSuperwords = (
  list: ReadonlyArray<SuperwordEntry>,
  count: number,
  seed: number
): Array<SuperwordEntry> => {
  const rand = mulberry32(seed)
  return list
    .map((s) => ({ s, key: rand() }))
    .sort((a, b) => a.key - b.key)
    .slice(0, count)
    .map(({ s }) => s)
}

/** The ids of `<BOS><span>`: the span as running text holds it, after the model's BOS. */
export const spanIds = (model: Model, surface: string): Array<number> => {
  const bos = model.config.bosTokenId
  const own = model.encode(surface, { addSpecialTokens: false })
  return bos === undefined ? own : [bos, ...own]
}

/** States at the last position of id rows, per layer: `[row][L+1][H]`. */
export const readStatesOfIds = async (
  model: Model,
  rows: ReadonlyArray<ReadonlyArray<number>>,
  batchSize = 16
): Promise<Array<Array<Float32Array>>> => {
  const graph = await model.hiddenStatesGraph()
  const out: Array<Array<Float32Array>> = []
  for (let s = 0; s < rows.length; s += batchSize) {
    const batch = rows.slice(s, s + batchSize)
    const res = await runProbeOutputs(graph, { ids: batch }, ["hidden_states"])
    const hs = res.hidden_states!
    out.push(
      ...lastStates(
        { data: hs.data as Float32Array, dims: hs.dims },
        batch.map((r) => r.length)
      )
    )
  }
  return out
}

/** The tuned model's reading of the superwords: their states, and those it does not read as one token. */
export interface TunedReading {
  readonly model: string
  readonly items: ReadonlyArray<SuperwordEntry>
  /** `[item][L+1][H]` at the superword token. */
  readonly states: ReadonlyArray<ReadonlyArray<Float32Array>>
  readonly leftOut: ReadonlyArray<{ readonly surface: string; readonly why: string }>
}

/** Read each superword in the tuned model, after BOS alone; one not read as exactly one token is left out. */
export const readTuned = async (
  tuned: Model,
  superwords: ReadonlyArray<SuperwordEntry>,
  batchSize = 16
): Promise<TunedReading> => {
  const leftOut: Array<{ surface: string; why: string }> = []
  const items: Array<SuperwordEntry> = []
  const rows: Array<Array<number>> = []
  for (const s of superwords) {
    const ids = spanIds(tuned, s.surface)
    const own = tuned.config.bosTokenId === undefined ? ids : ids.slice(1)
    if (own.length !== 1)
      leftOut.push({ surface: s.surface, why: `the tuned tokenizer reads it as ${own.length} tokens` })
    else {
      items.push(s)
      rows.push(ids)
    }
  }
  const states = rows.length > 0 ? await readStatesOfIds(tuned, rows, batchSize) : []
  return { model: tuned.name, items, states, leftOut }
}

/** The Patchscope decodings of the superwords. */
export interface SuperwordPatchscope {
  readonly prompt: string
  readonly layers: ReadonlyArray<number>
  readonly maxNewTokens: number
  /** The base's greedy continuation with the tuned superword state patched in: `[layer index][item]`. */
  readonly tuned: ReadonlyArray<ReadonlyArray<string>>
  /** The same with the base's own span state (the reference). */
  readonly base: ReadonlyArray<ReadonlyArray<string>>
  /** `[layer index][i][j]`: the share of span j's words in the tuned continuation of item i. */
  readonly share: ReadonlyArray<ReadonlyArray<ReadonlyArray<number>>>
}

/** Everything measured for a superword version against its base. */
export interface SuperwordMeasure {
  readonly tuned: string
  readonly base: string
  readonly numLayers: number
  readonly items: ReadonlyArray<{
    readonly surface: string
    readonly parts: ReadonlyArray<string>
    /** The base's pieces of the span. */
    readonly basePieces: ReadonlyArray<string>
  }>
  readonly leftOut: ReadonlyArray<{ readonly surface: string; readonly why: string }>
  /** `[layer][i][j]`: cosine of the tuned state of superword i to the base state at span j's last piece. */
  readonly cosine: ReadonlyArray<ReadonlyArray<ReadonlyArray<number>>>
  readonly patchscope?: SuperwordPatchscope
  /** The state finding, then the Patchscope one when it was run. */
  readonly findings: ReadonlyArray<Finding>
  /** What the readings say, in a plain sentence. */
  readonly sentence: string
}

/** Options of `measureSuperwords`. */
export interface SuperwordOptions extends Omit<TestOptions, "seed"> {
  readonly seed: number
  /**
   * Layers the Patchscope decoding may patch (none: skip it); only those in the verdict's band are
   * patched (the nearest to its middle when none is): each patched layer costs a greedy decoding
   * that re-reads the whole prompt per token.
   */
  readonly patchscopeLayers?: ReadonlyArray<number>
  readonly batchSize?: number
}

/** The share of `span`'s distinct words that occur in `text`. */
export const wordShare = (span: ReadonlyArray<string>, text: string): number => {
  const want = [...new Set(span.map((w) => w.toLowerCase()))]
  if (want.length === 0) return 0
  const have = new Set(wordsOf(text))
  return want.filter((w) => have.has(w)).length / want.length
}

/** A decoded continuation up to the prompt's separator (`;`, a newline or the next `->`). */
export const answerOf = (text: string): string => text.split(/;|\n|->/)[0]!.trim()

const argmax = (xs: ArrayLike<number>): number => {
  let best = 0
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i
  return best
}

/**
 * Greedy continuations of the base's repeat-the-word prompt with each vector patched at `layer`
 * into the placeholder (every step re-reads the whole prompt with the patch: the probe graph has
 * no cache). The decoded text of each row's new tokens.
 */
export const patchedContinuations = async (
  base: Model,
  vectors: ReadonlyArray<ArrayLike<number>>,
  layer: number,
  maxNewTokens: number,
  batchSize = 32
): Promise<Array<string>> => {
  const target = patchscopeTarget(base)
  const graph = await base.probeGraphSession()
  const states = await base.hiddenStatesGraph()
  const top = graph.spec.numLayers
  const out: Array<string> = []
  for (let s = 0; s < vectors.length; s += batchSize) {
    const batch = vectors.slice(s, s + batchSize)
    const seqs = batch.map(() => [...target.ids])
    for (let step = 0; step < maxNewTokens; step++) {
      const res = await runProbeOutputs(
        states,
        { ids: seqs, patch: { vector: batch, layer, position: target.placeholder } },
        ["hidden_states"]
      )
      const hs = res.hidden_states!
      const t = { data: hs.data as Float32Array, dims: hs.dims }
      const finals = seqs.map((q, r) => Float32Array.from(view(t, top, r, q.length - 1)))
      const { data, vocab } = await logitsOfStates(graph, finals, target.ids[0]!)
      seqs.forEach((q, r) => {
        q.push(argmax(data.subarray(r * vocab, (r + 1) * vocab)))
      })
      // every row has closed its answer: the tokens after it are never read
      const answered = (q: ReadonlyArray<number>) =>
        /;|\n|->/.test(base.decode(q.slice(target.ids.length), { skipSpecialTokens: true }))
      if (seqs.every(answered)) break
    }
    out.push(...seqs.map((q) => base.decode(q.slice(target.ids.length), { skipSpecialTokens: true })))
  }
  return out
}

const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "–")
const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(0)}%` : "–")

/** Per layer, per item: the own pair and the mean of the other pairs of `sim[layer][i][j]`. */
const ownAndNull = (sim: ReadonlyArray<ReadonlyArray<ReadonlyArray<number>>>) => {
  const n = sim[0]?.length ?? 0
  const own = Array.from({ length: n }, (_, i) => sim.map((m) => m[i]![i]!))
  const other = Array.from({ length: n }, (_, i) =>
    sim.map((m) => (n < 2 ? Number.NaN : (m[i]!.reduce((s, x) => s + x, 0) - m[i]![i]!) / (n - 1)))
  )
  return { own, other }
}

const bandMean = (rows: ReadonlyArray<ReadonlyArray<number>>, cols: ReadonlyArray<number>) =>
  mean(rows.map((r) => mean(cols.map((c) => r[c]!))))

/**
 * The Patchscope verdict needs the prompt to work on the base: below this share of its own span's
 * words decoded from the base's own assembled state (over the band), it is inconclusive.
 */
export const minReference = 0.1

/** The two findings and the sentence, from the paired readings (no model needed: tested on planted data). */
export const superwordFindings = (
  readings: {
    readonly cosine: ReadonlyArray<ReadonlyArray<ReadonlyArray<number>>>
    readonly pieces: ReadonlyArray<number>
    readonly patchscope?: Pick<SuperwordPatchscope, "layers" | "share"> & {
      /** Per layer index, per item: the share of its own span's words in the base-reference continuation. */
      readonly baseShare: ReadonlyArray<ReadonlyArray<number>>
    }
  },
  numLayers: number,
  options: Omit<TestOptions, "seed"> & { readonly seed: number }
): { readonly findings: Array<Finding>; readonly sentence: string } => {
  const test = { seed: options.seed, permutations: options.permutations, resamples: options.resamples }
  const all = Array.from({ length: numLayers + 1 }, (_, l) => l)
  const n = readings.cosine[0]?.length ?? 0
  const stateTest = pairingBandTest(readings.cosine, all, bands.superword, {
    ...test,
    numLayers,
    statistic:
      "cos(tuned superword state, base state at the span's last piece) − mean cos to the other spans'"
  })
  const { own, other } = ownAndNull(readings.cosine)
  const ownBand = layerBand(own, options.seed)
  const otherBand = layerBand(other, options.seed)
  const pieces = readings.pieces
  const piecesText =
    pieces.length === 0
      ? "–"
      : Math.min(...pieces) === Math.max(...pieces)
        ? String(pieces[0])
        : `${Math.min(...pieces)}–${Math.max(...pieces)} (mean ${mean(pieces).toFixed(1)})`
  const bandCols = stateTest.layers
  const [a, b] = [bandCols[0], bandCols[bandCols.length - 1]]
  const passing = stateTest.perLayer.flatMap((e, l) => (e.p < alpha ? [l] : []))
  const stateFinding: Finding = {
    id: "superword-state",
    claim:
      "The tuned model's single superword token carries the state the base assembles over the span's tokens (cosine to the base's state at the span's last piece beats another span's)",
    source: "issue 14 (superwords); band from Kaplan et al. 2024",
    verdict: stateTest.verdict,
    reproduced: stateTest.verdict === "reproduced",
    test: stateTest,
    figure:
      `${testFigure(stateTest).replace("sign-flip permutations", "pairing permutations")}. ` +
      `Cosine over the band: ${f3(bandMean(own, bandCols))} to its own span vs ${f3(bandMean(other, bandCols))} to the other spans; ` +
      `the base reads a span as ${piecesText} tokens; layers at p < ${alpha} on their own: ${passing.length > 0 ? passing.join(", ") : "none"}`,
    curves: { own: ownBand.mean, null: otherBand.mean },
    ci: { own: { lo: ownBand.lo, hi: ownBand.hi }, null: { lo: otherBand.lo, hi: otherBand.hi } }
  }
  const findings: Array<Finding> = [stateFinding]
  const stats = `cos ${f3(bandMean(own, bandCols))} vs null ${f3(bandMean(other, bandCols))} (another span's), 95% CI of the difference [${f3(stateTest.estimate.lo)}, ${f3(stateTest.estimate.hi)}], p = ${stateTest.estimate.p.toPrecision(2)}, n = ${n}`
  let sentence =
    stateTest.verdict === "reproduced"
      ? `The tuned model's single token carries what the base assembled over the span's ${piecesText} tokens at layers ${a}–${b}: ${stats}.`
      : stateTest.verdict === "not reproduced"
        ? `The tuned model's single token does not carry measurably more of what the base assembled over the span's ${piecesText} tokens than of another span's at layers ${a}–${b}: ${stats}.`
        : `Too few superwords to say whether the tuned model's single token carries what the base assembled over the span's ${piecesText} tokens (${stateTest.rule}); at layers ${a}–${b}: ${stats}.`

  const ps = readings.patchscope
  if (ps !== undefined && ps.layers.length > 0) {
    const { own: sOwn, other: sOther } = ownAndNull(ps.share)
    const cols = bandColumns(ps.layers, numLayers, bands.superword)
    const refShare = bandMean(transpose(ps.baseShare), cols)
    const psTest = pairingBandTest(ps.share, ps.layers, bands.superword, {
      ...test,
      seed: options.seed + 1,
      numLayers,
      ...(refShare < minReference
        ? {
            blocked: `the base decodes ${pct(refShare)} of the span's words from its own assembled state (< ${pct(minReference)}): this Patchscope cannot tell`
          }
        : {}),
      statistic:
        "share of the span's words in the base's decoding of the tuned state − share of another span's"
    })
    const atLayers = (rows: ReadonlyArray<ReadonlyArray<number>>) => {
      const band = layerBand(rows, options.seed)
      const pick = (xs: ReadonlyArray<number>) =>
        all.map((l) => (ps.layers.includes(l) ? xs[ps.layers.indexOf(l)]! : Number.NaN))
      return { mean: pick(band.mean), lo: pick(band.lo), hi: pick(band.hi) }
    }
    const [o, x, r] = [atLayers(sOwn), atLayers(sOther), atLayers(transpose(ps.baseShare))]
    findings.push({
      id: "superword-patchscope",
      claim:
        "Patched into the base's repeat-the-word prompt, the tuned model's superword state is decoded as the span's words (more of its own span's words than of another span's)",
      source: "issue 14 (superwords); Patchscope, Ghandeharioun et al. 2024",
      verdict: psTest.verdict,
      reproduced: psTest.verdict === "reproduced",
      test: psTest,
      figure:
        `${testFigure(psTest).replace("sign-flip permutations", "pairing permutations")}. ` +
        `Share of the span's words decoded over the patched band layers: ${pct(bandMean(sOwn, cols))} vs ${pct(bandMean(sOther, cols))} for another span's; ` +
        `the base's own span state decodes ${pct(refShare)} (reference); patched layers ${ps.layers.join(", ")}`,
      curves: { own: o.mean, null: x.mean, "base reference": r.mean },
      ci: {
        own: { lo: o.lo, hi: o.hi },
        null: { lo: x.lo, hi: x.hi },
        "base reference": { lo: r.lo, hi: r.hi }
      }
    })
    sentence +=
      ` Patchscope: the base decodes ${pct(bandMean(sOwn, cols))} of the span's words from the tuned token's state` +
      ` vs ${pct(bandMean(sOther, cols))} of another span's (p = ${psTest.estimate.p.toPrecision(2)}, ${psTest.verdict}),` +
      ` and ${pct(refShare)} from its own assembled state.`
  }
  return { findings, sentence }
}

const transpose = (m: ReadonlyArray<ReadonlyArray<number>>): Array<Array<number>> =>
  (m[0] ?? []).map((_, j) => m.map((row) => row[j]!))

/**
 * Measure the superwords read by `readTuned` against the base: its states at each span's last
 * piece, the cosine matrices per layer, the Patchscope decodings, and the findings. A superword the
 * base reads as one piece is left out (it has nothing to assemble).
 */
export const measureSuperwords = async (
  base: Model,
  tuned: TunedReading,
  options: SuperwordOptions
): Promise<SuperwordMeasure> => {
  const leftOut = [...tuned.leftOut]
  const keep: Array<number> = []
  const rows: Array<Array<number>> = []
  tuned.items.forEach((s, i) => {
    const ids = spanIds(base, s.surface)
    const pieces = ids.length - (base.config.bosTokenId === undefined ? 0 : 1)
    if (pieces < 2) leftOut.push({ surface: s.surface, why: `the base reads it as ${pieces} token` })
    else {
      keep.push(i)
      rows.push(ids)
    }
  })
  const start = base.config.bosTokenId === undefined ? 0 : 1
  const graph = await base.hiddenStatesGraph()
  const numLayers = graph.spec.numLayers
  const baseStates = rows.length > 0 ? await readStatesOfIds(base, rows, options.batchSize) : []
  const tunedStates = keep.map((i) => tuned.states[i]!)
  const items = keep.map((i, k) => ({
    surface: tuned.items[i]!.surface,
    parts: tuned.items[i]!.parts,
    basePieces: rows[k]!.slice(start).map((id) => base.decode([id], { skipSpecialTokens: false }))
  }))
  const cos = Array.from({ length: numLayers + 1 }, (_, l) =>
    tunedStates.map((t) => baseStates.map((b) => cosine(t[l]!, b[l]!)))
  )
  const candidates = options.patchscopeLayers ?? []
  const layers =
    items.length > 0 && candidates.length > 0
      ? bandColumns(candidates, numLayers, bands.superword).map((c) => candidates[c]!)
      : []
  let patchscope: SuperwordPatchscope | undefined
  let baseShare: Array<Array<number>> = []
  if (layers.length > 0) {
    const spanWords = items.map((it) => wordsOf(it.surface))
    // room for the span's pieces and the separator after them
    const maxNewTokens = Math.min(16, Math.max(4, ...items.map((it) => it.basePieces.length + 2)))
    const tunedText: Array<Array<string>> = []
    const baseText: Array<Array<string>> = []
    for (const layer of layers) {
      const decoded = await patchedContinuations(
        base,
        [...tunedStates.map((t) => t[layer]!), ...baseStates.map((b) => b[layer]!)],
        layer,
        maxNewTokens,
        options.batchSize === undefined ? 32 : options.batchSize * 4
      )
      tunedText.push(decoded.slice(0, items.length))
      baseText.push(decoded.slice(items.length))
    }
    patchscope = {
      prompt: patchscopePrompt,
      layers,
      maxNewTokens,
      tuned: tunedText,
      base: baseText,
      share: tunedText.map((texts) => texts.map((t) => spanWords.map((w) => wordShare(w, answerOf(t)))))
    }
    baseShare = baseText.map((texts) => texts.map((t, i) => wordShare(spanWords[i]!, answerOf(t))))
  }
  const { findings, sentence } = superwordFindings(
    {
      cosine: cos,
      pieces: items.map((it) => it.basePieces.length),
      ...(patchscope === undefined ? {} : { patchscope: { ...patchscope, baseShare } })
    },
    numLayers,
    options
  )
  return {
    tuned: tuned.model,
    base: base.name,
    numLayers,
    items,
    leftOut,
    cosine: cos,
    ...(patchscope === undefined ? {} : { patchscope }),
    findings,
    sentence
  }
}
