/**
 * The checks `pnpm validate` runs: each package and metric plugin contributes its validations
 * against the human data in `../shared/data` (see each check's `data` and `requires`).
 *
 * `validations` run by default (and in CI): the fusion round trip, the sensory estimator, and every
 * metric check that has a floor. `pending` run with `pnpm validate --all`: checks still under
 * their floor (the composition score on Reddy et al. 2011) and the report-only metric checks
 * (imageability in both languages, kartaslov, USF association), left out of CI for time.
 */
import type { Validation } from "@hyperwords/core/Validation"
import { sensesValidations } from "@hyperwords/corpus/SensesValidation"
import { corpusValidations } from "@hyperwords/corpus/Validations"
import { validations as breadth } from "@hyperwords/metric-associative-breadth"
import { validations as coherence } from "@hyperwords/metric-coherence"
import { validations as imageability } from "@hyperwords/metric-imageability"
import { validations as resonance } from "@hyperwords/metric-resonance"

const corpus = corpusValidations()
const isFusion = (v: Validation) => v.name.includes("fusion")
const metrics = [...breadth(), ...imageability(), ...resonance(), ...coherence()]
const floored = (v: Validation) => v.floor !== undefined

export const validations: ReadonlyArray<Validation> = [
  ...corpus.filter(isFusion),
  ...sensesValidations(),
  ...metrics.filter(floored)
]

export const pending: ReadonlyArray<Validation> = [
  ...corpus.filter((v) => !isFusion(v)),
  ...metrics.filter((v) => !floored(v))
]
