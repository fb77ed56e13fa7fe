/**
 * The checks `pnpm validate` runs, grouped by what they validate: each metric plugin and each
 * package contributes its checks against the human data in `../shared/data` (see each check's
 * `data` and `requires`), for one judge model at a time — the model whose vectors the checks read,
 * as the evaluate stage's judge is the model whose vectors the metrics read. `pnpm validate`
 * writes each suite's card to `<dir>/cards/<judge>.json` (`@hyperwords/eval/Card`).
 *
 * Every check whose data (and judge) is present runs, CI included; a check under its floor fails
 * the run unless it is listed in `knownFailures` with the reason it is kept visible.
 */
import type { Validation } from "@hyperwords/core/Validation"
import { sensesValidations } from "@hyperwords/corpus/SensesValidation"
import { corpusValidations } from "@hyperwords/corpus/Validations"
import * as Card from "@hyperwords/eval/Card"
import { validations as breadth } from "@hyperwords/metric-associative-breadth"
import { validations as coherence } from "@hyperwords/metric-coherence"
import { validations as imageability } from "@hyperwords/metric-imageability"
import { validations as resonance } from "@hyperwords/metric-resonance"

/** What one card holds: a subject (a metric's name, or a package), its folder, its checks. */
export interface Suite {
  /** The metric's name as the leaderboard shows it, or the package's. */
  readonly subject: string
  /** The package folder, relative to the repository (its cards go in `<dir>/cards/`). */
  readonly dir: string
  readonly checks: ReadonlyArray<Validation>
}

/** The judges cards are computed for: the quick profile's model, then the default pipeline's. */
export const judges: ReadonlyArray<string> = ["smollm2-135m", "gemma-3-270m"]

/** The judge `pnpm validate` uses without `--judge`: the default pipeline's model. */
export const defaultJudge = "gemma-3-270m"

/** The suites of a judge. */
export const suites = (judge: string): ReadonlyArray<Suite> => [
  {
    subject: "associative-breadth",
    dir: "plugins/metric-associative-breadth",
    checks: breadth({ model: judge })
  },
  { subject: "imageability", dir: "plugins/metric-imageability", checks: imageability({ model: judge }) },
  { subject: "resonance", dir: "plugins/metric-resonance", checks: resonance({ model: judge }) },
  { subject: "coherence", dir: "plugins/metric-coherence", checks: coherence({ model: judge }) },
  {
    subject: "corpus",
    dir: "packages/corpus",
    checks: [...corpusValidations({ model: judge }), ...sensesValidations({ model: judge })]
  }
]

/** A check's key: its name and its data (two checks may share a name over different data). */
export const checkKey: (v: Pick<Validation, "name" | "data">) => string = Card.checkKey

/**
 * Checks under their floor that stay in the table (and on the card) as a visible FAIL, with why;
 * they do not fail the run. `judge`: only with that judge. Remove an entry when something honest
 * beats the floor.
 */
export const knownFailures: ReadonlyArray<{
  readonly check: string
  readonly judge?: string
  readonly reason: string
}> = [
  {
    check: checkKey({ name: "composition score", data: "Reddy et al. 2011, compounds not in Farahmand" }),
    reason:
      "under the literature (Reddy et al. 2011's best model, ρ ≈ 0.7; issue 13): kept visible until something honest beats it"
  },
  ...[
    checkKey({
      name: "coherence (ru)",
      data: "Russian classic poems (Pushkin, Blok, Yesenin, Tyutchev, Mayakovsky)"
    }),
    checkKey({ name: "senses supervised (ru)", data: "Miklashevsky 2018" }),
    checkKey({
      name: "associative-breadth distance (ru)",
      data: "Panchenko et al. 2017 HJ: Russian word pairs rated for similarity"
    })
  ].map((check) => ({
    check,
    judge: "smollm2-135m",
    reason:
      "smollm2-135m is an English model: Russian is under the floor with it (measured, kept visible); the default judge gemma-3-270m is the multilingual one"
  }))
]

/** Why a check under its floor is a known failure with this judge, if it is one. */
export const knownFailure = (judge: string, v: Pick<Validation, "name" | "data">): string | undefined =>
  knownFailures.find((k) => k.check === checkKey(v) && (k.judge === undefined || k.judge === judge))?.reason
