/**
 * Validation of `coherence` on real poetry (`pnpm validate`): a poem must score above a
 * cross-poem splice of itself — its lines alternated with the lines of another poem (A1 B2 A3
 * B4 …), at the same length — reported as the AUC of originals over splices; line-shuffled
 * versions of the same poems (same lines, order permuted) are reported beside it. One check per
 * language: English (public-domain poems and Shakespeare's sonnets), Russian (the classic
 * corpus). Poems of 8 to 30 lines with content words, a seeded sample; the metric has no
 * parameter fitted to poetry (layer and reference vocabulary come from the sensory estimator).
 *
 * The degenerate-answer floor, per language: a poem's first line is a continue-line prompt and
 * its next lines (up to twelve) the human answer; each poem's degenerate answers to the same
 * prompt (`Degenerate.degenerateVariants` of `@hyperwords/eval`) must score below the median poem.
 *
 * The shuffled and degenerate negatives as checks of their own, and the GloVe bag-of-words
 * baseline, are in `Negatives.ts`.
 */
import { readFileSync } from "node:fs"
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
import { parse } from "csv-parse/sync"
import { Effect } from "effect"
import { associationStrength, lineWords } from "./Coherence.ts"
import { negativeValidations } from "./Negatives.ts"
import { degenerateScore, scoreSample } from "./Sample.ts"
import { textCoherence } from "./Score.ts"
import { readUsf, standardisedVectors } from "./Vectors.ts"

export const usfFile = "en_usf_free_association/usf_free_association_cue_target_pairs.csv"
export const miklashevskyFile = "ru_perceptual_norms_miklashevsky/Miklashevsky-2018-506.tsv"

export const files = {
  en: [
    "en_poetry_public_domain/poetry_eval_public_domain_poems.no_copyright_notice.csv",
    "en_poetry_shakespeare_sonnets/shakespeare_sonnets.jsonl"
  ],
  ru: ["ru_poetry_classic/classic_ai_sberbank_classic_poems.json"]
} as const

/** Poem texts of a language from the shared data. */
export const readPoems = (data: string, lang: Lang): Array<string> => {
  if (lang === "ru") {
    const poems = JSON.parse(readFileSync(join(data, files.ru[0]), "utf8")) as Array<{ content?: string }>
    return poems.flatMap((p) => (typeof p.content === "string" ? [p.content] : []))
  }
  const csv = parse(readFileSync(join(data, files.en[0]), "utf8"), {
    columns: true,
    relax_quotes: true
  }) as Array<Record<string, string>>
  const sonnets = readFileSync(join(data, files.en[1]), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => (JSON.parse(l) as { text: string }).text)
  return [...csv.map((r) => r.poem_text ?? ""), ...sonnets]
}

/** The non-empty lines of a text that have content words. */
const contentLines = (text: string, lang: Lang): Array<string> =>
  text.split(/\r?\n/).filter((l) => lineWords(l, lang).length > 0)

/** Originals, their splices with a partner poem and their line shuffles, all of one length per poem. */
export const makeTrials = (
  poems: ReadonlyArray<string>,
  lang: Lang,
  options: {
    readonly count: number
    readonly seed: number
    readonly minLines?: number
    readonly maxLines?: number
  }
): Array<{ readonly original: string; readonly spliced: string; readonly shuffled: string | undefined }> => {
  const rng = Stats.makeRng(options.seed)
  const eligible = poems
    .map((p) => contentLines(p, lang))
    .filter((l) => l.length >= (options.minLines ?? 8) && l.length <= (options.maxLines ?? 30))
  for (let i = eligible.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1))
    ;[eligible[i], eligible[j]] = [eligible[j]!, eligible[i]!]
  }
  const picked = eligible.slice(0, Math.min(options.count, eligible.length))
  return picked.map((a, i) => {
    const b = picked[(i + 1) % picked.length]!
    const k = Math.min(a.length, b.length)
    const original = a.slice(0, k)
    const spliced = original.map((line, j) => (j % 2 === 0 ? line : b[j]!))
    // a shuffle that reads as the original (the identity, or repeated lines swapped) is drawn
    // again; a poem whose every order reads the same (one line repeated) has no shuffle
    const text = original.join("\n")
    const order = original.map((_, j) => j)
    let shuffled: string | undefined
    for (let tries = 0; tries < 100 && shuffled === undefined; tries++) {
      for (let x = order.length - 1; x > 0; x--) {
        const y = Math.floor(rng() * (x + 1))
        ;[order[x], order[y]] = [order[y]!, order[x]!]
      }
      const s = order.map((j) => original[j]!).join("\n")
      if (s !== text) shuffled = s
    }
    return { original: text, spliced: spliced.join("\n"), shuffled }
  })
}

/** Poems as continue-line answers: the first line is the prompt, the next lines (up to 12) the answer. */
export const poemsAsAnswers = (
  poems: ReadonlyArray<string>,
  lang: Lang,
  options: { readonly count: number; readonly seed: number }
): Array<SampleInput> =>
  makeTrials(poems, lang, { count: options.count, seed: options.seed, minLines: 4 }).map((t, i) => {
    const lines = t.original.split("\n")
    return {
      id: `${lang}-poem-${i}`,
      text: lines.slice(1, 13).join("\n"),
      prompt: `${lines[0]!}\n`,
      task: "continue-line",
      lang
    }
  })

/** Dictionary nouns for the random-noun answers: USF cue words (English), Miklashevsky's nouns (Russian). */
export const dictionaryNouns = (data: string, lang: Lang): Array<string> => {
  if (lang === "en") return [...readUsf(join(data, usfFile)).keys()].filter((w) => /^[a-z]{3,}$/.test(w))
  const [header, ...rows] = readFileSync(join(data, miklashevskyFile), "utf8").trim().split("\n")
  const col = header!.split("\t").indexOf("RUSSIAN")
  return rows.map((r) => r.split("\t")[col]!).filter((w) => w !== undefined && w !== "")
}

/** Options of the checks. */
export interface CoherenceValidationOptions {
  readonly model?: string
  readonly data?: string
  /** Poems per language (default 120; 60 for the degenerate-answer floor). */
  readonly poems?: number
}

/** The checks of `coherence`. */
export const coherenceValidations = (options: CoherenceValidationOptions = {}): ReadonlyArray<Validation> => {
  const data = options.data ?? sharedData
  const modelName = options.model ?? "gemma-3-270m"
  const check = (lang: Lang, dataName: string): Validation => ({
    name: `coherence (${lang})`,
    data: dataName,
    statistic: "AUC original > spliced",
    floor: 0.7,
    requires: [
      ...files[lang].map((f) => join(data, f)),
      join(resolveModelDir(modelName), "onnx", "probe.json")
    ],
    run: Effect.promise(async (): Promise<ValidationResult> => {
      const model = await loadModel(modelName)
      const vectorsOf = await standardisedVectors(model, lang)
      const trials = makeTrials(readPoems(data, lang), lang, { count: options.poems ?? 120, seed: 3 })
      const score = async (t: string) => (await textCoherence(t, lang, vectorsOf, { unit: "lines" }))!.score
      const scored: Array<{ original: number; spliced: number; shuffled: number }> = []
      for (const t of trials) {
        scored.push({
          original: await score(t.original),
          spliced: await score(t.spliced),
          shuffled: t.shuffled === undefined ? Number.NaN : await score(t.shuffled)
        })
      }
      const versus = (key: "spliced" | "shuffled") => (s: ReadonlyArray<(typeof scored)[number]>) =>
        auc(
          s.map((x) => x.original),
          s.map((x) => x[key])
        )
      const withShuffle = scored.filter((x) => !Number.isNaN(x.shuffled))
      const paired = (key: "spliced" | "shuffled") =>
        Stats.mean(
          (key === "spliced" ? scored : withShuffle).map((x) =>
            x.original > x[key] ? 1 : x.original === x[key] ? 0.5 : 0
          )
        )
      const spliced = bootstrapStatistic(scored, versus("spliced"))
      const shuffled = bootstrapStatistic(withShuffle, versus("shuffled"))
      const f = (x: number) => x.toFixed(3)
      return {
        value: spliced.value,
        ci: spliced.ci,
        n: scored.length,
        detail:
          `paired win rate over splices ${f(paired("spliced"))}; ` +
          `line-shuffled: AUC ${f(shuffled.value)} [${f(shuffled.ci[0])}, ${f(shuffled.ci[1])}], paired ${f(paired("shuffled"))}; ` +
          `mean line coherence original ${f(Stats.mean(scored.map((x) => x.original)))}, ` +
          `spliced ${f(Stats.mean(scored.map((x) => x.spliced)))}, shuffled ${f(Stats.mean(withShuffle.map((x) => x.shuffled)))}; ` +
          `${modelName}`
      }
    })
  })
  const association: Validation = {
    name: "coherence association (en)",
    data: "USF free association on English poems",
    statistic: "AUC original > spliced",
    requires: [...files.en.map((f) => join(data, f)), join(data, usfFile)],
    run: Effect.sync((): ValidationResult => {
      const usf = readUsf(join(data, usfFile))
      const trials = makeTrials(readPoems(data, "en"), "en", { count: options.poems ?? 120, seed: 3 })
      const strength = (t: string) => associationStrength(lineWords(t, "en"), usf).mean
      const scored = trials
        .map((t) => ({ original: strength(t.original), spliced: strength(t.spliced) }))
        .filter((x) => Number.isFinite(x.original) && Number.isFinite(x.spliced))
      const a = bootstrapStatistic(scored, (s) =>
        auc(
          s.map((x) => x.original),
          s.map((x) => x.spliced)
        )
      )
      return {
        value: a.value,
        ci: a.ci,
        n: scored.length,
        detail:
          `mean USF strength over normed pairs of consecutive lines: original ${Stats.mean(scored.map((x) => x.original)).toFixed(4)}, ` +
          `spliced ${Stats.mean(scored.map((x) => x.spliced)).toFixed(4)}; same poems and splices as coherence (en); model-free`
      }
    })
  }
  const floorCheck = (lang: Lang): Validation => {
    const other: Lang = lang === "en" ? "ru" : "en"
    return {
      name: `coherence degenerate floor (${lang})`,
      data: `${lang === "en" ? "English" : "Russian"} poems as continuations of their first line`,
      statistic: "share of degenerate answers below the human median (worst kind)",
      floor: 0.95,
      requires: [
        ...files.en.map((f) => join(data, f)),
        ...files.ru.map((f) => join(data, f)),
        join(data, lang === "en" ? usfFile : miklashevskyFile),
        join(resolveModelDir(modelName), "onnx", "probe.json")
      ],
      run: Effect.promise(async (): Promise<ValidationResult> => {
        const model = await loadModel(modelName)
        const vectorsOf = await standardisedVectors(model, lang)
        const humans = poemsAsAnswers(readPoems(data, lang), lang, {
          count: Math.min(options.poems ?? 60, 60),
          seed: 5
        })
        const others = poemsAsAnswers(readPoems(data, other), other, { count: 200, seed: 6 })
        const nouns = dictionaryNouns(data, lang)
        const rng = Stats.makeRng(5)
        const r = await Degenerate.runFloorCheck(
          humans,
          () => ({
            nouns,
            otherLanguage: others[Math.floor(rng() * others.length)]!.text,
            examples: Array.from({ length: 10 }, () => nouns[Math.floor(rng() * nouns.length)]!),
            rng
          }),
          async (input) => {
            const s = await Effect.runPromise(scoreSample(input, {}, () => Effect.succeed(vectorsOf)))
            return s === null ? null : typeof s === "number" ? s : s.score
          }
        )
        return {
          value: r.value,
          ci: r.ci,
          n: r.n,
          detail:
            `${humans.length} poems, each with its degenerate answers (random nouns: ${lang === "en" ? "USF cue words" : "Miklashevsky's nouns"}); ` +
            `a degenerate answer scores ${degenerateScore}; ${r.detail}; ${modelName}`
        }
      })
    }
  }
  return [
    check("en", "English public-domain poems and Shakespeare's sonnets"),
    check("ru", "Russian classic poems (Pushkin, Blok, Yesenin, Tyutchev, Mayakovsky)"),
    association,
    floorCheck("en"),
    floorCheck("ru"),
    ...negativeValidations(options)
  ]
}
