/**
 * Mining the shared poetry (`../shared/data`): the counts issue 4 asks for, fusion round trip on
 * every record, and the same output twice. Skipped when the shared data is not there.
 */
import { HyperwordRecord } from "@hyperwords/core/Artifacts"
import { Effect, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { readCorpus } from "../src/Corpus.ts"
import { mine } from "../src/Mining.ts"
import { englishLemmatizer, russianLemmatizer } from "../src/Segment.ts"
import { hasSharedPoetry, sharedData, sharedPoetry } from "./fixtures/paths.ts"

describe.skipIf(!hasSharedPoetry)(`mining the shared poetry (${sharedData}; skipped when absent)`, () => {
  it("≥ 3,000 Russian and ≥ 1,000 English hyperwords seen twice, reversible, deterministic", async () => {
    const corpus = await Effect.runPromise(readCorpus(sharedPoetry))
    const lemmatizers = {
      ru: await Effect.runPromise(russianLemmatizer),
      en: await Effect.runPromise(englishLemmatizer)
    }
    const first = mine(corpus.poems, lemmatizers).records
    const seenTwice = (lang: string) => first.filter((r) => r.lang === lang && r.stats!.count >= 2).length
    expect(seenTwice("ru")).toBeGreaterThanOrEqual(3000)
    expect(seenTwice("en")).toBeGreaterThanOrEqual(1000)
    const decode = Schema.decodeUnknownSync(HyperwordRecord)
    const roundTrip = first.filter((r) => decode(r).parts.join("") === r.surface).length
    expect(roundTrip).toBe(first.length)
    expect(new Set(first.map((r) => r.id)).size).toBe(first.length)
    const second = mine(corpus.poems, lemmatizers).records
    expect(JSON.stringify(second)).toBe(JSON.stringify(first))
  }, 300_000)
})
