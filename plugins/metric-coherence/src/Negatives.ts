/**
 * The negatives beside the splices (issue 13): the same poems as `coherence (en)` / `(ru)` (120,
 * seed 3) scored against
 *
 * - **their own lines shuffled** (same lines, another order; a shuffle that reads as the original
 *   is drawn again, a poem with none is left out): does the metric see order, or only the images?
 * - **degenerate answers** (`Degenerate.degenerateVariants` of `@hyperwords/eval`): the first 60
 *   poems as continuations of their first line, against each poem's echo, repeated line, copied
 *   list, random nouns, empty and one-word answers, other-language text and loop — scored as the
 *   plugin ships (degenerate gate on) and with the gate off (what the vectors alone do);
 *
 * each with a bag-of-words baseline beside it: the same texts scored with the GloVe subset's
 * static vectors in place of the judge's (English; the shared data has no Russian word vectors).
 * AUC of originals over negatives (Mann–Whitney), 95% bootstrap CI over poems (1,000 resamples).
 */
import { join } from "node:path"
import { Degenerate, type SampleInput, Stats } from "@hyperwords/eval"
import {
  type Lang,
  loadModel,
  resolveModelDir,
  sharedData,
  type Validation,
  type ValidationResult
} from "@hyperwords/eval/Sdk"
import { auc, bootstrapStatistic } from "@hyperwords/eval/Stats"
import { Effect } from "effect"
import { type Baseline, bagOfWords, gloveFile, readVectorTable } from "./Baseline.ts"
import { lineWords } from "./Coherence.ts"
import { type ScoreOptions, scoreSample } from "./Sample.ts"
import { textCoherence } from "./Score.ts"
import {
  dictionaryNouns,
  files,
  makeTrials,
  miklashevskyFile,
  poemsAsAnswers,
  readPoems,
  usfFile
} from "./Validation.ts"
import { standardisedVectors, type WordVectorsOf } from "./Vectors.ts"

/** What the shared data offers as a Russian baseline: nothing with a vector per word. */
export const noRussianBaseline =
  "no bag-of-words baseline for Russian: ../shared/data has no Russian word vectors " +
  "(ru_similarity_hj: 398 rated pairs; Miklashevsky: perceptual ratings of 506 nouns; kartaslov: semantic classes and sentiment)"

/** An AUC with its 95% bootstrap CI over poems and the poems it counts. */
export interface Auc {
  readonly value: number
  readonly ci: readonly [number, number]
  readonly n: number
}

const f = (x: number) => x.toFixed(3)
const fmt = (a: Auc) => `${f(a.value)} [${f(a.ci[0])}, ${f(a.ci[1])}], n ${a.n}`

/** One poem's original and negative scores (`undefined`: not scored, e.g. no shuffle, or no words the vectors know). */
export interface Pair {
  readonly original: number | undefined
  readonly negative: number | undefined
}

/** AUC of originals over their negatives, over the poems both sides scored, with the paired win rate. */
export const pairedAuc = (pairs: ReadonlyArray<Pair>): Auc & { readonly win: number } => {
  const both = pairs.flatMap((p) =>
    p.original === undefined || p.negative === undefined ? [] : [{ o: p.original, x: p.negative }]
  )
  const a = bootstrapStatistic(both, (s) =>
    auc(
      s.map((p) => p.o),
      s.map((p) => p.x)
    )
  )
  return { ...a, n: both.length, win: Stats.mean(both.map((p) => (p.o > p.x ? 1 : p.o === p.x ? 0.5 : 0))) }
}

/** The line coherence of a text (`undefined`: fewer than two lines with words the vectors know). */
export const lineScore = async (
  text: string,
  lang: Lang,
  vectorsOf: WordVectorsOf,
  known?: (word: string) => boolean
): Promise<number | undefined> =>
  (
    await textCoherence(text, lang, vectorsOf, {
      unit: "lines",
      ...(known === undefined ? {} : { exclude: (w: string) => !known(w) })
    })
  )?.score

/** Each trial's original against its shuffle. */
export const shuffledPairs = async (
  trials: ReadonlyArray<{ readonly original: string; readonly shuffled: string | undefined }>,
  lang: Lang,
  vectorsOf: WordVectorsOf,
  known?: (word: string) => boolean
): Promise<Array<Pair>> => {
  const out: Array<Pair> = []
  for (const t of trials) {
    if (t.shuffled === undefined) continue
    out.push({
      original: await lineScore(t.original, lang, vectorsOf, known),
      negative: await lineScore(t.shuffled, lang, vectorsOf, known)
    })
  }
  return out
}

/** Each trial's original against its splice with the next poem. */
export const splicedPairs = async (
  trials: ReadonlyArray<{ readonly original: string; readonly spliced: string }>,
  lang: Lang,
  vectorsOf: WordVectorsOf,
  known?: (word: string) => boolean
): Promise<Array<Pair>> => {
  const out: Array<Pair> = []
  for (const t of trials) {
    out.push({
      original: await lineScore(t.original, lang, vectorsOf, known),
      negative: await lineScore(t.spliced, lang, vectorsOf, known)
    })
  }
  return out
}

/** A poem as a continue-line answer with its degenerate answers to the same prompt. */
export interface DegenerateSet {
  readonly human: SampleInput
  readonly variants: ReadonlyArray<{ readonly kind: string; readonly input: SampleInput }>
}

/** A degenerate set scored. */
export interface DegenerateScores {
  readonly human: number | null
  readonly variants: ReadonlyArray<{ readonly kind: string; readonly score: number | null }>
}

/** Score every text of the sets with one scorer. */
export const scoreSets = async (
  sets: ReadonlyArray<DegenerateSet>,
  score: (input: SampleInput) => Promise<number | null>
): Promise<Array<DegenerateScores>> => {
  const out: Array<DegenerateScores> = []
  for (const s of sets) {
    const variants: Array<{ kind: string; score: number | null }> = []
    for (const v of s.variants) variants.push({ kind: v.kind, score: await score(v.input) })
    out.push({ human: await score(s.human), variants })
  }
  return out
}

/**
 * AUC of the human answers over the degenerate ones (of one kind, or all), texts without a score
 * left out; bootstrap over poems (a poem brings its answer and its degenerate answers).
 */
export const degenerateAuc = (
  poems: ReadonlyArray<DegenerateScores>,
  kind?: string
): Auc & { readonly negatives: number } => {
  const stat = (s: ReadonlyArray<DegenerateScores>) =>
    auc(
      s.flatMap((p) => (p.human === null ? [] : [p.human])),
      s.flatMap((p) =>
        p.variants.flatMap((v) =>
          v.score === null || (kind !== undefined && v.kind !== kind) ? [] : [v.score]
        )
      )
    )
  const a = bootstrapStatistic(poems, stat)
  const negatives = poems.flatMap((p) =>
    p.variants.filter((v) => v.score !== null && (kind === undefined || v.kind === kind))
  ).length
  return { ...a, n: poems.filter((p) => p.human !== null).length, negatives }
}

/** The pooled AUC with its CI and each kind's AUC, as text. */
export const describeDegenerate = (poems: ReadonlyArray<DegenerateScores>): string => {
  const all = degenerateAuc(poems)
  const kinds = [...new Set(poems.flatMap((p) => p.variants.map((v) => v.kind)))]
  const per = kinds.map((k) => {
    const a = degenerateAuc(poems, k)
    return a.negatives === 0 ? `${k} no score` : `${k} ${f(a.value)} (${a.negatives})`
  })
  return `AUC ${fmt(all)} poems, ${all.negatives} degenerate answers scored (per kind, AUC (answers scored): ${per.join(", ")})`
}

/** The share of the originals' content words the baseline knows. */
const coverage = (texts: ReadonlyArray<string>, lang: Lang, baseline: Baseline): number => {
  const words = texts.flatMap((t) => lineWords(t, lang).flat())
  return Stats.mean(words.map((w) => (baseline.known(w) ? 1 : 0)))
}

/** Options of the checks (those of `coherenceValidations`). */
export interface NegativesOptions {
  readonly model?: string
  readonly data?: string
  readonly poems?: number
}

/** The negative checks: shuffled and degenerate per language (judge), and the GloVe baseline row (English). */
export const negativeValidations = (options: NegativesOptions = {}): ReadonlyArray<Validation> => {
  const data = options.data ?? sharedData
  const modelName = options.model ?? "gemma-3-270m"
  const probe = join(resolveModelDir(modelName), "onnx", "probe.json")
  const glovePath = join(data, gloveFile)
  const glove = () => bagOfWords(readVectorTable(glovePath), "en")
  const trialsOf = (lang: Lang) =>
    makeTrials(readPoems(data, lang), lang, { count: options.poems ?? 120, seed: 3 })
  const dataName = (lang: Lang) =>
    lang === "en"
      ? "English public-domain poems and Shakespeare's sonnets"
      : "Russian classic poems (Pushkin, Blok, Yesenin, Tyutchev, Mayakovsky)"

  /** The first 60 poems as continue-line answers, each with its degenerate answers (seeded). */
  const degenerateSets = (lang: Lang): Array<DegenerateSet> => {
    const other: Lang = lang === "en" ? "ru" : "en"
    const others = poemsAsAnswers(readPoems(data, other), other, { count: 200, seed: 6 })
    const nouns = dictionaryNouns(data, lang)
    const rng = Stats.makeRng(7)
    return trialsOf(lang)
      .slice(0, 60)
      .map((t, i) => {
        const lines = t.original.split("\n")
        const human: SampleInput = {
          id: `${lang}-poem-${i}`,
          text: lines.slice(1).join("\n"),
          prompt: `${lines[0]!}\n`,
          task: "continue-line",
          lang
        }
        const variants = Degenerate.degenerateVariants(human, {
          nouns,
          otherLanguage: others[Math.floor(rng() * others.length)]!.text,
          examples: Array.from({ length: 10 }, () => nouns[Math.floor(rng() * nouns.length)]!),
          rng
        })
        return { human, variants }
      })
  }
  const scorer =
    (vectorsOf: WordVectorsOf, options: ScoreOptions) =>
    async (input: SampleInput): Promise<number | null> => {
      const s = await Effect.runPromise(scoreSample(input, {}, () => Effect.succeed(vectorsOf), options))
      return s === null ? null : typeof s === "number" ? s : s.score
    }
  const degenerateSources = (lang: Lang) => [
    ...files.en.map((f) => join(data, f)),
    ...files.ru.map((f) => join(data, f)),
    join(data, lang === "en" ? usfFile : miklashevskyFile)
  ]
  const orderNote = (a: Auc) =>
    a.ci[0] <= 0.5 && a.ci[1] >= 0.5 ? "the CI holds 0.5: order not told apart" : "the CI excludes 0.5"

  const shuffledCheck = (lang: Lang): Validation => ({
    name: `coherence shuffled (${lang})`,
    data: dataName(lang),
    statistic: "AUC original > own lines shuffled",
    requires: [...files[lang].map((f) => join(data, f)), probe, ...(lang === "en" ? [glovePath] : [])],
    run: Effect.promise(async (): Promise<ValidationResult> => {
      const vectorsOf = await standardisedVectors(await loadModel(modelName), lang)
      const trials = trialsOf(lang)
      const pairs = await shuffledPairs(trials, lang, vectorsOf)
      const a = pairedAuc(pairs)
      const mean = (k: keyof Pair) => f(Stats.mean(pairs.flatMap((p) => (p[k] === undefined ? [] : [p[k]!]))))
      let baseline = noRussianBaseline
      if (lang === "en") {
        const g = glove()
        const b = pairedAuc(await shuffledPairs(trials, lang, g.vectorsOf, g.known))
        baseline =
          `GloVe bag-of-words baseline on the same poems: AUC ${fmt(b)}, paired ${f(b.win)} ` +
          `(${(
            100 *
              coverage(
                trials.map((t) => t.original),
                lang,
                g
              )
          ).toFixed(0)}% of content words known)`
      }
      return {
        value: a.value,
        ci: a.ci,
        n: a.n,
        detail:
          `${trials.length - a.n} of ${trials.length} poems without a shuffle or a score; paired win rate ${f(a.win)}; ` +
          `${orderNote(a)}; mean line coherence original ${mean("original")}, shuffled ${mean("negative")}; ` +
          `${baseline}; ${modelName}`
      }
    })
  })

  const degenerateCheck = (lang: Lang): Validation => ({
    name: `coherence degenerate negatives (${lang})`,
    data: `${dataName(lang)}: the first 60 as continuations of their first line`,
    statistic: "AUC original > degenerate (all kinds, gate on)",
    requires: [...degenerateSources(lang), probe, ...(lang === "en" ? [glovePath] : [])],
    run: Effect.promise(async (): Promise<ValidationResult> => {
      const vectorsOf = await standardisedVectors(await loadModel(modelName), lang)
      const sets = degenerateSets(lang)
      const gated = await scoreSets(sets, scorer(vectorsOf, {}))
      const ungated = await scoreSets(sets, scorer(vectorsOf, { gate: false }))
      const a = degenerateAuc(gated)
      let baseline = noRussianBaseline
      if (lang === "en") {
        const g = glove()
        baseline =
          `GloVe bag-of-words baseline, gate on: ${describeDegenerate(await scoreSets(sets, scorer(g.vectorsOf, { known: g.known })))}; ` +
          `gate off: ${describeDegenerate(await scoreSets(sets, scorer(g.vectorsOf, { known: g.known, gate: false })))}`
      }
      return {
        value: a.value,
        ci: a.ci,
        n: a.n,
        detail:
          `gate on (as shipped): ${describeDegenerate(gated)}; ` +
          `gate off (the vectors alone; prompt words still left out): ${describeDegenerate(ungated)}; ` +
          `${baseline}; ${modelName}`
      }
    })
  })

  const gloveCheck: Validation = {
    name: "coherence GloVe baseline (en)",
    data: "GloVe 6B 50d, 5,050 frequent words, as a bag of words in place of the judge's vectors, on the poems of coherence (en)",
    statistic: "AUC original > spliced",
    requires: [...degenerateSources("en"), glovePath],
    run: Effect.promise(async (): Promise<ValidationResult> => {
      const g = glove()
      const trials = trialsOf("en")
      const a = pairedAuc(await splicedPairs(trials, "en", g.vectorsOf, g.known))
      const s = pairedAuc(await shuffledPairs(trials, "en", g.vectorsOf, g.known))
      const sets = degenerateSets("en")
      const on = await scoreSets(sets, scorer(g.vectorsOf, { known: g.known }))
      const off = await scoreSets(sets, scorer(g.vectorsOf, { known: g.known, gate: false }))
      return {
        value: a.value,
        ci: a.ci,
        n: a.n,
        detail:
          `paired win rate over splices ${f(a.win)}; own lines shuffled: AUC ${fmt(s)}, paired ${f(s.win)}; ` +
          `degenerate answers, gate on: ${describeDegenerate(on)}; gate off: ${describeDegenerate(off)}; ` +
          `${(
            100 *
              coverage(
                trials.map((t) => t.original),
                "en",
                g
              )
          ).toFixed(0)}% of the poems' content words known, ` +
          `${g.reference} reference words standardise; model-free (the same on every judge's card); ${noRussianBaseline}`
      }
    })
  }

  // the judge held to GloVe's vocabulary: whether the gap to the baseline is the vectors or the
  // 5,050-word vocabulary (GloVe scores only the words it knows)
  const vocabularyCheck: Validation = {
    name: "coherence on GloVe's words (en)",
    data: "English public-domain poems and Shakespeare's sonnets, only the words the GloVe subset knows",
    statistic: "AUC original > spliced",
    requires: [...files.en.map((f) => join(data, f)), probe, glovePath],
    run: Effect.promise(async (): Promise<ValidationResult> => {
      const vectorsOf = await standardisedVectors(await loadModel(modelName), "en")
      const g = glove()
      const trials = trialsOf("en")
      const a = pairedAuc(await splicedPairs(trials, "en", vectorsOf, g.known))
      const s = pairedAuc(await shuffledPairs(trials, "en", vectorsOf, g.known))
      const b = pairedAuc(await splicedPairs(trials, "en", g.vectorsOf, g.known))
      return {
        value: a.value,
        ci: a.ci,
        n: a.n,
        detail:
          `the judge's vectors on the words GloVe knows (${(
            100 *
              coverage(
                trials.map((t) => t.original),
                "en",
                g
              )
          ).toFixed(0)}% of the content words); ` +
          `paired win rate ${f(a.win)}; own lines shuffled: AUC ${fmt(s)}; ` +
          `GloVe on the same words: AUC ${fmt(b)}; difference judge − GloVe ${f(a.value - b.value)}; ${modelName}`
      }
    })
  }

  return [
    shuffledCheck("en"),
    shuffledCheck("ru"),
    degenerateCheck("en"),
    degenerateCheck("ru"),
    gloveCheck,
    vocabularyCheck
  ]
}
