/**
 * Scoring stored generations, separate from generating them: the per-sample scores of every
 * metric are kept (one JSONL row per sample), and each column gets its aggregate — mean with a
 * bootstrap CI, the corpus-level score, and length control where the metric tracks length.
 */
import { decodeJsonlFile } from "@hyperwords/core/Decode"
import type { DecodeError } from "@hyperwords/core/Errors"
import { lazyModule } from "@hyperwords/core/Lazy"
import type * as Arquero from "arquero"
import { Effect, Schema } from "effect"
import { type MetricColumn, runMetrics } from "./Harness.ts"
import type { CorpusScore, LoadedMetric, MetricContext, SampleInput } from "./Metric.ts"
import { type BootstrapOptions, bootstrapMean, lengthControl } from "./Stats.ts"
import { columnOf } from "./Tables.ts"

/** arquero, loaded at the first table (a start-up that makes none does not load it). */
const aq = lazyModule<typeof Arquero>(() => import.meta.resolve("arquero"))

/** One line of a `Generations` artifact's JSONL: a model's answer to one prompt with one seed. */
export const GenerationRecord = Schema.Struct({
  id: Schema.NonEmptyString,
  promptId: Schema.String,
  prompt: Schema.optionalKey(Schema.String),
  text: Schema.String,
  lang: Schema.optionalKey(Schema.Literals(["ru", "en"])),
  task: Schema.optionalKey(Schema.String),
  /** The sensations the prompt asked for, as words. */
  request: Schema.optionalKey(Schema.String),
  seed: Schema.optionalKey(Schema.Int),
  sample: Schema.optionalKey(Schema.Int)
})
export type GenerationRecord = typeof GenerationRecord.Type

/** The length of a text in words (at least 1), the unit length control works in. */
export const wordCount = (text: string): number => {
  let n = 0
  for (const s of segmenter.segment(text)) if (s.isWordLike) n++
  return Math.max(1, n)
}
const segmenter = new Intl.Segmenter(undefined, { granularity: "word" })

/** A generation as a metric sees it. */
export const toSampleInput = (r: GenerationRecord): SampleInput => ({
  id: r.id,
  text: r.text,
  promptId: r.promptId,
  ...(r.prompt === undefined ? {} : { prompt: r.prompt }),
  ...(r.lang === undefined ? {} : { lang: r.lang }),
  ...(r.task === undefined ? {} : { task: r.task }),
  ...(r.request === undefined ? {} : { request: r.request })
})

/** A metric's aggregate: `MetricAggregate` of core's `EvalRun`, plus what this host adds. */
export interface MetricSummary {
  readonly name: string
  readonly version: string
  readonly id: string
  readonly status: "ok" | "failed"
  /** Why the column failed; a partial column says how many samples it scored. */
  readonly reason?: string
  /** A failed column that scored some samples first: they are kept in the rows (not in a mean). */
  readonly partial?: { readonly scored: number; readonly of: number }
  readonly mean?: number
  readonly ci?: readonly [number, number]
  /** Samples with a score (those the metric applies to). */
  readonly n: number
  readonly higherIsBetter: boolean
  readonly corpus?: CorpusScore
  /** Correlation with log length, and the length-adjusted mean when |r| passed the threshold. */
  readonly length?: {
    readonly r: number
    readonly applied: boolean
    readonly mean?: number
    readonly ci?: readonly [number, number]
  }
}

/** A row of the per-sample scores file (`scores.jsonl` of an `EvalRun`). */
export const SampleScores = Schema.Struct({
  id: Schema.String,
  promptId: Schema.optionalKey(Schema.String),
  words: Schema.Number,
  scores: Schema.Record(Schema.String, Schema.NullOr(Schema.Number)),
  details: Schema.optionalKey(Schema.Record(Schema.String, Schema.Record(Schema.String, Schema.Unknown)))
})
export type SampleScores = typeof SampleScores.Type

/** Everything scoring a set produced. */
export interface ScoredSet {
  readonly columns: ReadonlyArray<MetricColumn>
  readonly summaries: ReadonlyArray<MetricSummary>
  readonly rows: ReadonlyArray<SampleScores>
}

/** Options of scoring. */
export interface ScoreOptions extends BootstrapOptions {
  readonly ctx?: Partial<MetricContext>
  /** |r| with log length above which scores are length-adjusted (default 0.3). */
  readonly lengthThreshold?: number
  readonly concurrency?: number
  /**
   * Columns already scored over these same samples (e.g. by a run that failed elsewhere): an ok
   * column whose id is a metric's is used as it is and the metric does not run.
   */
  readonly keep?: ReadonlyArray<MetricColumn>
}

/** Aggregate one column. */
export const summarize = (
  column: MetricColumn,
  words: ReadonlyMap<string, number>,
  options: ScoreOptions = {}
): MetricSummary => {
  const base = {
    name: column.name,
    version: column.version,
    id: column.id,
    higherIsBetter: column.higherIsBetter
  }
  if (column.status === "failed") {
    const scored = column.samples.filter((s) => s.score !== null).length
    const reason = column.reason ?? "failed"
    return column.samples.length === 0
      ? { ...base, status: "failed", reason, n: 0 }
      : {
          ...base,
          status: "failed",
          reason: `${reason} (partial: ${column.samples.length} of ${words.size} samples scored before it failed, kept per sample)`,
          partial: { scored: column.samples.length, of: words.size },
          n: scored
        }
  }
  // the scored samples with their lengths (the words of each sample, by its id)
  const scored = aq()
    .table({
      id: column.samples.map((s) => s.id),
      score: column.samples.map((s) => s.score),
      words: column.samples.map((s) => words.get(s.id))
    })
    .filter(aq().escape((d: { score: number | null }) => d.score !== null))
  const values = columnOf<number>(scored, "score")
  const corpus = column.corpus === undefined ? {} : { corpus: column.corpus }
  if (values.length === 0) {
    return column.corpus === undefined
      ? { ...base, status: "ok", n: 0 }
      : {
          ...base,
          status: "ok",
          mean: column.corpus.score,
          ...(column.corpus.ci ? { ci: column.corpus.ci } : {}),
          n: 0,
          ...corpus
        }
  }
  const m = bootstrapMean(values, options)
  const lc = lengthControl(
    values,
    columnOf<number | undefined>(scored, "words").map((w) => w ?? 1),
    options.lengthThreshold ?? 0.3
  )
  const adjusted = lc.applied ? bootstrapMean(lc.adjusted, options) : undefined
  return {
    ...base,
    status: "ok",
    mean: m.mean,
    ci: m.ci,
    n: m.n,
    ...corpus,
    ...(Number.isFinite(lc.r)
      ? {
          length: {
            r: lc.r,
            applied: lc.applied,
            ...(adjusted ? { mean: adjusted.mean, ci: adjusted.ci } : {})
          }
        }
      : {})
  }
}

/** Score samples with metrics: columns, their aggregates, and a row of scores per sample. */
export const scoreSamples = (
  inputs: ReadonlyArray<SampleInput>,
  metrics: ReadonlyArray<LoadedMetric>,
  options: ScoreOptions = {}
): Effect.Effect<ScoredSet> =>
  Effect.gen(function* () {
    const ctx: MetricContext = { seed: 1, ...options.ctx }
    const kept = new Map((options.keep ?? []).filter((c) => c.status === "ok").map((c) => [c.id, c] as const))
    const ran = yield* runMetrics(
      metrics.filter((m) => !kept.has(m.id)),
      inputs,
      ctx,
      options.concurrency === undefined ? {} : { concurrency: options.concurrency }
    )
    const columns = metrics.map((m) => kept.get(m.id) ?? ran.find((c) => c.id === m.id)!)
    const words = new Map(inputs.map((i) => [i.id, wordCount(i.text)]))
    const summaries = columns.map((c) => summarize(c, words, options))
    const byId = columns.map((c) => new Map(c.samples.map((s) => [s.id, s])))
    const rows = inputs.map((input): SampleScores => {
      const scores: Record<string, number | null> = {}
      const details: Record<string, Readonly<Record<string, unknown>>> = {}
      columns.forEach((c, k) => {
        const s = byId[k]!.get(input.id)
        // a failed column has a score only for the samples it scored before it failed
        if (s === undefined && c.status === "failed") return
        scores[c.name] = s?.score ?? null
        if (s?.details) details[c.name] = s.details
      })
      return {
        id: input.id,
        ...(input.promptId === undefined ? {} : { promptId: input.promptId }),
        words: words.get(input.id)!,
        scores,
        ...(Object.keys(details).length === 0 ? {} : { details })
      }
    })
    return { columns, summaries, rows }
  })

/**
 * The ok columns of a stored run (its summaries and per-sample rows), as `keep` for scoring the
 * same samples again: the failed columns are left out, so they run again.
 */
export const okColumns = (
  summaries: ReadonlyArray<{
    readonly name: string
    readonly version: string
    readonly id?: string | undefined
    readonly status: "ok" | "failed"
    readonly higherIsBetter?: boolean | undefined
    readonly corpus?: Readonly<Record<string, unknown>> | undefined
  }>,
  rows: ReadonlyArray<SampleScores>
): Array<MetricColumn> =>
  summaries.flatMap((s) => {
    if (s.status !== "ok" || s.id === undefined) return []
    const samples = rows.map((r) => ({
      id: r.id,
      ...(r.promptId === undefined ? {} : { promptId: r.promptId }),
      score: r.scores[s.name] ?? null,
      ...(r.details?.[s.name] === undefined ? {} : { details: r.details[s.name]! })
    }))
    // a row without this column's key did not come from a complete run of it
    if (rows.some((r) => !(s.name in r.scores))) return []
    return [
      {
        name: s.name,
        version: s.version,
        id: s.id,
        description: "",
        higherIsBetter: s.higherIsBetter ?? true,
        status: "ok" as const,
        samples,
        ...(s.corpus === undefined ? {} : { corpus: s.corpus as CorpusScore }),
        durationMs: 0
      }
    ]
  })

/** Score a `Generations` JSONL file; a bad line fails naming file:line. */
export const scoreGenerations = (
  generationsJsonl: string,
  metrics: ReadonlyArray<LoadedMetric>,
  options: ScoreOptions = {}
): Effect.Effect<ScoredSet, DecodeError> =>
  decodeJsonlFile(GenerationRecord, generationsJsonl).pipe(
    Effect.flatMap((records) => scoreSamples(records.map(toSampleInput), metrics, options))
  )

/** The per-sample rows as JSONL text. */
export const rowsToJsonl = (rows: ReadonlyArray<SampleScores>): string =>
  rows.map((r) => JSON.stringify(r)).join("\n") + (rows.length > 0 ? "\n" : "")
