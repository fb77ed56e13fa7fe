/**
 * The poem retrieval task of `resonance` (issue 13): real poems, human norms, no synthetic text.
 *
 * Each poem gives one item: its first eight lines with words (`half` = 4 lines a side). The
 * request is made from the first four lines: their content words that carry a human sensory norm
 * (and that the norms allow as request words, e.g. not the estimator's own anchors) with a
 * strongest channel at or above the scale's midpoint (`minStrength`), the
 * `requestWords` (4) of strongest norm, at least `minRequest` (2). The positive is the poem's next
 * four lines; the negatives are the same four lines of `negatives` (50) other poems of the sample. The request's
 * words are removed (stem-matched, as the metric does) from every candidate, positive and negatives
 * alike, so no candidate is matched on the words the request names. The request's dominant channel
 * is the largest channel of its words' mean norm profile. Pure: readers of the shared data and the
 * scoring live in `PoemValidation.ts`.
 */

import { Degenerate, Stats } from "@hyperwords/eval"
import type { Channel, Lang } from "@hyperwords/eval/Sdk"

/** Human sensory norms as the task reads them. */
export interface TaskNorms {
  /** The channels the norms rate, in the order of each word's values. */
  readonly channels: ReadonlyArray<Channel>
  /** The norm values of a (folded, lowercased) text word, if the norms rate it. */
  readonly lookup: (word: string) => ReadonlyArray<number> | undefined
  /** Whether a normed word may be a request word (default: all may). */
  readonly allowed?: (word: string) => boolean
  /** The least strongest-channel value of a request word (default 0): the scale's midpoint makes it a sensory word. */
  readonly minStrength?: number
}

/** One poem of the task. */
export interface PoemItem {
  readonly id: string
  /** The request's words, strongest norm first. */
  readonly request: ReadonlyArray<string>
  /** The dominant channel of the request's mean norm profile. */
  readonly channel: Channel
  /** The poem's own next lines, the request's words removed. */
  readonly positive: string
  /** Other poems' lines, the request's words removed. */
  readonly negatives: ReadonlyArray<{ readonly id: string; readonly text: string }>
}

/** Options of the task builder. */
export interface PoemTaskOptions {
  readonly lang: Lang
  /** Poems in the sample (default 300), drawn by a seeded shuffle of the eligible ones. */
  readonly poems?: number
  readonly seed?: number
  /** Lines on each side (default 4). */
  readonly half?: number
  readonly requestWords?: number
  readonly minRequest?: number
  /** Negatives per poem (default 50), drawn by a seeded shuffle of the other sampled poems. */
  readonly negatives?: number
  /** Content words the positive must keep after the request's words are removed (default 3). */
  readonly minOwn?: number
}

/** Content-bearing lines: non-empty lines with a word of the language's script. */
export const poemLines = (text: string, lang: Lang): Array<string> =>
  text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => (lang === "ru" ? /\p{Script=Cyrillic}/u : /\p{Script=Latin}/u).test(l))

/** A text with the words a request gave removed (stem-matched, as the metric leaves them out). */
export const withoutRequest = (text: string, request: ReadonlyArray<string>): string => {
  const given = Degenerate.givenByPrompt({ request: request.join(" ") })
  return text
    .split("\n")
    .map((line) =>
      [...new Intl.Segmenter(undefined, { granularity: "word" }).segment(line)]
        .map((s) => (s.isWordLike && given(s.segment) ? "" : s.segment))
        .join("")
        .replace(/\s+/g, " ")
        .trim()
    )
    .join("\n")
}

/** A seeded Fisher–Yates shuffle (a copy). */
const shuffled = <A>(xs: ReadonlyArray<A>, rng: () => number): Array<A> => {
  const out = [...xs]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

/** The request of some lines: their normed, allowed content words, strongest norm first. */
export const requestOf = (
  words: ReadonlyArray<string>,
  norms: TaskNorms,
  count: number
): { readonly words: Array<string>; readonly channel: Channel } | undefined => {
  const strength = new Map<string, ReadonlyArray<number>>()
  for (const w of words) {
    const v = norms.lookup(w)
    if (v !== undefined && Math.max(...v) >= (norms.minStrength ?? 0) && (norms.allowed?.(w) ?? true))
      strength.set(w, v)
  }
  const top = [...strength.keys()]
    .sort((a, b) => Math.max(...strength.get(b)!) - Math.max(...strength.get(a)!) || (a < b ? -1 : 1))
    .slice(0, count)
  if (top.length === 0) return undefined
  const mean = norms.channels.map((_, k) => Stats.mean(top.map((w) => strength.get(w)![k]!)))
  let best = 0
  mean.forEach((v, k) => {
    if (v > mean[best]!) best = k
  })
  return { words: top, channel: norms.channels[best]! }
}

/**
 * The task: one item per sampled poem. `poems` are the texts with ids (duplicates by first line
 * are read once); `words` gives a line's content words (the metric's reader).
 */
export const buildPoemTask = (
  poems: ReadonlyArray<{ readonly id: string; readonly text: string }>,
  norms: TaskNorms,
  words: (text: string) => ReadonlyArray<string>,
  options: PoemTaskOptions
): Array<PoemItem> => {
  const half = options.half ?? 4
  const seen = new Set<string>()
  const eligible: Array<{ id: string; request: Array<string>; channel: Channel; own: string }> = []
  for (const p of poems) {
    const lines = poemLines(p.text, options.lang)
    if (lines.length < 2 * half) continue
    const key = words(lines[0]!).join(" ")
    if (seen.has(key)) continue
    seen.add(key)
    const r = requestOf(words(lines.slice(0, half).join("\n")), norms, options.requestWords ?? 4)
    if (r === undefined || r.words.length < (options.minRequest ?? 2)) continue
    const own = lines.slice(half, 2 * half).join("\n")
    if (words(withoutRequest(own, r.words)).length < (options.minOwn ?? 3)) continue
    eligible.push({ id: p.id, request: r.words, channel: r.channel, own })
  }
  const rng = Stats.makeRng(options.seed ?? 13)
  const sample = shuffled(eligible, rng).slice(0, options.poems ?? 300)
  return sample.map((p) => ({
    id: p.id,
    request: p.request,
    channel: p.channel,
    positive: withoutRequest(p.own, p.request),
    negatives: shuffled(
      sample.filter((q) => q.id !== p.id),
      rng
    )
      .slice(0, options.negatives ?? 50)
      .map((q) => ({ id: q.id, text: withoutRequest(q.own, p.request) }))
  }))
}

/** A poem's retrieval AUC: the share of its negatives its positive outscores (ties half). */
export const retrievalAuc = (positive: number, negatives: ReadonlyArray<number>): number =>
  negatives.length === 0
    ? Number.NaN
    : Stats.mean(negatives.map((n) => (positive > n ? 1 : positive === n ? 0.5 : 0)))

/**
 * Per-poem AUCs summarised: overall (the mean over poems, with a bootstrap CI over poems), per
 * dominant channel, the mean of the channels weighted by how often each dominates (equal to the
 * overall mean by construction) and their unweighted mean.
 */
export const summarise = (
  scored: ReadonlyArray<{ readonly channel: Channel; readonly auc: number }>,
  seed = 1
) => {
  const stat = (s: ReadonlyArray<{ readonly auc: number }>) => Stats.mean(s.map((x) => x.auc))
  const overall = Stats.bootstrapStatistic(scored, stat, { seed })
  const present = [...new Set(scored.map((s) => s.channel))]
  const perChannel = present
    .map((channel) => {
      const s = scored.filter((x) => x.channel === channel)
      const b = Stats.bootstrapStatistic(s, stat, { seed })
      return { channel, n: s.length, value: b.value, ci: b.ci }
    })
    .sort((a, b) => b.n - a.n || (a.channel < b.channel ? -1 : 1))
  const weighted = perChannel.reduce((sum, c) => sum + (c.n / scored.length) * c.value, 0)
  const unweighted = Stats.mean(perChannel.map((c) => c.value))
  return { overall, perChannel, weighted, unweighted, n: scored.length }
}
