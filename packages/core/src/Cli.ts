/**
 * The `hyperwords` command line on Effect's CLI module. Packages add their own commands through
 * `extraCommands`; expected errors print as one line with a non-zero exit code.
 */
import { basename } from "node:path"
import { Console, Effect, Layer, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { type LoadedConfig, loadConfig, type Profile, Profiles } from "./Config.ts"
import { isExpected, UsageError } from "./Errors.ts"
import { describeExecutor, Executor, resolveExecutor } from "./Executor.ts"
import { writeBlock } from "./GeneratedBlocks.ts"
import { jsonFlag, printErrorJson, printResult, say } from "./Output.ts"
import { Progress } from "./Progress.ts"
import { gcBoardMessage } from "./RunHistory.ts"
import { formatGraph, formatPlans, lockFileOf, readLock, readLocksIn, runPipeline } from "./Runner.ts"
import type { Stage } from "./Stage.ts"
import { type StageTime, stageTimesTable } from "./StageTimes.ts"
import { Store } from "./Store.ts"
import { parseSweepFlags } from "./Sweep.ts"

const configFlag = Flag.String("config").pipe(
  Flag.withDescription("the pipeline config file"),
  Flag.withDefault("pipeline.config.ts")
)

const splitList = (values: ReadonlyArray<string>): Array<string> =>
  values
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter((v) => v !== "")

/** Run an effect that needs the store of a loaded config. */
const withStore = <A, E, R>(loaded: LoadedConfig, f: Effect.Effect<A, E, R>) =>
  f.pipe(Effect.provide(Layer.mergeAll(Store.layer(loaded.storeDir), Progress.layer)))

/** Stages at once with a Ray executor unless `--parallel` says otherwise. */
const RAY_PARALLEL = 4

const pipelineCommand = Command.make(
  "pipeline",
  {
    config: configFlag,
    profile: Flag.Literals("profile", Profiles).pipe(
      Flag.withDescription("quick (small model, CI), default (the embedded default), full (a GPU)"),
      Flag.withDefault("default" as Profile)
    ),
    corpus: Flag.String("corpus").pipe(
      Flag.withDescription("a poetry corpus to mine (repeatable)"),
      Flag.atLeast(0)
    ),
    encoding: Flag.String("encoding").pipe(
      Flag.withDescription(
        "the encoding of the --corpus files (windows-1251, latin1, utf-16le, ...); strict UTF-8 when absent"
      ),
      Flag.optional
    ),
    only: Flag.String("only").pipe(
      Flag.withDescription("run only these stages (comma-separated)"),
      Flag.atLeast(0)
    ),
    from: Flag.String("from").pipe(
      Flag.withDescription("run this stage and everything after it"),
      Flag.optional
    ),
    force: Flag.String("force").pipe(
      Flag.withDescription("rerun these stages even when cached"),
      Flag.atLeast(0)
    ),
    sweep: Flag.String("sweep").pipe(
      Flag.withDescription(
        "STAGE.PARAM=V1,V2: a copy of the stage per value, over the config's sweep (repeatable: a grid)"
      ),
      Flag.atLeast(0)
    ),
    dry: Flag.Boolean("dry").pipe(Flag.withDescription("plan only: run nothing"), Flag.withDefault(false)),
    explain: Flag.Boolean("explain").pipe(
      Flag.withDescription("say per stage HIT or MISS and which contributor changed"),
      Flag.withDefault(false)
    ),
    executor: Flag.String("executor").pipe(
      Flag.withDescription(
        "where the bridge's jobs run: local (default), ray://HOST:PORT (Ray Client) or ray:HOST:PORT (from a node of the cluster); overrides the config's executor and HYPERWORDS_EXECUTOR"
      ),
      Flag.optional
    ),
    parallel: Flag.Int("parallel").pipe(
      Flag.withDescription(
        `stages run at once, each when its upstream has finished (default 1 locally, ${RAY_PARALLEL} with a Ray executor: the cluster queues what its resources cannot hold yet)`
      ),
      Flag.optional
    ),
    json: jsonFlag
  },
  (args) =>
    Effect.gen(function* () {
      const sweep = yield* Effect.try({
        try: () => parseSweepFlags(args.sweep),
        catch: (e) => new UsageError({ detail: (e as Error).message })
      })
      // the profile's base models make the matrix (`Matrix.ts`), the sweeps its copies (`Sweep.ts`)
      const loaded = yield* loadConfig(args.config, { profile: args.profile, corpus: args.corpus, sweep })
      const progress = yield* Progress
      if (Option.isSome(args.encoding) && args.corpus.length === 0)
        return yield* new UsageError({ detail: "--encoding applies to the --corpus paths; give one" })
      const executor = yield* Effect.try({
        try: () => resolveExecutor(Option.getOrUndefined(args.executor), loaded.config.executor),
        catch: (e) => new UsageError({ detail: (e as Error).message })
      })
      if (Option.isSome(args.parallel) && args.parallel.value < 1)
        return yield* new UsageError({ detail: `--parallel ${args.parallel.value}: give 1 or more` })
      if (executor !== "local" && !args.dry) progress.log(`executor: ${describeExecutor(executor)}`)
      if (args.dry) {
        yield* say(args.json, `stage graph (${loaded.file}):\n${formatGraph(loaded.config.stages)}\n`)
      }
      const plans = yield* Effect.scoped(
        runPipeline(loaded, {
          profile: args.profile,
          corpus: args.corpus,
          sweep,
          ...(Option.isSome(args.encoding) ? { encoding: args.encoding.value } : {}),
          only: splitList(args.only),
          ...(Option.isSome(args.from) ? { from: args.from.value } : {}),
          force: splitList(args.force),
          dry: args.dry,
          command: [
            `hyperwords pipeline --profile ${args.profile}`,
            ...args.sweep.map((s) => `--sweep ${s}`)
          ].join(" "),
          parallel: Option.getOrElse(args.parallel, () => (executor === "local" ? 1 : RAY_PARALLEL))
        }).pipe(Effect.provideService(Executor, executor))
      )
      const planned = plans.filter((p) => p.status === "PLANNED").map((p) => p.id)
      const ran = plans.filter((p) => p.ran).length
      const hits = plans.filter((p) => p.status === "HIT").length
      yield* printResult(
        args.json,
        () =>
          `${args.dry ? "plan" : "pipeline"} (profile ${args.profile}, store ${loaded.storeDir}):\n` +
          formatPlans(plans, args.explain || args.dry),
        {
          dry: args.dry,
          profile: args.profile,
          executor: describeExecutor(executor),
          store: loaded.storeDir,
          config: loaded.file,
          ...(args.dry ? { graph: graphJson(loaded.config.stages) } : {}),
          stages: plans.map((p) => ({
            id: p.id,
            status: p.status === "MISS" && p.ran ? "RAN" : p.status,
            ran: p.ran === true,
            key: p.key ?? null,
            durationMs: p.durationMs ?? null,
            reasons: p.reasons,
            outputs: p.outputs ?? {}
          })),
          ran,
          restored: hits,
          notImplemented: planned
        }
      )
      if (!args.dry) {
        progress.log(
          `${ran} stage(s) ran, ${hits} restored from the store` +
            (planned.length > 0 ? `; not implemented yet, so not run: ${planned.join(", ")}` : "")
        )
      }
    }).pipe((e) => withStoreFromConfig(args.config, e))
)

/** The stage graph as data: each stage with what it reads and writes. */
const graphJson = (stages: ReadonlyArray<Stage<unknown>>) =>
  stages.map((s) => ({
    id: s.id,
    planned: s.run === undefined,
    reads: Object.entries(s.inputs).map(([name, r]) => ({ name, stage: r.stage, output: r.output })),
    writes: s.outputs
  }))

// the store layer depends on the config (its location), so it is provided per command
const withStoreFromConfig = <A, E, R>(configFile: string, f: Effect.Effect<A, E, R | Store | Progress>) =>
  Effect.gen(function* () {
    const loaded = yield* loadConfig(configFile)
    return yield* withStore(loaded, f)
  })

const verifyCommand = Command.make("verify", { config: configFlag, json: jsonFlag }, (args) =>
  Effect.gen(function* () {
    const loaded = yield* loadConfig(args.config)
    const store = yield* Store
    const progress = yield* Progress
    const task = progress.task("verify objects", { unit: "objects" })
    const report = yield* store.verify((done, total) => task.update(done, total))
    task.finish(`${report.objects} objects`)
    const ok = report.problems.length === 0
    yield* printResult(
      args.json,
      `store ${loaded.storeDir}: ${report.objects} objects (${(report.bytes / 1e6).toFixed(1)} MB), ` +
        `${report.manifests} artifacts, ${report.runs} runs` +
        (report.staging > 0 ? `, ${report.staging} staging leftovers (removed by store gc)` : "") +
        (ok ? "\nstore verify: ok" : ""),
      {
        store: loaded.storeDir,
        ok,
        objects: report.objects,
        bytes: report.bytes,
        artifacts: report.manifests,
        runs: report.runs,
        staging: report.staging,
        problems: report.problems
      }
    )
    if (!ok) {
      for (const p of report.problems) yield* Console.error(`problem: ${p}`)
      yield* Console.error(`store verify: ${report.problems.length} problem(s)`)
      process.exitCode = 1
    }
  }).pipe((e) => withStoreFromConfig(args.config, e))
)

const gcCommand = Command.make(
  "gc",
  {
    config: configFlag,
    keepLast: Flag.Int("keep-last").pipe(
      Flag.withDescription(
        "keep only the last N pipeline runs' artifacts and what they came from (and what a kept board refers to)"
      ),
      Flag.optional
    ),
    dropBoardRows: Flag.Boolean("drop-board-rows").pipe(
      Flag.withDescription("also drop what a kept leaderboard's rows refer to (otherwise kept and listed)"),
      Flag.withDefault(false)
    ),
    json: jsonFlag
  },
  (args) =>
    Effect.scoped(
      Effect.gen(function* () {
        const loaded = yield* loadConfig(args.config)
        const store = yield* Store
        yield* store.lock("hyperwords store gc")
        // what every config in the folder ran last: one config's gc keeps another's outputs
        const locks = yield* readLocksIn(loaded.projectDir)
        const roots = locks.flatMap((lock) =>
          Object.values(lock.stages).flatMap((s) => Object.values(s.outputs))
        )
        const keepLast = Option.getOrUndefined(args.keepLast)
        if (keepLast !== undefined && keepLast < 1)
          return yield* new UsageError({
            detail: `--keep-last takes a number of pipeline runs, at least 1 (got ${keepLast})`
          })
        const r = yield* store.gc(roots, {
          reportsDir: loaded.reportsDir,
          keepLast,
          dropBoardRows: args.dropBoardRows
        })
        const boards = gcBoardMessage(r)
        yield* printResult(
          args.json,
          `${boards === "" ? "" : `${boards}\n`}store gc: kept ${r.keptManifests} artifacts (${r.keptObjects} objects); removed ${r.removedManifests} artifacts, ` +
            `${r.removedObjects} objects (${(r.removedBytes / 1e6).toFixed(1)} MB), ${r.removedStaging} staging leftovers, ` +
            `${r.removedWork} work folders of finished runs and ${r.removedModels} unreferenced tuned-model folders, ${r.removedTemp} temp files of interrupted writes (${(r.removedFolderBytes / 1e6).toFixed(1)} MB)`,
          { store: loaded.storeDir, ...r }
        )
      })
    ).pipe((e) => withStoreFromConfig(args.config, e))
)

const timesCommand = Command.make(
  "times",
  {
    config: configFlag,
    write: Flag.String("write").pipe(
      Flag.withDescription(
        "also put the table into FILE between <!-- generated:stage-times --> and <!-- /generated:stage-times -->"
      ),
      Flag.optional
    ),
    json: jsonFlag
  },
  (args) =>
    Effect.gen(function* () {
      const loaded = yield* loadConfig(args.config)
      const store = yield* Store
      const lockFile = lockFileOf(loaded.file)
      const lock = yield* readLock(lockFile)
      if (lock === undefined)
        return yield* new UsageError({
          detail: `store times: no ${basename(lockFile)} in ${loaded.projectDir}: run the pipeline with this config first`
        })
      const rows: Array<StageTime> = []
      for (const [stage, entry] of Object.entries(lock.stages)) {
        const run = yield* store.findRun(entry.key)
        rows.push({
          stage,
          status: entry.status,
          ...(run === undefined ? {} : { durationMs: run.durationMs, startedAt: run.startedAt })
        })
      }
      const table = stageTimesTable(rows, lock.profile)
      if (Option.isSome(args.write)) yield* writeBlock(args.write.value, "stage-times", table)
      const known = rows.flatMap((r) => (r.durationMs === undefined ? [] : [r.durationMs]))
      yield* printResult(
        args.json,
        Option.isSome(args.write) ? `${table}\nstore times: wrote the table into ${args.write.value}` : table,
        {
          profile: lock.profile ?? null,
          stages: rows.map((r) => ({
            stage: r.stage,
            status: r.status,
            durationMs: r.durationMs ?? null,
            startedAt: r.startedAt ?? null
          })),
          totalMs: known.reduce((a, b) => a + b, 0),
          timed: known.length,
          written: Option.getOrNull(args.write)
        }
      )
    }).pipe((e) => withStoreFromConfig(args.config, e))
)

const storeCommand = Command.make("store").pipe(
  Command.withDescription("check and clean the content-addressed store; the last pipeline's stage times"),
  Command.withSubcommands([verifyCommand, gcCommand, timesCommand])
)

// biome-ignore lint/suspicious/noExplicitAny: commands of other packages have their own inputs
export type AnyCommand = Command.Command<any, any, any, any, any>

/** The root command with the core commands and those other packages contribute. */
export const rootCommand = (extraCommands: ReadonlyArray<AnyCommand> = []) =>
  Command.make("hyperwords").pipe(
    Command.withDescription(
      "hyperwords: corpora of fused images, models that learn them, and metrics for imagery"
    ),
    Command.withSubcommands([
      pipelineCommand.pipe(Command.withDescription("run the pipeline (stages cached by key)")),
      storeCommand,
      ...extraCommands
    ])
  )

/**
 * Print an expected error as one line and set a failing exit code; let defects through. With
 * `json` the error is also printed as `{ "error": { "message", "code" } }` on stdout.
 */
export const reportErrors =
  (json = false) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A | undefined, never, R> =>
    self.pipe(
      Effect.catch((e: E) => {
        process.exitCode = 1
        const msg = isExpected(e) ? e.message : (e as { message?: unknown })?.message
        return Console.error(`error: ${msg !== undefined ? String(msg) : String(e)}`).pipe(
          Effect.andThen(json ? printErrorJson(e) : Effect.void),
          Effect.as(undefined)
        )
      })
    )
