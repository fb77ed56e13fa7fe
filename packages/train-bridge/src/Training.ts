/**
 * What the fine-tune learns from, built from the hyperword set: poetry lines with each mined
 * hyperword's span fused into its one word, and the generated scenes followed by their word.
 * Held-out poetry comes from the generate stage's `PoetrySplit` (whole documents, deduplicated
 * across corpora, never mined); without one, a share of the evidence documents (or of the scenes,
 * when there is no poetry) is held out by a stable hash, as before the split existed.
 *
 * The arms of the experiment see the same lines and differ in one thing each:
 * - `hyperwords`: image spans fused into their hyperword, which becomes an added token;
 * - `control`: the same lines with the spans left as plain words, and no added tokens;
 * - `placebo`: the control's lines with as many added tokens, each fused from a random n-gram of
 *   the training lines that is not an image, of the same number of words and the nearest
 *   frequency (see `placeboWords`);
 * - `superwords`: the control's lines, plain text, with superword tokens (spans the tokenizer finds
 *   in that text; chosen by the fine-tune stage, see `Superwords.ts`) — the same text as the
 *   control, read with a larger vocabulary.
 */
import { createHash } from "node:crypto"
import type { HyperwordRecord } from "@hyperwords/core/Artifacts"

/** An arm of the experiment. */
export type Arm = "hyperwords" | "control" | "placebo" | "superwords"
export const arms: ReadonlyArray<Arm> = ["hyperwords", "control", "placebo", "superwords"]

/** A word that becomes an added token: its surface and the parts its row starts from. */
export interface TokenWord {
  readonly surface: string
  readonly parts: ReadonlyArray<string>
}

/** A held-out poetry document, as the `PoetrySplit` artifact holds it. */
export interface HeldoutDoc {
  readonly doc: string
  readonly lines: ReadonlyArray<{ readonly line: number; readonly text: string }>
}

/** The texts of one fine-tune. */
export interface TrainingTexts {
  readonly arm: Arm
  /** Lines to train on (hyperword or placebo spans fused, by arm). */
  readonly train: ReadonlyArray<string>
  /** Held-out lines, unchanged (never trained on). */
  readonly heldout: ReadonlyArray<string>
  /** The document (index into `heldoutDocNames`) of each held-out line. */
  readonly heldoutDocs: ReadonlyArray<number>
  readonly heldoutDocNames: ReadonlyArray<string>
  /** What the held-out lines are: real poetry, or (with no poetry at all) generated scenes. */
  readonly heldoutSource: "poetry" | "scenes"
  /** The words that become tokens (none for the control). */
  readonly hyperwords: ReadonlyArray<TokenWord>
  /** Placebo arm: each placebo word with its n-gram's frequency and the hyperword it stands for. */
  readonly placebo?: ReadonlyArray<{
    readonly surface: string
    readonly count: number
    readonly matches: string
    readonly matchCount: number
  }>
  /** How the train lines came about. */
  readonly counts: {
    readonly fusedLines: number
    readonly appendedLines: number
    readonly scenes: number
    readonly heldoutDocs: number
    /** Train lines that hold an added token (hyperword or placebo). */
    readonly linesWithTokens: number
  }
}

/** Options of the texts. */
export interface TrainingOptions {
  /** Share of documents (or, with no poetry, of generated scenes) held out, 0–0.5 (default 0.1); unused with `heldoutPoetry`. */
  readonly heldoutFraction?: number
  /** Salt of the split and of the placebo's draw (default 0). */
  readonly seed?: number
  /** The arm (default `hyperwords`). */
  readonly arm?: Arm
  /** Held-out poetry documents from the generate stage's split (replaces the hashed share). */
  readonly heldoutPoetry?: ReadonlyArray<HeldoutDoc>
  /** At most this many held-out lines: each document's opening passage, as long as fits (default all). */
  readonly maxHeldoutLines?: number
  /**
   * The training documents of the split: each of their lines that holds a hyperword's span is
   * trained on (spans fused, by arm), not only the few evidence lines a record keeps.
   */
  readonly trainPoetry?: ReadonlyArray<HeldoutDoc>
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/**
 * A line with the hyperword's parts, found in order and separated only by spaces, hyphens, dashes
 * or commas, replaced by its surface; `undefined` when the parts are not adjacent in the line.
 */
export const fuseLine = (line: string, parts: ReadonlyArray<string>, surface: string): string | undefined => {
  const between = "[\\s,\\-\u2010-\u2014]+"
  const re = new RegExp(`(?<![\\p{L}\\p{N}])${parts.map(escapeRegExp).join(between)}(?![\\p{L}\\p{N}])`, "iu")
  const m = re.exec(line)
  if (m === null) return undefined
  return line.slice(0, m.index) + surface + line.slice(m.index + m[0].length)
}

/** Whether a key falls in the held-out share (a stable hash, independent of order). */
export const isHeldOut = (key: string, fraction: number, seed = 0): boolean => {
  const h = createHash("sha256").update(`${seed}\0${key}`).digest()
  return h.readUInt32BE(0) / 2 ** 32 < fraction
}

const wordRe = /[\p{L}\p{N}]+(?:['\u2019][\p{L}\p{N}]+)*/gu

/** The n-grams of `n` words of a line, each separated from the next by spaces only, lower case. */
const ngramsOf = (line: string, n: number): Array<Array<string>> => {
  const words = [...line.matchAll(wordRe)]
  const out: Array<Array<string>> = []
  for (let i = 0; i + n <= words.length; i++) {
    let ok = true
    for (let k = i; k < i + n - 1; k++) {
      const a = words[k]!
      const gap = line.slice(a.index + a[0].length, words[k + 1]!.index)
      if (!/^ +$/.test(gap)) ok = false
    }
    if (ok) out.push(words.slice(i, i + n).map((w) => w[0].toLowerCase()))
  }
  return out
}

/** A stable pseudo-random order key. */
const hashKey = (s: string): number => createHash("sha256").update(s).digest().readUInt32BE(0)

/**
 * The placebo's words: for each hyperword (in a stable order), an n-gram of the control's
 * training lines with as many words as the hyperword has parts, whose count of lines is the
 * nearest to the number of training lines that hold the hyperword, in a seeded order among equals.
 * Never an image: no n-gram that is or holds a hyperword's span, and n-grams with no word of any
 * image first (those with image words only once these run out); each n-gram is used once, and one
 * that shares no word with an earlier placebo is preferred. Where two placebos still overlap in a
 * line the first fused wins, so `trainingTexts` reports how often each is used after fusion.
 */
export const placeboWords = (
  hyperwords: ReadonlyArray<{
    readonly surface: string
    readonly parts: ReadonlyArray<string>
    readonly lemmas?: ReadonlyArray<string>
    readonly count: number
  }>,
  controlLines: ReadonlyArray<string>,
  seed = 0
): Array<{ surface: string; parts: Array<string>; count: number; matches: string; matchCount: number }> => {
  // words compared by a short stem, so that an inflected image ("тёмного леса" for "тёмный лес")
  // is still an image: over-matching only ever rules an n-gram out
  const stem = (w: string) => w.toLowerCase().slice(0, 4)
  const images = hyperwords.flatMap((h) => [
    h.parts,
    ...(h.lemmas && h.lemmas.length === h.parts.length ? [h.lemmas] : [])
  ])
  const imageWords = new Set(images.flat().map(stem))
  const imageKeys = new Set(images.map((p) => p.map(stem).join(" ")))
  /** Whether the words are, or hold, an image span. */
  const holdsImage = (words: ReadonlyArray<string>) => {
    const stems = words.map(stem)
    for (let i = 0; i < stems.length; i++)
      for (let j = i + 2; j <= stems.length; j++) if (imageKeys.has(stems.slice(i, j).join(" "))) return true
    return false
  }
  // a placebo must be a new word: not a word the lines already have ("in to" would make "into")
  const lineWords = new Set(
    controlLines.flatMap((l) => [...l.matchAll(wordRe)].map((w) => w[0].toLowerCase()))
  )
  const surfaces = new Set(hyperwords.map((h) => h.surface.toLowerCase()))
  // per length and tier, n-grams in buckets by their count of lines, each bucket in a seeded order:
  // tier 0 holds no word of any image; tier 1 (used when tier 0 runs out) holds image words but no image span
  const byLength = new Map<string, Map<number, Array<string>>>()
  for (const n of new Set(images.map((p) => p.length))) {
    const counts = new Map<string, number>()
    for (const line of controlLines) {
      for (const g of new Set(ngramsOf(line, n).map((w) => w.join(" "))))
        counts.set(g, (counts.get(g) ?? 0) + 1)
    }
    const tiers = [
      new Map<number, Array<{ g: string; key: number }>>(),
      new Map<number, Array<{ g: string; key: number }>>()
    ]
    for (const [g, c] of counts) {
      const words = g.split(" ")
      if (surfaces.has(words.join("")) || lineWords.has(words.join("")) || holdsImage(words)) continue
      const buckets = tiers[words.some((w) => imageWords.has(stem(w))) ? 1 : 0]!
      const bucket = buckets.get(c) ?? []
      bucket.push({ g, key: hashKey(`${seed}\0${g}`) })
      buckets.set(c, bucket)
    }
    for (const [tier, buckets] of tiers.entries())
      byLength.set(
        `${n}:${tier}`,
        new Map([...buckets].map(([c, list]) => [c, list.sort((a, b) => a.key - b.key).map((x) => x.g)]))
      )
  }
  const usedWords = new Set<string>()
  /** The next n-gram of a bucket that shares no word with a placebo before it (else the next), taken out of it. */
  const take = (bucket: Array<string> | undefined): string | undefined => {
    if (bucket === undefined || bucket.length === 0) return undefined
    const limit = Math.min(bucket.length, 500)
    for (let i = 0; i < limit; i++)
      if (!bucket[i]!.split(" ").some((w) => usedWords.has(w))) return bucket.splice(i, 1)[0]
    return bucket.shift()
  }
  const out: Array<{
    surface: string
    parts: Array<string>
    count: number
    matches: string
    matchCount: number
  }> = []
  const order = [...hyperwords].sort(
    (a, b) => hashKey(`${seed}\0${a.surface}`) - hashKey(`${seed}\0${b.surface}`)
  )
  for (const h of order) {
    let g: string | undefined
    let c = 0
    for (const tier of [0, 1]) {
      const buckets = byLength.get(`${h.parts.length}:${tier}`)
      if (buckets === undefined) continue
      const counts = [...buckets.keys()].filter((k) => buckets.get(k)!.length > 0)
      // nearest count first; between two equally near, the smaller
      counts.sort((a, b) => Math.abs(a - h.count) - Math.abs(b - h.count) || a - b)
      for (c of counts) {
        g = take(buckets.get(c))
        if (g !== undefined) break
      }
      if (g !== undefined) break
    }
    if (g === undefined) continue
    const parts = g.split(" ")
    for (const w of parts) usedWords.add(w)
    out.push({ surface: parts.join(""), parts, count: c, matches: h.surface, matchCount: h.count })
  }
  return out
}

/** Every span of `parts` in a line fused into `surface` (the first only: `fuseLine`, repeated). */
const fuseAll = (line: string, parts: ReadonlyArray<string>, surface: string): string => {
  let out = line
  for (let i = 0; i < 8; i++) {
    const next = fuseLine(out, parts, surface)
    if (next === undefined || next === out) break
    out = next
  }
  return out
}

/** A function fusing every span of the hyperwords in a line (longest hyperwords first). */
export const spanFuser = (hyperwords: ReadonlyArray<TokenWord>): ((line: string) => string) => {
  const byFirst = new Map<string, Array<TokenWord>>()
  for (const h of [...hyperwords].sort((a, b) => b.parts.length - a.parts.length)) {
    const first = h.parts[0]!.toLowerCase()
    byFirst.set(first, [...(byFirst.get(first) ?? []), h])
  }
  return (line) => {
    const candidates = new Set<TokenWord>()
    for (const w of line.matchAll(wordRe))
      for (const h of byFirst.get(w[0].toLowerCase()) ?? []) candidates.add(h)
    let fused = line
    for (const h of candidates) fused = fuseAll(fused, h.parts, h.surface)
    return fused
  }
}

/** Every line of the documents that holds a span of a hyperword, with its spans fused (longest first). */
export const linesWithSpans = (
  docs: ReadonlyArray<HeldoutDoc>,
  hyperwords: ReadonlyArray<TokenWord>
): Array<{ fused: string; plain: string }> => {
  const fuse = spanFuser(hyperwords)
  const out: Array<{ fused: string; plain: string }> = []
  for (const d of docs) {
    for (const l of d.lines) {
      const plain = l.text.trim()
      if (plain === "") continue
      const fused = fuse(plain)
      if (fused !== plain) out.push({ fused, plain })
    }
  }
  return out
}

/** Build the training and held-out texts of a hyperword set, for one arm. */
export const trainingTexts = (
  records: ReadonlyArray<HyperwordRecord>,
  options: TrainingOptions = {}
): TrainingTexts => {
  const fraction = options.heldoutFraction ?? 0.1
  if (!(fraction >= 0 && fraction <= 0.5))
    throw new RangeError(`heldoutFraction ${fraction} is outside 0..0.5`)
  const seed = options.seed ?? 0
  const arm = options.arm ?? "hyperwords"
  const given = options.heldoutPoetry
  const hasPoetry = records.some((r) => (r.evidence ?? []).length > 0)
  const givenDocs = new Set((given ?? []).map((d) => d.doc))
  const heldOutDoc = (doc: string) =>
    given === undefined ? isHeldOut(doc, fraction, seed) : givenDocs.has(doc)
  // each control line (spans as plain words) and beside it the hyperwords arm's: the same line with
  // every span fused. Keyed by the control's line, so the two arms train on the same lines, one for one.
  const pairs = new Map<string, string>()
  const heldout = new Map<string, string>()
  let fusedLines = 0
  let appendedLines = 0
  let scenes = 0
  const words = new Map<string, ReadonlyArray<string>>()
  for (const r of records) words.set(r.surface, r.parts)
  const fuse = spanFuser([...words].map(([surface, parts]) => ({ surface, parts })))
  const add = (plain: string, tuned: string) => {
    if (!pairs.has(plain)) pairs.set(plain, tuned)
  }
  for (const r of records) {
    const plainWord = r.parts.join(" ")
    for (const e of r.evidence ?? []) {
      const line = e.text.trim()
      if (line === "") continue
      if (heldOutDoc(e.doc)) {
        if (given === undefined && !heldout.has(line)) heldout.set(line, e.doc)
        continue
      }
      if (fuseLine(line, r.parts, r.surface) !== undefined) {
        if (!pairs.has(line)) fusedLines++
        add(line, fuse(line))
      } else {
        // the parts are apart in the line: the word follows it
        const plain = `${line} — ${plainWord}`
        if (!pairs.has(plain)) appendedLines++
        add(plain, `${fuse(line)} — ${r.surface}`)
      }
    }
    if (r.origin === "generated" && r.gloss !== undefined && r.gloss.trim() !== "") {
      const scene = r.gloss.trim()
      // with no poetry, a share of the scenes is what the held-out check reads
      if (given === undefined && !hasPoetry && isHeldOut(`scene:${r.id}`, fraction, seed)) {
        heldout.set(scene, `scene:${r.id}`)
        continue
      }
      const plain = `${scene} — ${plainWord}`
      if (!pairs.has(plain)) scenes++
      add(plain, `${scene} — ${r.surface}`)
    }
  }
  for (const d of options.trainPoetry ?? []) {
    if (heldOutDoc(d.doc)) continue
    for (const l of d.lines) {
      const line = l.text.trim()
      if (line === "" || pairs.has(line)) continue
      const fused = fuse(line)
      if (fused === line) continue
      fusedLines++
      add(line, fused)
    }
  }
  if (given !== undefined) {
    for (const d of given)
      for (const l of d.lines)
        if (l.text.trim() !== "" && !heldout.has(l.text.trim())) heldout.set(l.text.trim(), d.doc)
  }
  // at most maxHeldoutLines: the opening passage of every held-out document, as long as the
  // budget allows (many documents with a few lines each: the CI resamples documents)
  let held = [...heldout]
  if (options.maxHeldoutLines !== undefined && held.length > options.maxHeldoutLines) {
    const byDoc = new Map<string, Array<[string, string]>>()
    for (const entry of held) byDoc.set(entry[1], [...(byDoc.get(entry[1]) ?? []), entry])
    const docs = [...byDoc.keys()].sort((a, b) => hashKey(`${seed}\0${a}`) - hashKey(`${seed}\0${b}`))
    // the largest per-document passage whose total fits (at least one line from as many documents as fit)
    const total = (k: number) => docs.reduce((n, d) => n + Math.min(k, byDoc.get(d)!.length), 0)
    let k = 1
    while (total(k + 1) <= options.maxHeldoutLines && total(k + 1) > total(k)) k++
    held = []
    for (const d of docs) {
      if (held.length >= options.maxHeldoutLines) break
      held.push(...byDoc.get(d)!.slice(0, Math.min(k, options.maxHeldoutLines - held.length)))
    }
  }
  const heldSet = new Set(held.map(([line]) => line))
  const docNames = [...new Set(held.map(([, doc]) => doc))]
  const docIndex = new Map(docNames.map((d, i) => [d, i]))

  const hyperwords = [...words].map(([surface, parts]) => ({ surface, parts }))
  const kept = [...pairs].filter(([plain, tuned]) => !heldSet.has(plain) && !heldSet.has(tuned))
  const tunedLines = kept.map(([, tuned]) => tuned)
  const controlLines = kept.map(([plain]) => plain)
  let train: Array<string>
  let tokens: ReadonlyArray<TokenWord>
  let placebo: TrainingTexts["placebo"]
  if (arm === "hyperwords") {
    train = tunedLines
    tokens = hyperwords
  } else if (arm === "control" || arm === "superwords") {
    // the superwords arm's tokens are spans of these very lines, chosen with the base tokenizer
    train = controlLines
    tokens = []
  } else {
    const tokensOf = (line: string) => [...line.matchAll(wordRe)].map((w) => w[0])
    const lineCount = new Map<string, number>()
    for (const t of tunedLines)
      for (const w of new Set(tokensOf(t))) lineCount.set(w, (lineCount.get(w) ?? 0) + 1)
    const lemmasOf = new Map(records.map((r) => [r.surface, r.lemmas]))
    const counts = hyperwords.map((h) => ({
      ...h,
      lemmas: lemmasOf.get(h.surface) ?? [],
      count: lineCount.get(h.surface) ?? 0
    }))
    let words = placeboWords(counts, controlLines, seed)
    const fused = new Map(
      linesWithSpans([{ doc: "", lines: controlLines.map((text, i) => ({ line: i, text })) }], words).map(
        (x) => [x.plain, x.fused] as const
      )
    )
    train = controlLines.map((line) => fused.get(line.trim()) ?? line)
    tokens = words.map((w) => ({ surface: w.surface, parts: w.parts }))
    const used = new Map<string, number>()
    for (const t of train) for (const w of new Set(tokensOf(t))) used.set(w, (used.get(w) ?? 0) + 1)
    words = words.map((w) => ({ ...w, count: used.get(w.surface) ?? 0 }))
    placebo = words.map(({ surface, count, matches, matchCount }) => ({
      surface,
      count,
      matches,
      matchCount
    }))
  }
  const surfaces = new Set(tokens.map((t) => t.surface))
  const linesWithTokens = train.filter((t) => [...t.matchAll(wordRe)].some((w) => surfaces.has(w[0]))).length
  return {
    arm,
    train,
    heldout: held.map(([line]) => line),
    heldoutDocs: held.map(([, doc]) => docIndex.get(doc)!),
    heldoutDocNames: docNames,
    heldoutSource: given !== undefined || hasPoetry ? "poetry" : "scenes",
    hyperwords: tokens,
    ...(placebo === undefined ? {} : { placebo }),
    counts: { fusedLines, appendedLines, scenes, heldoutDocs: docNames.length, linesWithTokens }
  }
}
