/**
 * `hyperwords score`, `hyperwords rescore` and `hyperwords publish`. The metrics they know are
 * the ones `pipeline.config.ts` registers: `commands: [...evalCommands({ metrics })]`.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { Artifacts } from "@hyperwords/core"
import { loadConfig } from "@hyperwords/core/Config"
import { decodeValue, readText } from "@hyperwords/core/Decode"
import { DecodeError, UsageError } from "@hyperwords/core/Errors"
import { writeBlock } from "@hyperwords/core/GeneratedBlocks"
import { errorJson, jsonFlag, printResult, say } from "@hyperwords/core/Output"
import { lockFileOf, readLock } from "@hyperwords/core/Runner"
import { locateModelFolder, makeStore } from "@hyperwords/core/Store"
import { Config, Console, Effect, Option, Result, Schema } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { renderComparePage } from "./ComparePage.ts"
import { comparePairs } from "./ComparePairs.ts"
import { findProbeReport, linkProbeReport, listEvalRuns, loadSide, resolveRun } from "./CompareStore.ts"
import { MetricFailedError, UnknownMetricError } from "./Errors.ts"
import { formatNumber } from "./Leaderboard.ts"
import {
  importMetric,
  type LoadedMetric,
  loadMetric,
  loadMetrics,
  type MetricEntry,
  type SampleInput
} from "./Metric.ts"
import { publish, reportLines } from "./Publish.ts"
import { readLeaderboard, readmeBoard } from "./ReadmeBoard.ts"
import { type MetricSummary, rowsToJsonl, scoreGenerations, scoreSamples } from "./Scoring.ts"

/** What the eval commands need from the config. */
export interface EvalCommandsOptions {
  /** The registered metric plugins. */
  readonly metrics: ReadonlyArray<MetricEntry>
}

const configFlag = Flag.String("config").pipe(
  Flag.withDescription("the pipeline config file"),
  Flag.withDefault("pipeline.config.ts")
)
const seedFlag = Flag.Int("seed").pipe(Flag.withDescription("seed of the bootstrap"), Flag.withDefault(1))

const looksLikePath = (s: string): boolean => /[\\/]/.test(s) || /\.[cm]?[jt]s$/.test(s)

/** Pick metrics by name (registered) or by module path; all registered ones when none are named. */
const pickMetrics = (registered: ReadonlyArray<MetricEntry>, names: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const all = yield* loadMetrics(registered)
    if (names.length === 0) return all
    const out: Array<LoadedMetric> = []
    for (const name of names) {
      const found = all.find((m) => m.metric.name === name)
      if (found) out.push(found)
      else if (looksLikePath(name)) out.push(yield* loadMetric(yield* importMetric(resolve(name))))
      else return yield* new UnknownMetricError({ name, registered: all.map((m) => m.metric.name) })
    }
    return out
  })

const summaryLine = (s: MetricSummary): string => {
  if (s.status === "failed") return `${s.name}: failed: ${s.reason}`
  const ci = s.ci ? ` [${formatNumber(s.ci[0])}, ${formatNumber(s.ci[1])}]` : ""
  const corpus = s.corpus ? `, corpus ${formatNumber(s.corpus.score)}` : ""
  const length =
    s.length?.applied && s.length.mean !== undefined
      ? `, length-adjusted ${formatNumber(s.length.mean)} (r = ${formatNumber(s.length.r)} with log length)`
      : ""
  return `${s.name}: mean ${formatNumber(s.mean)}${ci}, n = ${s.n}${corpus}${length}`
}

/**
 * A line of a user's file: the fields of the sample contract (`SampleInput`), checked, and any
 * others kept (an `id` that is not a string gives way to `FILE:LINE`).
 */
const InputLine = Schema.StructWithRest(
  Schema.Struct({
    text: Schema.String,
    promptId: Schema.optionalKey(Schema.String),
    prompt: Schema.optionalKey(Schema.String),
    lang: Schema.optionalKey(Schema.Literals(["ru", "en"])),
    task: Schema.optionalKey(Schema.String),
    request: Schema.optionalKey(Schema.String)
  }),
  [Schema.Record(Schema.String, Schema.Unknown)]
)

/** The sample a checked input line describes. */
const sampleOf = (value: Record<string, unknown>, id: string): SampleInput => {
  const v = value as typeof InputLine.Type
  return {
    id,
    text: v.text,
    ...(v.promptId === undefined ? {} : { promptId: v.promptId }),
    ...(v.prompt === undefined ? {} : { prompt: v.prompt }),
    ...(v.lang === undefined ? {} : { lang: v.lang }),
    ...(v.task === undefined ? {} : { task: v.task }),
    ...(v.request === undefined ? {} : { request: v.request })
  }
}

const encodingHint = "convert it to UTF-8 or pass its encoding (--encoding latin1)"

/**
 * Read a user's JSONL (one object with a `text` a line, and optionally the other fields of
 * `SampleInput`: `id`, `promptId`, `prompt`, `lang`, `task`, `request`); errors name file:line.
 */
export const readTextsFile = (
  file: string,
  encoding?: string
): Effect.Effect<Array<{ readonly line: number; readonly value: Record<string, unknown> }>, DecodeError> =>
  Effect.flatMap(readText(file, { encoding, hint: encodingHint }), (text) => {
    const out: Array<{ line: number; value: Record<string, unknown> }> = []
    const lines = text.split("\n")
    for (let i = 0; i < lines.length; i++) {
      const raw = lines[i]!.trim()
      if (raw === "") continue
      let parsed: unknown
      try {
        parsed = JSON.parse(raw)
      } catch (e) {
        return Effect.fail(
          new DecodeError({ file, line: i + 1, detail: `not valid JSON (${(e as Error).message})` })
        )
      }
      const r = decodeValue(InputLine, parsed, { file, line: i + 1 })
      if (Result.isFailure(r)) return Effect.fail(r.failure)
      out.push({ line: i + 1, value: parsed as Record<string, unknown> })
    }
    return Effect.succeed(out)
  })

/** The error naming every failed column, or undefined when none failed. */
const failureOf = (summaries: ReadonlyArray<MetricSummary>): MetricFailedError | undefined => {
  const failed = summaries.filter((s) => s.status === "failed")
  if (failed.length === 1)
    return new MetricFailedError({ metric: failed[0]!.id, reason: failed[0]!.reason ?? "failed" })
  if (failed.length > 1)
    return new MetricFailedError({
      metric: failed.map((s) => s.id).join(", "),
      reason: failed.map((s) => `${s.name}: ${s.reason ?? "failed"}`).join("; ")
    })
  return undefined
}

/** Fail naming every failed column (after the caller printed what the others scored). */
const failIfAnyFailed = (summaries: ReadonlyArray<MetricSummary>) =>
  Effect.gen(function* () {
    const failure = failureOf(summaries)
    if (failure !== undefined) return yield* failure
  })

/** A `--json` document's `error` when a column failed (the document still holds what was scored). */
const failureJson = (summaries: ReadonlyArray<MetricSummary>) => {
  const failure = failureOf(summaries)
  return failure === undefined ? {} : { error: errorJson(failure) }
}

/** `hyperwords score --metric NAME --input FILE.jsonl [--model NAME] [--out FILE]`. */
export const scoreCommand = (options: EvalCommandsOptions) =>
  Command.make(
    "score",
    {
      metric: Flag.String("metric").pipe(
        Flag.withDescription("a registered metric name or the path of a plugin module (repeatable)"),
        Flag.atLeast(1)
      ),
      input: Flag.String("input").pipe(Flag.withDescription("JSONL, one object with a `text` field a line")),
      encoding: Flag.String("encoding").pipe(
        Flag.withDescription("the input's encoding (latin1, windows-1251, ...); strict UTF-8 when absent"),
        Flag.optional
      ),
      model: Flag.String("model").pipe(
        Flag.withDescription("model version for metrics that need one"),
        Flag.optional
      ),
      out: Flag.String("out").pipe(Flag.withDescription("write here instead of stdout"), Flag.optional),
      hyperwords: Flag.String("hyperwords").pipe(
        Flag.withDescription("a poem_hyperwords.jsonl for metrics that use the hyperword set"),
        Flag.optional
      ),
      seed: seedFlag,
      json: jsonFlag
    },
    (args) =>
      Effect.gen(function* () {
        const metrics = yield* pickMetrics(options.metrics, args.metric)
        const needsModel = metrics.find((m) => m.metric.requiresModel)
        if (needsModel && Option.isNone(args.model)) {
          return yield* new UsageError({
            detail: `metric ${needsModel.metric.name} needs a model: pass --model NAME`
          })
        }
        const file = resolve(args.input)
        const lines = yield* readTextsFile(file, Option.getOrUndefined(args.encoding))
        const ids = lines.map((l) =>
          typeof l.value.id === "string" ? l.value.id : `${args.input}:${l.line}`
        )
        const inputs = lines.map((l, k) => sampleOf(l.value, ids[k]!))
        const set = yield* scoreSamples(inputs, metrics, {
          seed: args.seed,
          ctx: {
            seed: args.seed,
            ...(Option.isSome(args.model) ? { model: args.model.value } : {}),
            ...(Option.isSome(args.hyperwords) ? { hyperwordsFile: resolve(args.hyperwords.value) } : {})
          }
        })
        const scored = lines.map((l, k) => {
          const row = set.rows[k]!
          const previous = typeof l.value.scores === "object" && l.value.scores !== null ? l.value.scores : {}
          const previousDetails =
            typeof l.value.details === "object" && l.value.details !== null ? l.value.details : {}
          return {
            ...l.value,
            scores: { ...previous, ...row.scores },
            ...(row.details ? { details: { ...previousDetails, ...row.details } } : {})
          }
        })
        const text = scored.map((o) => JSON.stringify(o)).join("\n")
        if (Option.isSome(args.out)) writeFileSync(args.out.value, text === "" ? "" : `${text}\n`)
        // --json: the scored objects (also with --out), every metric's summary, and a failure if any
        if (args.json)
          yield* printResult(true, "", {
            rows: scored,
            metrics: set.summaries,
            out: Option.isSome(args.out) ? resolve(args.out.value) : null,
            ...failureJson(set.summaries)
          })
        else if (Option.isNone(args.out) && text !== "") yield* Console.log(text)
        // the failed columns are named once, in the error
        for (const s of set.summaries) if (s.status === "ok") yield* Console.error(summaryLine(s))
        yield* failIfAnyFailed(set.summaries)
      })
  ).pipe(Command.withDescription("score your own texts or words with metric plugins"))

/** The Generations artifacts a rescore covers: the given hashes, or every one in the lock file. */
const generationsToRescore = (configFile: string, hashes: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const loaded = yield* loadConfig(configFile)
    const store = makeStore(loaded.storeDir)
    let candidates = [...hashes]
    if (candidates.length === 0) {
      const lock = yield* readLock(lockFileOf(loaded.file))
      candidates = [...new Set(Object.values(lock?.stages ?? {}).flatMap((s) => Object.values(s.outputs)))]
    }
    const found = []
    for (const hash of candidates) {
      const manifest = yield* store.readArtifact(hash)
      if (manifest.kind !== "Generations") {
        if (hashes.length > 0) {
          return yield* new UsageError({ detail: `artifact ${hash} is a ${manifest.kind}, not Generations` })
        }
        continue
      }
      const data = decodeValue(Artifacts.Generations, manifest.data, { file: `artifact ${hash}` })
      if (Result.isFailure(data)) return yield* data.failure
      const file = manifest.files.find((f) => f.path === data.success.file)
      if (!file) {
        return yield* new DecodeError({
          file: `artifact ${hash}`,
          detail: `has no file ${data.success.file}`
        })
      }
      found.push({ hash, data: data.success, path: store.objectPath(file.sha256) })
    }
    if (found.length === 0) {
      return yield* new UsageError({
        detail:
          "no Generations artifacts to rescore: pipeline.lock.json names none (run the evaluate stage) " +
          "and no --generations HASH was given"
      })
    }
    return { loaded, found, context: yield* pipelineContext(lockFileOf(loaded.file), store) }
  })

/**
 * What the evaluate stages gave the metrics, from the last pipeline run: the folder of the base
 * model (the judge whose vectors they read) and the hyperword set.
 */
export const pipelineContext = (lockFile: string, store: ReturnType<typeof makeStore>) =>
  Effect.gen(function* () {
    const lock = yield* readLock(lockFile)
    const out: { model?: string; hyperwordsFile?: string } = {}
    const modelHash = lock?.stages.models?.outputs.model
    if (modelHash !== undefined) {
      const manifest = yield* store.readArtifact(modelHash)
      const v = decodeValue(Artifacts.ModelVersion, manifest.data, { file: `artifact ${modelHash}` })
      // where the folder is now: a project moved with its store finds it at its store place
      if (Result.isSuccess(v) && v.success.dir !== undefined)
        out.model = locateModelFolder(store.root, v.success.dir) ?? v.success.dir
    }
    const setHash = lock?.stages.generate?.outputs.hyperwords
    if (setHash !== undefined) {
      const manifest = yield* store.readArtifact(setHash)
      const name = (manifest.data as { file?: string }).file ?? "poem_hyperwords.jsonl"
      const file = manifest.files.find((f) => f.path === name)
      if (file) out.hyperwordsFile = store.objectPath(file.sha256)
    }
    return out
  })

const safeName = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._]+/, "")

/** `hyperwords rescore`: re-score stored generations with the registered metrics. */
export const rescoreCommand = (options: EvalCommandsOptions) =>
  Command.make(
    "rescore",
    {
      config: configFlag,
      generations: Flag.String("generations").pipe(
        Flag.withDescription(
          "hash of a Generations artifact (repeatable; default: all in pipeline.lock.json)"
        ),
        Flag.atLeast(0)
      ),
      metric: Flag.String("metric").pipe(
        Flag.withDescription("only these metrics (repeatable; default: all registered)"),
        Flag.atLeast(0)
      ),
      out: Flag.String("out").pipe(
        Flag.withDescription("folder for the scores (default reports/rescore)"),
        Flag.optional
      ),
      model: Flag.String("model").pipe(
        Flag.withDescription(
          "the model whose vectors the metrics read (default: the pipeline's base model, as the evaluate stages use)"
        ),
        Flag.optional
      ),
      seed: seedFlag,
      json: jsonFlag
    },
    (args) =>
      Effect.gen(function* () {
        const { loaded, found, context } = yield* generationsToRescore(args.config, args.generations)
        const metrics = yield* pickMetrics(options.metrics, args.metric)
        const ctx = {
          ...context,
          ...(Option.isSome(args.model) ? { model: args.model.value } : {}),
          seed: args.seed
        }
        const outRoot = Option.isSome(args.out) ? resolve(args.out.value) : join(loaded.reportsDir, "rescore")
        const failed: Array<MetricSummary> = []
        const done: Array<{
          model: unknown
          generations: string
          samples: number
          dir: string
          metrics: ReadonlyArray<MetricSummary>
        }> = []
        for (const g of found) {
          const set = yield* scoreGenerations(g.path, metrics, {
            seed: args.seed,
            ctx
          })
          const dir = join(outRoot, `${safeName(g.data.model.id)}-${g.hash.slice(0, 12)}`)
          mkdirSync(dir, { recursive: true })
          writeFileSync(join(dir, "scores.jsonl"), rowsToJsonl(set.rows))
          const run = {
            schemaVersion: 1,
            model: g.data.model,
            generations: g.hash,
            metrics: set.summaries,
            file: "scores.jsonl"
          }
          writeFileSync(join(dir, "eval-run.json"), `${JSON.stringify(run, null, 2)}\n`)
          yield* say(
            args.json,
            `${g.data.model.id} (generations ${g.hash.slice(0, 12)}, ${set.rows.length} samples) → ${dir}`
          )
          for (const s of set.summaries) yield* say(args.json, `  ${summaryLine(s)}`)
          failed.push(...set.summaries.filter((s) => s.status === "failed"))
          done.push({
            model: g.data.model,
            generations: g.hash,
            samples: set.rows.length,
            dir,
            metrics: set.summaries
          })
        }
        if (args.json) yield* printResult(true, "", { runs: done, ...failureJson(failed) })
        // every artifact was written with what it has; a failed column ends the command with 1
        yield* failIfAnyFailed(failed)
      })
  ).pipe(Command.withDescription("re-score stored generations without regenerating"))

/** `hyperwords publish DIR [--dry-run] [--public] [--include-corpus]`. */
export const publishCommand = Command.make(
  "publish",
  {
    config: configFlag,
    dir: Argument.String("dir").pipe(Argument.withDescription("the site folder to write")),
    dryRun: Flag.Boolean("dry-run").pipe(
      Flag.withDescription("list what would be written and uploaded; write and send nothing"),
      Flag.withDefault(false)
    ),
    from: Flag.String("from").pipe(
      Flag.withDescription("the reports folder (default: the config's)"),
      Flag.optional
    ),
    repo: Flag.String("repo").pipe(
      Flag.withDescription("Hugging Face dataset repository, user/name (default: HF_REPO)"),
      Flag.optional
    ),
    public: Flag.Boolean("public").pipe(
      Flag.withDescription(
        "create the repository public (default: private; an existing public one is refused)"
      ),
      Flag.withDefault(false)
    ),
    includeCorpus: Flag.Boolean("include-corpus").pipe(
      Flag.withDescription("publish corpus text too: the field explorer and the hyperwords' evidence lines"),
      Flag.withDefault(false)
    ),
    json: jsonFlag
  },
  (args) =>
    Effect.gen(function* () {
      const from = Option.isSome(args.from)
        ? resolve(args.from.value)
        : (yield* loadConfig(args.config)).reportsDir
      const to = resolve(args.dir)
      if (to === from || to.startsWith(`${from}/`)) {
        return yield* new UsageError({ detail: `the site folder ${to} is inside the reports folder ${from}` })
      }
      const repo = Option.isSome(args.repo)
        ? Option.some(args.repo.value)
        : yield* Config.option(Config.String("HF_REPO")).pipe(Effect.orElseSucceed(() => Option.none()))
      const token = yield* Config.option(Config.Redacted("HF_TOKEN")).pipe(
        Effect.orElseSucceed(() => Option.none())
      )
      const hubUrl = yield* Config.option(Config.String("HF_ENDPOINT")).pipe(
        Effect.orElseSucceed(() => Option.none())
      )
      const report = yield* publish({
        from,
        to,
        dryRun: args.dryRun,
        public: args.public,
        includeCorpus: args.includeCorpus,
        ...(Option.isSome(repo) && repo.value !== "" ? { repo: repo.value } : {}),
        ...(Option.isSome(token) ? { token: token.value } : {}),
        ...(Option.isSome(hubUrl) && hubUrl.value !== "" ? { hubUrl: hubUrl.value } : {})
      })
      yield* printResult(
        args.json,
        () => reportLines(report, Option.getOrUndefined(hubUrl) || undefined).join("\n"),
        { dryRun: args.dryRun, from, ...report }
      )
    })
).pipe(
  Command.withDescription(
    "write the reports as a static site; upload it (private, without corpus text) when HF_TOKEN and a repo are set"
  )
)

/** `hyperwords readme [--file README.md] [--from REPORTS]`: the board's summary into the README. */
export const readmeCommand = Command.make(
  "readme",
  {
    config: configFlag,
    file: Flag.String("file").pipe(
      Flag.withDescription("the Markdown file holding <!-- generated:board --> … <!-- /generated:board -->"),
      Flag.withDefault("README.md")
    ),
    from: Flag.String("from").pipe(
      Flag.withDescription("the reports folder (default: the config's)"),
      Flag.optional
    ),
    json: jsonFlag
  },
  (args) =>
    Effect.gen(function* () {
      const loaded = yield* loadConfig(args.config)
      const from = Option.isSome(args.from) ? resolve(args.from.value) : loaded.reportsDir
      const file = join(from, "leaderboard", "leaderboard.json")
      const data = yield* readLeaderboard(file)
      const source = relative(loaded.projectDir, file)
      yield* writeBlock(args.file, "board", readmeBoard(data, source))
      yield* printResult(
        args.json,
        `readme: wrote the summary of ${source} (${data.rows.length} rows) into ${args.file}`,
        { file: resolve(args.file), source, rows: data.rows.length }
      )
    })
).pipe(Command.withDescription("put the leaderboard's summary into the README (computed, never typed)"))

/** `hyperwords compare A B [--out FILE]`: two evaluated versions, sample by sample, as one HTML page. */
export const compareCommand = Command.make(
  "compare",
  {
    config: configFlag,
    a: Argument.String("a").pipe(
      Argument.withDescription(
        "version A: a version name, evaluate stage, stage key or EvalRun/Generations hash"
      )
    ),
    b: Argument.String("b").pipe(Argument.withDescription("version B, the same way (Δ is B − A)")),
    out: Flag.String("out").pipe(
      Flag.withDescription("the page to write (default reports/compare/<A>-vs-<B>.html)"),
      Flag.optional
    ),
    json: jsonFlag
  },
  (args) =>
    Effect.gen(function* () {
      const loaded = yield* loadConfig(args.config)
      const store = makeStore(loaded.storeDir)
      const runs = yield* listEvalRuns(store)
      const lock = yield* readLock(lockFileOf(loaded.file)).pipe(Effect.orElseSucceed(() => undefined))
      const a = yield* Effect.fromResult(resolveRun(args.a, runs, lock, loaded.storeDir))
      const b = yield* Effect.fromResult(resolveRun(args.b, runs, lock, loaded.storeDir))
      for (const note of [a.note, b.note]) if (note !== undefined) yield* Console.error(`compare: ${note}`)
      const same = a.run.name === b.run.name
      const stem = (r: typeof a.run) =>
        `${safeName(r.name) || "version"}${same ? `-${r.key.slice(0, 8)}` : ""}`
      const file = Option.isSome(args.out)
        ? resolve(args.out.value)
        : join(loaded.reportsDir, "compare", `${stem(a.run)}-vs-${stem(b.run)}.html`)
      const sides = []
      for (const [r, side] of [
        [a.run, "a"],
        [b.run, "b"]
      ] as const) {
        const loadedSide = yield* loadSide(store, r)
        const other = (r === a.run ? b.run : a.run).modelArtifact
        const probe = yield* findProbeReport(store, r.modelArtifact, other)
        sides.push({ ...loadedSide, ...(probe === undefined ? {} : linkProbeReport(probe, file, side)) })
      }
      const data = comparePairs(sides[0]!, sides[1]!)
      mkdirSync(dirname(file), { recursive: true })
      const html = renderComparePage(data)
      writeFileSync(file, html)
      const top = data.pairs[0]
      const paired = data.pairs.filter((p) => p.flip !== null).length
      const bytes = Buffer.byteLength(html)
      const side = (r: typeof a.run) => ({ name: r.name, stage: r.stage, key: r.key })
      yield* printResult(
        args.json,
        `compare: A = ${a.run.name} (${a.run.stage}, key ${a.run.key.slice(0, 12)}), ` +
          `B = ${b.run.name} (${b.run.stage}, key ${b.run.key.slice(0, 12)}): ` +
          `${paired} paired samples of ${data.pairs.length}` +
          (top?.flip != null
            ? `; most flipped ${top.id} (rank shift ${formatNumber(top.flip)} on ${top.flipMetric})`
            : "") +
          `\ncompare: wrote ${relative(process.cwd(), file) || file} (${bytes} bytes)`,
        {
          a: side(a.run),
          b: side(b.run),
          paired,
          samples: data.pairs.length,
          mostFlipped:
            top?.flip != null ? { id: top.id, flip: top.flip, metric: top.flipMetric ?? null } : null,
          file,
          bytes
        }
      )
    })
).pipe(
  Command.withDescription(
    "two evaluated versions side by side, per sample with every metric, the most flipped first (a self-contained HTML page)"
  )
)

/** The eval commands, for `pipeline.config.ts`: `commands: [...evalCommands({ metrics })]`. */
export const evalCommands = (options: EvalCommandsOptions) => [
  scoreCommand(options),
  rescoreCommand(options),
  publishCommand,
  readmeCommand,
  compareCommand
]
