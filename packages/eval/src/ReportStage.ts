/**
 * The `report` stage: gathers the `EvalRun` of every evaluated model version (and the probe
 * report) into the leaderboard — one row per version, a column per metric with its CI, the
 * held-out bits per byte the fine-tune measured, paired deltas against the base, the metric
 * cards, a few answers of each version — written as `index.html`, `leaderboard.md` and
 * `leaderboard.json` and exported to `reports/leaderboard/`.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join, relative } from "node:path"
import { Hash } from "@hyperwords/core"
import { EvalRun } from "@hyperwords/core/Artifacts"
import { decodeJsonlFile, decodeValue } from "@hyperwords/core/Decode"
import { Progress } from "@hyperwords/core/Progress"
import { artifactFile, defineStage, type InputRef, type LoadedArtifact } from "@hyperwords/core/Stage"
import { Effect, Result, Schema } from "effect"
import { baseModelOf, judgesOf, rowNames } from "./Bases.ts"
import { discoverEarlier, earlierGroups, groupLabel, provenanceOf, withChanges } from "./BoardHistory.ts"
import { type PageSide, samplesFileOf, writeBaseComparisons, writeSamples } from "./BoardPages.ts"
import { cardFile, packageDirOf, readCard } from "./Card.ts"
import {
  buildLeaderboard,
  type Example,
  HELD_OUT_METRIC,
  type HeldOut,
  type LeaderboardEntry,
  type MetricInfo,
  type MetricValidation,
  writeLeaderboard
} from "./Leaderboard.ts"
import { loadMetrics, type MetricEntry, metricIds } from "./Metric.ts"
import { GenerationRecord, type MetricSummary, SampleScores } from "./Scoring.ts"

/** Params of the `report` stage. */
export const ReportParams = Schema.Struct({
  title: Schema.optionalKey(Schema.String),
  /** Answers shown per model version. */
  examples: Schema.optionalKey(Schema.Int),
  /** Seed of the paired bootstrap. */
  seed: Schema.optionalKey(Schema.Int),
  /** Resamples of the paired bootstrap. */
  resamples: Schema.optionalKey(Schema.Int)
})
export type ReportParams = typeof ReportParams.Type

/** Options of `reportStage`. */
export interface ReportStageOptions {
  /** The `evaluate` stages whose runs make the rows, in row order. */
  readonly evaluations: ReadonlyArray<string>
  /** The probe stage whose report the rows link to (none: no links). */
  readonly probe?: string
  /** Where the probe report is, relative to the leaderboard's folder. */
  readonly probeLink?: string
  /**
   * A probe report per evaluated version: evaluate stage → the probe stage of its version and
   * where its report is, relative to the leaderboard's folder (the base's row links to the first).
   */
  readonly probes?: Readonly<Record<string, { readonly stage: string; readonly link: string }>>
  /**
   * The registered metric plugins: their descriptions, and their computed cards for the judge the
   * runs were scored with (`<plugin>/cards/<judge>.json`), go on the page.
   */
  readonly metrics: ReadonlyArray<MetricEntry>
}

/** The folder of a plugin's cards (`<package>/cards/`), when the plugin says where its module is. */
/** What the cards need of a plugin: its name and where its module is. */
type Carded = { readonly name: string; readonly module?: string | undefined }

const cardsDir = (metric: Carded): string | undefined =>
  metric.module === undefined ? undefined : join(packageDirOf(metric.module), "cards")

/**
 * A metric's computed cards for the judges the runs were scored with (`pnpm validate` writes them
 * to `<plugin>/cards/<judge>.json`); a judge with no card gets an entry without one ("not
 * validated"), and so do runs that do not name their judge ("unknown").
 */
export const validationOf = (
  metric: Carded,
  judges: ReadonlyArray<string>,
  root: string = process.cwd()
): Array<MetricValidation> =>
  judges.map((judge) => {
    const dir = cardsDir(metric)
    const file = dir === undefined || judge === "unknown" ? undefined : cardFile(join(dir, ".."), judge)
    const card = file === undefined ? undefined : readCard(file)
    return card === undefined || file === undefined ? { judge } : { judge, file: relative(root, file), card }
  })

/** The card files of the metrics, by content: part of the report stage's key, so a new card remakes the page. */
export const cardIds = (metrics: ReadonlyArray<Carded>): Array<string> =>
  metrics.flatMap((m) => {
    const dir = cardsDir(m)
    if (dir === undefined || !existsSync(dir)) return []
    return readdirSync(dir)
      .filter((f) => f.endsWith(".json"))
      .sort()
      .map((f) => `card:${m.name}/${f}#${Hash.sha256(readFileSync(join(dir, f))).slice(0, 12)}`)
  })

/** The held-out bits-per-byte column. */
export const bitsPerByteInfo: MetricInfo = {
  name: HELD_OUT_METRIC,
  version: "1",
  higherIsBetter: false,
  description:
    "bits per byte on held-out text that was never trained on (lower is better), measured by the fine-tune for the tuned version and its base"
}

export interface LoadedRun {
  readonly stage: string
  readonly run: typeof EvalRun.Type
  readonly rows: ReadonlyArray<SampleScores>
  readonly generations: ReadonlyArray<GenerationRecord>
}

const readRun = (stage: string, scores: LoadedArtifact, generations: LoadedArtifact) =>
  Effect.gen(function* () {
    const decoded = decodeValue(EvalRun, scores.data, { file: `${stage} scores` })
    if (Result.isFailure(decoded)) return yield* Effect.fail(decoded.failure)
    const run = decoded.success
    const rows = yield* decodeJsonlFile(SampleScores, scores.file(run.file))
    const gens = yield* decodeJsonlFile(
      GenerationRecord,
      generations.file(artifactFile(generations, "generations.jsonl"))
    )
    return { stage, run, rows, generations: gens } satisfies LoadedRun
  })

const sameModel = (a: { id: string; revision: string }, b: { id: string; revision: string } | undefined) =>
  b !== undefined && a.id === b.id && a.revision === b.revision

/** A few answers of a version: sample 0 of the image and invented-word prompts first. */
export const pickExamples = (r: LoadedRun, count: number): Array<Example> => {
  const used = new Map(
    r.rows.map((row) => [row.id, (row.details?.["hyperword-usage"]?.used as ReadonlyArray<string>) ?? []])
  )
  const order = ["invent-words", "describe-image", "continue-line", "ten-words"]
  return r.generations
    .filter((g) => g.sample === undefined || g.sample === 0)
    .filter((g) => g.text.trim() !== "")
    .sort((a, b) => order.indexOf(a.task ?? "") - order.indexOf(b.task ?? ""))
    .slice(0, count)
    .map((g) => ({
      prompt: g.prompt ?? g.promptId,
      text: g.text,
      ...((used.get(g.id)?.length ?? 0) > 0 ? { hyperwords: used.get(g.id)! } : {})
    }))
}

type RunHeldOut = NonNullable<(typeof EvalRun.Type)["heldOut"]>

const amount = (h: RunHeldOut) => ({
  ...(h.docs === undefined ? {} : { docs: h.docs }),
  ...(h.lines === undefined ? {} : { lines: h.lines }),
  ...(h.bytes === undefined ? {} : { bytes: h.bytes }),
  ...(h.source === undefined ? {} : { source: h.source })
})

/** A tuned version's held-out bits per byte, with its ratio to the base's (computed when not stored, without an interval). */
const ownHeldOut = (h: RunHeldOut): HeldOut => {
  const ratio =
    h.ratio ??
    (h.baseBitsPerByte !== undefined && h.baseBitsPerByte > 0 ? h.bitsPerByte / h.baseBitsPerByte : undefined)
  return {
    bitsPerByte: h.bitsPerByte,
    ...(h.bitsPerByteCi === undefined ? {} : { ci: h.bitsPerByteCi }),
    ...(ratio === undefined ? {} : { ratio }),
    ...(h.ratioCi === undefined ? {} : { ratioCi: h.ratioCi }),
    ...(h.tokensPerByte === undefined ? {} : { tokensPerByte: h.tokensPerByte }),
    ...(h.baseTokensPerByte === undefined ? {} : { baseTokensPerByte: h.baseTokensPerByte }),
    ...amount(h)
  }
}

/** A base's held-out bits per byte, as a version tuned from it measured them. */
const baseHeldOut = (h: RunHeldOut & { baseBitsPerByte: number }): HeldOut => ({
  bitsPerByte: h.baseBitsPerByte,
  ...(h.baseBitsPerByteCi === undefined ? {} : { ci: h.baseBitsPerByteCi }),
  ...(h.baseTokensPerByte === undefined ? {} : { tokensPerByte: h.baseTokensPerByte }),
  ...amount(h)
})

/**
 * The leaderboard's rows from the loaded runs: bases paired by model, arm and experiment as the
 * runs say (a run from before arms: `hyperwords` if tuned, `base` if not), bits per byte carried
 * to the base (from the hyperwords version when several versions tuned from it measured them).
 */
export const entriesOf = (
  runs: ReadonlyArray<LoadedRun>,
  options: {
    readonly probeReport?: string
    readonly examples: number
    /** The probe report of each run's version, by evaluate stage (the base's row: the first). */
    readonly probeReports?: Readonly<Record<string, string>>
  }
): Array<LeaderboardEntry> => {
  const firstProbe = Object.values(options.probeReports ?? {})[0]
  const probeOf = (r: LoadedRun) =>
    options.probeReports?.[r.stage] ??
    (r.run.base === undefined ? firstProbe : undefined) ??
    options.probeReport
  // several base models on one board (`Bases.ts`): a shared version name gets its base's
  const names = rowNames(runs)
  const nameOf = (r: LoadedRun) => names.get(r.stage) ?? r.run.name ?? r.run.model.id
  const armOf = (r: LoadedRun) => r.run.arm ?? (r.run.base === undefined ? "base" : "hyperwords")
  return runs.map((r) => {
    const base = runs.find((o) => o !== r && sameModel(o.run.model, r.run.base))
    const measuredBase = runs
      .filter((o) => sameModel(r.run.model, o.run.base) && o.run.heldOut?.baseBitsPerByte !== undefined)
      .sort((a, b) => Number(armOf(b) === "hyperwords") - Number(armOf(a) === "hyperwords"))[0]?.run.heldOut
    const heldOut =
      r.run.heldOut !== undefined
        ? ownHeldOut(r.run.heldOut)
        : measuredBase?.baseBitsPerByte !== undefined
          ? baseHeldOut({ ...measuredBase, baseBitsPerByte: measuredBase.baseBitsPerByte })
          : undefined
    return {
      name: nameOf(r),
      ...(baseModelOf(r, runs) === undefined ? {} : { baseModel: baseModelOf(r, runs)! }),
      model: r.run.model,
      ...(base === undefined ? {} : { base: nameOf(base) }),
      arm: armOf(r),
      ...(r.run.experiment === undefined ? {} : { experiment: r.run.experiment }),
      summaries: r.run.metrics as ReadonlyArray<MetricSummary>,
      ...(heldOut === undefined ? {} : { heldOut }),
      rows: r.rows,
      ...(probeOf(r) === undefined ? {} : { probeReport: probeOf(r)! }),
      examples: pickExamples(r, options.examples)
    }
  })
}

/** The comparison page of an evaluate stage's row with its base, beside the board. */
export const compareFileOf = (stage: string): string =>
  `compare-${stage.replace(/[^A-Za-z0-9._-]+/g, "_")}.html`

/**
 * The board's entries: this run's rows first, then every earlier run's rows that are not on the
 * board yet (`BoardHistory.ts`), named with their run's date. An earlier row keeps the names of
 * its own run for its base and experiment (renamed as the board names them), so it is paired only
 * with its own run's base and controls. Also the comparison pages and per-sample files to write.
 */
const accumulate = (
  inputs: Readonly<Record<string, LoadedArtifact>>,
  evaluations: ReadonlyArray<string>,
  runs: ReadonlyArray<LoadedRun>,
  current: ReadonlyArray<LeaderboardEntry>
) =>
  Effect.gen(function* () {
    const entries: Array<LeaderboardEntry> = []
    const samples = new Map<string, LoadedRun>()
    const pairs: Array<{ base: PageSide; tuned: PageSide; file: string }> = []
    const shown = new Map<string, string>() // EvalRun hash → its row's name
    const used = new Set<string>()
    for (const [i, stage] of evaluations.entries()) {
      const scores = inputs[`scores:${stage}`]!
      const e = current[i]!
      const provenance = yield* provenanceOf({
        run: "current",
        version: e.name,
        stage,
        scores,
        generations: inputs[`generations:${stage}`]!,
        samples: samplesFileOf(scores.hash)
      })
      entries.push({ ...e, provenance })
      shown.set(scores.hash, e.name)
      used.add(e.name)
      samples.set(scores.hash, runs[i]!)
    }
    const sideOf = (
      list: ReadonlyArray<LoadedRun>,
      names: ReadonlyArray<LeaderboardEntry>,
      r: LoadedRun
    ) => ({
      run: r,
      name: names[list.indexOf(r)]!.name,
      probe: names[list.indexOf(r)]!.probeReport
    })
    for (const r of runs) {
      const base = runs.find((o) => o !== r && sameModel(o.run.model, r.run.base))
      if (base !== undefined)
        pairs.push({
          base: sideOf(runs, current, base),
          tuned: sideOf(runs, current, r),
          file: compareFileOf(r.stage)
        })
    }
    const earlierRuns: Array<LoadedRun> = []
    for (const group of earlierGroups(inputs)) {
      const groupRuns: Array<LoadedRun> = []
      for (const m of group.members) groupRuns.push(yield* readRun(m.stage, m.scores, m.generations))
      const local = entriesOf(groupRuns, { examples: 0 })
      const label = groupLabel(group)
      const names = new Map<string, string>()
      local.forEach((e, i) => {
        const hash = group.members[i]!.scores.hash
        let name = shown.get(hash) ?? `${e.name} (${label})`
        if (!shown.has(hash) && used.has(name)) name = `${name} ${hash.slice(0, 6)}`
        names.set(e.name, name)
      })
      const rename = (x: string) => names.get(x) ?? `${x} (${label})`
      for (const [i, e] of local.entries()) {
        const m = group.members[i]!
        if (shown.has(m.scores.hash)) continue
        const name = rename(e.name)
        const provenance = yield* provenanceOf({
          run: "earlier",
          group: group.id,
          version: e.name,
          stage: m.stage,
          scores: m.scores,
          generations: m.generations,
          samples: samplesFileOf(m.scores.hash)
        })
        const { base, experiment, baseModel, ...rest } = e
        entries.push({
          ...rest,
          name,
          ...(base === undefined ? {} : { base: rename(base) }),
          ...(experiment === undefined ? {} : { experiment: rename(experiment) }),
          ...(baseModel === undefined ? {} : { baseModel: rename(baseModel) }),
          provenance
        })
        shown.set(m.scores.hash, name)
        used.add(name)
        samples.set(m.scores.hash, groupRuns[i]!)
        earlierRuns.push(groupRuns[i]!)
        const r = groupRuns[i]!
        const b = groupRuns.find((o) => o !== r && sameModel(o.run.model, r.run.base))
        if (b !== undefined)
          pairs.push({
            base: { run: b, name: rename(local[groupRuns.indexOf(b)]!.name) },
            tuned: { run: r, name },
            file: `compare/${m.scores.hash.slice(0, 12)}.html`
          })
      }
    }
    return { entries: withChanges(entries), samples, pairs, earlierRuns }
  })

/** The `report` stage. */
export const reportStage = (options: ReportStageOptions) => {
  const inputs: Record<string, InputRef> = {}
  for (const stage of options.evaluations) {
    inputs[`scores:${stage}`] = { stage, output: "scores" }
    inputs[`generations:${stage}`] = { stage, output: "generations" }
  }
  if (options.probe !== undefined) inputs.probe = { stage: options.probe, output: "report" }
  for (const [evaluation, probe] of Object.entries(options.probes ?? {}))
    if (options.evaluations.includes(evaluation))
      inputs[`probe:${evaluation}`] = { stage: probe.stage, output: "report" }
  return defineStage<ReportParams>({
    id: "report",
    description:
      "the leaderboard: a row per model version, a column per metric, paired comparisons (base, control, placebo) and what they support",
    // 4: intervals over prompts then answers, "tied" and the minimum detectable effect, the control line
    // 5: computed validation cards of the judge used (`Card.ts`), "not validated" without one
    // 6: each tuned row's comparison page with its base (`compare-<stage>.html`), linked from the row
    // 7: every stored evaluation of the same prompt set and judge (`BoardHistory.ts`), each row's provenance
    codeVersion: "8",
    params: ReportParams,
    discover: ({ inputs }) => discoverEarlier(inputs),
    plugins: () => [
      ...metricIds(options.metrics),
      ...cardIds(Effect.runSync(loadMetrics(options.metrics)).map((m) => m.metric))
    ],
    inputs,
    outputs: { leaderboard: "Leaderboard" },
    exports: [
      { output: "leaderboard", file: "index.html", to: "leaderboard/index.html" },
      { output: "leaderboard", file: "leaderboard.md", to: "leaderboard/leaderboard.md" },
      { output: "leaderboard", file: "leaderboard.json", to: "leaderboard/leaderboard.json" },
      // the base's row has none: an export whose file is absent is skipped
      ...options.evaluations.map((stage) => ({
        output: "leaderboard",
        file: compareFileOf(stage),
        to: `leaderboard/${compareFileOf(stage)}`
      })),
      // folders: the per-sample scores of every row, the comparison pages of earlier runs' rows
      { output: "leaderboard", file: "samples/", to: "leaderboard/samples/" },
      { output: "leaderboard", file: "compare/", to: "leaderboard/compare/" }
    ],
    run: (ctx) =>
      Effect.gen(function* () {
        const progress = yield* Progress
        const runs: Array<LoadedRun> = []
        for (const stage of options.evaluations) {
          runs.push(
            yield* readRun(stage, ctx.inputs[`scores:${stage}`]!, ctx.inputs[`generations:${stage}`]!)
          )
        }
        const metrics = yield* loadMetrics(options.metrics)
        const judges = judgesOf(runs)
        const info: Array<MetricInfo> = [
          ...metrics.map(({ metric }) => ({
            name: metric.name,
            version: metric.version,
            description: metric.description,
            higherIsBetter: metric.higherIsBetter ?? true,
            validation: validationOf(metric, judges, ctx.projectDir)
          })),
          bitsPerByteInfo
        ]
        const probeReport =
          options.probe === undefined ? undefined : (options.probeLink ?? "../probe/index.html")
        const current = entriesOf(runs, {
          ...(probeReport === undefined ? {} : { probeReport }),
          probeReports: Object.fromEntries(
            Object.entries(options.probes ?? {})
              .filter(([evaluation]) => options.evaluations.includes(evaluation))
              .map(([evaluation, probe]) => [evaluation, probe.link])
          ),
          examples: ctx.params.examples ?? 6
        })
        const board = yield* accumulate(ctx.inputs, options.evaluations, runs, current)
        const data = buildLeaderboard({
          title: ctx.params.title ?? "hyperwords leaderboard",
          judges: judgesOf([...runs, ...board.earlierRuns]),
          entries: board.entries,
          metrics: info,
          seed: ctx.params.seed ?? 1,
          ...(ctx.params.resamples === undefined ? {} : { resamples: ctx.params.resamples })
        })
        const out = ctx.outputDir("leaderboard")
        writeLeaderboard(out, data)
        writeSamples(out, board.samples)
        writeBaseComparisons(out, board.pairs, data)
        for (const row of data.rows) {
          const cells = Object.entries(row.cells)
            .map(([name, c]) =>
              c.status === "ok"
                ? `${name} ${c.mean?.toFixed(3) ?? "n/a"}${c.delta ? ` (${c.delta.delta >= 0 ? "+" : ""}${c.delta.delta.toFixed(3)}${c.delta.tied ? " tied" : c.delta.mark})` : ""}`
                : `${name} ${c.status}`
            )
            .join(", ")
          progress.log(`  report: ${row.name}: ${cells}`)
        }
        for (const f of data.findings) progress.log(`  report: ${f.text}`)
        return {
          leaderboard: {
            data: {
              schemaVersion: 1,
              rows: data.rows.map((r) => ({
                model: r.model,
                name: r.name,
                metrics: r.cells,
                ...(r.probeReport === undefined ? {} : { probeReport: r.probeReport })
              })),
              html: "index.html",
              markdown: "leaderboard.md",
              json: "leaderboard.json"
            }
          }
        }
      })
  })
}
