/**
 * Per-layer measurements of hyperwords. Each item is read in four conditions — the fused
 * hyperword, the same words as a phrase, a nonword of the same letters and the parts in shuffled
 * order — always after the model's BOS token, so that no word sits at the attention-sink position.
 * For every condition the probe graph gives the residual norm, the logit lens and the tracked
 * tokens' log-probs; across conditions come the assembly curves (how close the fused state gets
 * to the phrase and to its parts), the attention the last piece pays to the item's own pieces, and
 * a Patchscope retrieval test.
 */
import { mulberry32 } from "@hyperwords/core/Random"
import type { Model } from "@hyperwords/models/Model"
import { type ProbeGraph, type ProbeResult, runProbe, runProbeOutputs, view } from "@hyperwords/models/Probe"

/** A hyperword to probe. */
export interface ProbeItem {
  readonly id: string
  readonly surface: string
  readonly parts: ReadonlyArray<string>
  readonly lang: string
  /** An English gloss (tracked for Russian items). */
  readonly gloss?: string
  /** The word that follows the image in its line or scene (tracked: when does the model expect it?). */
  readonly next?: string
}

/** The roles of tracked tokens. */
export type TrackedRole = "part" | "gloss" | "next"

const wordSegmenter = new Intl.Segmenter(undefined, { granularity: "word" })

/**
 * The word after the image's last part in a text (a line of poetry or a generated scene), when the
 * parts occur there in order; undefined otherwise.
 */
export const nextWord = (text: string, parts: ReadonlyArray<string>): string | undefined => {
  const words = [...wordSegmenter.segment(text)].filter((w) => w.isWordLike).map((w) => w.segment)
  const lower = words.map((w) => w.toLocaleLowerCase())
  const want = parts.map((p) => p.toLocaleLowerCase())
  for (let start = 0; start < lower.length; start++) {
    if (lower[start] !== want[0]) continue
    // the other parts follow in order, each within three words of the one before
    let at = start
    for (const w of want.slice(1)) {
      const found = lower.indexOf(w, at + 1)
      at = found < 0 || found - at > 3 ? -1 : found
      if (at < 0) break
    }
    if (at >= 0 && at + 1 < words.length) return words[at + 1]
  }
  return undefined
}

/** The ways an item is read. */
export const conditions = ["fused", "phrase", "nonword", "shuffled"] as const
export type Condition = (typeof conditions)[number]

/** Letters of each language a nonword may be built from. */
export const alphabets: Readonly<Record<string, string>> = {
  ru: "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
  en: "abcdefghijklmnopqrstuvwxyz"
}

const shuffle = <T>(xs: ReadonlyArray<T>, rand: () => number): Array<T> => {
  const out = [...xs]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

/** A seeded string hash, so each item gets its own stream from one run seed. */
const seedOf = (seed: number, text: string): number => {
  let h = seed >>> 0
  for (const c of text) h = Math.imul(h ^ c.codePointAt(0)!, 0x01000193) >>> 0
  return h
}

/**
 * A nonword of the same length: the surface's letters of the language's alphabet shuffled in
 * place (other characters stay), seeded; a permutation of the surface that differs from it when
 * its letters allow.
 */
export const nonword = (surface: string, lang: string, seed: number): string => {
  const alphabet = alphabets[lang] ?? alphabets.en!
  const chars = [...surface]
  const slots = chars.flatMap((c, i) => (alphabet.includes(c.toLowerCase()) ? [i] : []))
  const rand = mulberry32(seedOf(seed, surface))
  for (let attempt = 0; attempt < 8; attempt++) {
    const letters = shuffle(
      slots.map((i) => chars[i]!),
      rand
    )
    const out = [...chars]
    slots.forEach((slot, j) => {
      out[slot] = letters[j]!
    })
    const word = out.join("")
    if (word !== surface || attempt === 7) return word
  }
  return surface
}

/** The parts in another order (seeded), different from the original when there are two or more distinct parts. */
export const shuffledParts = (parts: ReadonlyArray<string>, seed: number): Array<string> => {
  const rand = mulberry32(seedOf(seed, parts.join("+")))
  for (let attempt = 0; attempt < 8; attempt++) {
    const out = shuffle(parts, rand)
    if (out.join("+") !== parts.join("+")) return out
  }
  return [...parts].reverse()
}

/** The text of each condition of an item. */
export const conditionTexts = (item: ProbeItem, seed: number): Record<Condition, string> => ({
  fused: item.surface,
  phrase: item.parts.join(" "),
  nonword: nonword(item.surface, item.lang, seed),
  shuffled: shuffledParts(item.parts, seed).join("")
})

/** Token ids of a text as the probe reads it, and where the text's own tokens start. */
export interface ReadIds {
  readonly ids: ReadonlyArray<number>
  /** Index of the text's first token (after BOS). */
  readonly start: number
}

/** BOS, then the text as a word (with its leading space, as inside a sentence). */
export const readIds = (model: Model, text: string): ReadIds => {
  const bos = model.config.bosTokenId
  const own = model.encode(` ${text}`, { addSpecialTokens: false })
  const ids = bos === undefined ? own : [bos, ...own]
  return { ids, start: bos === undefined ? 0 : 1 }
}

/** The first token of a word as it is read inside a sentence (leading space). */
export const firstToken = (model: Model, word: string): number =>
  model.encode(` ${word}`, { addSpecialTokens: false })[0] ?? 0

/** Cosine of two vectors (0 when either is zero). */
export const cosine = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let ab = 0
  let aa = 0
  let bb = 0
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!
    aa += a[i]! * a[i]!
    bb += b[i]! * b[i]!
  }
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb)
}

/** The L2 norm of a vector. */
export const norm = (a: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!
  return Math.sqrt(s)
}

/** The element-wise mean of vectors. */
export const meanVector = (vs: ReadonlyArray<ArrayLike<number>>): Float32Array => {
  const out = new Float32Array(vs[0]?.length ?? 0)
  for (const v of vs) for (let i = 0; i < out.length; i++) out[i]! += v[i]! / vs.length
  return out
}

/** Cosine per layer between two `[L+1][H]` stacks of states. */
export const assemblyCurve = (
  a: ReadonlyArray<ArrayLike<number>>,
  b: ReadonlyArray<ArrayLike<number>>
): Array<number> => a.map((v, l) => cosine(v, b[l]!))

/**
 * The per-layer mean of many `[L+1][H]` stacks: what every state of a layer shares. Hidden
 * states are anisotropic (one common direction dominates), so raw cosines sit near 1 at most
 * layers; subtracting this mean leaves what tells items apart.
 */
export const layerMeans = (stacks: ReadonlyArray<ReadonlyArray<ArrayLike<number>>>): Array<Float32Array> =>
  (stacks[0] ?? []).map((_, l) => meanVector(stacks.map((s) => s[l]!)))

/** Cosine per layer after subtracting each layer's mean from both stacks. */
export const centredCurve = (
  a: ReadonlyArray<ArrayLike<number>>,
  b: ReadonlyArray<ArrayLike<number>>,
  means: ReadonlyArray<ArrayLike<number>>
): Array<number> =>
  a.map((v, l) => {
    const m = means[l]!
    const x = Float32Array.from(v, (e, i) => e - m[i]!)
    const y = Float32Array.from(b[l]!, (e, i) => e - m[i]!)
    return cosine(x, y)
  })

/** A tracked token's lens readings per layer at the last position. */
export interface TrackedToken {
  readonly role: TrackedRole
  readonly word: string
  readonly id: number
  readonly token: string
  /** Lens log-prob per layer (0..L). */
  readonly logprob: ReadonlyArray<number>
  /** 1-based rank per layer when within the lens top-k, else null. */
  readonly rank: ReadonlyArray<number | null>
}

/** One condition of one item, read by the probe graph. */
export interface ConditionMeasure {
  readonly text: string
  readonly tokens: ReadonlyArray<string>
  readonly start: number
  /** Residual norm at the last position per layer (0..L). */
  readonly norm: ReadonlyArray<number>
  /** Lens top-k token ids per layer and position: `[L+1][T][k]`. */
  readonly lensIds: ReadonlyArray<ReadonlyArray<ReadonlyArray<number>>>
  /** Their log-probs. */
  readonly lensLogprobs: ReadonlyArray<ReadonlyArray<ReadonlyArray<number>>>
  /** The top lens token's text per layer and position: `[L+1][T]`. */
  readonly lensTop: ReadonlyArray<ReadonlyArray<string>>
  readonly tracked: ReadonlyArray<TrackedToken>
  /** Attention mass from the last position onto the item's own tokens: `[L][heads]`. */
  readonly ownAttention: ReadonlyArray<ReadonlyArray<number>>
}

/** Everything measured for one item in one model. */
export interface ItemMeasure {
  readonly item: ProbeItem
  /** The fused item and the phrase always; the controls unless left out. */
  readonly conditions: { readonly fused: ConditionMeasure; readonly phrase: ConditionMeasure } & Readonly<
    Partial<Record<Condition, ConditionMeasure>>
  >
  /** Cosine per layer between the last-position states of fused and phrase. */
  readonly assemblyPhrase: ReadonlyArray<number>
  /** Cosine per layer between the fused last state and the mean of the parts' last states, each read alone. */
  readonly assemblyParts: ReadonlyArray<number>
  /**
   * The same two curves centred (each layer's mean state over the whole probe set subtracted
   * first), and the fused state against its nonword control as the floor to read them against.
   */
  readonly centred: {
    readonly phrase: ReadonlyArray<number>
    readonly parts: ReadonlyArray<number>
    readonly nonword?: ReadonlyArray<number>
  }
  /** Attention of the fused item's last position per layer, head, key position: `[L][heads][T]`. */
  readonly attention: ReadonlyArray<ReadonlyArray<ReadonlyArray<number>>>
}

/** Patchscope retrieval of an item's parts per patched layer. */
export interface PatchscopeMeasure {
  readonly prompt: string
  readonly layers: ReadonlyArray<number>
  /** Per item, per layer: the best 1-based rank among the parts' first tokens in the continuation. */
  readonly ranks: ReadonlyArray<ReadonlyArray<number>>
  /** Per layer: the share of items whose best part ranks within `hitRank`. */
  readonly retrieval: ReadonlyArray<number>
  readonly hitRank: number
  /** The share of items never retrieved at any patched layer. */
  readonly neverRetrieved: number
}

/** All measurements of one model on a probe set. */
export interface ModelMeasure {
  readonly model: string
  readonly numLayers: number
  readonly numHeads: number
  readonly k: number
  readonly items: ReadonlyArray<ItemMeasure>
  readonly patchscope?: PatchscopeMeasure
}

/** Options of a measurement run. */
export interface MeasureOptions {
  readonly seed: number
  /** The conditions to read (default: all; fused and phrase are always read). */
  readonly conditions?: ReadonlyArray<Condition>
  /** Rows per probe-graph pass. */
  readonly batchSize?: number
  /** Layers to patch in the Patchscope test (none: skip it). */
  readonly patchscopeLayers?: ReadonlyArray<number>
  /** Items in the Patchscope test (the first N). */
  readonly patchscopeItems?: number
  readonly hitRank?: number
  readonly onProgress?: (done: number, total: number) => void
}

/** `hidden_states` of every row at its last real position: `[rows][L+1][H]` copies. */
export const lastStates = (
  hs: { data: Float32Array; dims: ReadonlyArray<number> },
  lengths: ReadonlyArray<number>
) => {
  const layers = hs.dims[0]!
  return lengths.map((n, b) =>
    Array.from({ length: layers }, (_, l) => Float32Array.from(view(hs, l, b, n - 1)))
  )
}

/** Last-position states of texts (each read after BOS), from the fast hidden-states graph. */
export const readLastStates = async (
  model: Model,
  texts: ReadonlyArray<string>,
  batchSize = 16
): Promise<Array<Array<Float32Array>>> => {
  const graph = await model.hiddenStatesGraph()
  const out: Array<Array<Float32Array>> = []
  for (let s = 0; s < texts.length; s += batchSize) {
    const rows = texts.slice(s, s + batchSize).map((t) => readIds(model, t).ids)
    const res = await runProbeOutputs(graph, { ids: rows }, ["hidden_states"])
    const hs = res.hidden_states!
    out.push(
      ...lastStates(
        { data: hs.data as Float32Array, dims: hs.dims },
        rows.map((r) => r.length)
      )
    )
  }
  return out
}

const nested = (
  data: ArrayLike<number>,
  layers: number,
  b: number,
  rows: number,
  t: number,
  n: number,
  k: number
): Array<Array<Array<number>>> =>
  Array.from({ length: layers }, (_, l) =>
    Array.from({ length: n }, (_, p) => {
      const off = ((l * rows + b) * t + p) * k
      return Array.from({ length: k }, (_, j) => data[off + j]!)
    })
  )

/**
 * The tracked words of an item: each part's first token, the gloss's first word for a Russian
 * item, and the word that follows the image in its line or scene.
 */
export const trackedWords = (item: ProbeItem): Array<{ role: TrackedRole; word: string }> => {
  const out: Array<{ role: TrackedRole; word: string }> = item.parts.map((word) => ({ role: "part", word }))
  const gloss = item.gloss?.trim().split(/\s+/)[0]
  if (item.lang === "ru" && gloss) out.push({ role: "gloss", word: gloss })
  if (item.next) out.push({ role: "next", word: item.next })
  return out
}

/** One condition's measures from row `b` of a probe result. */
const conditionMeasure = (
  model: Model,
  res: ProbeResult,
  b: number,
  read: ReadIds,
  text: string,
  tracked: ReadonlyArray<{ role: TrackedRole; word: string; id: number }>
): ConditionMeasure => {
  const [layers, rows, t] = res.hiddenStates.dims as [number, number, number, number]
  const k = res.lensTopkIds.dims[3]!
  const n = read.ids.length
  const last = n - 1
  const lensIds = nested(res.lensTopkIds.data, layers, b, rows, t, n, k)
  const lensLogprobs = nested(res.lensTopkLogprobs.data, layers, b, rows, t, n, k)
  const heads = res.attentions.dims[2]!
  const ownAttention = Array.from({ length: layers - 1 }, (_, l) =>
    Array.from({ length: heads }, (_, h) => {
      const row = view(res.attentions, l, b, h, last)
      let s = 0
      for (let p = read.start; p < n; p++) s += row[p]!
      return s
    })
  )
  const kTracked = res.trackedLogprobs.dims[3]!
  return {
    text,
    tokens: read.ids.map((id) => model.decode([id], { skipSpecialTokens: false })),
    start: read.start,
    norm: Array.from({ length: layers }, (_, l) => norm(view(res.hiddenStates, l, b, last))),
    lensIds,
    lensLogprobs,
    lensTop: lensIds.map((row) => row.map((ids) => model.decode([ids[0]!], { skipSpecialTokens: false }))),
    tracked: tracked.map((w, j) => ({
      role: w.role,
      word: w.word,
      id: w.id,
      token: model.decode([w.id], { skipSpecialTokens: false }),
      logprob: Array.from(
        { length: layers },
        (_, l) => res.trackedLogprobs.data[((l * rows + b) * t + last) * kTracked + j]!
      ),
      rank: Array.from({ length: layers }, (_, l) => {
        const i = lensIds[l]![last]!.indexOf(w.id)
        return i < 0 ? null : i + 1
      })
    })),
    ownAttention
  }
}

/** Measure a probe set in one model. */
export const measureItems = async (
  model: Model,
  items: ReadonlyArray<ProbeItem>,
  options: MeasureOptions
): Promise<ModelMeasure> => {
  const graph = await model.probeGraphSession()
  const { numLayers, numHeads, k } = graph.spec
  const batchSize = Math.max(1, options.batchSize ?? 8)
  const reads = items.map((item) => {
    const texts = conditionTexts(item, options.seed)
    const tracked = trackedWords(item).map((w) => ({ ...w, id: firstToken(model, w.word) }))
    return { item, texts, tracked, ids: conditions.map((c) => readIds(model, texts[c])) }
  })
  const wanted = conditions.flatMap((c, index) =>
    c === "fused" || c === "phrase" || (options.conditions ?? conditions).includes(c) ? [index] : []
  )
  const total = items.length * wanted.length
  const rows = reads.flatMap((_, i) => wanted.map((c) => ({ i, c })))
  const measured: Array<Partial<Record<Condition, ConditionMeasure>>> = items.map(() => ({}))
  const last: Array<Partial<Record<Condition, Array<Float32Array>>>> = items.map(() => ({}))
  const attention: Array<Array<Array<Array<number>>>> = items.map(() => [])
  const width = Math.max(1, ...reads.map((r) => r.tracked.length))
  for (let s = 0; s < rows.length; s += batchSize) {
    const batch = rows.slice(s, s + batchSize)
    const ids = batch.map(({ i, c }) => reads[i]!.ids[c]!.ids)
    // tracked rows must be of equal length: pad with the first id
    const tracked = batch.map(({ i }) => {
      const t = reads[i]!.tracked.map((w) => w.id)
      while (t.length < width) t.push(t[0] ?? 0)
      return t
    })
    const res = await runProbeRows(graph, ids, tracked)
    const states = lastStates(res.hiddenStates, res.lengths)
    batch.forEach(({ i, c }, b) => {
      const r = reads[i]!
      const cond = conditions[c]!
      measured[i]![cond] = conditionMeasure(model, res, b, r.ids[c]!, r.texts[cond], r.tracked)
      last[i]![cond] = states[b]!
      if (cond === "fused") {
        const n = r.ids[c]!.ids.length
        attention[i] = Array.from({ length: numLayers }, (_, l) =>
          Array.from({ length: numHeads }, (_, h) =>
            Array.from(view(res.attentions, l, b, h, n - 1).subarray(0, n))
          )
        )
      }
    })
    options.onProgress?.(Math.min(s + batchSize, total), total)
  }
  const partTexts = [...new Set(items.flatMap((it) => it.parts))]
  const partStates = await readLastStates(model, partTexts)
  const partIndex = new Map(partTexts.map((p, i) => [p, i]))
  const means = layerMeans([...last.flatMap((x) => Object.values(x)), ...partStates])
  const measures: Array<ItemMeasure> = reads.map((r, i) => {
    const fused = last[i]!.fused!
    const parts = r.item.parts.map((p) => partStates[partIndex.get(p)!]!)
    const meanParts = fused.map((_, l) => meanVector(parts.map((p) => p[l]!)))
    const control = last[i]!.nonword
    return {
      item: r.item,
      conditions: measured[i] as ItemMeasure["conditions"],
      assemblyPhrase: assemblyCurve(fused, last[i]!.phrase!),
      assemblyParts: assemblyCurve(fused, meanParts),
      centred: {
        phrase: centredCurve(fused, last[i]!.phrase!, means),
        parts: centredCurve(fused, meanParts, means),
        ...(control === undefined ? {} : { nonword: centredCurve(fused, control, means) })
      },
      attention: attention[i]!
    }
  })
  const patchscope =
    options.patchscopeLayers && options.patchscopeLayers.length > 0
      ? await measurePatchscope(
          model,
          graph,
          items.slice(0, options.patchscopeItems ?? items.length),
          last.map((x) => x.fused!),
          options.patchscopeLayers,
          options.hitRank ?? 10
        )
      : undefined
  return {
    model: model.name,
    numLayers,
    numHeads,
    k,
    items: measures,
    ...(patchscope ? { patchscope } : {})
  }
}

const runProbeRows = (
  graph: ProbeGraph,
  ids: ReadonlyArray<ReadonlyArray<number>>,
  tracked: ReadonlyArray<ReadonlyArray<number>>
): Promise<ProbeResult> => runProbe(graph, { ids, tracked })

/**
 * The Patchscope target (Ghandeharioun et al. 2024, token identity): a few-shot "repeat the word"
 * prompt ending in a placeholder whose state is overwritten by the item's; the continuation
 * decodes what that state holds.
 */
export const patchscopePrompt = "cat -> cat; 1135 -> 1135; hello -> hello; ? ->"

/** The target's token ids and the placeholder's position in them. */
export const patchscopeTarget = (
  model: Model
): { readonly ids: ReadonlyArray<number>; readonly placeholder: number } => {
  const [head, tail] = patchscopePrompt.split(" ? ") as [string, string]
  const prefix = readIds(model, head).ids
  const mark = model.encode(" ?", { addSpecialTokens: false })
  const ids = [...prefix, ...mark, ...model.encode(` ${tail}`, { addSpecialTokens: false })]
  return { ids, placeholder: prefix.length + mark.length - 1 }
}

/** The 1-based rank of each id in a logits row. */
export const ranksIn = (logits: ArrayLike<number>, ids: ReadonlyArray<number>): Array<number> =>
  ids.map((id) => {
    const v = logits[id]!
    let rank = 1
    for (let i = 0; i < logits.length; i++) if (logits[i]! > v) rank++
    return rank
  })

/**
 * Next-token logits of final residual states (before the final norm): each state is patched in
 * as the last layer's output of a one-token prompt, so the probe graph applies the final norm
 * and the unembedding to it alone. `[rows, V]`.
 */
export const logitsOfStates = async (
  graph: ProbeGraph,
  states: ReadonlyArray<ArrayLike<number>>,
  tokenId: number
): Promise<{ readonly data: Float32Array; readonly vocab: number }> => {
  const res = await runProbeOutputs(
    graph,
    { ids: states.map(() => [tokenId]), patch: { vector: states, layer: graph.spec.numLayers, position: 0 } },
    ["logits"]
  )
  const logits = res.logits!
  return { data: logits.data as Float32Array, vocab: logits.dims[1]! }
}

/**
 * Patch each item's fused last-position state at each layer into the target prompt; rank its
 * parts in the continuation. The patched runs need only hidden states (the fast graph); their
 * final states are decoded together afterwards, so the lens is never computed over the target.
 */
export const measurePatchscope = async (
  model: Model,
  graph: ProbeGraph,
  items: ReadonlyArray<ProbeItem>,
  fusedStates: ReadonlyArray<ReadonlyArray<Float32Array>>,
  layers: ReadonlyArray<number>,
  hitRank: number
): Promise<PatchscopeMeasure> => {
  const target = patchscopeTarget(model)
  const states = await model.hiddenStatesGraph()
  const top = graph.spec.numLayers
  const last = target.ids.length - 1
  // the parts' first tokens as they would follow "-> " in the target
  const partIds = items.map((it) => [...new Set(it.parts.map((p) => firstToken(model, p)))])
  const finals: Array<Float32Array> = []
  for (const layer of layers) {
    const res = await runProbeOutputs(
      states,
      {
        ids: items.map(() => target.ids),
        patch: { vector: items.map((_, i) => fusedStates[i]![layer]!), layer, position: target.placeholder }
      },
      ["hidden_states"]
    )
    const hs = res.hidden_states!
    const t = { data: hs.data as Float32Array, dims: hs.dims }
    items.forEach((_, i) => {
      finals.push(Float32Array.from(view(t, top, i, last)))
    })
  }
  const { data, vocab } = await logitsOfStates(graph, finals, target.ids[0]!)
  const ranks: Array<Array<number>> = items.map(() => [])
  layers.forEach((_, j) => {
    items.forEach((_, i) => {
      const row = j * items.length + i
      ranks[i]!.push(Math.min(...ranksIn(data.subarray(row * vocab, (row + 1) * vocab), partIds[i]!)))
    })
  })
  const retrieval = layers.map(
    (_, j) => ranks.filter((r) => r[j]! <= hitRank).length / Math.max(1, items.length)
  )
  const never = ranks.filter((r) => r.every((x) => x > hitRank)).length / Math.max(1, items.length)
  return { prompt: patchscopePrompt, layers, ranks, retrieval, hitRank, neverRetrieved: never }
}

/** `count` layers spread evenly over 0..numLayers. */
export const spreadLayers = (numLayers: number, count: number): Array<number> => {
  if (count >= numLayers + 1) return Array.from({ length: numLayers + 1 }, (_, i) => i)
  return [
    ...new Set(Array.from({ length: count }, (_, i) => Math.round((i * numLayers) / Math.max(1, count - 1))))
  ]
}
