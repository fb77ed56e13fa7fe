/**
 * Superwords: hyperwords that the tokenizer finds in running text. A superword is an added token
 * whose text is a span of words as poetry writes it (` warm purring lap`, leading space included),
 * so plain text is encoded with it and decoded back byte for byte: the model reads and writes the
 * image as one token, where a fused hyperword (`warmpurringlap`) never occurs in natural text.
 *
 * Candidates are the exact surface forms of word n-grams in the training lines (case and inflection
 * kept: each form seen is its own token, so Russian inflections need no lemmatiser). Forms that the
 * base tokenizer already reads as one token save nothing and are never candidates. K are chosen by
 * a criterion:
 * - `saving`: expected tokens saved on text like the training text, count × (pieces − 1);
 * - `greedy`: the tokens saved beyond the superwords already chosen, one at a time, as BPE chooses
 *   its merges (overlapping forms no longer share their occurrences; `GreedySuperwords.ts`);
 * - `association`: frequency × association, count × NPMI of the n-gram against its words;
 * - `hyperwords`: the mined image spans only (the hyperword set's records), by count.
 */

/** How the K superwords are chosen. */
export type SuperwordCriterion = "saving" | "greedy" | "association" | "hyperwords"
export const superwordCriteria: ReadonlyArray<SuperwordCriterion> = [
  "saving",
  "greedy",
  "association",
  "hyperwords"
]

/** A candidate form of a word n-gram, as the training lines write it. */
export interface SuperwordCandidate {
  /** The token's text: the span with the space before it when the line has one (` of the night`). */
  readonly surface: string
  /** Its words, lower-cased (the n-gram). */
  readonly words: ReadonlyArray<string>
  /** Occurrences of this exact form in the lines. */
  readonly count: number
  /** NPMI of the n-gram (all its forms) against its words' frequencies, in [-1, 1]. */
  readonly npmi: number
}

/** A chosen superword: the token's text, the words its row starts from, and why it was chosen. */
export interface Superword {
  readonly surface: string
  readonly parts: ReadonlyArray<string>
  readonly count: number
  readonly pieces: number
  readonly score: number
}

const wordRe = /[\p{L}\p{N}]+(?:['\u2019][\p{L}\p{N}]+)*/gu

/**
 * Calls `span` for every word n-gram of a line (2..maxWords words, a space or a hyphen between each
 * two): its surface (with the space before it when the line has one), its words lower-cased, and
 * the index of its first word in the line. `word` sees each word, lower-cased. Returns the line's
 * word count.
 */
export const forEachSpan = (
  line: string,
  maxWords: number,
  span: (surface: string, words: Array<string>, first: number) => void,
  word: (lower: string) => void = () => {}
): number => {
  const words = [...line.matchAll(wordRe)].map((m) => ({
    text: m[0],
    start: m.index,
    end: m.index + m[0].length
  }))
  for (const w of words) word(w.text.toLowerCase())
  for (let i = 0; i < words.length; i++) {
    const start = words[i]!.start
    const lead = start > 0 && line[start - 1] === " " ? " " : ""
    for (let n = 2; n <= maxWords && i + n <= words.length; n++) {
      const last = words[i + n - 1]!
      // the words must be one space or hyphen apart: "lap, at" is not a phrase the token should own
      const gap = line.slice(words[i + n - 2]!.end, last.start)
      if (gap !== " " && gap !== "-") break
      span(
        lead + line.slice(start, last.end),
        words.slice(i, i + n).map((w) => w.text.toLowerCase()),
        i
      )
    }
  }
  return words.length
}

/**
 * Every form of every word n-gram (2..maxWords words, a space or a hyphen between each two) in the
 * lines, with its count, and the n-gram's NPMI. Forms seen fewer than `minCount` times are dropped.
 */
export const superwordCandidates = (
  lines: ReadonlyArray<string>,
  options: { readonly maxWords?: number; readonly minCount?: number } = {}
): Array<SuperwordCandidate> => {
  const maxWords = options.maxWords ?? 4
  const minCount = options.minCount ?? 2
  if (!(Number.isInteger(maxWords) && maxWords >= 2)) throw new RangeError(`maxWords ${maxWords}: at least 2`)
  const forms = new Map<string, { words: Array<string>; count: number }>()
  const ngrams = new Map<string, number>()
  const unigrams = new Map<string, number>()
  let positions = 0
  for (const line of lines) {
    positions += forEachSpan(
      line,
      maxWords,
      (surface, lower) => {
        const entry = forms.get(surface)
        if (entry) entry.count++
        else forms.set(surface, { words: lower, count: 1 })
        const key = lower.join(" ")
        ngrams.set(key, (ngrams.get(key) ?? 0) + 1)
      },
      (word) => unigrams.set(word, (unigrams.get(word) ?? 0) + 1)
    )
  }
  const total = Math.max(1, positions)
  const npmiOf = (words: ReadonlyArray<string>): number => {
    const joint = (ngrams.get(words.join(" ")) ?? 0) / total
    if (joint <= 0) return -1
    if (joint >= 1) return 1
    const independent = words.reduce((acc, w) => acc + Math.log((unigrams.get(w) ?? 1) / total), 0)
    // PMI of n words is at most −(n−1)·log p(n-gram), reached when the words never occur apart
    const npmi = (Math.log(joint) - independent) / (-(words.length - 1) * Math.log(joint))
    return Math.max(-1, Math.min(1, npmi))
  }
  const out: Array<SuperwordCandidate> = []
  for (const [surface, { words, count }] of forms)
    if (count >= minCount) out.push({ surface, words, count, npmi: npmiOf(words) })
  return out
}

/**
 * The K superwords by a criterion. `pieces` gives how many base tokens a surface takes; a surface
 * of one piece is never chosen. `hyperwords` (the mined spans, as word lists) is what the
 * `hyperwords` criterion keeps. Ties break on the surface, so the choice is deterministic.
 */
export const selectSuperwords = (
  candidates: ReadonlyArray<SuperwordCandidate>,
  options: {
    readonly k: number
    readonly criterion: SuperwordCriterion
    readonly pieces: (surface: string) => number
    readonly hyperwords?: ReadonlyArray<ReadonlyArray<string>>
  }
): Array<Superword> => {
  if (!(Number.isInteger(options.k) && options.k >= 0))
    throw new RangeError(`k ${options.k}: a whole number ≥ 0`)
  if (!superwordCriteria.includes(options.criterion))
    throw new RangeError(`criterion "${options.criterion}": one of ${superwordCriteria.join(", ")}`)
  if (options.criterion === "greedy")
    throw new RangeError(`criterion "greedy" ranks the lines themselves: use greedySuperwords`)
  if (options.k === 0) return []
  const images = new Set(
    (options.hyperwords ?? []).map((parts) => parts.map((p) => p.toLowerCase()).join(" "))
  )
  const scored: Array<Superword> = []
  for (const c of candidates) {
    if (options.criterion === "hyperwords" && !images.has(c.words.join(" "))) continue
    if (options.criterion === "association" && !(c.npmi > 0)) continue
    const pieces = options.pieces(c.surface)
    if (pieces < 2) continue
    const score =
      options.criterion === "saving"
        ? c.count * (pieces - 1)
        : options.criterion === "association"
          ? c.count * c.npmi
          : c.count
    scored.push({ surface: c.surface, parts: c.words, count: c.count, pieces, score })
  }
  scored.sort((a, b) => b.score - a.score || (a.surface < b.surface ? -1 : a.surface > b.surface ? 1 : 0))
  return scored.slice(0, options.k)
}
