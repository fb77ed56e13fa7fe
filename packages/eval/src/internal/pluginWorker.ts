/**
 * The host side of an isolated plugin: one long-lived worker (a worker thread or a forked Node
 * process) that loads the plugin once and answers calls one at a time. Every call has a hard
 * timeout; when it runs out, or the worker dies, the worker is stopped for good (a thread is
 * terminated, which stops even a synchronous loop; a process is killed with SIGKILL) and the call
 * says why. The harness starts a new one when it wants to go on.
 */
import { fork } from "node:child_process"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Worker } from "node:worker_threads"
import type { MetricContext, SampleInput } from "../Metric.ts"
import { withoutHubCredentials } from "../Publish.ts"
import { describeError } from "./outcome.ts"
import type { HostMessage, WorkerMessage } from "./pluginRunner.ts"

/** Where an isolated plugin runs. */
export type WorkerKind = "worker-thread" | "child-process"

/**
 * How a call ended: a value; the plugin's own failure (the worker is still fine); or the worker
 * is gone (timed out and stopped, crashed, exited), with the reason given where it happened
 * (e.g. ` on sample "b"`).
 */
export type CallResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly gone: false; readonly reason: string }
  | { readonly ok: false; readonly gone: true; readonly reason: (where: string) => string }

/** A running worker. */
export interface PluginWorker {
  readonly load: (module: string, name: string, config: unknown, timeoutMs: number) => Promise<CallResult>
  readonly sample: (input: SampleInput, ctx: MetricContext, timeoutMs: number) => Promise<CallResult>
  readonly corpus: (
    inputs: ReadonlyArray<SampleInput>,
    ctx: MetricContext,
    timeoutMs: number
  ) => Promise<CallResult>
  /** Whether it can still take a call. */
  readonly alive: () => boolean
  /** Stop it now (idempotent). */
  readonly stop: () => void
  /**
   * Whether it keeps the host's event loop alive (`false` while it waits, parked, for the next
   * stage: the host may end, and the worker with it).
   */
  readonly hold: (held: boolean) => void
}

/** The environment a plugin worker starts with: the host's without Hugging Face tokens (only `publish` uploads). */
export const pluginEnv = (): NodeJS.ProcessEnv => withoutHubCredentials(process.env)

const runnerPath = (): string => {
  const ts = fileURLToPath(new URL("./pluginRunner.ts", import.meta.url))
  return existsSync(ts) ? ts : ts.replace(/\.ts$/, ".js")
}

const TAIL = 600

interface Transport {
  readonly send: (message: HostMessage) => void
  readonly stop: () => void
  readonly hold: (held: boolean) => void
}

/** Start a worker; it loads nothing until `load`. */
export const startWorker = (kind: WorkerKind): PluginWorker => {
  const what = kind === "worker-thread" ? "worker thread" : "child process"
  let tail = ""
  const keep = (chunk: Buffer | string) => {
    tail = (tail + chunk.toString()).slice(-TAIL)
  }
  const said = () =>
    tail.trim() === "" ? "" : `; its last output: ${tail.trim().split("\n").slice(-3).join(" | ")}`

  let pending:
    | { readonly seq: number; readonly resolve: (r: CallResult) => void; readonly timer: NodeJS.Timeout }
    | undefined
  let gone: ((where: string) => string) | undefined
  let seq = 0

  const settle = (r: CallResult) => {
    const p = pending
    if (p === undefined) return
    pending = undefined
    clearTimeout(p.timer)
    p.resolve(r)
  }
  const lost = (reason: (where: string) => string) => {
    if (gone !== undefined) return
    gone = reason
    transport.stop()
    settle({ ok: false, gone: true, reason })
  }
  const receive = (m: WorkerMessage) => {
    if (m.type === "output") return keep(m.chunk)
    if (pending === undefined) return
    if (m.type === "loaded") settle({ ok: true, value: undefined })
    else if (m.type === "load-error")
      settle({ ok: false, gone: false, reason: `could not be loaded in the ${what}: ${m.reason}` })
    else if (m.seq === pending.seq)
      settle(m.ok ? { ok: true, value: m.value } : { ok: false, gone: false, reason: m.reason })
  }

  const transport: Transport =
    kind === "worker-thread"
      ? (() => {
          // its output arrives as messages (pluginRunner): stdout: true streams would hold the
          // host open while the worker is parked; these are never written to
          const w = new Worker(runnerPath(), { execArgv: [], env: pluginEnv(), stdout: false, stderr: false })
          w.on("message", receive)
          w.on("error", (e) => lost((where) => `${what} failed${where}: ${describeError(e)}${said()}`))
          w.on("exit", (code) => lost((where) => `${what} exited with code ${code}${where}${said()}`))
          return {
            send: (message) => w.postMessage(message),
            stop: () => void w.terminate(),
            hold: (held) => (held ? w.ref() : w.unref())
          }
        })()
      : (() => {
          const child = fork(runnerPath(), [], {
            execPath: process.execPath,
            execArgv: [],
            env: pluginEnv(),
            serialization: "advanced",
            stdio: ["ignore", "pipe", "pipe", "ipc"]
          })
          child.stdout?.on("data", keep)
          child.stderr?.on("data", keep)
          child.on("message", receive)
          child.on("error", (e) => lost((where) => `${what} failed${where}: ${e.message}${said()}`))
          child.on("exit", (code, signal) => {
            const how = signal ? `was killed (${signal})` : `exited with code ${code}`
            lost((where) => `${what} ${how}${where}${said()}`)
          })
          return {
            send: (message) => void child.send(message),
            stop: () => {
              if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
            },
            hold: (held) => {
              for (const h of [child, child.channel, child.stdout, child.stderr] as Array<
                { ref?: () => void; unref?: () => void } | null | undefined
              >)
                held ? h?.ref?.() : h?.unref?.()
            }
          }
        })()

  const call = (message: HostMessage, timeoutMs: number): Promise<CallResult> =>
    new Promise((resolve) => {
      if (gone !== undefined) return resolve({ ok: false, gone: true, reason: gone })
      const timer = setTimeout(
        () =>
          lost(
            (where) =>
              `timed out after ${timeoutMs} ms${where} (${what} ${kind === "worker-thread" ? "stopped" : "killed"})`
          ),
        timeoutMs
      )
      pending = { seq: "seq" in message ? message.seq : -1, resolve, timer }
      try {
        transport.send(message)
      } catch (e) {
        lost((where) => `could not be sent to the ${what}${where}: ${describeError(e)}`)
      }
    })

  return {
    load: (module, name, config, timeoutMs) => call({ type: "load", module, name, config }, timeoutMs),
    sample: (input, ctx, timeoutMs) => call({ type: "sample", seq: ++seq, input, ctx }, timeoutMs),
    corpus: (inputs, ctx, timeoutMs) => call({ type: "corpus", seq: ++seq, inputs, ctx }, timeoutMs),
    alive: () => gone === undefined,
    hold: (held) => {
      if (gone === undefined) transport.hold(held)
    },
    stop: () => {
      if (gone === undefined) {
        gone = () => "was stopped"
        transport.stop()
      }
      settle({ ok: false, gone: true, reason: () => "was stopped" })
    }
  }
}

/**
 * Workers kept between evaluate stages, by plugin and config: a plugin's judge model is loaded
 * once per pipeline, not once per evaluated version. A parked worker does not hold the host's
 * event loop, so the host ends when its work does (a child process dies with it, a thread with it).
 */
const parked = new Map<string, PluginWorker>()

/** The parked worker of a plugin and config, if one is still alive (taken out of the park). */
export const unpark = (key: string): PluginWorker | undefined => {
  const w = parked.get(key)
  parked.delete(key)
  if (w === undefined || !w.alive()) return undefined
  w.hold(true)
  return w
}

/** Park a live worker for the next stage that runs the same plugin and config (one per key). */
export const park = (key: string, w: PluginWorker): void => {
  if (!w.alive()) return
  const before = parked.get(key)
  if (before !== undefined && before !== w) before.stop()
  w.hold(false)
  parked.set(key, w)
}

/** Stop every parked worker. */
export const stopParked = (): void => {
  for (const w of parked.values()) w.stop()
  parked.clear()
}
