/**
 * Training and held-out poetry that is really held out. Before the split, every line of every
 * corpus is normalised (case, punctuation, whitespace, ё/е) and a line read before is dropped, so
 * the same poem in two corpora is read once. Documents that share a substantive line (the same
 * poem in two corpora, or a poem quoted in another) form one group, and whole groups are held out,
 * chosen by a stable hash of the group's first document. Groups that hold a pinned line (the
 * lines the evaluation's continue-the-line prompts quote) are always held out, together with every
 * document that shares a line with them. Last, a held-out line whose normalised form still occurs
 * in training (a short formula such as "O me!"), lies inside a training line (other line breaks) or
 * holds a whole training line is dropped from the held-out side: no normalised held-out line occurs
 * in, contains, or is contained by a training line (word 4-grams: see `leaks`).
 */
import { createHash } from "node:crypto"
import { normalizeLine } from "@hyperwords/core/Poetry"
import type { Poem } from "./Corpus.ts"

/** A line as the split compares it (core's `normalizeLine`: case, ё/е, punctuation, whitespace). */
export { normalizeLine }

/** Whether a normalised line says enough to tie two documents together (not a formula). */
const substantive = (normalized: string): boolean =>
  normalized.length >= 16 && normalized.split(" ").length >= 3

/** A line shared by more documents than this is a refrain or formula: it ties none of them. */
const maxSharing = 3

/** Whether a key falls in the held-out share (a stable hash, independent of order). */
export const inHeldOutShare = (key: string, fraction: number, seed = 0): boolean => {
  const h = createHash("sha256").update(`${seed}\0${key}`).digest()
  return h.readUInt32BE(0) / 2 ** 32 < fraction
}

/** Options of the split. */
export interface SplitOptions {
  /** Share of document groups held out, 0–0.5. */
  readonly fraction: number
  /** Salt of the split. */
  readonly seed?: number
  /** Lines whose documents are always held out (compared normalised). */
  readonly pinned?: ReadonlyArray<string>
}

/** The split and what it did. */
export interface PoetrySplitResult {
  readonly train: ReadonlyArray<Poem>
  readonly heldout: ReadonlyArray<Poem>
  readonly counts: {
    readonly docs: number
    readonly groups: number
    readonly trainDocs: number
    readonly heldoutDocs: number
    readonly trainLines: number
    readonly heldoutLines: number
    readonly duplicateLines: number
    readonly droppedHeldoutLines: number
    readonly pinnedDocs: number
  }
  readonly byLang: Readonly<Record<string, { trainDocs: number; heldoutDocs: number }>>
  /** Pinned lines found in no document (a prompt that quotes poetry the run did not read). */
  readonly unmatchedPinned: ReadonlyArray<string>
}

/** Split poems into training and held-out documents (see the module comment). */
export const splitPoetry = (poems: ReadonlyArray<Poem>, options: SplitOptions): PoetrySplitResult => {
  const { fraction } = options
  if (!(fraction >= 0 && fraction <= 0.5))
    throw new RangeError(`heldout fraction ${fraction} is outside 0..0.5`)
  const seed = options.seed ?? 0

  // every line normalised once
  const lineNorms = poems.map((poem) => poem.lines.map((l) => normalizeLine(l.text)))

  // 1. dedupe lines across every corpus, in reading order
  const seen = new Set<string>()
  let duplicateLines = 0
  const docs: Array<{ poem: Poem; norms: Array<string> }> = []
  poems.forEach((poem, i) => {
    const lines: Array<Poem["lines"][number]> = []
    const norms: Array<string> = []
    poem.lines.forEach((l, k) => {
      const n = lineNorms[i]![k]!
      if (n === "") return
      if (seen.has(n)) {
        duplicateLines++
        return
      }
      seen.add(n)
      lines.push(l)
      norms.push(n)
    })
    docs.push({ poem: lines.length === poem.lines.length ? poem : { ...poem, lines }, norms })
  })

  // 2. group documents that share a substantive line (read from the original, undeduplicated text)
  const parent = docs.map((_, i) => i)
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]!]!
      i = parent[i]!
    }
    return i
  }
  const holders = new Map<string, Array<number>>()
  lineNorms.forEach((norms, i) => {
    for (const n of norms) {
      if (!substantive(n)) continue
      const list = holders.get(n)
      if (list === undefined) holders.set(n, [i])
      else if (list[list.length - 1] !== i) list.push(i)
    }
  })
  // a pinned document (one a prompt quotes) is tied to every document that shares a line with it,
  // refrain or not: the lines after the quoted one must not be trained on anywhere
  const pinned = new Set((options.pinned ?? []).map(normalizeLine).filter((n) => n !== ""))
  const matched = new Set<string>()
  const pinnedDocIndexes = new Set<number>()
  lineNorms.forEach((norms, i) => {
    for (const n of norms) {
      if (pinned.has(n)) {
        pinnedDocIndexes.add(i)
        matched.add(n)
      }
    }
  })
  for (const list of holders.values()) {
    if (list.length < 2) continue
    if (list.length > maxSharing && !list.some((i) => pinnedDocIndexes.has(i))) continue
    for (const j of list.slice(1)) {
      const a = find(list[0]!)
      const b = find(j)
      if (a !== b) parent[Math.max(a, b)] = Math.min(a, b)
    }
  }

  // 3. hold out whole groups: by a hash of the group's first document, or because they are pinned
  const pinnedGroups = new Set<number>()
  for (const i of pinnedDocIndexes) pinnedGroups.add(find(i))
  const groupHeld = new Map<number, boolean>()
  for (let i = 0; i < docs.length; i++) {
    const g = find(i)
    if (!groupHeld.has(g))
      groupHeld.set(g, pinnedGroups.has(g) || inHeldOutShare(docs[g]!.poem.doc, fraction, seed))
  }

  // 4. no held-out line may occur in training, normalised
  const trainNorms = new Set<string>()
  // the original text of training documents, duplicates included: a line dropped as a duplicate still counts
  lineNorms.forEach((norms, i) => {
    if (!groupHeld.get(find(i))) for (const n of norms) trainNorms.add(n)
  })

  // a held-out line inside a training line (other line breaks), or one that holds a whole training
  // line, leaks as surely as an equal one: compared by word 4-grams
  const shingle = 4
  const trainShingles = new Set<string>()
  const trainLong = new Set<string>()
  for (const n of trainNorms) {
    const w = n.split(" ")
    if (w.length >= shingle) trainLong.add(n)
    for (let i = 0; i + shingle <= w.length; i++) trainShingles.add(w.slice(i, i + shingle).join(" "))
  }
  const leaks = (n: string): boolean => {
    if (trainNorms.has(n)) return true
    const w = n.split(" ")
    if (w.length < shingle) return false
    let inside = true
    for (let i = 0; i + shingle <= w.length && inside; i++)
      inside = trainShingles.has(w.slice(i, i + shingle).join(" "))
    if (inside) return true
    for (let i = 0; i < w.length; i++)
      for (let j = i + shingle; j <= w.length; j++) if (trainLong.has(w.slice(i, j).join(" "))) return true
    return false
  }

  const train: Array<Poem> = []
  const heldout: Array<Poem> = []
  const byLang: Record<string, { trainDocs: number; heldoutDocs: number }> = {}
  let droppedHeldoutLines = 0
  let pinnedDocs = 0
  let trainLines = 0
  let heldoutLines = 0
  docs.forEach(({ poem, norms }, i) => {
    const g = find(i)
    if (byLang[poem.lang] === undefined) byLang[poem.lang] = { trainDocs: 0, heldoutDocs: 0 }
    const lang = byLang[poem.lang]!
    if (!groupHeld.get(g)) {
      if (poem.lines.length === 0) return
      train.push(poem)
      trainLines += poem.lines.length
      lang.trainDocs++
      return
    }
    if (pinnedGroups.has(g)) pinnedDocs++
    const kept = poem.lines.filter((_, k) => !leaks(norms[k]!))
    droppedHeldoutLines += poem.lines.length - kept.length
    if (kept.length === 0) return
    heldout.push(kept.length === poem.lines.length ? poem : { ...poem, lines: kept })
    heldoutLines += kept.length
    lang.heldoutDocs++
  })
  return {
    train,
    heldout,
    counts: {
      docs: poems.length,
      groups: groupHeld.size,
      trainDocs: train.length,
      heldoutDocs: heldout.length,
      trainLines,
      heldoutLines,
      duplicateLines,
      droppedHeldoutLines,
      pinnedDocs
    },
    byLang,
    unmatchedPinned: [...pinned].filter((n) => !matched.has(n))
  }
}
