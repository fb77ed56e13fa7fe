/**
 * The `probe` stage: draws a probe set from the hyperword set, measures it layer by layer in the
 * tuned model version and its base, runs the three literature checks in each, and writes the
 * report (`report.html`, `report.json`, one PNG per chart), exported to `reports/probe/index.html`.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { Hash } from "@hyperwords/core"
import type { HyperwordRecord } from "@hyperwords/core/Artifacts"
import { Progress } from "@hyperwords/core/Progress"
import { mulberry32 } from "@hyperwords/core/Random"
import { defineStage, readHyperwords, readModelVersion, type StageContext } from "@hyperwords/core/Stage"
import { Store } from "@hyperwords/core/Store"
import { holdModel, loadModel } from "@hyperwords/models/Model"
import { Effect, Schema } from "effect"
import { type Finding, measureFindings } from "./Findings.ts"
import { measureItems, nextWord, type ProbeItem, spreadLayers } from "./Measure.ts"
import { chromiumPath, type ReportRun, writeReport } from "./Report.ts"
import {
  drawSuperwords,
  measureSuperwords,
  readTuned,
  type SuperwordMeasure,
  superwordsOf
} from "./Superwords.ts"

/** Params of the `probe` stage. */
export const ProbeParams = Schema.Struct({
  /**
   * Hyperwords in the probe set (drawn with `seed`, multi-part items first); for a superwords
   * version, also the superwords drawn (with `seed`) for the one-token-against-the-span readings.
   */
  items: Schema.optionalKey(Schema.Int),
  /** Seed of the draw, the nonword and shuffled controls, and the bootstrap. */
  seed: Schema.optionalKey(Schema.Int),
  /** Rows per probe-graph pass. */
  batchSize: Schema.optionalKey(Schema.Int),
  /** Layers patched in the Patchscope test (spread over the depth; 0 skips it). */
  patchscopeLayers: Schema.optionalKey(Schema.Int),
  /** Hyperwords in the Patchscope test. */
  patchscopeItems: Schema.optionalKey(Schema.Int),
  /** A part ranked within this many tokens counts as retrieved. */
  hitRank: Schema.optionalKey(Schema.Int),
  /**
   * Run the literature checks: on every version (`true`), on the base only (`"base"`: the checks
   * are about how the model reads words, and the English-pivot tasks read the lens at every layer
   * and position, minutes per version on Gemma), or not at all (`false`).
   */
  findings: Schema.optionalKey(Schema.Union([Schema.Boolean, Schema.Literal("base")])),
  /** Screenshot every chart as PNG with headless Chromium. */
  png: Schema.optionalKey(Schema.Boolean)
})
export type ProbeParams = typeof ProbeParams.Type

/** Defaults of the stage. */
export const probeDefaults = {
  items: 24,
  seed: 1,
  batchSize: 8,
  patchscopeLayers: 8,
  patchscopeItems: 12,
  hitRank: 10,
  findings: "base" as boolean | "base",
  png: true
} as const

/** The probe set: up to `count` records, those of two or more parts first, in a seeded order, as probe items. */
export const drawItems = (
  records: ReadonlyArray<HyperwordRecord>,
  count: number,
  seed: number
): Array<ProbeItem> => {
  const rand = mulberry32(seed)
  const keyed = records.map((r) => ({ r, key: rand() }))
  keyed.sort((a, b) => Number(b.r.parts.length > 1) - Number(a.r.parts.length > 1) || a.key - b.key)
  return keyed.slice(0, count).map(({ r }) => {
    const texts = [...(r.evidence ?? []).map((e) => e.text), ...(r.gloss === undefined ? [] : [r.gloss])]
    const next = texts.map((t) => nextWord(t, r.parts)).find((w) => w !== undefined)
    return {
      id: r.id,
      surface: r.surface,
      parts: r.parts,
      lang: r.lang,
      ...(r.gloss === undefined ? {} : { gloss: r.gloss }),
      ...(next === undefined ? {} : { next })
    }
  })
}

/** Bump when what a version's readings hold changes: kept readings of another version are not read. */
const readingsVersion = "2/stage 4"

/** JSON that keeps non-finite numbers and typed arrays: readings hold NaN where a cosine is undefined. */
const encode = (x: unknown): string =>
  JSON.stringify(x, (_k, v) =>
    ArrayBuffer.isView(v)
      ? Array.from(v as unknown as ArrayLike<number>)
      : typeof v === "number" && !Number.isFinite(v)
        ? { nonFinite: String(v) }
        : v
  )
const decode = (text: string): unknown =>
  JSON.parse(text, (_k, v) =>
    v !== null &&
    typeof v === "object" &&
    !Array.isArray(v) &&
    Object.keys(v).length === 1 &&
    "nonFinite" in v
      ? Number((v as { nonFinite: string }).nonFinite)
      : v
  )

/** Readings kept by an earlier probe stage (undefined when none, or unreadable: they are measured again). */
export const readReadings = (file: string): Omit<ReportRun, "label"> | undefined => {
  try {
    return existsSync(file) ? (decode(readFileSync(file, "utf8")) as Omit<ReportRun, "label">) : undefined
  } catch {
    return undefined
  }
}

/** Keep a version's readings (atomically: a temp file renamed). */
export const writeReadings = (file: string, readings: Omit<ReportRun, "label">): void =>
  writePart(file, readings)

/** A finished part of a stopped probe stage (undefined when none or unreadable). */
const readPart = (file: string): unknown => {
  try {
    return existsSync(file) ? decode(readFileSync(file, "utf8")) : undefined
  } catch {
    return undefined
  }
}

/** Write a value atomically: a temp file renamed. */
const writePart = (file: string, value: unknown): void => {
  mkdirSync(dirname(file), { recursive: true })
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, encode(value))
  renameSync(tmp, file)
}

/** Options of `probeStageFor`. */
export interface ProbeStageOptions {
  /** The stage id (default `probe-<version stage>`). */
  readonly id?: string
  /** The tuned version to probe against its base. */
  readonly model: { readonly stage: string; readonly output: string }
  /** The base version (default the `models` stage's model). */
  readonly base?: { readonly stage: string; readonly output: string }
  /** Where the report goes under the reports folder (default `probe/<version stage>/index.html`). */
  readonly to?: string
}

/** Where a version's probe report is exported, under the reports folder. */
export const probeReportPath = (versionStage: string): string => `probe/${versionStage}/index.html`

/** A probe stage for one tuned version against its base (a config declares one per version, or a family makes them). */
export const probeStageFor = (options: ProbeStageOptions) =>
  defineStage<ProbeParams>({
    id: options.id ?? `probe-${options.model.stage}`,
    description: `per-layer measurements and the visual report, base against ${options.model.stage}`,
    // 5: a superwords version's report has its one-token-against-the-span readings
    codeVersion: "5",
    params: ProbeParams,
    inputs: {
      hyperwords: { stage: "generate", output: "hyperwords" },
      model: options.model,
      base: options.base ?? { stage: "models", output: "model" }
    },
    outputs: { report: "ProbeReport" },
    exports: [
      { output: "report", file: "report.html", to: options.to ?? probeReportPath(options.model.stage) }
    ],
    run: (ctx) => probeRun(ctx)
  })

/** The `probe` stage of the tuned version `finetune`, exported to `probe/index.html`. */
export const probeStage = probeStageFor({
  id: "probe",
  model: { stage: "finetune", output: "model" },
  to: "probe/index.html"
})

const probeRun = (ctx: StageContext<ProbeParams>) =>
  Effect.gen(function* () {
    const progress = yield* Progress
    const p = { ...probeDefaults, ...ctx.params }
    const tuned = yield* readModelVersion(ctx.inputs.model, "model")
    const base = yield* readModelVersion(ctx.inputs.base, "base")

    const records = yield* readHyperwords(ctx.inputs.hyperwords!)
    const items = drawItems(records, p.items, p.seed)
    if (items.length === 0)
      return yield* Effect.fail(new Error("the hyperword set has no hyperwords to probe"))

    const versions =
      base.dir === tuned.dir
        ? [{ label: "tuned", v: tuned }]
        : [
            { label: "base", v: base },
            { label: "tuned", v: tuned }
          ]
    const runs: Array<ReportRun> = []
    const store = yield* Effect.serviceOption(Store)
    for (const { label, v } of versions) {
      // a version's readings depend only on its weights, the probe set and the params: the base,
      // read by every version's probe stage, is read once and kept under the store's work folder
      const memo =
        store._tag === "Some"
          ? join(
              store.value.root,
              "work",
              "probe-readings",
              `${Hash.sha256(JSON.stringify({ codeVersion: readingsVersion, model: v.model, items, p: { ...p, png: undefined } }))}.json`
            )
          : undefined
      const kept = memo === undefined ? undefined : readReadings(memo)
      if (kept !== undefined) {
        progress.log(
          `probe: ${label} ${v.name}: ${items.length} hyperwords, readings kept from an earlier probe stage (${memo})`
        )
        runs.push({ label, ...kept })
        continue
      }
      // what a stopped stage finished is kept beside the memo: the readings, then each literature check
      const parts = memo === undefined ? undefined : memo.replace(/\.json$/, ".parts")
      const part = <A>(name: string): A | undefined =>
        parts === undefined ? undefined : (readPart(join(parts, `${name}.json`)) as A | undefined)
      const keepPart = (name: string, value: unknown) => {
        if (parts !== undefined) writePart(join(parts, `${name}.json`), value)
      }
      // held while probed: an evaluation of the same version beside it (--parallel) keeps it loaded
      const letGo = holdModel(v.dir)
      const model = yield* Effect.tryPromise({ try: () => loadModel(v.dir), catch: (e) => e })
      const keptMeasure = part<ReportRun["measure"]>("measure")
      if (keptMeasure !== undefined)
        progress.log(`probe: ${label} ${v.name}: readings kept from a stopped probe stage (${parts})`)
      const task = progress.task(`probe: ${label} (${v.name})`, {
        total: items.length * 4,
        unit: "readings"
      })
      const started = Date.now()
      const measure = yield* Effect.tryPromise({
        try: async () =>
          keptMeasure ??
          measureItems(model, items, {
            seed: p.seed,
            batchSize: p.batchSize,
            patchscopeLayers:
              p.patchscopeLayers > 0 ? spreadLayers(model.config.numLayers, p.patchscopeLayers) : [],
            patchscopeItems: p.patchscopeItems,
            hitRank: p.hitRank,
            onProgress: (done) => task.update(done)
          }),
        catch: (e) => e
      }).pipe(
        Effect.onExit((exit) => Effect.sync(() => task.finish(exit._tag === "Success" ? "done" : "stopped")))
      )
      if (keptMeasure === undefined) keepPart("measure", measure)
      const runFindings = p.findings === true || (p.findings === "base" && v.dir === base.dir)
      const checks = new Map<string, ReturnType<typeof progress.task>>()
      const findings = runFindings
        ? yield* Effect.tryPromise({
            try: () =>
              measureFindings(model, {
                seed: p.seed,
                batchSize: p.batchSize,
                words: items.flatMap((i) => i.parts.map((word) => ({ word, lang: i.lang }))),
                kept: (check) => {
                  const found = part<Array<Finding>>(check)
                  if (found !== undefined)
                    progress.log(
                      `probe: ${label} ${v.name}: literature check ${check} kept from a stopped probe stage`
                    )
                  return found
                },
                keep: (check, found) => keepPart(check, found),
                onProgress: (check, done, total) => {
                  let t = checks.get(check)
                  if (t === undefined) {
                    t = progress.task(`probe: ${label} (${v.name}) literature check ${check}`, {
                      total,
                      unit: "prompts"
                    })
                    checks.set(check, t)
                  }
                  t.update(done)
                  if (done >= total) t.finish("done")
                }
              }),
            catch: (e) => e
          }).pipe(
            Effect.onExit((exit) =>
              Effect.sync(() => {
                if (exit._tag === "Failure") for (const t of checks.values()) t.finish("stopped")
              })
            )
          )
        : []
      progress.log(
        `probe: ${label} ${v.name}: ${items.length} hyperwords in ${((Date.now() - started) / 1000).toFixed(1)}s; ` +
          findings.map((f) => `${f.id} ${f.verdict} (p = ${f.test.estimate.p.toPrecision(2)})`).join(", ")
      )
      runs.push({ label, measure, findings })
      if (memo !== undefined) writeReadings(memo, { measure, findings })
      if (parts !== undefined) rmSync(parts, { recursive: true, force: true })
      // the next version must not find this one's graphs still holding their memory
      yield* Effect.promise(letGo)
    }

    // a superwords version: each superword's one-token state against the state its base assembles
    // over the span's pieces (not kept with the readings: it reads both versions, one stage each)
    let superwords: SuperwordMeasure | undefined
    const list = superwordsOf(tuned.training, () => {
      const file = ctx.inputs.model?.file("superwords.json")
      return file !== undefined && existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : undefined
    })
    if (list !== undefined && base.dir !== tuned.dir) {
      const drawn = drawSuperwords(list, p.items, p.seed)
      if (drawn.length === 0)
        progress.log(`probe: ${tuned.name} is a superwords version but records no superwords`)
      else {
        const started = Date.now()
        const reading = yield* Effect.tryPromise({
          try: async () => {
            const letGo = holdModel(tuned.dir)
            try {
              return await readTuned(await loadModel(tuned.dir), drawn, p.batchSize)
            } finally {
              await letGo()
            }
          },
          catch: (e) => e
        })
        superwords = yield* Effect.tryPromise({
          try: async () => {
            const letGo = holdModel(base.dir)
            try {
              const model = await loadModel(base.dir)
              return await measureSuperwords(model, reading, {
                seed: p.seed,
                batchSize: p.batchSize,
                patchscopeLayers:
                  p.patchscopeLayers > 0 ? spreadLayers(model.config.numLayers, p.patchscopeLayers) : []
              })
            } finally {
              await letGo()
            }
          },
          catch: (e) => e
        })
        progress.log(
          `probe: ${tuned.name}: ${superwords.items.length} superwords against ${base.name} in ${((Date.now() - started) / 1000).toFixed(1)}s` +
            `${superwords.leftOut.length > 0 ? ` (${superwords.leftOut.length} left out)` : ""}; ${superwords.sentence}`
        )
      }
    }

    const dir = ctx.outputDir("report")
    const png = p.png && existsSync(chromiumPath())
    if (p.png && !png) progress.log(`probe: no Chromium at ${chromiumPath()}; the report has no PNGs`)
    const written = yield* Effect.tryPromise({
      try: () =>
        writeReport(
          {
            title: `hyperwords probe: ${tuned.name}`,
            runs,
            seed: p.seed,
            ...(superwords === undefined ? {} : { superwords })
          },
          dir,
          { png }
        ),
      catch: (e) => e
    })
    const last = runs[runs.length - 1]!
    return {
      report: {
        data: {
          schemaVersion: 1,
          model: tuned.model,
          items: items.length,
          layers: last.measure.numLayers,
          html: written.html,
          json: written.json,
          png: written.png,
          findings: [
            ...runs.flatMap((r) =>
              r.findings.map((f) => ({
                claim: f.claim,
                reproduced: f.reproduced,
                figure: `${r.label} (${r.measure.model}): ${f.verdict} (${f.test.rule}); ${f.figure}`
              }))
            ),
            ...(superwords?.findings ?? []).map((f, i) => ({
              claim: f.claim,
              reproduced: f.reproduced,
              figure: `tuned vs base (${superwords!.tuned} vs ${superwords!.base}): ${f.verdict} (${f.test.rule}); ${i === 0 ? `${superwords!.sentence} ` : ""}${f.figure}`
            }))
          ]
        }
      }
    }
  })
