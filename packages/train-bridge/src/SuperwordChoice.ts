/**
 * The superwords of a training text, counted in the pieces of the base model's own tokenizer
 * (transformers.js on the base directory, the tokenizer the tuned model extends).
 */
import { loadTokenizer } from "@hyperwords/models/Tokenizer"
import { greedySuperwords } from "./GreedySuperwords.ts"
import {
  type Superword,
  type SuperwordCriterion,
  selectSuperwords,
  superwordCandidates
} from "./Superwords.ts"

/** K superwords of the lines by a criterion; `mined` are the mined image spans (the `hyperwords` criterion). */
export const chooseSuperwords = async (
  lines: ReadonlyArray<string>,
  baseDir: string,
  choice: {
    readonly k: number
    readonly criterion: SuperwordCriterion
    readonly maxWords?: number
    readonly minCount?: number
  },
  mined: ReadonlyArray<ReadonlyArray<string>>
): Promise<Array<Superword>> => {
  if (choice.k === 0) return []
  const tokenizer = await loadTokenizer(baseDir)
  const pieces = (surface: string) => tokenizer.encode(surface, { addSpecialTokens: false }).length
  if (choice.criterion === "greedy")
    return greedySuperwords(lines, {
      k: choice.k,
      pieces,
      ...(choice.maxWords === undefined ? {} : { maxWords: choice.maxWords }),
      ...(choice.minCount === undefined ? {} : { minCount: choice.minCount })
    })
  const candidates = superwordCandidates(lines, {
    ...(choice.maxWords === undefined ? {} : { maxWords: choice.maxWords }),
    ...(choice.minCount === undefined ? {} : { minCount: choice.minCount })
  })
  return selectSuperwords(candidates, {
    k: choice.k,
    criterion: choice.criterion,
    pieces,
    hyperwords: mined
  })
}
