/**
 * The `generate` stage, mining half: reads the poetry corpora named in its params, splits them
 * into training and held-out documents (lines normalised and deduplicated across corpora, whole
 * documents held out, the documents of pinned lines always held out: `Split.ts`), mines image
 * clusters from the training documents only and writes them as hyperword records to
 * `poem_hyperwords.jsonl` (exported to the reports folder); the split is the `poetry` output. Skipped input is listed in the set's `skipped` field and in `skipped.jsonl`.
 * The living-word generator then makes `generated` new hyperwords from the default sensations
 * (or `feel`), half in each language, with the stage's model (its `data.dir`), and every record
 * — mined or generated — gets its sensory profile from the zero-shot estimator.
 */
import { readdirSync, statSync, writeFileSync } from "node:fs"
import { isAbsolute, join, relative, resolve } from "node:path"
import { HyperwordRecord, type HyperwordSet } from "@hyperwords/core/Artifacts"
import { decodeValue } from "@hyperwords/core/Decode"
import { Progress } from "@hyperwords/core/Progress"
import { defineStage } from "@hyperwords/core/Stage"
import { loadModel } from "@hyperwords/models/Model"
import { Effect, Result, Schema } from "effect"
import { formatSkip, type Poem, readCorpus, type Skip } from "./Corpus.ts"
import { generateWords, type Sensation } from "./Generator.ts"
import { defaultMiningOptions, type MiningOptions, mine } from "./Mining.ts"
import { type Lemmatizer, lemmatizer } from "./Segment.ts"
import type { Lang } from "./SensationSeeds.ts"
import { roundProfile } from "./Senses.ts"
import { defaultEstimator, sensesWeightsVersion } from "./SensesDefault.ts"
import { type PoetrySplitResult, splitPoetry } from "./Split.ts"
import { recordCounts } from "./Statistics.ts"

/** Params of the `generate` stage (mining part). Paths are relative to `pipeline.config.ts`. */
export const GenerateParams = Schema.Struct({
  /** Corpora to mine: files (JSONL, JSON, CSV, TXT) or folders of them. */
  corpus: Schema.Array(Schema.String),
  /** The record field holding a poem's text (detected when absent). */
  textField: Schema.optionalKey(Schema.String),
  /** Encoding of the corpus files (UTF-8 or UTF-16 with BOM when absent). */
  encoding: Schema.optionalKey(Schema.String),
  /** Encodings of some corpora, by their path as given in `corpus` (`--encoding` sets it for the `--corpus` paths). */
  encodings: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
  /** Longest line kept, in characters. */
  maxLineChars: Schema.optionalKey(Schema.Int),
  minCount: Schema.optionalKey(Schema.Int),
  minNpmi: Schema.optionalKey(Schema.Finite),
  minLlr: Schema.optionalKey(Schema.Finite),
  maxWords: Schema.optionalKey(Schema.Int),
  window: Schema.optionalKey(Schema.Int),
  maxEvidence: Schema.optionalKey(Schema.Int),
  /** Living words to generate from sensations (default 0: mining only). */
  generated: Schema.optionalKey(Schema.Int),
  /** The generator's seed: the same seed gives the same words. */
  seed: Schema.optionalKey(Schema.Int),
  /** Sensations to generate from, as free words (default: `defaultSensations`). */
  feel: Schema.optionalKey(Schema.Array(Schema.String)),
  /** Attach sensory profiles to every record (default true when a model is given). */
  senses: Schema.optionalKey(Schema.Boolean),
  /** Share of poetry documents (groups of documents that share a line) held out, 0–0.5 (default 0.1). */
  heldoutFraction: Schema.optionalKey(Schema.Finite),
  /** Salt of the held-out split (default 1). */
  splitSeed: Schema.optionalKey(Schema.Int),
  /** Lines whose documents are always held out: the lines the evaluation's prompts quote. */
  pinned: Schema.optionalKey(Schema.Array(Schema.String))
})
export type GenerateParams = typeof GenerateParams.Type

/** The sensations the generator draws from by default, in both languages. */
export const defaultSensations: ReadonlyArray<string> = [
  "тёплое мягкое мурчит вечер",
  "холодный звонкий синий рассвет",
  "сладкий запах мёда и липы",
  "ветер бег листопад дрожь",
  "горький дым костра ночью",
  "шёлк кожа тёплая ладонь",
  "гром ливень мокрая трава",
  "солёное море крик чаек",
  "warm soft purring dusk",
  "cold ringing blue dawn",
  "sweet smell of honey and lime",
  "wind running falling leaves shiver",
  "bitter smoke of a night fire",
  "silk skin warm palm",
  "thunder downpour wet grass",
  "salty sea crying gulls"
]

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
  // 5: the sensory default is supervised where a model's shipped weights validated better; the
  // weights' own hash is part of the version, so refitting them re-runs the stage
  codeVersion: `5+senses.${sensesWeightsVersion()}`,
  params: GenerateParams,
  inputs: { model: { stage: "models", output: "model" } },
  outputs: { hyperwords: "HyperwordSet", poetry: "PoetrySplit" },
  sources: (p) => p.corpus,
  commandLine: (o) =>
    o.encoding === undefined
      ? {}
      : { encodings: Object.fromEntries(o.corpus.map((c) => [c, o.encoding as string])) },
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
      const fraction = p.heldoutFraction ?? 0.1
      const splitSeed = p.splitSeed ?? 1
      let split: PoetrySplitResult = splitPoetry([], { fraction, seed: splitSeed })

      if (paths.length > 0) {
        const reading = progress.task("generate: reading corpora", {
          total: paths.reduce((n, path) => n + bytesOf(path), 0),
          unit: "bytes"
        })
        const corpus = yield* readCorpus(paths, {
          textField: p.textField,
          encoding: p.encoding,
          encodings: Object.fromEntries(
            Object.entries(p.encodings ?? {}).map(([path, enc]) => [resolve(ctx.projectDir, path), enc])
          ),
          maxLineChars: p.maxLineChars,
          onFile: (n) => reading.advance(n)
        }).pipe(
          Effect.onExit((exit) =>
            Effect.sync(() => reading.finish(exit._tag === "Success" ? "done" : "failed"))
          )
        )
        skipped = corpus.skipped
        sources = corpus.files.map((f) => ({ path: displayPath(ctx.projectDir, f.path), sha256: f.sha256 }))

        split = splitPoetry(corpus.poems, { fraction, seed: splitSeed, pinned: p.pinned ?? [] })
        const c = split.counts
        progress.log(
          `generate: ${c.docs} documents in ${c.groups} groups; ${c.trainDocs} documents (${c.trainLines} lines) to mine and train on, ` +
            `${c.heldoutDocs} (${c.heldoutLines} lines) held out (${c.pinnedDocs} pinned by prompts); ` +
            `${c.duplicateLines} duplicate lines dropped, ${c.droppedHeldoutLines} held-out lines that also occur in training dropped`
        )
        if (split.unmatchedPinned.length > 0)
          progress.log(
            `generate: ${split.unmatchedPinned.length} pinned lines are in no corpus read (held out by absence): ${split.unmatchedPinned.slice(0, 3).join(" | ")}`
          )
        const lemmatizers: Partial<Record<Lang, Lemmatizer>> = {}
        for (const lang of new Set(split.train.map((poem) => poem.lang)))
          lemmatizers[lang] = yield* lemmatizer(lang)
        const mining = progress.task("generate: mining", {
          total: split.train.reduce((n, poem) => n + poem.lines.length, 0),
          unit: "lines"
        })
        const mined = mine(split.train, lemmatizers, miningOptions(p), (done) => mining.update(done))
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

      const generatedCount = p.generated ?? 0
      const modelDir = (ctx.inputs.model?.data as { dir?: string } | undefined)?.dir
      if ((generatedCount > 0 || p.senses === true) && modelDir === undefined) {
        return yield* Effect.die(new Error("generate: the model input has no folder (data.dir)"))
      }
      if (modelDir !== undefined && (generatedCount > 0 || p.senses !== false)) {
        const model = yield* Effect.promise(() => loadModel(modelDir))
        const estimator = yield* Effect.try({
          try: () => defaultEstimator(model),
          catch: (e) => (e instanceof Error ? e : new Error(String(e)))
        })
        if (generatedCount > 0) {
          const sensations = p.feel ?? defaultSensations
          const seed = p.seed ?? 1
          const byLang: Record<Lang, Array<string>> = { ru: [], en: [] }
          for (const f of sensations) byLang[/[\u0400-\u04ff]/.test(f) ? "ru" : "en"].push(f)
          const langs = (["ru", "en"] as const).filter((l) => byLang[l].length > 0)
          const lemmatizers: Partial<Record<Lang, Lemmatizer>> = {}
          for (const l of langs) lemmatizers[l] = yield* lemmatizer(l)
          // the quota per sensation: N split over the languages, then over each language's sensations
          const jobs: Array<{ lang: Lang; sensation: Sensation; n: number; seed: number }> = []
          langs.forEach((lang, li) => {
            const forLang =
              Math.floor(generatedCount / langs.length) + (li < generatedCount % langs.length ? 1 : 0)
            byLang[lang].forEach((sensation, si) => {
              const n =
                Math.floor(forLang / byLang[lang].length) + (si < forLang % byLang[lang].length ? 1 : 0)
              if (n > 0) jobs.push({ lang, sensation, n, seed: seed * 1000 + jobs.length })
            })
          })
          const task = progress.task("generate: living words", { total: generatedCount, unit: "words" })
          const started = performance.now()
          let done = 0
          const surfaces = new Set(records.map((r) => r.surface))
          for (const job of jobs) {
            const words = yield* Effect.promise(() =>
              generateWords(
                { model, estimator, lemmatizers, corpus: records },
                {
                  sensation: job.sensation,
                  lang: job.lang,
                  n: job.n,
                  seed: job.seed,
                  exclude: surfaces,
                  onWord: () => task.update(++done)
                }
              )
            )
            for (const w of words) {
              if (surfaces.has(w.surface)) continue
              surfaces.add(w.surface)
              records.push(w)
            }
          }
          task.finish()
          const generatedRecords = records.filter((r) => r.origin === "generated").length
          progress.log(
            `generate: ${generatedRecords} living words in ${((performance.now() - started) / 1000).toFixed(0)}s`
          )
        }
        if (p.senses !== false) {
          const missing = records.filter((r) => r.senses === undefined)
          const task = progress.task("generate: senses", { total: missing.length, unit: "records" })
          for (let i = 0; i < missing.length; i += 256) {
            const batch = missing.slice(i, i + 256)
            const profiles = yield* Effect.promise(() =>
              estimator.profiles(
                batch.map((r) => r.parts.join(" ")),
                undefined
              )
            )
            const withSenses = new Map(batch.map((r, k) => [r, roundProfile(profiles[k]!)]))
            records = records.map((r) => {
              const s = withSenses.get(r)
              return s === undefined ? r : { ...r, senses: s }
            })
            task.update(Math.min(missing.length, i + 256))
          }
          task.finish()
        }
      }

      for (const r of records) {
        const check = decodeValue(HyperwordRecord, r, { file: hyperwordsFile })
        if (Result.isFailure(check)) return yield* Effect.fail(check.failure)
      }
      writeFileSync(join(dir, hyperwordsFile), records.map((r) => `${JSON.stringify(r)}\n`).join(""))
      if (skipped.length > 0) {
        writeFileSync(join(dir, "skipped.jsonl"), skipped.map((s) => `${JSON.stringify(s)}\n`).join(""))
      }
      const poetryDir = ctx.outputDir("poetry")
      const docsJsonl = (docs: ReadonlyArray<Poem>) =>
        docs.map((d) => `${JSON.stringify({ doc: d.doc, lang: d.lang, lines: d.lines })}\n`).join("")
      writeFileSync(join(poetryDir, "train.jsonl"), docsJsonl(split.train))
      writeFileSync(join(poetryDir, "heldout.jsonl"), docsJsonl(split.heldout))
      const { byLang, byOrigin } = recordCounts(records)
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
        byOrigin,
        sources,
        ...(skipped.length > 0 ? { skipped: listed } : {})
      }
      return {
        hyperwords: { data },
        poetry: {
          data: {
            schemaVersion: 1,
            train: "train.jsonl",
            heldout: "heldout.jsonl",
            fraction,
            seed: splitSeed,
            counts: split.counts,
            byLang: split.byLang
          }
        }
      }
    })
})
