/**
 * `resonance` on human poems (issue 13), per language: `PoemTask.ts` builds the task, this file
 * reads the shared data and scores it with the metric itself (`scoreSample`, its default
 * estimator for the judge; the degenerate gate on, as in use). Reported, no floor: no published
 * figure or principled threshold exists for this retrieval.
 *
 * - English: the public-domain poems and Shakespeare's sonnets; norms: Lancaster (Lynott et al.
 *   2020, the two subsets in the shared data; seven channels, motion = mean of foot/leg and
 *   torso). Request words are Lancaster words of the test half of the estimator's split, without
 *   its seeds and anchors, so the shipped regression (fitted on the other half) was not fitted on
 *   a request word; candidate lines are read as they are (their words may be in either half).
 * - Russian: the classic corpus and the ruslit works (their long works from the middle line on,
 *   past titles and epigraphs); norms: Miklashevsky 2018 (400 nouns; five channels: visual,
 *   auditory, haptic, gustatory, olfactory, rated 1–7 — no interoceptive or motion), matched to
 *   a text word exactly or as a case form of the noun (`nounLemma`); the estimator was never
 *   fitted on them.
 * - A request word is a sensory word: its strongest channel at or above the scale's midpoint
 *   (Lancaster 0–5: 2.5; Miklashevsky 1–7: 4).
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Stats } from "@hyperwords/eval"
import {
  anchorWords,
  contentWords,
  type Estimator,
  foldYo,
  inTestHalf,
  type Lang,
  lancasterFiles,
  lancasterNorms,
  miklashevskyFile,
  miklashevskyNorms,
  type Profile,
  type Validation,
  type ValidationResult
} from "@hyperwords/eval/Sdk"
import { parse } from "csv-parse/sync"
import { Effect } from "effect"
import { buildPoemTask, type PoemItem, retrievalAuc, summarise, type TaskNorms } from "./PoemTask.ts"
import { scoreSample } from "./Sample.ts"

export const poemFiles = {
  en: [
    "en_poetry_public_domain/poetry_eval_public_domain_poems.no_copyright_notice.csv",
    "en_poetry_shakespeare_sonnets/shakespeare_sonnets.jsonl"
  ],
  ru: ["ru_poetry_classic/classic_ai_sberbank_classic_poems.json", "ru_poetry_ruslit/ruslit_poems.jsonl"]
} as const

/** The records of a CSV with a header row (RFC 4180 quoting, fields may span lines). */
export const parseCsv = (text: string): Array<Record<string, string>> =>
  parse(text, {
    columns: true,
    bom: true,
    record_delimiter: ["\r\n", "\n", "\r"],
    skip_empty_lines: true,
    relax_column_count: true
  })

/** The poems of a language, with ids. */
export const readTaskPoems = (data: string, lang: Lang): Array<{ id: string; text: string }> => {
  const jsonl = (file: string) =>
    readFileSync(join(data, file), "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as Record<string, unknown>)
  if (lang === "en") {
    const csv = parseCsv(readFileSync(join(data, poemFiles.en[0]), "utf8"))
    return [
      ...csv.map((r, i) => ({ id: `public-domain-${i}`, text: r.poem_text ?? "" })),
      ...jsonl(poemFiles.en[1]).map((r) => ({ id: `sonnet-${r.number}`, text: String(r.text ?? "") }))
    ]
  }
  const classic = JSON.parse(readFileSync(join(data, poemFiles.ru[0]), "utf8")) as Array<{ content?: string }>
  return [
    ...classic.map((p, i) => ({ id: `classic-${i}`, text: p.content ?? "" })),
    ...jsonl(poemFiles.ru[1]).map((r, i) => {
      const lines = String(r.text ?? "").split(/\r?\n/)
      return { id: `ruslit-${i}`, text: lines.slice(Math.floor(lines.length / 2)).join("\n") }
    })
  ]
}

/** The human norms of a language as the task reads them. */
export const taskNorms = (data: string, lang: Lang): TaskNorms => {
  if (lang === "en") {
    const norms = lancasterNorms(data)
    const byWord = new Map(norms.rows.map((r) => [foldYo(r.word), r.values]))
    const anchors = anchorWords("en")
    return {
      channels: norms.channels,
      lookup: (w) => byWord.get(w),
      allowed: (w) => inTestHalf(w) && !anchors.has(w),
      minStrength: 2.5
    }
  }
  const norms = miklashevskyNorms(data)
  const exact = new Map(norms.rows.map((r) => [foldYo(r.word), r.values]))
  const anchors = anchorWords("ru")
  const memo = new Map<string, ReadonlyArray<number> | undefined>()
  return {
    channels: norms.channels,
    lookup: (w) => {
      if (!memo.has(w)) memo.set(w, exact.get(w) ?? exact.get(nounLemma(w, exact) ?? ""))
      return memo.get(w)
    },
    allowed: (w) => !anchors.has(w),
    minStrength: 4
  }
}

/** Russian noun case endings (singular and plural of the three declensions). */
const nounEndings = new Set([
  "",
  "а",
  "я",
  "у",
  "ю",
  "о",
  "е",
  "и",
  "ы",
  "ь",
  "ой",
  "ей",
  "ою",
  "ею",
  "ом",
  "ем",
  "ам",
  "ям",
  "ами",
  "ями",
  "ах",
  "ях",
  "ов",
  "ев",
  "ью",
  "ии",
  "ию",
  "ия",
  "ие"
])

/**
 * The noun of the norms a Russian word inflects, if any: the noun without its final vowel, ь or й
 * (a stem of three letters or more) followed by a case ending (`луну`, `окна` → `луна`, `окно`).
 */
export const nounLemma = (word: string, nouns: ReadonlyMap<string, unknown>): string | undefined => {
  for (let k = Math.max(3, word.length - 3); k <= word.length; k++) {
    const stem = word.slice(0, k)
    if (!nounEndings.has(word.slice(k))) continue
    for (const tail of ["", "а", "я", "о", "е", "ь", "й", "и", "ы", "ие", "ия"]) {
      if (nouns.has(stem + tail)) return stem + tail
    }
  }
  return undefined
}

/** An estimator that profiles each word once (the task scores the same words many times). */
const cached = (e: Estimator): Estimator => {
  const memo = new Map<string, Profile>()
  return {
    ...e,
    profiles: async (texts, lang) => {
      const key = (t: string) => `${lang ?? ""}\0${t}`
      const missing = [...new Set(texts.filter((t) => !memo.has(key(t))))]
      if (missing.length > 0) {
        const got = await e.profiles(missing, lang)
        for (const [i, p] of got.entries()) memo.set(key(missing[i]!), p)
      }
      return texts.map((t) => memo.get(key(t))!)
    }
  }
}

/** A score of a candidate for a poem's request (`null`: no score). */
export type Scorer = (item: PoemItem, text: string, id: string) => Promise<number | null>

/** The metric itself as the scorer: `scoreSample` with the estimator, its words profiled once. */
export const metricScorer = async (
  items: ReadonlyArray<PoemItem>,
  estimator: Estimator,
  lang: Lang
): Promise<Scorer> => {
  const e = cached(estimator)
  const all = items.flatMap((i) => [i.positive, ...i.negatives.map((n) => n.text), i.request.join(" ")])
  await e.profiles([...new Set(all.flatMap((t) => contentWords(t, lang)))], lang)
  return async (item, text, id) => {
    const s = await Effect.runPromise(
      scoreSample(
        { id, text, lang, task: "describe-image", request: item.request.join(" ") },
        {},
        Effect.succeed(e)
      )
    )
    return s === null ? null : typeof s === "number" ? s : s.score
  }
}

/**
 * The human norms in the estimator's place (a reference, no model): Pearson r over the norms'
 * channels between the request's mean norm profile and that of the candidate's words the norms
 * rate (any strength, either half); `null` for a candidate with no rated word.
 */
export const normsScorer =
  (norms: TaskNorms, lang: Lang): Scorer =>
  async (item, text) => {
    const profile = (ws: ReadonlyArray<string>) => {
      const vs = ws.flatMap((w): Array<ReadonlyArray<number>> => {
        const v = norms.lookup(w)
        return v === undefined ? [] : [v]
      })
      return vs.length === 0 ? undefined : norms.channels.map((_, k) => Stats.mean(vs.map((v) => v[k]!)))
    }
    const request = profile(item.request)
    const candidate = profile(contentWords(text, lang))
    if (request === undefined || candidate === undefined) return null
    const r = Stats.pearson(request, candidate)
    return Number.isFinite(r) ? r : null
  }

/** The scored task: each poem's positive and negative scores, and the degenerate answers' scores. */
export const scoreWith = async (items: ReadonlyArray<PoemItem>, score: Scorer, degenerateAnswers = true) => {
  const out: Array<{
    item: PoemItem
    positive: number
    auc: number
    gated: number
    scoredNegatives: number
    degenerate: Array<number>
  }> = []
  for (const item of items) {
    const positive = await score(item, item.positive, item.id)
    if (positive === null) continue
    const negatives: Array<number> = []
    for (const n of item.negatives) {
      const s = await score(item, n.text, n.id)
      if (s !== null) negatives.push(s)
    }
    const first = item.positive.split("\n")[0]!
    // the cheap degenerate answers of this task: the request echoed, the positive's first line repeated
    const degenerate = degenerateAnswers
      ? [
          (await score(item, item.request.join(", "), `${item.id}-echo`)) ?? Number.NaN,
          (await score(item, Array(4).fill(first).join("\n"), `${item.id}-repeated`)) ?? Number.NaN
        ]
      : []
    out.push({
      item,
      positive,
      auc: retrievalAuc(positive, negatives),
      gated: negatives.filter((s) => s === -1).length + (positive === -1 ? 1 : 0),
      scoredNegatives: negatives.length,
      degenerate
    })
  }
  return out.filter((x) => Number.isFinite(x.auc))
}

/** The task scored by the metric with an estimator. */
export const scorePoemTask = async (items: ReadonlyArray<PoemItem>, estimator: Estimator, lang: Lang) =>
  scoreWith(items, await metricScorer(items, estimator, lang))

const sourcesOf = (data: string, lang: Lang) => [
  ...poemFiles[lang].map((f) => join(data, f)),
  ...(lang === "en" ? lancasterFiles : [miklashevskyFile]).map((f) => join(data, f))
]

const taskOf = (data: string, lang: Lang, poems: number | undefined) => {
  const norms = taskNorms(data, lang)
  const items = buildPoemTask(readTaskPoems(data, lang), norms, (t) => contentWords(t, lang), {
    lang,
    poems: poems ?? 300,
    negatives: 50,
    seed: 13
  })
  return { norms, items }
}

/** What a scored task says: the request, the candidates, the statistic, per channel. */
const taskDetail = (
  lang: Lang,
  norms: TaskNorms,
  s: ReturnType<typeof summarise>,
  scorer: string
): string => {
  const f = (x: number) => x.toFixed(3)
  return (
    `per poem: the request = up to 4 of the first 4 lines' words with the strongest ${lang === "en" ? "Lancaster" : "Miklashevsky"} norm ` +
    `(${norms.channels.join(", ")}; at least 2${lang === "en" ? ", test half, no seeds or anchors" : ", no seeds or anchors"}), ` +
    `scored by ${scorer} against the poem's next 4 lines and the next 4 lines of 50 other poems of the sample (seeded), ` +
    `the request's words removed from every candidate; AUC = share of other poems' lines the own lines outscore, mean over poems ` +
    `(bootstrap over poems; seed 13, first 8 lines, poems deduplicated by first line); ` +
    `per dominant channel of the request's norms: ${s.perChannel.map((c) => `${c.channel} ${f(c.value)} [${f(c.ci[0])}, ${f(c.ci[1])}] (n ${c.n})`).join(", ")}; ` +
    `channel mean weighted by how often each dominates ${f(s.weighted)} (equal to the overall mean by construction), unweighted ${f(s.unweighted)}`
  )
}

/** The checks `resonance on human poems (en|ru)`, and the human norms in the estimator's place. */
export const poemValidations = (
  data: string,
  modelName: string,
  requires: ReadonlyArray<string>,
  estimatorOf: () => Promise<{ estimator: Estimator; how: string }>,
  options: { readonly poems?: number } = {}
): ReadonlyArray<Validation> => {
  const dataName = (lang: Lang) =>
    lang === "en"
      ? "public-domain poems and Shakespeare's sonnets; Lancaster sensorimotor norms"
      : "Russian classic poems and ruslit works; Miklashevsky 2018 perceptual norms"
  const statistic = "retrieval AUC (own next lines over other poems' lines)"
  const metric = (lang: Lang): Validation => ({
    name: `resonance on human poems (${lang})`,
    data: dataName(lang),
    statistic,
    requires: [...sourcesOf(data, lang), ...requires],
    run: Effect.promise(async (): Promise<ValidationResult> => {
      const { estimator, how } = await estimatorOf()
      const { norms, items } = taskOf(data, lang, options.poems)
      const scored = await scorePoemTask(items, estimator, lang)
      const s = summarise(
        scored.map((x) => ({ channel: x.item.channel, auc: x.auc })),
        7
      )
      const degenerateBelow = scored.flatMap((x) => x.degenerate.map((d): number => (d < x.positive ? 1 : 0)))
      const gated = scored.reduce((sum, x) => sum + x.gated, 0)
      const pairs = scored.reduce((sum, x) => sum + 1 + x.item.negatives.length, 0)
      return {
        value: s.overall.value,
        ci: s.overall.ci,
        n: s.n,
        detail:
          `${taskDetail(lang, norms, s, "the metric")}; ` +
          `candidates the degenerate gate scored -1: ${gated} of ${pairs}; ` +
          `degenerate answers below the own lines (request echoed, a line repeated ×4): ${degenerateBelow.reduce((a, b) => a + b, 0)} of ${degenerateBelow.length}; ` +
          `${how}, ${modelName}`
      }
    })
  })
  const reference = (lang: Lang): Validation => ({
    name: `resonance on human poems (${lang}), human norms in place of the estimator`,
    data: dataName(lang),
    statistic,
    requires: sourcesOf(data, lang),
    run: Effect.promise(async (): Promise<ValidationResult> => {
      const { norms, items } = taskOf(data, lang, options.poems)
      const scored = await scoreWith(items, normsScorer(norms, lang), false)
      const s = summarise(
        scored.map((x) => ({ channel: x.item.channel, auc: x.auc })),
        7
      )
      const negatives = scored.reduce((sum, x) => sum + x.scoredNegatives, 0)
      return {
        value: s.overall.value,
        ci: s.overall.ci,
        n: s.n,
        detail:
          `${taskDetail(lang, norms, s, "the human norms (Pearson r of the request's and the candidate's mean norm profiles over the norms' channels; a candidate's words the norms rate, any strength)")}; ` +
          `poems whose own lines have a rated word: ${scored.length} of ${items.length}; negatives with one: ${negatives} of ${scored.length * 50}; ` +
          `no model (the same on every judge's card): how far the task is learnable from the norms themselves`
      }
    })
  })
  return [metric("en"), metric("ru"), reference("en"), reference("ru")]
}
