/**
 * Answers a metric must not reward: an echo of the request or prompt, one line repeated, the
 * prompt's example list copied, a bare list of words where a text was asked, an empty or one-word
 * answer, an answer in the other language, and a repetition loop. Metric plugins read a sample's
 * words through `withoutPromptWords` (what the prompt already said is not the answer's) and give a
 * sample that `degenerate` flags the bottom of their scale, so such an answer scores below any
 * real text. `degenerateVariants` and `floorCheck` build the same cases from real human texts for
 * a plugin's validation card.
 */

import type { SampleInput } from "./Metric.ts"
import { auc, bootstrapStatistic, mean, quantileSorted } from "./Stats.ts"

/** Why an answer is degenerate. */
export type DegenerateKind =
  | "empty"
  | "one-word"
  | "other-language"
  | "echo"
  | "repeated-line"
  | "loop"
  | "word-list"

/** A degenerate answer: its kind and what showed it. */
export interface Degenerate {
  readonly kind: DegenerateKind
  readonly detail: string
}

/** A word as compared with the prompt's: NFC, lowercased, `ё` folded. */
export const foldWord = (w: string): string => w.normalize("NFC").toLowerCase().replaceAll("ё", "е")

const LETTER_WORD = /^\p{L}[\p{L}'’-]*$/u

/** The words of a text (word-like segments made of letters), folded. */
export const textWords = (text: string): Array<string> =>
  [...new Intl.Segmenter(undefined, { granularity: "word" }).segment(text)]
    .filter((s) => s.isWordLike)
    .map((s) => foldWord(s.segment))
    .filter((w) => LETTER_WORD.test(w))

/**
 * Whether two folded words share a stem: equal, or both of four letters or more with a common
 * prefix of at least four letters that covers all but the last two letters of the shorter one
 * (`warm`/`warmth`, `purring`/`purrs`, `тёплое`/`тёплый`; not `dusk`/`dust`).
 */
export const sameStem = (a: string, b: string): boolean => {
  if (a === b) return true
  const shorter = Math.min(a.length, b.length)
  if (shorter < 4) return false
  let k = 0
  while (k < shorter && a[k] === b[k]) k++
  return k >= Math.max(4, shorter - 2)
}

/** The words of a sample's request and prompt, folded: what the answer was given, not what it made. */
export const promptWords = (input: Pick<SampleInput, "request" | "prompt">): Array<string> => [
  ...new Set([...textWords(input.request ?? ""), ...textWords(input.prompt ?? "")])
]

/** A test of whether a word was given by the sample's request or prompt (stem-matched). */
export const givenByPrompt = (
  input: Pick<SampleInput, "request" | "prompt">
): ((word: string) => boolean) => {
  const given = promptWords(input)
  if (given.length === 0) return () => false
  const exact = new Set(given)
  return (word) => {
    const w = foldWord(word)
    return exact.has(w) || given.some((g) => sameStem(g, w))
  }
}

/** The words that the sample's request and prompt did not give (request and prompt words left out before scoring). */
export const withoutPromptWords = (
  words: ReadonlyArray<string>,
  input: Pick<SampleInput, "request" | "prompt">
): Array<string> => {
  const given = givenByPrompt(input)
  return words.filter((w) => !given(w))
}

/** Tasks whose answer is a list of words, so a bare list is not degenerate there. */
export const listTasks: ReadonlyArray<string> = ["ten-words", "invent-words"]

/** Tasks whose answer is a text, so a bare list of words is degenerate there. */
export const textTasks: ReadonlyArray<string> = ["describe-image", "continue-line"]

const scriptOf = (text: string): { readonly cyrillic: number; readonly latin: number } => ({
  cyrillic: (text.match(/\p{Script=Cyrillic}/gu) ?? []).length,
  latin: (text.match(/\p{Script=Latin}/gu) ?? []).length
})

const ngrams = (words: ReadonlyArray<string>, n: number): Array<string> =>
  words.length < n ? [] : words.slice(0, words.length - n + 1).map((_, i) => words.slice(i, i + n).join(" "))

/**
 * Whether an answer is degenerate, and how. What only an answer can be is flagged only in a sample
 * with a task, prompt or request (a user scoring their own text or word has none). In order: no
 * words, in an answer (`empty`); the other language's
 * script where the sample says its language (`other-language`); one distinct word, in an answer
 * to a task or prompt (`one-word`; a user may score a single word of their own);
 * fewer than two words the request and prompt did not give, or four fifths of its words given by
 * them (`echo`, which covers a copied example list); half its lines or more repeats of other
 * lines (`repeated-line`); fewer than 60% distinct word 4-grams over 8 or more 4-grams (`loop`);
 * for a text task (`describe-image`, `continue-line`), five entries or more that are 80% single
 * words (`word-list`). `undefined` for an answer that is none of these.
 */
export const degenerate = (input: SampleInput): Degenerate | undefined => {
  const words = textWords(input.text)
  const answers = input.task !== undefined || input.request !== undefined || input.prompt !== undefined
  if (words.length === 0) return answers ? { kind: "empty", detail: "no words" } : undefined
  if (input.lang !== undefined) {
    const s = scriptOf(input.text)
    const other = input.lang === "en" ? s.cyrillic > s.latin : s.latin > s.cyrillic
    if (other) {
      return {
        kind: "other-language",
        detail: `asked in ${input.lang}, written in ${input.lang === "en" ? "Cyrillic" : "Latin"} script`
      }
    }
  }
  if (answers && new Set(words).size === 1) return { kind: "one-word", detail: `only "${words[0]}"` }
  const given = givenByPrompt(input)
  const own = words.filter((w) => !given(w))
  if (input.request !== undefined || input.prompt !== undefined) {
    if (new Set(own).size < 2 || own.length <= words.length / 5) {
      return {
        kind: "echo",
        detail: `${words.length - own.length} of ${words.length} words given by the request or prompt`
      }
    }
  }
  const lines = input.text
    .split(/\r?\n/)
    .map((l) => textWords(l).join(" "))
    .filter((l) => l !== "")
  if (lines.length >= 2 && new Set(lines).size <= lines.length / 2) {
    return { kind: "repeated-line", detail: `${new Set(lines).size} distinct of ${lines.length} lines` }
  }
  const grams = ngrams(words, 4)
  if (grams.length >= 8 && new Set(grams).size < 0.6 * grams.length) {
    return { kind: "loop", detail: `${new Set(grams).size} distinct of ${grams.length} word 4-grams` }
  }
  if (input.task !== undefined && textTasks.includes(input.task)) {
    const entries = input.text
      .split(/[\n,;]+/)
      .map((e) => textWords(e))
      .filter((e) => e.length > 0)
    const single = entries.filter((e) => e.length === 1).length
    if (entries.length >= 5 && single >= 0.8 * entries.length) {
      return { kind: "word-list", detail: `${single} of ${entries.length} entries are single words` }
    }
  }
  return undefined
}

/** The cases a validation builds from a human text, one variant each. */
export const variantKinds = [
  "echo-request",
  "echo-prompt",
  "repeated-line",
  "example-list",
  "random-nouns",
  "empty",
  "one-word",
  "other-language",
  "loop"
] as const
export type VariantKind = (typeof variantKinds)[number]

/** What a validation gives to build the variants of a human sample. */
export interface VariantSources {
  /** Dictionary nouns of the sample's language, drawn at random. */
  readonly nouns: ReadonlyArray<string>
  /** A real text in the other language (the `other-language` answer). */
  readonly otherLanguage: string
  /** An example list a prompt could show (copied by `example-list`), e.g. the ten-words example. */
  readonly examples: ReadonlyArray<string>
  readonly rng: () => number
}

/**
 * Degenerate answers to the prompt of a human sample (its `prompt`, `request`, `task` and `lang`
 * kept): echoes of its request (when it has one) and prompt, its first line repeated eight times,
 * an example list appended to the prompt and copied, ten random nouns, nothing, one noun, the
 * other language's text, and its first six words looped to 60 words without a line break.
 */
export const degenerateVariants = (
  human: SampleInput,
  sources: VariantSources
): Array<{ readonly kind: VariantKind; readonly input: SampleInput }> => {
  const pick = () => sources.nouns[Math.floor(sources.rng() * sources.nouns.length)]!
  const firstLine = human.text.split(/\r?\n/).find((l) => textWords(l).length > 0) ?? human.text
  const head = human.text
    .split(/\s+/)
    .filter((w) => w !== "")
    .slice(0, 6)
  const loop = Array.from({ length: 60 }, (_, i) => head[i % head.length]).join(" ")
  const list = sources.examples.join(", ")
  const base = { ...human, id: "" }
  const make = (kind: VariantKind, text: string, extra: Partial<SampleInput> = {}) => ({
    kind,
    input: { ...base, ...extra, id: `${human.id}~${kind}`, text }
  })
  return [
    ...(human.request === undefined ? [] : [make("echo-request", human.request)]),
    make("echo-prompt", human.prompt ?? ""),
    make("repeated-line", Array.from({ length: 8 }, () => firstLine).join("\n")),
    make("example-list", list, { prompt: `${human.prompt ?? ""}\nFor example: ${list}\n` }),
    make("random-nouns", Array.from({ length: 10 }, pick).join(", ")),
    make("empty", ""),
    make("one-word", pick()),
    make("other-language", sources.otherLanguage),
    make("loop", loop)
  ]
}

/** One scored sample of a floor check (`null`: the metric gave no score). */
export interface FloorItem {
  readonly kind: string
  readonly score: number | null
}

/** The floor check's outcome, in the shape of a validation result. */
export interface FloorResult {
  /** The share of the worst kind's answers scoring below the human median. */
  readonly value: number
  readonly ci: readonly [number, number]
  /** Degenerate answers scored. */
  readonly n: number
  readonly humanMedian: number
  readonly perKind: ReadonlyArray<{
    readonly kind: string
    readonly below: number
    readonly n: number
    readonly median: number
  }>
  /** AUC of human scores over all degenerate scores (a `null` counts as a tie with everything). */
  readonly auc: number
  readonly detail: string
}

const median = (xs: ReadonlyArray<number>): number =>
  quantileSorted(
    [...xs].sort((a, b) => a - b),
    0.5
  )

/**
 * How far degenerate answers sit below real human text: per kind, the share of answers scoring
 * strictly below the median of the human scores (a `null` score is not below); the statistic is
 * the worst kind's share, with a bootstrap CI over that kind's answers.
 */
export const floorCheck = (
  human: ReadonlyArray<number | null>,
  items: ReadonlyArray<FloorItem>
): FloorResult => {
  const scored = human.filter((h): h is number => h !== null && Number.isFinite(h))
  const m = median(scored)
  const kinds = [...new Set(items.map((i) => i.kind))]
  const isBelow = (i: FloorItem) => (i.score !== null && i.score < m ? 1 : 0)
  const perKind = kinds.map((kind) => {
    const of = items.filter((i) => i.kind === kind)
    const s = of.flatMap((i) => (i.score === null ? [] : [i.score]))
    return { kind, below: mean(of.map(isBelow)), n: of.length, median: s.length ? median(s) : Number.NaN }
  })
  const worst = perKind.reduce((a, b) => (b.below < a.below ? b : a), perKind[0]!)
  const boot = bootstrapStatistic(
    items.filter((i) => i.kind === worst.kind),
    (s) => mean(s.map(isBelow))
  )
  const a = auc(
    scored,
    items.map((i) => i.score ?? m)
  )
  const f = (x: number) => (Number.isNaN(x) ? "null" : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(3))
  return {
    value: worst.below,
    ci: boot.ci,
    n: items.length,
    humanMedian: m,
    perKind,
    auc: a,
    detail:
      `human median ${f(m)} (n ${scored.length}); share below it, median score, per kind: ` +
      perKind.map((k) => `${k.kind} ${f(k.below)} (${f(k.median)}, n ${k.n})`).join(", ") +
      `; AUC human over degenerate ${f(a)}`
  }
}

/**
 * A plugin's floor check, whole: the degenerate variants of each human sample, every text scored
 * by `score` (the plugin's own per-sample code), and `floorCheck` over them, with the share of the
 * human samples that the gate itself flags (answers it would wrongly send to the floor).
 */
export const runFloorCheck = async (
  humans: ReadonlyArray<SampleInput>,
  sources: (human: SampleInput) => VariantSources,
  score: (input: SampleInput) => Promise<number | null>,
  /** The metric with its gate off, to report what the gate adds (the same texts, scored again). */
  ungated?: (input: SampleInput) => Promise<number | null>
): Promise<FloorResult & { readonly humanFlagged: number; readonly ungated?: FloorResult }> => {
  const humanScores: Array<number | null> = []
  const items: Array<FloorItem & { readonly input: SampleInput }> = []
  let flagged = 0
  const flaggedKinds = new Map<string, number>()
  for (const h of humans) {
    humanScores.push(await score(h))
    const d = degenerate(h)
    if (d !== undefined) {
      flagged++
      flaggedKinds.set(d.kind, (flaggedKinds.get(d.kind) ?? 0) + 1)
    }
    for (const v of degenerateVariants(h, sources(h))) {
      items.push({ kind: v.kind, score: await score(v.input), input: v.input })
    }
  }
  const r = floorCheck(humanScores, items)
  let off: FloorResult | undefined
  if (ungated !== undefined) {
    const humanOff: Array<number | null> = []
    for (const h of humans) humanOff.push(await ungated(h))
    const itemsOff: Array<FloorItem> = []
    for (const i of items) itemsOff.push({ kind: i.kind, score: await ungated(i.input) })
    off = floorCheck(humanOff, itemsOff)
  }
  return {
    ...r,
    humanFlagged: flagged,
    ...(off === undefined ? {} : { ungated: off }),
    detail:
      `${r.detail}; human answers the gate flags as degenerate: ${flagged} of ${humans.length}` +
      (flagged === 0 ? "" : ` (${[...flaggedKinds].map(([k, n]) => `${k} ${n}`).join(", ")})`) +
      (off === undefined ? "" : `; without the gate (prompt words still left out): ${off.detail}`)
  }
}
