/**
 * Mining the shared poetry (`../shared/data`): the counts issue 4 asks for, fusion round trip on
 * every record, and the same output twice. Skipped when the shared data is not there.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { HyperwordRecord } from "@hyperwords/core/Artifacts"
import { Effect, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { readCorpus } from "../src/Corpus.ts"
import { mine } from "../src/Mining.ts"
import { englishLemmatizer, russianLemmatizer } from "../src/Segment.ts"
import { normalizeLine, splitPoetry } from "../src/Split.ts"
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

const promptSetFile = join(import.meta.dirname, "..", "..", "eval", "prompts", "imagery-v2.json")

describe.skipIf(!hasSharedPoetry)(
  `the held-out split of the shared poetry (${sharedData}; skipped when absent)`,
  () => {
    it("no held-out line reaches training through a duplicate in another corpus; the held-out side is poetry", async () => {
      // the shared sonnets twice over, as a user who passes the same poems in two corpora would
      const corpus = await Effect.runPromise(readCorpus([...sharedPoetry, sharedPoetry[3]!]))
      // the lines the default prompt set's continue-the-line prompts quote (the file is data: read it as such)
      const prompts = JSON.parse(readFileSync(promptSetFile, "utf8")) as {
        prompts: Array<{ task: string; prompt: string }>
      }
      const pinned = prompts.prompts.filter((p) => p.task === "continue-line").map((p) => p.prompt)
      const split = splitPoetry(corpus.poems, { fraction: 0.1, seed: 1, pinned })
      const train = new Set(split.train.flatMap((d) => d.lines.map((l) => normalizeLine(l.text))))
      for (const d of split.heldout)
        for (const l of d.lines) expect(train.has(normalizeLine(l.text)), l.text).toBe(false)
      // the second copy of the sonnets was read as duplicates: none of its documents survives
      expect(split.counts.duplicateLines).toBeGreaterThan(2000)
      // the prompt's Russian poems are held out (the Tyutchev and Pushkin lines are in the classic corpus)
      const held = split.heldout.flatMap((d) => d.lines.map((l) => normalizeLine(l.text)))
      expect(held).toContain(normalizeLine("Люблю грозу в начале мая,"))
      expect(held).toContain(normalizeLine("Мороз и солнце; день чудесный!"))
      // poetry: held-out documents from both languages, short lines as verse has
      expect(split.byLang.ru!.heldoutDocs).toBeGreaterThan(100)
      expect(split.byLang.en!.heldoutDocs).toBeGreaterThan(50)
      const lengths = held.map((l) => l.length).sort((a, b) => a - b)
      expect(lengths[Math.floor(lengths.length / 2)]!).toBeLessThan(60)
      // mining reads the training side only: no record's evidence comes from a held-out document
      const heldDocs = new Set(split.heldout.map((d) => d.doc))
      const lemmatizers = {
        ru: await Effect.runPromise(russianLemmatizer),
        en: await Effect.runPromise(englishLemmatizer)
      }
      const records = mine(split.train, lemmatizers).records
      for (const r of records) for (const e of r.evidence ?? []) expect(heldDocs.has(e.doc)).toBe(false)
    }, 300_000)
  }
)
