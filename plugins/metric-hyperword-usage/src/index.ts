/**
 * metric `hyperword-usage`: the share of a text's words that are hyperwords of a given set, used
 * as single fused words (`warmpurringlapatdusk`, not "warm purring lap at dusk"). Model-free; the
 * corpus-level score is the share of the set that the texts use at least once. A hyperword the
 * prompt or request gave (an `invent-words` example) does not count, and a degenerate answer
 * (`Degenerate.degenerate` of `@hyperwords/eval`: an echo, a loop, one line repeated...) scores 0.
 */

import { Degenerate, defineMetric, type SampleInput } from "@hyperwords/eval"
import { decodeJsonlFile } from "@hyperwords/eval/Sdk"
import { Effect, Schema } from "effect"

const Config = Schema.Struct({
  /** Hyperword surfaces to look for, in addition to those of `file`. */
  hyperwords: Schema.optionalKey(Schema.Array(Schema.NonEmptyString)),
  /** A `poem_hyperwords.jsonl`; default: the one the caller gives (`--hyperwords FILE`). */
  file: Schema.optionalKey(Schema.String),
  /** Match letter case exactly (default false: case-insensitive). */
  caseSensitive: Schema.optionalKey(Schema.Boolean)
})
type Config = typeof Config.Type

/** The hyperword set named by the config or the caller is empty or missing. */
export class NoHyperwordSet extends Schema.TaggedError<NoHyperwordSet>()("NoHyperwordSet", {}) {
  override get message(): string {
    return "no hyperword set: give `hyperwords` or `file` in the config, or pass --hyperwords FILE"
  }
}

const Surface = Schema.Struct({ surface: Schema.String })
const files = new Map<string, ReadonlyArray<string>>()

const readSurfaces = (file: string) =>
  files.has(file)
    ? Effect.succeed(files.get(file)!)
    : decodeJsonlFile(Surface, file).pipe(
        Effect.map((records) => records.map((r) => r.surface)),
        Effect.tap((surfaces) => Effect.sync(() => files.set(file, surfaces)))
      )

const normalize = (word: string, cfg: Config): string => {
  const w = word.normalize("NFC")
  return cfg.caseSensitive ? w : w.toLocaleLowerCase()
}

const hyperwordSet = (cfg: Config, hyperwordsFile: string | undefined) =>
  Effect.gen(function* () {
    const file = cfg.file ?? hyperwordsFile
    const fromFile = file === undefined ? [] : yield* readSurfaces(file)
    const set = new Set([...(cfg.hyperwords ?? []), ...fromFile].map((w) => normalize(w, cfg)))
    if (set.size === 0) return yield* new NoHyperwordSet()
    return set
  })

const words = (input: SampleInput): Array<string> => {
  const segmenter = new Intl.Segmenter(input.lang, { granularity: "word" })
  return [...segmenter.segment(input.text)].filter((s) => s.isWordLike).map((s) => s.segment)
}

const MAX_LISTED = 20

/** The score of a degenerate answer: the bottom of the scale. */
export const degenerateScore = 0

/** The hyperwords of a sample that its prompt or request did not give. */
const ownHyperwords = (
  input: SampleInput,
  all: ReadonlyArray<string>,
  set: ReadonlySet<string>,
  cfg: Config
) => {
  const given = Degenerate.givenByPrompt(input)
  return all.map((w) => normalize(w, cfg)).filter((w) => set.has(w) && !given(w))
}

/** The plugin. */
export const hyperwordUsage = defineMetric({
  name: "hyperword-usage",
  version: "1.1.0",
  apiVersion: 2,
  description: "share of the words of a text that are hyperwords of the set, used as one fused word",
  config: Config,
  sample: (input, cfg, ctx) =>
    Effect.gen(function* () {
      const set = yield* hyperwordSet(cfg, ctx.hyperwordsFile)
      const all = words(input)
      const bad = Degenerate.degenerate(input)
      if (bad !== undefined) return { score: degenerateScore, degenerate: bad.kind, why: bad.detail }
      if (all.length === 0) return null
      const used = ownHyperwords(input, all, set, cfg)
      return {
        score: used.length / all.length,
        hyperwords: used.length,
        words: all.length,
        used: [...new Set(used)].slice(0, MAX_LISTED)
      }
    }),
  corpus: (inputs, cfg, ctx) =>
    Effect.gen(function* () {
      const set = yield* hyperwordSet(cfg, ctx.hyperwordsFile)
      const seen = new Set<string>()
      let total = 0
      let hits = 0
      for (const input of inputs) {
        const all = words(input)
        total += all.length
        if (Degenerate.degenerate(input) !== undefined) continue
        for (const n of ownHyperwords(input, all, set, cfg)) {
          hits++
          seen.add(n)
        }
      }
      return {
        score: seen.size / set.size,
        distinct: seen.size,
        set: set.size,
        rate: total === 0 ? 0 : hits / total
      }
    })
})

export default hyperwordUsage
