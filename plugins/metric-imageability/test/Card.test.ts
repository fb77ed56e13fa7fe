/**
 * The committed cards (`cards/<judge>.json`, written by `pnpm validate`) against the code: each
 * card holds its headline check and only checks the plugin declares (one not computed yet is a
 * todo), and the cheap checks (those the card says took at
 * most HYPERWORDS_CARD_SECONDS, default 120 s), computed again on the shared data, land in the
 * card's CI. Skips the recomputation without ../shared/data or the judge's model folder.
 */
import { join } from "node:path"
import { cardFile, checkKey, readCard, recheckCard } from "@hyperwords/eval/Card"
import { hasSharedData } from "@hyperwords/eval/Sdk"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { imageabilityValidations } from "../src/Validation.ts"

const cheap = Number(process.env.HYPERWORDS_CARD_SECONDS ?? 120)

for (const judge of ["smollm2-135m", "gemma-3-270m"]) {
  const card = readCard(cardFile(join(import.meta.dirname, ".."), judge))
  const checks = imageabilityValidations({ model: judge })
  describe(`imageability card, judge ${judge}`, () => {
    it("is this judge's card, its headline check on it, and no check the plugin no longer declares", () => {
      expect(card?.judge).toBe(judge)
      const declared = checks.map(checkKey)
      expect(card!.checks.map(checkKey).filter((k) => !declared.includes(k))).toEqual([])
      expect(card!.checks.map(checkKey)).toContain(declared[0])
    })
    // a declared check not computed yet for this judge shows as a todo with the command that fills it
    for (const v of checks.filter((v) => !card?.checks.some((c) => checkKey(c) === checkKey(v))))
      it.todo(`not on the card yet: ${checkKey(v)} (pnpm validate --judge ${judge} --check '${v.name}')`)
    it.skipIf(!hasSharedData() || card === undefined)(
      "is what the code computes on the shared data, within each statistic's CI (cheap checks)",
      async () => {
        const r = await Effect.runPromise(recheckCard(card!, checks, (c) => c.seconds <= cheap))
        expect(r.filter((x) => x.agrees === false).map((x) => `${x.key}: ${x.reason}`)).toEqual([])
      },
      1_200_000
    )
  })
}
