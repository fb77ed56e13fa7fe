/**
 * The checks `pnpm validate` runs: each package contributes its validations against the human
 * data in `../shared/data` (see each check's `data` and `requires`).
 *
 * `validations` run by default (and in CI): the fusion round trip and the sensory estimator on
 * Gemma (about two minutes through the embedding graph). `pending` run with `pnpm validate --all`:
 * checks still under their floor (the composition score on Reddy et al. 2011).
 */
import type { Validation } from "@hyperwords/core/Validation"
import { sensesValidations } from "@hyperwords/corpus/SensesValidation"
import { corpusValidations } from "@hyperwords/corpus/Validations"

const corpus = corpusValidations()
const isFusion = (v: Validation) => v.name.includes("fusion")

export const validations: ReadonlyArray<Validation> = [...corpus.filter(isFusion), ...sensesValidations()]

export const pending: ReadonlyArray<Validation> = corpus.filter((v) => !isFusion(v))
