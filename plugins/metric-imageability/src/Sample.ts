/**
 * The imageability of one sample, given a way to predict words: the mean prediction over the
 * content words the request and prompt did not give, and the bottom of the Glasgow scale, 1, for
 * a degenerate answer (`Degenerate` of `@hyperwords/eval`: an echo, a loop, a bare list of nouns
 * where a text was asked...).
 */
import { fileURLToPath } from "node:url"
import { Degenerate, type SampleInput, type SampleScore, Stats } from "@hyperwords/eval"
import { contentWords } from "@hyperwords/eval/Sdk"
import { Effect } from "effect"

/** The score of a degenerate answer: the bottom of the Glasgow imageability scale (1-7). */
export const degenerateScore = 1

/** The regression shipped for a model (fitted by `scripts/fit.ts` on the fit half of the Glasgow norms). */
export const shippedWeights = (model: string): string =>
  fileURLToPath(new URL(`../weights/${model}.imageability.json`, import.meta.url))

/**
 * The imageability of a sample: `null` for a text with no content words of its own, 1 for a
 * degenerate answer (unless `gate` is false: the validation's comparison), else the mean.
 */
export const scoreSample = <E>(
  input: SampleInput,
  predict: (words: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<number>, E>,
  options: { readonly gate?: boolean } = {}
): Effect.Effect<SampleScore, E> =>
  Effect.gen(function* () {
    const bad = options.gate === false ? undefined : Degenerate.degenerate(input)
    if (bad !== undefined) return { score: degenerateScore, degenerate: bad.kind, why: bad.detail }
    const all = contentWords(input.text, input.lang)
    const words = Degenerate.withoutPromptWords(all, input)
    if (words.length === 0) return null
    const values = yield* predict(words)
    const ranked = words.map((w, i) => [w, values[i]!] as const).sort((a, b) => b[1] - a[1])
    return {
      score: Stats.mean(values),
      words: words.length,
      given: all.length - words.length,
      most: ranked.slice(0, 3).map(([w]) => w),
      least: ranked
        .slice(Math.max(3, ranked.length - 3))
        .reverse()
        .map(([w]) => w)
    }
  })
