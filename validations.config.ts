/**
 * The checks `pnpm validate` runs: each package contributes its validations against the human
 * data in `../shared/data` (see each check's `data` and `requires`).
 */
import type { Validation } from "@hyperwords/core/Validation"

export const validations: ReadonlyArray<Validation> = []
