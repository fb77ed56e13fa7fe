/**
 * The `evaluate` stage: one model version answers the prompt set (several seeded samples per
 * prompt), the answers are kept as a `Generations` artifact, and every registered metric plugin
 * scores them into an `EvalRun` (per-sample scores and aggregates). One stage per version
 * (`evaluateStage({ id: "evaluate-base", model: { stage: "models", output: "model" } })`), so a
 * new tuned version never re-runs the base.
 *
 * Metrics that read a model's vectors read the judge's (default: the base model), so versions
 * are measured with one ruler. Answers are appended to a file under the store's work folder as
 * they come, so a stopped run continues where it was.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Hash } from "@hyperwords/core"
import { EvalRun, type MetricAggregate } from "@hyperwords/core/Artifacts"
import { decodeJsonlFile, decodeValue } from "@hyperwords/core/Decode"
import { readPoetry } from "@hyperwords/core/Poetry"
import { Progress } from "@hyperwords/core/Progress"
import {
  defineStage,
  hyperwordsPath,
  type InputRef,
  type LoadedArtifact,
  readModelVersion
} from "@hyperwords/core/Stage"
import { Store } from "@hyperwords/core/Store"
import { generateBatch } from "@hyperwords/models/Batch"
import { answerWorkers, generateBatches, type PromptBatch } from "@hyperwords/models/BatchWorkers"
import { holdModel, loadModel, type Model } from "@hyperwords/models/Model"
import { Effect, Result, Schema } from "effect"
import { loadMetrics, type MetricEntry, metricIds } from "./Metric.ts"
import {
  type LoadedPromptSet,
  loadPromptSet,
  type Prompt,
  promptSetFile,
  quotedInTraining
} from "./PromptSet.ts"
import {
  GenerationRecord,
  okColumns,
  rowsToJsonl,
  SampleScores,
  scoreSamples,
  toSampleInput
} from "./Scoring.ts"

/** Params of an `evaluate` stage. */
export const EvaluateParams = Schema.Struct({
  /** A prompt-set JSON file (default: the built-in `imagery` set). */
  promptSet: Schema.optionalKey(Schema.String),
  /** Samples per prompt, each with its own seed. */
  samples: Schema.optionalKey(Schema.Int),
  /**
   * Samples per prompt for the prompts of these tasks, over `samples` (e.g. `{ "ten-words": 6 }`:
   * a tuned model of 270M parameters gives seven valid nouns in one answer of four or five).
   */
  taskSamples: Schema.optionalKey(Schema.Record(Schema.String, Schema.Int)),
  /** Tokens per answer at most. */
  maxNewTokens: Schema.optionalKey(Schema.Int),
  /**
   * Tokens per answer at most for the prompts of these tasks, over `maxNewTokens` (e.g.
   * `{ "ten-words": 72 }`: SmolLM2 spends 65 tokens on ten Russian nouns, Gemma 3 29).
   */
  taskMaxNewTokens: Schema.optionalKey(Schema.Record(Schema.String, Schema.Int)),
  temperature: Schema.optionalKey(Schema.Finite),
  topP: Schema.optionalKey(Schema.Finite),
  /** Seed of the samples (sample k of a prompt uses a seed derived from this, the prompt and k) and of the bootstrap. */
  seed: Schema.optionalKey(Schema.Int),
  /** Only prompts of these tasks (default: all). */
  tasks: Schema.optionalKey(Schema.Array(Schema.String)),
  /**
   * Answers generated at once (one batch over the model's cache; a batch gives each answer the
   * tokens it gets alone, as `Batch.test.ts` checks, so this is for time, not the answers). A graph exported before
   * `hyperwords_bridge.last_logits` holds logits over the whole vocabulary for every prompt token
   * on a batch's first step, so there memory grows with it (Gemma 3's vocabulary has 262k tokens).
   */
  batchSize: Schema.optionalKey(Schema.Int),
  /** Metrics run at once. */
  concurrency: Schema.optionalKey(Schema.Int)
})
export type EvaluateParams = typeof EvaluateParams.Type

/** Defaults of the stage. */
export const evaluateDefaults = {
  samples: 3,
  maxNewTokens: 48,
  temperature: 0.8,
  topP: 0.95,
  seed: 1,
  batchSize: 16,
  concurrency: 2
} as const

/** Options of `evaluateStage`. */
export interface EvaluateStageOptions {
  /** The stage id (default `evaluate`). */
  readonly id?: string
  /** The model version to evaluate (default: the `finetune` stage's model). */
  readonly model?: InputRef
  /** The judge whose vectors the metrics read (default: the `models` stage's model). */
  readonly judge?: InputRef
  /** The metric plugins, as registered in `pipeline.config.ts`. */
  readonly metrics: ReadonlyArray<MetricEntry>
  /**
   * The poetry split whose training documents no quoted prompt line may come from (default: the
   * `generate` stage's `poetry`; `null`: no check, for a pipeline without a split).
   */
  readonly poetry?: InputRef | null
}

/** The seed of sample `k` of a prompt: stable across versions, so paired samples share it. */
export const sampleSeed = (seed: number, promptId: string, k: number): number =>
  Number.parseInt(Hash.sha256(`${seed}\0${promptId}\0${k}`).slice(0, 8), 16) >>> 1

/** The records a stopped run already wrote (a torn last line is dropped). */
export const readDone = (file: string): Array<GenerationRecord> => {
  if (!existsSync(file)) return []
  const out: Array<GenerationRecord> = []
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (line.trim() === "") continue
    let parsed: unknown
    try {
      parsed = JSON.parse(line)
    } catch {
      continue
    }
    const r = decodeValue(GenerationRecord, parsed, { file })
    if (Result.isSuccess(r)) out.push(r.success)
  }
  return out
}

/** The text a generation ends with: trimmed, cut at a run of three blank lines. */
export const cleanAnswer = (text: string): string => text.replace(/\n\s*\n\s*\n[\s\S]*$/, "").trim()

/** The jobs of a run: every prompt × sample, with its id, seed and token budget. */
export const jobsOf = (
  set: LoadedPromptSet,
  p: {
    samples: number
    seed: number
    tasks?: ReadonlyArray<string>
    taskSamples?: Readonly<Record<string, number>>
    maxNewTokens?: number
    taskMaxNewTokens?: Readonly<Record<string, number>>
  }
) =>
  set.set.prompts
    .filter((q) => p.tasks === undefined || p.tasks.includes(q.task))
    .flatMap((q: Prompt) =>
      Array.from({ length: p.taskSamples?.[q.task] ?? p.samples }, (_, k) => ({
        id: `${q.id}#${k}`,
        prompt: q,
        sample: k,
        seed: sampleSeed(p.seed, q.id, k),
        maxNewTokens: p.taskMaxNewTokens?.[q.task] ?? p.maxNewTokens ?? evaluateDefaults.maxNewTokens
      }))
    )

/**
 * Jobs in batches that share a token budget (a batch generates to one length), for `workers`
 * answering side by side:
 * - a budget's jobs, ordered by prompt length (stable: a prompt's samples stay together), are cut
 *   into as few batches of at most `size` as hold them, rounded up to a multiple of `workers` (at
 *   most one batch per job), the batches' sizes differing by one at most. Prompts of like length share a
 *   batch, so the first step pads less; no worker waits while another answers a whole budget;
 * - the batches come longest first (budget × rows): the last to be handed out are the shortest.
 */
export const batchesOf = <
  J extends { readonly maxNewTokens: number; readonly prompt: { readonly prompt: string } }
>(
  jobs: ReadonlyArray<J>,
  size: number,
  workers = 1
): Array<Array<J>> => {
  const byBudget = new Map<number, Array<J>>()
  for (const j of jobs) {
    const group = byBudget.get(j.maxNewTokens)
    if (group) group.push(j)
    else byBudget.set(j.maxNewTokens, [j])
  }
  const cost = (b: ReadonlyArray<J>) => b[0]!.maxNewTokens * b.length
  return [...byBudget.values()]
    .flatMap((group) => {
      // Array sort is stable: jobs of one length keep their order
      const sorted = [...group].sort((a, b) => a.prompt.prompt.length - b.prompt.prompt.length)
      // a multiple of the workers, so none is left with a batch more than the others at the end
      const k = Math.min(sorted.length, Math.ceil(Math.ceil(sorted.length / size) / workers) * workers)
      return Array.from({ length: k }, (_, b) =>
        sorted.slice(Math.floor((b * sorted.length) / k), Math.floor(((b + 1) * sorted.length) / k))
      )
    })
    .sort((a, b) => cost(b) - cost(a))
}

/** One batch of jobs as the stage answers it: the prompts, a budget and a seed per job. */
export const batchRequest = (
  batch: ReadonlyArray<ReturnType<typeof jobsOf>[number]>,
  sampling: { readonly temperature: number; readonly topP: number }
): PromptBatch => ({
  prompts: batch.map((job) => job.prompt.prompt),
  options: {
    maxNewTokens: batch[0]!.maxNewTokens,
    temperature: sampling.temperature,
    topP: sampling.topP,
    seeds: batch.map((job) => job.seed)
  }
})

/** One batch of jobs answered as the stage answers them, in this process. */
export const answerBatch = (
  model: Model,
  batch: ReadonlyArray<ReturnType<typeof jobsOf>[number]>,
  sampling: { readonly temperature: number; readonly topP: number }
): Promise<Array<string>> => {
  const { prompts, options } = batchRequest(batch, sampling)
  return generateBatch(model, prompts, options)
}

const finite = (x: unknown): number | undefined =>
  typeof x === "number" && Number.isFinite(x) ? x : undefined

const count = (x: unknown): number | undefined =>
  typeof x === "number" && Number.isInteger(x) && x >= 0 ? x : undefined

const interval = (x: unknown): readonly [number, number] | undefined => {
  if (!Array.isArray(x) || x.length !== 2) return undefined
  const [lo, hi] = [finite(x[0]), finite(x[1])]
  return lo === undefined || hi === undefined ? undefined : [lo, hi]
}

const arms = ["base", "hyperwords", "control", "placebo", "superwords"] as const

/**
 * What an `EvalRun` says about the version's place in the experiment, from its `training`
 * record: `arm` and `experiment` as the fine-tune wrote them, and the held-out bits per byte —
 * from `heldout_poetry` (with intervals, the tuned/base ratio and how much text) when present,
 * else from the older `bpb_tuned`/`bpb_base`. A version with no training record and no base is
 * the untouched base model: its arm is `base`. Malformed values are left out, not guessed.
 */
export const experimentFields = (
  training: Readonly<Record<string, unknown>> | undefined,
  hasBase: boolean
): Pick<typeof EvalRun.Type, "arm" | "experiment" | "heldOut"> => {
  const arm =
    arms.find((a) => a === training?.arm) ?? (training === undefined && !hasBase ? "base" : undefined)
  const experiment = typeof training?.experiment === "string" ? training.experiment : undefined
  const poetry =
    typeof training?.heldout_poetry === "object" && training.heldout_poetry !== null
      ? (training.heldout_poetry as Record<string, unknown>)
      : undefined
  const optional = <K extends string, V>(key: K, value: V | undefined) =>
    (value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>
  let heldOut: (typeof EvalRun.Type)["heldOut"]
  const tpb =
    typeof training?.tokens_per_byte === "object" && training.tokens_per_byte !== null
      ? (training.tokens_per_byte as Record<string, unknown>)
      : undefined
  const tokens = {
    ...optional("tokensPerByte", finite(tpb?.tuned)),
    ...optional("baseTokensPerByte", finite(tpb?.base))
  }
  const tuned = finite(poetry?.bpb_tuned)
  if (poetry !== undefined && tuned !== undefined) {
    heldOut = {
      bitsPerByte: tuned,
      ...optional("baseBitsPerByte", finite(poetry.bpb_base)),
      ...optional("bitsPerByteCi", interval(poetry.bpb_tuned_ci)),
      ...optional("baseBitsPerByteCi", interval(poetry.bpb_base_ci)),
      ...optional("ratio", finite(poetry.ratio)),
      ...optional("ratioCi", interval(poetry.ratio_ci)),
      ...optional("docs", count(poetry.docs)),
      ...optional("lines", count(poetry.lines)),
      ...optional("bytes", count(poetry.bytes)),
      ...tokens,
      source: typeof poetry.source === "string" ? poetry.source : "poetry"
    }
  } else {
    const bpb = finite(training?.bpb_tuned)
    if (bpb !== undefined)
      heldOut = { bitsPerByte: bpb, ...optional("baseBitsPerByte", finite(training?.bpb_base)) }
  }
  return {
    ...optional("arm", arm),
    ...optional("experiment", experiment),
    ...optional("heldOut", heldOut)
  }
}

/**
 * A stored evaluate run with failed columns is not a cached success: the runner runs the stage
 * again (same key), and it scores only those columns (see `keptColumns`).
 */
export const retryFailedColumns = (
  outputs: Readonly<Record<string, LoadedArtifact>>
): true | { readonly retry: string } => {
  const metrics = (outputs.scores?.data as { metrics?: ReadonlyArray<typeof MetricAggregate.Type> })?.metrics
  const failed = (metrics ?? []).filter((m) => m.status === "failed")
  if (failed.length === 0) return true
  return {
    retry:
      `its last run's ${failed.map((m) => `${m.name} failed (${m.reason ?? "no reason"})`).join(", ")}; ` +
      `scoring ${failed.length === 1 ? "that column" : "those columns"} again, the others kept`
  }
}

/**
 * The ok columns of the last run with this key (one whose columns failed), read from the store:
 * they are kept, and only the failed ones are scored again. None when there is no such run, or
 * when its answers were not these (`generations`, the sha256 of the answers' JSONL).
 */
const keptColumns = (key: string, generations: string) =>
  Effect.gen(function* () {
    const store = yield* Store
    const record = yield* store.findRun(key)
    const hash = record?.outputs.scores
    if (hash === undefined) return []
    const manifest = yield* store.readArtifact(hash)
    const run = decodeValue(EvalRun, manifest.data, { file: `artifact ${hash}` })
    if (Result.isFailure(run) || run.success.generations !== generations) return []
    const file = manifest.files.find((f) => f.path === run.success.file)
    if (file === undefined) return []
    const rows = yield* decodeJsonlFile(SampleScores, store.objectPath(file.sha256))
    return okColumns(run.success.metrics, rows)
  }).pipe(Effect.orElseSucceed(() => []))

/** An `evaluate` stage for one model version. */
export const evaluateStage = (options: EvaluateStageOptions) => {
  const id = options.id ?? "evaluate"
  return defineStage<EvaluateParams>({
    id,
    description: "the prompt set answered by a model version, scored by the metric plugins",
    codeVersion: "2",
    params: EvaluateParams,
    inputs: {
      model: options.model ?? { stage: "finetune", output: "model" },
      // several base models (`@hyperwords/core/Matrix`): the first judges every base, so the board compares them
      judge: options.judge ?? { stage: "models", output: "model", matrix: "first" },
      hyperwords: { stage: "generate", output: "hyperwords" },
      ...(options.poetry === null
        ? {}
        : { poetry: options.poetry ?? { stage: "generate", output: "poetry" } })
    },
    outputs: { generations: "Generations", scores: "EvalRun" },
    sources: (params, projectDir) => [promptSetFile(projectDir, params.promptSet)],
    plugins: () => metricIds(options.metrics),
    restorable: retryFailedColumns,
    run: (ctx) =>
      Effect.gen(function* () {
        const progress = yield* Progress
        const store = yield* Store
        const p = { ...evaluateDefaults, ...ctx.params }
        const version = yield* readModelVersion(ctx.inputs.model, "model")
        const judge = yield* readModelVersion(ctx.inputs.judge, "judge")
        const set = yield* loadPromptSet(promptSetFile(ctx.projectDir, p.promptSet))
        if (ctx.inputs.poetry !== undefined) {
          const trained = quotedInTraining(set.set, (yield* readPoetry(ctx.inputs.poetry, "train")).docs)
          if (trained.length > 0)
            return yield* Effect.fail(
              new Error(
                `${set.file}: prompt ${trained[0]!.prompt} quotes "${trained[0]!.line.trim()}" from ${trained[0]!.doc}, a training document ` +
                  `(${trained.length} such lines): a continue-the-line prompt must quote held-out poetry. ` +
                  "Pin its lines to the held-out side (generate.pinned) or quote another poem"
              )
            )
        }
        const metrics = yield* loadMetrics(options.metrics)
        const jobs = jobsOf(set, p)
        if (jobs.length === 0)
          return yield* Effect.fail(
            new Error(`${set.file}: no prompts of the tasks ${JSON.stringify(p.tasks)}`)
          )

        const work = join(store.root, "work", ctx.stage, ctx.key.slice(0, 32))
        mkdirSync(work, { recursive: true })
        const partial = join(work, "generations.jsonl")
        const done = new Map(readDone(partial).map((r) => [r.id, r]))
        if (done.size > 0)
          progress.log(`  ${ctx.stage}: ${done.size} answers kept from a stopped run (${partial})`)

        const todo = jobs.filter((j) => !done.has(j.id))
        if (todo.length > 0) {
          // held while it answers: a probe of the same version beside it (--parallel) leaves it loaded
          const letGo = holdModel(version.dir)
          const model = yield* Effect.tryPromise({ try: () => loadModel(version.dir), catch: (e) => e })
          const task = progress.task(`${ctx.stage}: ${version.name} answers`, {
            total: jobs.length,
            unit: "answers"
          })
          task.update(jobs.length - todo.length)
          const started = Date.now()
          let tokens = 0
          const { workers, threads } = answerWorkers()
          const batches = batchesOf(todo, p.batchSize, workers)
          const record = (batch: (typeof batches)[number], texts: ReadonlyArray<string>) => {
            batch.forEach((job, i) => {
              tokens += model.encode(texts[i]!, { addSpecialTokens: false }).length
              const record: GenerationRecord = {
                id: job.id,
                promptId: job.prompt.id,
                prompt: job.prompt.prompt,
                text: cleanAnswer(texts[i]!),
                lang: job.prompt.lang,
                task: job.prompt.task,
                ...(job.prompt.request === undefined ? {} : { request: job.prompt.request }),
                seed: job.seed,
                sample: job.sample
              }
              appendFileSync(partial, `${JSON.stringify(record)}\n`)
              done.set(job.id, record)
            })
            task.update(done.size)
          }
          // worker threads answer side by side (each batch's texts are what this process would
          // give); each batch is kept as it is done
          yield* Effect.tryPromise({
            try: (signal) =>
              generateBatches(
                version.dir,
                batches.map((b) => batchRequest(b, p)),
                { workers, threads, signal, onBatch: (i, texts) => record(batches[i]!, texts) }
              ),
            catch: (e) => e
          }).pipe(
            Effect.onExit((exit) =>
              Effect.sync(() => task.finish(exit._tag === "Success" ? "done" : "stopped"))
            )
          )
          progress.log(
            `  ${ctx.stage}: ${todo.length} answers, ${tokens} tokens in ${((Date.now() - started) / 1000).toFixed(1)}s` +
              (Math.min(workers, batches.length) > 1
                ? ` (${Math.min(workers, batches.length)} workers of ${threads} thread${threads === 1 ? "" : "s"})`
                : "")
          )
          // scoring runs in child processes: this process need not keep the version's graphs
          yield* Effect.promise(letGo)
        }

        const records = jobs.map((j) => done.get(j.id)!)
        const genDir = ctx.outputDir("generations")
        const generationsText = records.map((r) => JSON.stringify(r)).join("\n") + "\n"
        writeFileSync(join(genDir, "generations.jsonl"), generationsText)

        // a rerun of a run whose columns failed keeps its ok columns
        const keep = (yield* keptColumns(ctx.key, Hash.sha256(generationsText))).filter((c) =>
          metrics.some((m) => m.id === c.id)
        )
        if (keep.length > 0)
          progress.log(
            `  ${ctx.stage}: ${keep.map((c) => c.name).join(", ")} kept from the last run; scoring the failed columns again`
          )
        const scoring = progress.task(`${ctx.stage}: scoring with ${metrics.length - keep.length} metrics`, {
          total: metrics.length - keep.length,
          unit: "metrics"
        })
        const scored = yield* scoreSamples(records.map(toSampleInput), metrics, {
          keep,
          seed: p.seed,
          concurrency: p.concurrency,
          ctx: {
            seed: p.seed,
            model: judge.dir,
            hyperwordsFile: hyperwordsPath(ctx.inputs.hyperwords!)
          }
        }).pipe(Effect.onExit(() => Effect.sync(() => scoring.finish("done"))))
        scored.summaries.forEach((s, k) => {
          const ms = keep.some((c) => c.id === s.id) ? undefined : scored.columns[k]?.durationMs
          progress.log(
            `  ${ctx.stage}: ${s.name} ${s.status === "ok" ? `mean ${s.mean?.toFixed(4) ?? "n/a"} (n ${s.n})` : `FAILED — ${s.reason}`}` +
              (ms === undefined ? ", kept" : `, ${(ms / 1000).toFixed(1)} s`)
          )
        })
        const scoresDir = ctx.outputDir("scores")
        writeFileSync(join(scoresDir, "scores.jsonl"), rowsToJsonl(scored.rows))
        const experiment = experimentFields(version.training, version.base !== undefined)
        return {
          generations: {
            data: {
              schemaVersion: 1,
              model: version.model,
              promptSet: { id: set.set.id, version: set.set.version, sha256: set.sha256 },
              samples: records.length,
              file: "generations.jsonl"
            }
          },
          scores: {
            data: {
              schemaVersion: 1,
              model: version.model,
              name: version.name,
              ...(version.base === undefined ? {} : { base: version.base }),
              judge: judge.model,
              generations: Hash.sha256(generationsText),
              metrics: scored.summaries,
              ...experiment,
              file: "scores.jsonl"
            }
          }
        }
      })
  })
}
