/**
 * Validation of `associative-breadth` against the official human scores (`pnpm validate`): the
 * human answers of Olson et al.'s study 2 (ten words each, scored by the reference implementation
 * on GloVe 840B), scored again on the model's embeddings with the official dictionary; Spearman ρ
 * between the two, with a bootstrap CI over answers.
 *
 * Answers are split by a hash of their id: the even half is the dev half (where the layer and the
 * standardisation were chosen), the odd half is the test half the check reports on.
 */
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import type { Validation } from "@hyperwords/core/Validation"
import { sharedData } from "@hyperwords/corpus/SensesValidation"
import { Stats } from "@hyperwords/eval"
import { bootstrapStatistic, spearman } from "@hyperwords/eval/Stats"
import { loadModel } from "@hyperwords/models/Model"
import { resolveModelDir } from "@hyperwords/models/ModelDir"
import { Effect } from "effect"
import { breadthScorer } from "./Breadth.ts"
import { drawWords, firstValidWords, TASK_WORDS } from "./Dat.ts"
import { readDictionary } from "./Dictionary.ts"

const folder = "en_dat_divergent_association"

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

/** The check of `associative-breadth`. */
export const datValidations = (options: DatValidationOptions = {}): ReadonlyArray<Validation> => {
  const data = options.data ?? sharedData
  const modelName = options.model ?? "gemma-3-270m"
  const answers = join(data, folder, "dat_human_study2_words_scores.tsv")
  const words = join(data, folder, "words.txt")
  const half = options.half ?? "test"
  return [
    {
      name: "associative-breadth (DAT)",
      data: "Olson et al. 2021 DAT study 2 (official GloVe scores)",
      statistic: "Spearman ρ",
      floor: 0.5,
      requires: [answers, words, join(resolveModelDir(modelName), "onnx", "probe.json")],
      run: Effect.promise(async () => {
        const dictionary = readDictionary(words)
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
            `${half} half; ${modelName} layer ${scorer.layer}; model score mean ${Stats.mean(scores).toFixed(1)} ` +
            `(human official mean ${Stats.mean(rows.map((r) => r.dat)).toFixed(1)}); ` +
            `random-noun control ${control.toFixed(1)} ± ${Stats.sd(controls).toFixed(1)} (500 lists); ` +
            `${(beatsControl * 100).toFixed(0)}% of human answers above the control mean; ` +
            `Pearson r ${Stats.pearson(
              scores,
              rows.map((r) => r.dat)
            ).toFixed(3)}`
        }
      })
    }
  ]
}
