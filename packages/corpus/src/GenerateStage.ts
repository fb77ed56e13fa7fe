/**
 * The `generate` stage, mining half: reads the poetry corpora named in its params, mines image
 * clusters and writes them as hyperword records to `poem_hyperwords.jsonl` (exported to the
 * reports folder). Skipped input is listed in the set's `skipped` field and in `skipped.jsonl`.
 * The model input is declared for the living-word generator, which comes later.
 */
import { readdirSync, statSync, writeFileSync } from "node:fs"
import { isAbsolute, join, relative, resolve } from "node:path"
import { HyperwordRecord, type HyperwordSet } from "@hyperwords/core/Artifacts"
import { decodeValue } from "@hyperwords/core/Decode"
import { Progress } from "@hyperwords/core/Progress"
import { defineStage } from "@hyperwords/core/Stage"
import { Effect, Result, Schema } from "effect"
import { formatSkip, readCorpus, type Skip } from "./Corpus.ts"
import { defaultMiningOptions, type MiningOptions, mine } from "./Mining.ts"
import { type Lemmatizer, lemmatizer } from "./Segment.ts"
import type { Lang } from "./SensationSeeds.ts"

/** Params of the `generate` stage (mining part). Paths are relative to `pipeline.config.ts`. */
export const GenerateParams = Schema.Struct({
  /** Corpora to mine: files (JSONL, JSON, CSV, TXT) or folders of them. */
  corpus: Schema.Array(Schema.String),
  /** The record field holding a poem's text (detected when absent). */
  textField: Schema.optionalKey(Schema.String),
  /** Encoding of the corpus files (UTF-8 or UTF-16 with BOM when absent). */
  encoding: Schema.optionalKey(Schema.String),
  /** Longest line kept, in characters. */
  maxLineChars: Schema.optionalKey(Schema.Int),
  minCount: Schema.optionalKey(Schema.Int),
  minNpmi: Schema.optionalKey(Schema.Finite),
  minLlr: Schema.optionalKey(Schema.Finite),
  maxWords: Schema.optionalKey(Schema.Int),
  window: Schema.optionalKey(Schema.Int),
  maxEvidence: Schema.optionalKey(Schema.Int)
})
export type GenerateParams = typeof GenerateParams.Type

/** The file of the hyperword set, also exported to the reports folder. */
export const hyperwordsFile = "poem_hyperwords.jsonl"

/** Skips listed in the set's index document; the rest are in `skipped.jsonl`. */
const listedSkips = 100

const bytesOf = (path: string): number => {
  const st = statSync(path, { throwIfNoEntry: false })
  if (st === undefined) return 0
  if (!st.isDirectory()) return st.size
  return readdirSync(path).reduce((n, e) => n + bytesOf(join(path, e)), 0)
}

const displayPath = (projectDir: string, path: string): string => {
  const rel = relative(projectDir, path)
  return rel.startsWith("..") || isAbsolute(rel) ? path : rel.split("\\").join("/")
}

/** The mining options a run uses: the params over the defaults. */
export const miningOptions = (p: GenerateParams): MiningOptions => ({
  minCount: p.minCount ?? defaultMiningOptions.minCount,
  minNpmi: p.minNpmi ?? defaultMiningOptions.minNpmi,
  minLlr: p.minLlr ?? defaultMiningOptions.minLlr,
  maxWords: p.maxWords ?? defaultMiningOptions.maxWords,
  window: p.window ?? defaultMiningOptions.window,
  maxEvidence: p.maxEvidence ?? defaultMiningOptions.maxEvidence
})

/** The `generate` stage: mined hyperwords from poetry (the living-word generator joins later). */
export const generateStage = defineStage<GenerateParams>({
  id: "generate",
  description: "mine hyperwords from poetry and make living words from sensations",
  codeVersion: "1",
  params: GenerateParams,
  inputs: { model: { stage: "models", output: "model" } },
  outputs: { hyperwords: "HyperwordSet" },
  sources: (p) => p.corpus,
  exports: [{ output: "hyperwords", file: hyperwordsFile, to: hyperwordsFile }],
  run: (ctx) =>
    Effect.gen(function* () {
      const progress = yield* Progress
      const p = ctx.params
      const paths = p.corpus.map((c) => resolve(ctx.projectDir, c))
      const dir = ctx.outputDir("hyperwords")
      let records: Array<HyperwordRecord> = []
      let skipped: ReadonlyArray<Skip> = []
      let sources: Array<{ path: string; sha256: string }> = []

      if (paths.length > 0) {
        const reading = progress.task("generate: reading corpora", {
          total: paths.reduce((n, path) => n + bytesOf(path), 0),
          unit: "bytes"
        })
        const corpus = yield* readCorpus(paths, {
          textField: p.textField,
          encoding: p.encoding,
          maxLineChars: p.maxLineChars,
          onFile: (n) => reading.advance(n)
        }).pipe(
          Effect.onExit((exit) =>
            Effect.sync(() => reading.finish(exit._tag === "Success" ? "done" : "failed"))
          )
        )
        skipped = corpus.skipped
        sources = corpus.files.map((f) => ({ path: displayPath(ctx.projectDir, f.path), sha256: f.sha256 }))

        const lemmatizers: Partial<Record<Lang, Lemmatizer>> = {}
        for (const lang of new Set(corpus.poems.map((poem) => poem.lang)))
          lemmatizers[lang] = yield* lemmatizer(lang)
        const mining = progress.task("generate: mining", {
          total: corpus.poems.reduce((n, poem) => n + poem.lines.length, 0),
          unit: "lines"
        })
        const mined = mine(corpus.poems, lemmatizers, miningOptions(p), (done) => mining.update(done))
        mining.finish()
        records = mined.records
        const s = mined.summary
        progress.log(
          `generate: ${s.lines} lines (${s.duplicateLines} repeated), ` +
            `${Object.entries(s.records)
              .map(([lang, n]) => `${n} ${lang}`)
              .join(", ")} mined hyperwords, ${skipped.length} skipped`
        )
        for (const skip of skipped.slice(0, 5)) progress.log(`  skipped ${formatSkip(skip)}`)
      }

      for (const r of records) {
        const check = decodeValue(HyperwordRecord, r, { file: hyperwordsFile })
        if (Result.isFailure(check)) return yield* Effect.fail(check.failure)
      }
      writeFileSync(join(dir, hyperwordsFile), records.map((r) => `${JSON.stringify(r)}\n`).join(""))
      if (skipped.length > 0) {
        writeFileSync(join(dir, "skipped.jsonl"), skipped.map((s) => `${JSON.stringify(s)}\n`).join(""))
      }
      const byLang: Record<string, number> = {}
      for (const r of records) byLang[r.lang] = (byLang[r.lang] ?? 0) + 1
      const listed: Array<{ file: string; line?: number; reason: string }> = skipped.slice(0, listedSkips)
      if (skipped.length > listedSkips) {
        listed.push({
          file: "skipped.jsonl",
          reason: `${skipped.length - listedSkips} more skips listed there`
        })
      }
      const data: typeof HyperwordSet.Type = {
        schemaVersion: 1,
        file: hyperwordsFile,
        count: records.length,
        byLang,
        byOrigin: records.length > 0 ? { mined: records.length } : {},
        sources,
        ...(skipped.length > 0 ? { skipped: listed } : {})
      }
      return { hyperwords: { data } }
    })
})
