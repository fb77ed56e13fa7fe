/**
 * The TypeScript side of the bridge: make sure the Python environment exists, spawn a worker (on
 * this machine, or through `hyperwords_bridge.ray_exec` on a Ray cluster: `Executor.ts`)
 * inside a scope (killed on exit and on Ctrl-C; a worker whose host is killed ends itself), decode
 * its NDJSON events with a schema, show progress as bars, and turn a failure into one clear message
 * with the worker's stderr. Workers never see the host's Hugging Face token.
 */
import { existsSync } from "node:fs"
import { isHubCredential, withoutHubCredentials } from "@hyperwords/core/Env"
import { Executor } from "@hyperwords/core/Executor"
import { Progress } from "@hyperwords/core/Progress"
import { Context, Duration, Effect, Layer, Result, Schema, Stream } from "effect"
import { ChildProcess, ChildProcessSpawner } from "effect/process"
import {
  bootstrapScript,
  constraintsFile,
  pythonOverride,
  pythonProjectDir,
  pythonVariable,
  venvPython
} from "./Paths.ts"

/** A worker's progress on one task. */
export const ProgressEvent = Schema.Struct({
  type: Schema.Literal("progress"),
  task: Schema.String,
  done: Schema.Finite,
  total: Schema.NullOr(Schema.Finite),
  unit: Schema.optionalKey(Schema.String)
})

/** A log line of the worker. */
export const LogEvent = Schema.Struct({
  type: Schema.Literal("log"),
  level: Schema.Literals(["debug", "info", "warn"]),
  message: Schema.String
})

/** A resumable checkpoint was written. */
export const CheckpointEvent = Schema.StructWithRest(
  Schema.Struct({ type: Schema.Literal("checkpoint"), path: Schema.String, step: Schema.Int }),
  [Schema.Record(Schema.String, Schema.Unknown)]
)

/** A finished output. */
export const ArtifactEvent = Schema.StructWithRest(
  Schema.Struct({
    type: Schema.Literal("artifact"),
    kind: Schema.String,
    path: Schema.String,
    sha256: Schema.String
  }),
  [Schema.Record(Schema.String, Schema.Unknown)]
)

/** An expected failure of the worker. */
export const ErrorEvent = Schema.StructWithRest(
  Schema.Struct({
    type: Schema.Literal("error"),
    message: Schema.String,
    code: Schema.optionalKey(Schema.String)
  }),
  [Schema.Record(Schema.String, Schema.Unknown)]
)

/** The job finished; always the last event. */
export const DoneEvent = Schema.Struct({
  type: Schema.Literal("done"),
  result: Schema.Record(Schema.String, Schema.Unknown)
})

/** Every event a worker writes on stdout. */
export const BridgeEvent = Schema.Union([
  ProgressEvent,
  LogEvent,
  CheckpointEvent,
  ArtifactEvent,
  ErrorEvent,
  DoneEvent
])
export type BridgeEvent = typeof BridgeEvent.Type

/** The worker failed, or the environment is missing. */
export class BridgeError extends Schema.TaggedError<BridgeError>()("BridgeError", {
  job: Schema.String,
  detail: Schema.String,
  stderr: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    const tail = this.stderr ? `\n--- worker stderr (last lines) ---\n${this.stderr}` : ""
    return `${this.job}: ${this.detail}${tail}`
  }
}

/** A job for a worker: a module of `hyperwords_bridge` with its arguments and an optional JSON input. */
export interface WorkerJob {
  /** Shown in progress and errors, e.g. "pull gemma-3-270m". */
  readonly label: string
  /** Python module, e.g. "hyperwords_bridge.weights". */
  readonly module: string
  readonly args: ReadonlyArray<string>
  /** Sent as one JSON line on stdin (the typed job). */
  readonly input?: unknown
  readonly env?: Readonly<Record<string, string>>
  /** Seconds the worker gets after SIGTERM (Ctrl-C) before it is killed, e.g. to write a checkpoint (default 10). */
  readonly graceSeconds?: number
  /** Called for every event (after the bridge has shown it). */
  readonly onEvent?: (event: BridgeEvent) => void
  /** What the job needs on a Ray cluster (Ray's `num_cpus`, `num_gpus`, `memory`); 1 CPU when absent. Unused locally. */
  readonly resources?: WorkerResources
  /** On a Ray cluster: a retry after a dead worker or node sends the job with `"resume": true`. */
  readonly resumable?: boolean
  /** On a Ray cluster: a file one attempt's worker holds a lock on at a time (a retry waits for the dead attempt's worker). */
  readonly lock?: string
}

/** The resources a job asks a Ray cluster for. */
export interface WorkerResources {
  readonly cpus?: number
  readonly gpus?: number
  readonly memoryBytes?: number
  /** Processes of one training job under `accelerate launch --multi_gpu` (one per GPU); 1 when absent. */
  readonly processes?: number
}

/** What a worker produced. */
export interface WorkerResult {
  readonly result: Readonly<Record<string, unknown>>
  readonly artifacts: ReadonlyArray<typeof ArtifactEvent.Type>
  readonly checkpoints: ReadonlyArray<typeof CheckpointEvent.Type>
}

/**
 * Hugging Face credentials (`HF_TOKEN`, `HUGGING_FACE_HUB_TOKEN`, `HF_TOKEN_PATH`, …): only the
 * process that uploads (`hyperwords publish`) may see them; no worker needs one (models come
 * offline, `HF_HUB_OFFLINE=1`). The same rule strips them from the eval plugin children.
 */
export { isHubCredential }

/** The host's environment without its Hugging Face credentials. */
export const workerEnv = (env: NodeJS.ProcessEnv = process.env): Record<string, string> =>
  withoutHubCredentials(env)

const decodeEvent = Schema.decodeUnknownResult(BridgeEvent)
const STDERR_LINES = 40

/** Decode one stdout line into an event, or say why it is not one. */
export const parseEventLine = (line: string): Result.Result<BridgeEvent, string> => {
  let json: unknown
  try {
    json = JSON.parse(line)
  } catch {
    return Result.fail(`not JSON: ${line.slice(0, 200)}`)
  }
  const r = decodeEvent(json)
  return Result.isSuccess(r)
    ? Result.succeed(r.success)
    : Result.fail(`not a bridge event: ${line.slice(0, 200)}`)
}

/**
 * The command line that runs `job` on the Ray cluster at `address` (`hyperwords_bridge.ray_exec`):
 * its resources, retry and lock settings, the worker's folder and the names of the job's own
 * environment variables (which travel to the node with the bridge's settings).
 */
export const rayExecArgs = (address: string, job: WorkerJob): Array<string> => {
  const r = job.resources ?? {}
  return [
    "-m",
    "hyperwords_bridge.ray_exec",
    "--address",
    address,
    "--cpus",
    String(r.cpus ?? 1),
    "--gpus",
    String(r.gpus ?? 0),
    ...(r.memoryBytes ? ["--memory", String(Math.round(r.memoryBytes))] : []),
    ...((r.processes ?? 1) > 1 ? ["--processes", String(r.processes)] : []),
    ...(job.resumable ? ["--resume-on-retry"] : []),
    ...(job.lock ? ["--lock", job.lock] : []),
    "--grace",
    String(job.graceSeconds ?? 10),
    "--cwd",
    pythonProjectDir,
    ...Object.keys(job.env ?? {}).flatMap((k) => ["--env", k]),
    "--",
    job.module,
    ...job.args
  ]
}

/** Seconds a Ray driver needs beyond the worker's grace to cancel its task (`ray_exec.py`: grace + 15). */
const RAY_CANCEL_SECONDS = 20

/** The bridge service. */
export class Bridge extends Context.Service<
  Bridge,
  {
    /**
     * Create or update the Python venv (fast when nothing changed); returns the venv's python. With
     * `HYPERWORDS_PYTHON` set: that python as it is (no bootstrap), or an error naming it when it is missing.
     */
    readonly ensureEnvironment: Effect.Effect<string, BridgeError>
    /** Run a worker to its `done` event. */
    readonly run: (job: WorkerJob) => Effect.Effect<WorkerResult, BridgeError>
  }
>()("hyperwords/train-bridge/Bridge") {
  static readonly layer: Layer.Layer<Bridge, never, ChildProcessSpawner.ChildProcessSpawner | Progress> =
    Layer.effect(
      Bridge,
      Effect.gen(function* () {
        const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
        const progress = yield* Progress
        let ready: string | undefined

        const spawnCollect = (
          job: WorkerJob,
          command: string,
          args: ReadonlyArray<string>,
          graceSeconds: number
        ) =>
          Effect.scoped(
            Effect.gen(function* () {
              const stdin =
                job.input === undefined
                  ? ("ignore" as const)
                  : Stream.make(new TextEncoder().encode(`${JSON.stringify(job.input)}\n`))
              const handle = yield* spawner
                .spawn(
                  ChildProcess.make(command, [...args], {
                    cwd: pythonProjectDir,
                    env: {
                      ...workerEnv(),
                      HF_HUB_OFFLINE: "1",
                      PYTHONUNBUFFERED: "1",
                      // the worker ends itself when this process dies (`die_with_parent` in events.py)
                      HYPERWORDS_PARENT_PID: String(process.pid),
                      HYPERWORDS_GRACE_SECONDS: String(graceSeconds),
                      ...(job.env ?? {})
                    },
                    extendEnv: false,
                    stdin,
                    killSignal: "SIGTERM",
                    forceKillAfter: Duration.seconds(graceSeconds)
                  })
                )
                .pipe(
                  Effect.mapError(
                    (e) =>
                      new BridgeError({ job: job.label, detail: `cannot start ${command}: ${e.message}` })
                  )
                )

              const stderrTail: Array<string> = []
              const tasks = new Map<string, ReturnType<typeof progress.task>>()
              const artifacts: Array<typeof ArtifactEvent.Type> = []
              const checkpoints: Array<typeof CheckpointEvent.Type> = []
              let done: Readonly<Record<string, unknown>> | undefined
              let failure: typeof ErrorEvent.Type | undefined
              const strays: Array<string> = []

              const onEvent = (event: BridgeEvent) => {
                switch (event.type) {
                  case "progress": {
                    let task = tasks.get(event.task)
                    if (!task) {
                      task = progress.task(`${job.label}: ${event.task}`, {
                        ...(event.total === null ? {} : { total: event.total }),
                        unit: event.unit ?? ""
                      })
                      tasks.set(event.task, task)
                    }
                    task.update(event.done, event.total ?? undefined)
                    if (event.total !== null && event.done >= event.total) {
                      task.finish()
                      tasks.delete(event.task)
                    }
                    break
                  }
                  case "log":
                    if (event.level !== "debug") progress.log(`  ${job.label}: ${event.message}`)
                    break
                  case "artifact":
                    artifacts.push(event)
                    break
                  case "checkpoint":
                    checkpoints.push(event)
                    break
                  case "error":
                    failure = event
                    break
                  case "done":
                    done = event.result
                    break
                }
                job.onEvent?.(event)
              }

              const readStdout = handle.stdout.pipe(
                Stream.decodeText(),
                Stream.splitLines,
                Stream.runForEach((line) =>
                  Effect.sync(() => {
                    if (line.trim() === "") return
                    const r = parseEventLine(line)
                    if (Result.isSuccess(r)) onEvent(r.success)
                    else if (strays.length < 20) strays.push(r.failure)
                  })
                )
              )
              const readStderr = handle.stderr.pipe(
                Stream.decodeText(),
                Stream.splitLines,
                Stream.runForEach((line) =>
                  Effect.sync(() => {
                    stderrTail.push(line)
                    if (stderrTail.length > STDERR_LINES) stderrTail.shift()
                  })
                )
              )
              yield* Effect.all([readStdout, readStderr], { concurrency: 2, discard: true }).pipe(
                Effect.mapError(
                  (e) => new BridgeError({ job: job.label, detail: `lost the worker's output: ${e.message}` })
                )
              )
              // a process ended by a signal (kill -9, out of memory) has no exit code
              const exitCode = yield* handle.exitCode.pipe(Effect.orElseSucceed(() => -9))
              for (const t of tasks.values()) t.finish("stopped")
              const stderr = stderrTail.join("\n")
              if (failure) {
                return yield* new BridgeError({
                  job: job.label,
                  detail: `${failure.message}${failure.code ? ` [${failure.code}]` : ""}`,
                  stderr
                })
              }
              if (exitCode !== 0 || done === undefined) {
                const how =
                  exitCode === -9 || (exitCode as number) > 128
                    ? `the worker was killed (${exitCode === -9 ? "by a signal: kill -9, or out of memory" : `exit code ${exitCode}`}); rerun to continue`
                    : `the worker exited with code ${exitCode}${done === undefined ? " before finishing" : ""}`
                const extra =
                  strays.length > 0 ? `; it also wrote non-event lines on stdout: ${strays[0]}` : ""
                return yield* new BridgeError({ job: job.label, detail: `${how}${extra}`, stderr })
              }
              return { result: done, artifacts, checkpoints } satisfies WorkerResult
            })
          )

        const ensureEnvironment = Effect.gen(function* () {
          if (ready) return ready
          // the user's own environment: run it as it is, no bootstrap
          const own = pythonOverride()
          if (own !== undefined) {
            if (!existsSync(own)) {
              return yield* new BridgeError({
                job: "python environment",
                detail: `${pythonVariable} names ${own}, which does not exist; point it at the python of an environment with the bridge's requirements (${constraintsFile}), or unset it to let the bridge make its venv`
              })
            }
            ready = own
            return own
          }
          const task = progress.task("python environment", {})
          const r = yield* spawner
            .spawn(
              ChildProcess.make("python3", [bootstrapScript], {
                cwd: pythonProjectDir,
                env: workerEnv(),
                extendEnv: false,
                stdin: "ignore"
              })
            )
            .pipe(
              Effect.flatMap((handle) =>
                Effect.gen(function* () {
                  const lines: Array<string> = []
                  yield* Effect.all(
                    [
                      handle.stderr.pipe(
                        Stream.decodeText(),
                        Stream.splitLines,
                        Stream.runForEach((line) =>
                          Effect.sync(() => {
                            lines.push(line)
                            if (line.trim() !== "") progress.log(`  bootstrap: ${line}`)
                          })
                        )
                      ),
                      handle.stdout.pipe(Stream.runDrain)
                    ],
                    { concurrency: 2, discard: true }
                  )
                  const code = yield* handle.exitCode
                  return { code, stderr: lines.slice(-STDERR_LINES).join("\n") }
                })
              ),
              Effect.scoped,
              Effect.mapError(
                (e) =>
                  new BridgeError({
                    job: "python environment",
                    detail: `cannot run python3 (${e.message}). Install Python 3.11 with venv: apt-get install -y python3 python3-venv`
                  })
              )
            )
          task.finish(r.code === 0 ? "ready" : "failed")
          if (r.code !== 0) {
            return yield* new BridgeError({
              job: "python environment",
              detail: `bootstrap failed (exit code ${r.code}); fix what it says, then rerun: python3 ${bootstrapScript}`,
              stderr: r.stderr
            })
          }
          if (!existsSync(venvPython)) {
            return yield* new BridgeError({
              job: "python environment",
              detail: `no python at ${venvPython} after bootstrap`
            })
          }
          ready = venvPython
          return venvPython
        })

        return {
          ensureEnvironment,
          run: (job) =>
            Effect.gen(function* () {
              const python = yield* ensureEnvironment
              // on a Ray cluster the worker runs on a node; this process relays its events (`Executor.ts`)
              const executor = yield* Executor
              const grace = job.graceSeconds ?? 10
              return yield* executor === "local"
                ? spawnCollect(job, python, ["-m", job.module, ...job.args], grace)
                : // the Ray driver gives the worker its grace, then force-cancels the task: it needs longer
                  spawnCollect(
                    job,
                    python,
                    rayExecArgs(executor.ray.address, job),
                    grace + RAY_CANCEL_SECONDS
                  )
            })
        }
      })
    )
}
