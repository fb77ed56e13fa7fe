/**
 * Wendler et al. 2024 ("Do Llamas Work in English?") on this model: on Russian input, the logit
 * lens of the middle layers puts more probability on the English word than on the answer, which
 * takes over only near the output. Two of the paper's tasks: repeating a Russian word, and
 * translating it into French (so neither the input nor the answer is English).
 */
import type { Model } from "@hyperwords/models/Model"
import type { Finding } from "./Findings.ts"
import { type Translation, translations } from "./Lexicon.ts"
import { readIds } from "./Measure.ts"
import { type BandTest, bands, bandTest, layerBand, type TestOptions, testFigure } from "./Verdict.ts"

/** The prompt of the repetition task: repeat a Russian word. */
export const pivotPrompt = (word: string): string => `«солнце» — «солнце», «дом» — «дом», «${word}» — «`

/** The prompt of the translation task: two other items as examples, then the word to translate into French. */
export const translationPrompt = (item: Translation, shots: ReadonlyArray<Translation>): string =>
  `${shots.map((s) => `Русский: "${s.ru}" - Français: "${s.fr}"\n`).join("")}Русский: "${item.ru}" - Français: "`

/** The two tasks. */
export type PivotTask = "repetition" | "translation"

const logsumexp = (xs: ReadonlyArray<number>): number => {
  const m = Math.max(...xs)
  return m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0))
}

/**
 * Wendler et al.'s claim as a band test: per item and layer, the lens probability of the English
 * word minus the answer's (`english[item][layer]`, `answer[item][layer]`), the statistic its mean
 * over the band. Inconclusive when the answer does not lead at the output: a model that does not
 * do the task cannot show that it passes through English on the way.
 */
export const pivotTest = (
  english: ReadonlyArray<ReadonlyArray<number>>,
  answer: ReadonlyArray<ReadonlyArray<number>>,
  numLayers: number,
  options: TestOptions & { readonly answerName: string }
): BandTest => {
  const mean = (rows: ReadonlyArray<ReadonlyArray<number>>, l: number) =>
    rows.reduce((s, r) => s + r[l]!, 0) / Math.max(1, rows.length)
  const solved = mean(answer, numLayers) > mean(english, numLayers)
  return bandTest(
    english.map((r, i) => r.map((e, l) => e - answer[i]![l]!)),
    bands.pivot,
    {
      ...options,
      numLayers,
      statistic: `P(English) − P(${options.answerName}) over the band`,
      ...(solved
        ? {}
        : { blocked: `the ${options.answerName} answer does not lead at the output (layer ${numLayers})` })
    }
  )
}

/** An item as the lens reads it: the prompt, the answer's token and the English word's (with and without its space). */
interface PivotRead {
  readonly prompt: string
  readonly answer: number
  readonly english: readonly [number, number]
  readonly single: boolean
}

/**
 * The items of a task as this tokenizer reads them, each answer and English word by its first
 * token (a single-token answer where the tokenizer has one: on small vocabularies most Russian
 * and many French words are several pieces, and keeping only single-token items would leave too
 * few to test). An item whose answer and English word share a first token is left out: the lens
 * could not tell them apart.
 */
export const pivotItems = (
  model: Model,
  task: PivotTask,
  items: ReadonlyArray<Translation> = translations
): { readonly reads: ReadonlyArray<PivotRead>; readonly singleToken: number; readonly total: number } => {
  const tokens = (text: string) => model.encode(text, { addSpecialTokens: false })
  const reads = items.flatMap((item, i) => {
    const answerWord = task === "repetition" ? item.ru : item.fr
    const answer = tokens(answerWord)
    const spaced = tokens(` ${item.en}`)
    const bare = tokens(item.en)
    const english = [spaced[0] ?? 0, bare[0] ?? 0] as const
    if (answer.length === 0 || english.includes(answer[0]!)) return []
    const shots = [items[(i + 1) % items.length]!, items[(i + 2) % items.length]!]
    return [
      {
        prompt: task === "repetition" ? pivotPrompt(item.ru) : translationPrompt(item, shots),
        answer: answer[0]!,
        english,
        single: answer.length === 1
      }
    ]
  })
  return { reads, singleToken: reads.filter((r) => r.single).length, total: items.length }
}

/** Options of the English-pivot check. */
export interface PivotOptions extends Omit<TestOptions, "seed"> {
  readonly seed?: number
  readonly task?: PivotTask
  readonly batchSize?: number
  readonly items?: ReadonlyArray<Translation>
  /** Called after each batch with the prompts read so far and their number. */
  readonly onProgress?: (done: number, total: number) => void
}

/** (c): lens probability of the English word against the answer per item and layer, on Russian input. */
export const englishPivot = async (model: Model, options: PivotOptions = {}): Promise<Finding> => {
  const task = options.task ?? "repetition"
  const { reads, singleToken, total } = pivotItems(model, task, options.items)
  const batchSize = options.batchSize ?? 8
  const layers = model.config.numLayers + 1
  const en: Array<Array<number>> = []
  const ans: Array<Array<number>> = []
  for (let s = 0; s < reads.length; s += batchSize) {
    const batch = reads.slice(s, s + batchSize)
    const ids = batch.map((r) => readIds(model, r.prompt).ids)
    // the lens at each prompt's last token only (the lens head when the folder has it)
    const res = await model.lensAtLast(
      ids,
      batch.map((r) => [r.answer, ...r.english])
    )
    const [, b, k] = res.dims
    const lp = res.data
    batch.forEach((_, row) => {
      const off = (l: number) => (l * b + row) * k
      ans.push(Array.from({ length: layers }, (_, l) => Math.exp(lp[off(l)]!)))
      en.push(
        Array.from({ length: layers }, (_, l) => Math.exp(logsumexp([lp[off(l) + 1]!, lp[off(l) + 2]!])))
      )
    })
    options.onProgress?.(ans.length, reads.length)
  }
  const answerName = task === "repetition" ? "Russian" : "French"
  const seed = options.seed ?? 1
  const test = pivotTest(en, ans, layers - 1, {
    seed: seed + (task === "repetition" ? 2 : 3),
    permutations: options.permutations,
    resamples: options.resamples,
    answerName
  })
  const english = layerBand(en, seed)
  const answer = layerBand(ans, seed)
  const key = answerName.toLowerCase()
  const last = layers - 1
  const e = (x: number | undefined) => (x ?? Number.NaN).toExponential(2)
  return {
    id: task === "repetition" ? "english-pivot" : "english-pivot-translation",
    claim: `Middle layers lean to English for Russian input, ${task === "repetition" ? "repeating a Russian word" : "translating Russian into French"} (Wendler et al. 2024, Do Llamas Work in English?)`,
    source: "Wendler et al. 2024",
    verdict: test.verdict,
    reproduced: test.verdict === "reproduced",
    test,
    figure:
      `${testFigure(test)}. Logit lens on ${reads.length} of ${total} ${task} prompts (${singleToken} single-token answers, the others by their first token; items whose answer and English share a first token left out): ` +
      `at the output (layer ${last}) P(English) ${e(english.mean[last])} vs P(${answerName}) ${e(answer.mean[last])}`,
    curves: { english: english.mean, [key]: answer.mean },
    ci: { english: { lo: english.lo, hi: english.hi }, [key]: { lo: answer.lo, hi: answer.hi } }
  }
}
