/**
 * Mining image clusters from poems: runs of 2–4 content words inside a line (stopwords dropped
 * but still counted as distance, so a cluster spans at most `window` words), counted over lemmas,
 * scored by normalised PMI and Dunning's log-likelihood ratio — for longer units, at their
 * weakest split — and kept when frequent and associated enough and when at least one word is
 * concrete or sensory. Each cluster becomes a mined hyperword record.
 */
import type { HyperwordRecord } from "@hyperwords/core/Artifacts"
import { isImageWord } from "./Concreteness.ts"
import type { Poem } from "./Corpus.ts"
import type { Analysis, Lemmatizer } from "./Segment.ts"
import { WordSegmenter } from "./Segment.ts"
import type { Lang } from "./SensationSeeds.ts"
import { isStopword } from "./Stopwords.ts"

/** Knobs of mining. */
export interface MiningOptions {
  /** Fewest distinct lines a cluster must occur in. */
  readonly minCount: number
  /** Lowest normalised PMI (at the weakest split), in [-1, 1]. */
  readonly minNpmi: number
  /** Lowest log-likelihood ratio G² (at the weakest split); 10.83 is p < 0.001. */
  readonly minLlr: number
  /** Longest cluster, in content words (2–4). */
  readonly maxWords: number
  /** Widest span of a cluster in words of the line, stopwords included. */
  readonly window: number
  /** Evidence lines kept per cluster. */
  readonly maxEvidence: number
}

/** Defaults that give thousands of Russian and English clusters on a few MB of verse. */
export const defaultMiningOptions: MiningOptions = {
  minCount: 2,
  minNpmi: 0.3,
  minLlr: 10.83,
  maxWords: 4,
  window: 6,
  maxEvidence: 3
}

/** Counts of a mining run, for summaries and benchmarks. */
export interface MiningSummary {
  readonly lines: number
  readonly duplicateLines: number
  readonly tokens: Readonly<Record<string, number>>
  readonly candidates: number
  readonly records: Readonly<Record<string, number>>
}

/** A mined cluster before it becomes a record. */
interface Cluster {
  readonly lang: Lang
  readonly ids: ReadonlyArray<number>
  readonly count: number
  readonly npmi: number
  readonly llr: number
}

/** Dunning's G² for a 2×2 table of a pair's joint and marginal counts out of `n`. */
export const logLikelihood = (joint: number, left: number, right: number, n: number): number => {
  const k11 = joint
  const k12 = Math.max(0, left - joint)
  const k21 = Math.max(0, right - joint)
  const k22 = Math.max(0, n - left - right + joint)
  const term = (k: number, row: number, col: number) => (k > 0 ? k * Math.log((k * n) / (row * col)) : 0)
  const g =
    term(k11, k11 + k12, k11 + k21) +
    term(k12, k11 + k12, k12 + k22) +
    term(k21, k21 + k22, k11 + k21) +
    term(k22, k21 + k22, k12 + k22)
  return Math.max(0, 2 * g)
}

/** Normalised PMI of a pair's joint and marginal counts out of `n`, in [-1, 1]. */
export const npmi = (joint: number, left: number, right: number, n: number): number => {
  if (joint >= n) return 1
  const pmi = Math.log((joint * n) / (left * right))
  return Math.max(-1, Math.min(1, pmi / -Math.log(joint / n)))
}

/** Tokens of the kept lines of one language, flattened. */
class Lines {
  readonly lemma: Array<number> = []
  readonly surface: Array<number> = []
  readonly position: Array<number> = []
  /** Token offset where each line starts (one more entry than lines). */
  readonly start: Array<number> = [0]
  readonly doc: Array<string> = []
  readonly lineNo: Array<number> = []
  readonly text: Array<string> = []
  get size(): number {
    return this.doc.length
  }
}

/** Interns strings as dense ids. */
class Interner {
  private readonly ids = new Map<string, number>()
  readonly values: Array<string> = []
  id(s: string): number {
    let i = this.ids.get(s)
    if (i === undefined) {
      i = this.values.length
      this.ids.set(s, i)
      this.values.push(s)
    }
    return i
  }
}

/** Lemma ids stay below this bound, so a gram and its next lemma pack into one number key. */
const lemmaBound = 2 ** 21

/**
 * Counted grams (runs of lemmas) as a trie with dense ids: a gram is its prefix gram plus a last
 * lemma, keyed by one number, so counting never builds strings.
 */
class Grams {
  private readonly ids = new Map<number, number>()
  readonly parent: Array<number> = []
  readonly last: Array<number> = []
  readonly length: Array<number> = []
  readonly count: Array<number> = []

  /** The id of `prefix` (-1 for none) extended by `lemma`; created with count 0 when new. */
  extend(prefix: number, lemma: number): number {
    const key = (prefix + 1) * lemmaBound + lemma
    let g = this.ids.get(key)
    if (g === undefined) {
      g = this.count.length
      this.ids.set(key, g)
      this.parent.push(prefix)
      this.last.push(lemma)
      this.length.push(prefix < 0 ? 1 : this.length[prefix]! + 1)
      this.count.push(0)
    }
    return g
  }

  /** The id of an existing gram of lemmas, or -1. */
  find(lemmas: ReadonlyArray<number>, from = 0, to = lemmas.length): number {
    let g = -1
    for (let i = from; i < to; i++) {
      const next = this.ids.get((g + 1) * lemmaBound + lemmas[i]!)
      if (next === undefined) return -1
      g = next
    }
    return g
  }

  /** The lemmas of a gram. */
  lemmas(g: number): Array<number> {
    const out: Array<number> = []
    for (let x = g; x >= 0; x = this.parent[x]!) out.push(this.last[x]!)
    return out.reverse()
  }
}

/**
 * Visit every candidate run of a line with its gram id: token offsets [from, to], 1..maxWords
 * long, spanning fewer than `window` words, no lemma twice.
 */
const eachRun = (
  lines: Lines,
  line: number,
  grams: Grams,
  o: MiningOptions,
  visit: (gram: number, from: number, to: number) => void
): void => {
  const end = lines.start[line + 1]!
  const lemma = lines.lemma
  for (let i = lines.start[line]!; i < end; i++) {
    let g = grams.extend(-1, lemma[i]!)
    visit(g, i, i)
    for (let j = i + 1; j < end && j - i < o.maxWords; j++) {
      if (lines.position[j]! - lines.position[i]! >= o.window) break
      let repeated = false
      for (let k = i; k < j && !repeated; k++) repeated = lemma[k] === lemma[j]
      if (repeated) break
      g = grams.extend(g, lemma[j]!)
      visit(g, i, j)
    }
  }
}

/** Mine hyperword records from poems; `onLine` is called as lines are read (for progress). */
export const mine = (
  poems: ReadonlyArray<Poem>,
  lemmatizers: Partial<Record<Lang, Lemmatizer>>,
  options: Partial<MiningOptions> = {},
  onLine?: (done: number) => void
): { readonly records: Array<HyperwordRecord>; readonly summary: MiningSummary } => {
  const o: MiningOptions = { ...defaultMiningOptions, ...options }
  const lemmas = new Interner()
  const image: Array<boolean> = []
  const surfaceIds = new Map<string, number>()
  const surfaces: Array<string> = []
  const surfaceLang: Array<Lang> = []
  /** The lemma id of each surface form; `stop` for a stopword, `unknown` when not in the dictionary. */
  const surfaceLemma: Array<number> = []
  const surfaceCount: Array<number> = []
  const stop = -1
  const unknown = -2
  const lemmaId = (lang: Lang, a: Analysis): number => {
    if (isStopword(lang, a.lemma)) return stop
    const id = lemmas.id(a.lemma)
    if (id >= lemmaBound) throw new Error(`more than ${lemmaBound} distinct lemmas`)
    if (image[id] !== true) image[id] = isImageWord(lang, a.lemma, a.pos)
    return id
  }
  const contentLemma = (lang: Lang, lem: Lemmatizer, w: string): number => {
    if (w.length < 2 || isStopword(lang, w)) return stop // one letter is no image word
    const a = lem.lookup(w)
    return a === undefined ? unknown : lemmaId(lang, a)
  }
  const byLang = new Map<Lang, Lines>()
  const seen = new Set<string>()
  let lineCount = 0
  let duplicates = 0

  // 1. words, lemmas and content tokens of every distinct line
  const segmenters = new Map<Lang, WordSegmenter>()
  for (const poem of poems) {
    const lem = lemmatizers[poem.lang]
    if (lem === undefined) continue
    let seg = segmenters.get(poem.lang)
    if (seg === undefined) {
      seg = new WordSegmenter(poem.lang)
      segmenters.set(poem.lang, seg)
    }
    let lines = byLang.get(poem.lang)
    if (lines === undefined) {
      lines = new Lines()
      byLang.set(poem.lang, lines)
    }
    const poemWords = seg.lines(poem.lines.map((l) => l.text))
    for (let p = 0; p < poem.lines.length; p++) {
      const { line, text } = poem.lines[p]!
      lineCount++
      if (onLine && lineCount % 2000 === 0) onLine(lineCount)
      const words = poemWords[p]!
      const signature = `${poem.lang}|${words.join(" ")}`
      if (seen.has(signature)) {
        duplicates++
        continue
      }
      seen.add(signature)
      let position = 0
      for (const w of words) {
        position++
        if (w === undefined) {
          position += o.window // a foreign word or a number separates what is around it
          continue
        }
        let sid = surfaceIds.get(w)
        if (sid === undefined) {
          sid = surfaces.length
          surfaceIds.set(w, sid)
          surfaces.push(w)
          surfaceLang.push(poem.lang)
          surfaceLemma.push(contentLemma(poem.lang, lem, w))
          surfaceCount.push(0)
        }
        if (surfaceLemma[sid] === stop) continue
        surfaceCount[sid]!++
        lines.surface.push(sid)
        lines.position.push(position)
      }
      lines.start.push(lines.surface.length)
      lines.doc.push(poem.doc)
      lines.lineNo.push(line)
      lines.text.push(text)
    }
  }
  onLine?.(lineCount)

  // words the dictionary lacks: guessed when frequent enough to matter, else their own lemma
  for (let sid = 0; sid < surfaces.length; sid++) {
    if (surfaceLemma[sid] !== unknown) continue
    const lang = surfaceLang[sid]!
    const w = surfaces[sid]!
    const guess = surfaceCount[sid]! >= o.minCount ? lemmatizers[lang]!.analyse(w) : undefined
    // the word itself is no stopword, so neither is it when a guess says so
    const a = guess === undefined || isStopword(lang, guess.lemma) ? { lemma: w, pos: undefined } : guess
    surfaceLemma[sid] = lemmaId(lang, a)
  }
  for (const lines of byLang.values()) {
    for (const sid of lines.surface) lines.lemma.push(surfaceLemma[sid]!)
  }

  // 2. counts of every run (single words included), once per distinct line
  const clusters: Array<Cluster> = []
  const tokens: Record<string, number> = {}
  let candidates = 0
  const gramsByLang = new Map<Lang, Grams>()
  const accepted = new Map<Lang, Map<number, Cluster>>()
  for (const [lang, lines] of [...byLang].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const n = lines.lemma.length
    tokens[lang] = n
    const grams = new Grams()
    gramsByLang.set(lang, grams)
    for (let l = 0; l < lines.size; l++) {
      eachRun(lines, l, grams, o, (g) => {
        grams.count[g]!++
      })
    }

    // 3. scores at the weakest split; filters
    const kept = new Map<number, Cluster>()
    accepted.set(lang, kept)
    for (let g = 0; g < grams.count.length; g++) {
      if (grams.length[g]! < 2) continue
      candidates++
      const count = grams.count[g]!
      if (count < o.minCount) continue
      const ids = grams.lemmas(g)
      if (!ids.some((id) => image[id])) continue
      let worstNpmi = 1
      let worstLlr = Number.POSITIVE_INFINITY
      for (let s = 1; s < ids.length; s++) {
        const left = grams.count[grams.find(ids, 0, s)]!
        const right = grams.count[grams.find(ids, s)]!
        worstNpmi = Math.min(worstNpmi, npmi(count, left, right, n))
        worstLlr = Math.min(worstLlr, logLikelihood(count, left, right, n))
      }
      if (worstNpmi < o.minNpmi || worstLlr < o.minLlr) continue
      const c: Cluster = { lang, ids, count, npmi: worstNpmi, llr: worstLlr }
      clusters.push(c)
      kept.set(g, c)
    }
  }

  // 4. surface forms and evidence of accepted clusters, in corpus order
  const forms = new Map<Cluster, Map<string, number>>()
  const evidence = new Map<Cluster, Array<{ doc: string; line: number; text: string }>>()
  for (const [lang, lines] of byLang) {
    const grams = gramsByLang.get(lang)!
    const kept = accepted.get(lang)!
    for (let l = 0; l < lines.size; l++) {
      eachRun(lines, l, grams, o, (g, from, to) => {
        const c = kept.get(g)
        if (c === undefined) return
        let form = String(lines.surface[from])
        for (let i = from + 1; i <= to; i++) form += `,${lines.surface[i]}`
        let f = forms.get(c)
        if (f === undefined) {
          f = new Map()
          forms.set(c, f)
        }
        f.set(form, (f.get(form) ?? 0) + 1)
        let ev = evidence.get(c)
        if (ev === undefined) {
          ev = []
          evidence.set(c, ev)
        }
        if (ev.length < o.maxEvidence && !ev.some((e) => e.doc === lines.doc[l])) {
          ev.push({ doc: lines.doc[l]!, line: lines.lineNo[l]!, text: lines.text[l]! })
        }
      })
    }
  }

  const records: Array<HyperwordRecord> = clusters.map((c) => {
    let best = ""
    let bestCount = 0
    for (const [form, n] of forms.get(c) ?? []) {
      if (n > bestCount || (n === bestCount && form < best)) {
        best = form
        bestCount = n
      }
    }
    const parts = best.split(",").map((id) => surfaces[Number(id)]!)
    return {
      id: `${c.lang}:${parts.join("+")}`,
      surface: parts.join(""),
      lang: c.lang,
      parts: parts as [string, ...Array<string>],
      lemmas: c.ids.map((id) => lemmas.values[id]!),
      origin: "mined" as const,
      evidence: evidence.get(c) ?? [],
      stats: { count: c.count, npmi: round(c.npmi, 4), llr: round(c.llr, 2) }
    }
  })
  records.sort(compareRecords)
  const byLangCount: Record<string, number> = {}
  for (const r of records) byLangCount[r.lang] = (byLangCount[r.lang] ?? 0) + 1
  return {
    records,
    summary: { lines: lineCount, duplicateLines: duplicates, tokens, candidates, records: byLangCount }
  }
}

const round = (x: number, digits: number): number => {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

/** The order of mined records: by language, then most frequent, then most associated, then id. */
export const compareRecords = (a: HyperwordRecord, b: HyperwordRecord): number =>
  a.lang !== b.lang
    ? a.lang < b.lang
      ? -1
      : 1
    : (b.stats?.count ?? 0) - (a.stats?.count ?? 0) ||
      (b.stats?.llr ?? 0) - (a.stats?.llr ?? 0) ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
