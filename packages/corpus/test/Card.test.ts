/**
 * The committed cards of the corpus package (`cards/<judge>.json`, written by `pnpm validate`:
 * the composition score, the fusion round trip, the sensory estimator) against the code: each card
 * holds its headline check and only checks the package declares (one not computed yet is a todo),
 * and the cheap checks (those the card says took at most
 * HYPERWORDS_CARD_SECONDS, default 120 s), computed again on the shared data, land in the card's
 * CI (± 0.005 for a check without one). Skips the recomputation without ../shared/data or the
 * judge's model folder. (The card's schema lives in `@hyperwords/eval/Card`, which this package
 * does not depend on: the file is read for the fields the test needs.)
 */
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { runValidations } from "@hyperwords/core/Validation"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { hasSharedData, sensesValidations } from "../src/SensesValidation.ts"
import { corpusValidations } from "../src/Validations.ts"

interface Check {
  readonly name: string
  readonly data: string
  readonly value: number
  readonly ci?: readonly [number, number]
  readonly n: number
  readonly seconds: number
}

const cheap = Number(process.env.HYPERWORDS_CARD_SECONDS ?? 120)
const key = (c: { name: string; data: string }) => `${c.name} — ${c.data}`

for (const judge of ["smollm2-135m", "gemma-3-270m"]) {
  const file = join(import.meta.dirname, "..", "cards", `${judge}.json`)
  const card = existsSync(file)
    ? (JSON.parse(readFileSync(file, "utf8")) as { judge: string; checks: ReadonlyArray<Check> })
    : undefined
  const checks = [...corpusValidations({ model: judge }), ...sensesValidations({ model: judge })]
  describe(`corpus card, judge ${judge}`, () => {
    it("is this judge's card, its headline check on it, and no check the package no longer declares", () => {
      expect(card?.judge).toBe(judge)
      const declared = checks.map(key)
      expect(card!.checks.map(key).filter((k) => !declared.includes(k))).toEqual([])
      expect(card!.checks.map(key)).toContain(declared[0])
    })
    // a declared check not computed yet for this judge shows as a todo with the command that fills it
    for (const v of checks.filter((v) => !card?.checks.some((c) => key(c) === key(v))))
      it.todo(`not on the card yet: ${key(v)} (pnpm validate --judge ${judge} --check '${v.name}')`)
    it.skipIf(!hasSharedData() || card === undefined)(
      "is what the code computes on the shared data, within each statistic's CI (cheap checks)",
      async () => {
        const chosen = card!.checks.filter((c) => c.seconds <= cheap)
        const outcomes = await Effect.runPromise(
          runValidations(checks.filter((v) => chosen.some((c) => key(c) === key(v))))
        )
        const off = outcomes.flatMap((o) => {
          const c = chosen.find((x) => key(x) === key(o.validation))!
          if (o.result === undefined) return o.status === "skipped" ? [] : [`${key(c)}: ${o.reason}`]
          const [lo, hi] = c.ci ?? [c.value - 0.005, c.value + 0.005]
          const x = o.result.value
          return x >= lo - 1e-9 && x <= hi + 1e-9 && o.result.n === c.n
            ? []
            : [`${key(c)}: computed ${x} (n ${o.result.n}), card ${c.value} [${lo}, ${hi}] (n ${c.n})`]
        })
        expect(off).toEqual([])
      },
      1_200_000
    )
  })
}
