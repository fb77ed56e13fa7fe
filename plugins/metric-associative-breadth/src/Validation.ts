/**
 * Validation of `associative-breadth` against the official human scores (`pnpm validate`): the
 * human answers of Olson et al.'s study 2 (ten words each, scored by the reference implementation
 * on GloVe 840B), scored again on the model's embeddings as the plugin ships (its own dictionary,
 * WordNet nouns: the first seven valid ones of each answer); Spearman ρ between the two, with a
 * bootstrap CI over answers. The Russian side of the distance is `SimilarityValidation.ts`.
 *
 * Answers are split by a hash of their id: the even half is the dev half (where the layer and the
 * standardisation were chosen), the odd half is the test half the check reports on.
 *
 * The degenerate-answer floor: test-half human answers, as answers to the prompt set's
 * `en-ten-words-a` prompt, scored by the plugin as shipped (WordNet nouns); each answer's
 * degenerate answers to the same prompt (`Degenerate.degenerateVariants` of `@hyperwords/eval`)
 * must score below the median human answer — all but ten random nouns, which the task rewards
 * (random lists beat people, as with GloVe): those are reported in a check of their own, no floor.
 */
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Degenerate, type SampleInput, Stats } from "@hyperwords/eval"
import { builtinPromptSet } from "@hyperwords/eval/PromptSet"
import {
  loadModel,
  resolveModelDir,
  sharedData,
  type Validation,
  type ValidationResult
} from "@hyperwords/eval/Sdk"
import { bootstrapStatistic, spearman } from "@hyperwords/eval/Stats"
import { Effect } from "effect"
import { breadthScorer, defaultLayer } from "./Breadth.ts"
import { drawWords, firstValidWords, TASK_WORDS } from "./Dat.ts"
import { wordnetNouns } from "./Dictionary.ts"
import { answerWords, degenerateScore, dictionaryOf, scoreSample } from "./Sample.ts"
import { similarityValidations } from "./SimilarityValidation.ts"

const folder = "en_dat_divergent_association"
const miklashevskyFile = "ru_perceptual_norms_miklashevsky/Miklashevsky-2018-506.tsv"

/** The prompt of the built-in set that human answers are taken to answer. */
export const tenWordsPrompt = (): string => {
  const set = JSON.parse(readFileSync(builtinPromptSet, "utf8")) as {
    prompts: ReadonlyArray<{ id: string; prompt: string }>
  }
  const p = set.prompts.find((x) => x.id === "en-ten-words-a")
  if (p === undefined) throw new Error(`${builtinPromptSet}: no prompt en-ten-words-a`)
  return p.prompt
}

/** A human answer as a sample answering `prompt`: its words, comma-separated. */
export const answerAsSample = (a: HumanAnswer, prompt: string): SampleInput => ({
  id: `dat-${a.id}`,
  text: a.words.join(", "),
  lang: "en",
  task: "ten-words",
  prompt
})

/** Whether an answer id is in the dev half (even last hex digit of its sha1). */
export const inDevHalf = (id: string): boolean =>
  Number.parseInt(createHash("sha1").update(id).digest("hex").slice(-1), 16) % 2 === 0

/** One human answer: its words and its official score. */
export interface HumanAnswer {
  readonly id: string
  readonly words: ReadonlyArray<string>
  readonly dat: number
}

/** Read the study-2 answers (TSV with `id`, `dat`, `word.1`..`word.10`); answers without a score are left out. */
export const readHumanAnswers = (path: string): Array<HumanAnswer> => {
  const [header, ...lines] = readFileSync(path, "utf8").trim().split("\n")
  const cols = header!.split("\t")
  const iId = cols.indexOf("id")
  const iDat = cols.indexOf("dat")
  const iWord = cols.indexOf("word.1")
  return lines.flatMap((line) => {
    const f = line.split("\t")
    const dat = Number(f[iDat])
    return Number.isFinite(dat) && f[iDat] !== "NA"
      ? [{ id: f[iId]!, words: f.slice(iWord, iWord + 10).filter((w) => w !== "NA"), dat }]
      : []
  })
}

/** Options of the check. */
export interface DatValidationOptions {
  readonly model?: string
  readonly data?: string
  readonly layer?: number
  /** Which half to report on (default `test`). */
  readonly half?: "dev" | "test"
}

const scoreOf = (s: unknown): number | null =>
  s === null ? null : typeof s === "number" ? s : (s as { score: number }).score

/**
 * The degenerate-answer checks: the floor over every kind but random nouns, and random nouns
 * against people (reported), from one scoring run shared by both.
 */
const floorChecks = (data: string, modelName: string): ReadonlyArray<Validation> => {
  const answers = join(data, folder, "dat_human_study2_words_scores.tsv")
  const requires = [
    answers,
    join(data, miklashevskyFile),
    builtinPromptSet,
    join(resolveModelDir(modelName), "onnx", "probe.json")
  ]
  let run: Promise<Awaited<ReturnType<typeof Degenerate.runFloorCheck>>> | undefined
  const once = () => {
    run ??= (async () => {
      const prompt = tenWordsPrompt()
      const dictionary = wordnetNouns()
      const humans = readHumanAnswers(answers)
        .filter((a) => !inDevHalf(a.id))
        .map((a) => answerAsSample(a, prompt))
        .filter((a) => answerWords(a, dictionary).length === TASK_WORDS)
        .slice(0, 60)
      const scorer = await breadthScorer(await loadModel(modelName), dictionary)
      const [header, ...rows] = readFileSync(join(data, miklashevskyFile), "utf8").trim().split("\n")
      const col = header!.split("\t").indexOf("RUSSIAN")
      const russian = rows.map((r) => r.split("\t")[col]!)
      const rng = Stats.makeRng(5)
      const draw = (pool: ReadonlyArray<string>) => () => pool[Math.floor(rng() * pool.length)]!
      const scoreWith = (gate: boolean) => async (input: SampleInput) =>
        scoreOf(await Effect.runPromise(scoreSample(input, {}, () => Effect.succeed(scorer), 1, { gate })))
      return Degenerate.runFloorCheck(
        humans,
        () => ({
          nouns: scorer.pool,
          otherLanguage: Array.from({ length: 10 }, draw(russian)).join(", "),
          examples: Array.from({ length: 10 }, draw(scorer.pool)),
          rng
        }),
        scoreWith(true),
        scoreWith(false)
      )
    })()
    return run
  }
  const statistic = "share of degenerate answers below the human median (worst kind)"
  return [
    {
      name: "associative-breadth degenerate floor (en)",
      data: "Olson et al. 2021 DAT study 2 answers (test half) to the ten-words prompt",
      statistic: `${statistic}, random nouns apart`,
      floor: 0.95,
      requires,
      run: Effect.promise(async (): Promise<ValidationResult> => {
        const r = await once()
        const kinds = r.perKind.filter((k) => k.kind !== "random-nouns")
        const worst = kinds.reduce((a, b) => (b.below < a.below ? b : a), kinds[0]!)
        return {
          value: worst.below,
          n: kinds.reduce((s, k) => s + k.n, 0),
          detail:
            `worst kind ${worst.kind}; a degenerate answer scores ${degenerateScore}; ${r.detail}; ` +
            `${modelName} layer ${defaultLayer}, WordNet nouns`
        }
      })
    },
    {
      name: "associative-breadth random nouns (en)",
      data: "Olson et al. 2021 DAT study 2 answers (test half) against ten random nouns each",
      statistic: "share of random-noun answers below the human median",
      requires,
      run: Effect.promise(async (): Promise<ValidationResult> => {
        const r = await once()
        const k = r.perKind.find((x) => x.kind === "random-nouns")!
        return {
          value: k.below,
          n: k.n,
          detail:
            `human median ${r.humanMedian.toFixed(1)}, random nouns' median ${k.median.toFixed(1)}: the task rewards ` +
            "randomness, so random nouns beat people (read scores beside the random-noun control); " +
            `${modelName} layer ${defaultLayer}, WordNet nouns`
        }
      })
    }
  ]
}

/** The check of `associative-breadth`. */
export const datValidations = (options: DatValidationOptions = {}): ReadonlyArray<Validation> => {
  const data = options.data ?? sharedData
  const modelName = options.model ?? "gemma-3-270m"
  const answers = join(data, folder, "dat_human_study2_words_scores.tsv")
  const half = options.half ?? "test"
  return [
    {
      name: "associative-breadth (DAT)",
      data: "Olson et al. 2021 DAT study 2 (official GloVe scores)",
      statistic: "Spearman ρ",
      floor: 0.5,
      requires: [answers, join(resolveModelDir(modelName), "onnx", "probe.json")],
      run: Effect.promise(async () => {
        const dictionary = dictionaryOf({}, "en")
        const rows = readHumanAnswers(answers)
          .filter((a) => inDevHalf(a.id) === (half === "dev"))
          .map((a) => ({ ...a, valid: firstValidWords(a.words, dictionary) }))
          .filter((a) => a.valid.length === TASK_WORDS)
        const model = await loadModel(modelName)
        const scorer = await breadthScorer(model, dictionary, {
          ...(options.layer === undefined ? {} : { layer: options.layer })
        })
        const scores = await scorer.scoreMany(rows.map((r) => r.valid))
        const rng = Stats.makeRng(7)
        const controls = await scorer.scoreMany(
          Array.from({ length: 500 }, () => drawWords(scorer.pool, TASK_WORDS, rng))
        )
        const pairs = rows.map((r, i) => ({ model: scores[i]!, human: r.dat }))
        const rho = bootstrapStatistic(pairs, (s) =>
          spearman(
            s.map((p) => p.model),
            s.map((p) => p.human)
          )
        )
        const control = Stats.mean(controls)
        const beatsControl = scores.filter((s) => s > control).length / scores.length
        return {
          value: rho.value,
          ci: rho.ci,
          n: rows.length,
          detail:
            `${half} half; ${modelName} layer ${scorer.layer}, ${dictionary.name} (as shipped); model score mean ${Stats.mean(scores).toFixed(1)} ` +
            `(human official mean ${Stats.mean(rows.map((r) => r.dat)).toFixed(1)}); ` +
            `random-noun control ${control.toFixed(1)} ± ${Stats.sd(controls).toFixed(1)} (500 lists); ` +
            `${(beatsControl * 100).toFixed(0)}% of human answers above the control mean; ` +
            `Pearson r ${Stats.pearson(
              scores,
              rows.map((r) => r.dat)
            ).toFixed(3)}`
        }
      })
    },
    ...floorChecks(data, modelName),
    ...similarityValidations({ model: modelName, data })
  ]
}
