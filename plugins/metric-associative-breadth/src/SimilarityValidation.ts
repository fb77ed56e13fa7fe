/**
 * The Russian check of the breadth's distance (`pnpm validate`): the HJ word pairs (Panchenko et
 * al. 2017, 398 pairs rated for similarity by people, `../shared/data/ru_similarity_hj`), each
 * pair scored as the plugin ships — both words through the Russian dictionary (`russianNouns`,
 * lemmatised), their distance the task's own (`datScore` of the two: cosine distance × 100 of the
 * judge's standardised layer-1 vectors, the reference drawn from the Russian pool) — and Spearman ρ
 * between the negated distance and the human similarity, with a bootstrap CI over pairs. Pairs
 * whose words the dictionary does not take as nouns are left out (n says how many count).
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Stats } from "@hyperwords/eval"
import { loadModel, resolveModelDir, sharedData, type Validation } from "@hyperwords/eval/Sdk"
import { bootstrapStatistic, spearman } from "@hyperwords/eval/Stats"
import { Effect } from "effect"
import { breadthScorer } from "./Breadth.ts"
import { validateWord } from "./Dat.ts"
import type { Dictionary } from "./Dictionary.ts"
import { dictionaryOf } from "./Sample.ts"

const hjFile = "ru_similarity_hj/ru-hj398.tsv"

/** One rated pair. */
export interface RatedPair {
  readonly word1: string
  readonly word2: string
  readonly similarity: number
}

/** Read a word-pair file (`word1`, `word2`, `similarity`; `#` comment lines before the header). */
export const readPairs = (path: string): Array<RatedPair> => {
  const lines = readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#"))
  const cols = lines[0]!.split("\t")
  const [i1, i2, is] = ["word1", "word2", "similarity"].map((c) => cols.indexOf(c))
  return lines.slice(1).flatMap((line) => {
    const f = line.split("\t")
    const similarity = Number(f[is!])
    return Number.isFinite(similarity) ? [{ word1: f[i1!]!.trim(), word2: f[i2!]!.trim(), similarity }] : []
  })
}

/** The pairs the dictionary takes, as the lemmas the plugin scores (a pair of one lemma twice is left out). */
export const validPairs = (
  pairs: ReadonlyArray<RatedPair>,
  dictionary: Dictionary
): Array<{ readonly words: readonly [string, string]; readonly similarity: number }> =>
  pairs.flatMap((p) => {
    const a = validateWord(p.word1, dictionary)
    const b = validateWord(p.word2, dictionary)
    return a === undefined || b === undefined || a === b
      ? []
      : [{ words: [a, b] as const, similarity: p.similarity }]
  })

/** Options of the check. */
export interface SimilarityValidationOptions {
  readonly model?: string
  readonly data?: string
}

/** The Russian similarity check of `associative-breadth`'s distance. */
export const similarityValidations = (
  options: SimilarityValidationOptions = {}
): ReadonlyArray<Validation> => {
  const data = options.data ?? sharedData
  const modelName = options.model ?? "gemma-3-270m"
  const file = join(data, hjFile)
  return [
    {
      name: "associative-breadth distance (ru)",
      data: "Panchenko et al. 2017 HJ: Russian word pairs rated for similarity",
      statistic: "Spearman ρ (−distance vs human similarity)",
      floor: 0.3,
      requires: [file, join(resolveModelDir(modelName), "onnx", "probe.json")],
      run: Effect.promise(async () => {
        const all = readPairs(file)
        const dictionary = dictionaryOf({}, "ru")
        const pairs = validPairs(all, dictionary)
        const scorer = await breadthScorer(await loadModel(modelName), dictionary)
        const distances = await scorer.scoreMany(pairs.map((p) => p.words))
        const rows = pairs.map((p, i) => ({ model: -distances[i]!, human: p.similarity }))
        const rho = bootstrapStatistic(rows, (s) =>
          spearman(
            s.map((r) => r.model),
            s.map((r) => r.human)
          )
        )
        return {
          value: rho.value,
          ci: rho.ci,
          n: rows.length,
          detail:
            `${pairs.length} of ${all.length} pairs have both words in ${dictionary.name}; ` +
            `${modelName} layer ${scorer.layer}, reference and pool from ${scorer.pool.length} Russian nouns; ` +
            `Pearson r ${Stats.pearson(
              rows.map((r) => r.model),
              rows.map((r) => r.human)
            ).toFixed(3)}`
        }
      })
    }
  ]
}
