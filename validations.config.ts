/**
 * The checks `pnpm validate` runs: each package contributes its validations against the human
 * data in `../shared/data` (see each check's `data` and `requires`).
 */

import type { Validation } from "@hyperwords/core/Validation"
import { sensesValidations } from "@hyperwords/corpus/SensesValidation"
import { corpusValidations } from "@hyperwords/corpus/Validations"

export const validations: ReadonlyArray<Validation> = [...sensesValidations(), ...corpusValidations()]
