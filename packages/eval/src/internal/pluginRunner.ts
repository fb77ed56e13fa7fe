/**
 * The worker side of an isolated metric plugin, in a worker thread or a forked child process:
 * imports the plugin module by path once, decodes its config, then answers one call at a time
 * (a sample or the corpus) over the thread's port or the process's IPC channel. The host arms a
 * timeout for every message and stops this worker when it runs out, so nothing here guards
 * against hangs.
 *
 * `process.exit` is replaced: a plugin that calls it throws instead ("called process.exit(3)"),
 * so the call fails with that cause and the worker stays up to answer for it.
 */
import { parentPort } from "node:worker_threads"
import { Effect, Exit } from "effect"
import {
  importMetric,
  type LoadedMetric,
  loadMetric,
  type MetricContext,
  type SampleInput
} from "../Metric.ts"
import { callPlugin, exitReason } from "./outcome.ts"

/** What the host sends. */
export type HostMessage =
  | { readonly type: "load"; readonly module: string; readonly name: string; readonly config: unknown }
  | {
      readonly type: "sample"
      readonly seq: number
      readonly input: SampleInput
      readonly ctx: MetricContext
    }
  | {
      readonly type: "corpus"
      readonly seq: number
      readonly inputs: ReadonlyArray<SampleInput>
      readonly ctx: MetricContext
    }

/** What the worker answers (and, in a thread, the plugin's output as it writes it). */
export type WorkerMessage =
  | { readonly type: "output"; readonly chunk: string }
  | { readonly type: "loaded" }
  | { readonly type: "load-error"; readonly reason: string }
  | { readonly type: "result"; readonly seq: number; readonly ok: true; readonly value: unknown }
  | { readonly type: "result"; readonly seq: number; readonly ok: false; readonly reason: string }

const realExit = process.exit.bind(process)
process.exit = ((code?: number | string | null) => {
  throw new Error(`called process.exit(${code ?? ""})`)
}) as typeof process.exit

const post = (message: WorkerMessage): void => {
  if (parentPort) parentPort.postMessage(message)
  else process.send!(message)
}

// In a thread, what the plugin writes goes to the host as messages, which the host keeps the tail
// of: a thread's own stdout stream would hold the host's event loop open while the worker is
// parked between stages (a child process's pipes are unref'd instead).
if (parentPort)
  for (const stream of [process.stdout, process.stderr])
    stream.write = ((chunk: unknown, ...rest: Array<unknown>) => {
      post({
        type: "output",
        chunk: typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString()
      })
      const done = rest.find((r) => typeof r === "function") as (() => void) | undefined
      done?.()
      return true
    }) as typeof stream.write

/** Send a result; a value that cannot cross the boundary becomes the call's failure. */
const reply = (message: WorkerMessage): void => {
  try {
    post(message)
  } catch (e) {
    if (message.type !== "result") throw e
    post({
      type: "result",
      seq: message.seq,
      ok: false,
      reason: `returned a value that cannot be sent between threads or processes (${(e as Error).message})`
    })
  }
}

let plugin: LoadedMetric | undefined

const handle = async (message: HostMessage): Promise<void> => {
  if (message.type === "load") {
    const loaded = await Effect.runPromiseExit(
      importMetric(message.module, message.name).pipe(
        Effect.flatMap((m) => loadMetric(m.with(message.config)))
      )
    )
    if (Exit.isFailure(loaded))
      reply({ type: "load-error", reason: exitReason(loaded) ?? "could not be loaded" })
    else {
      plugin = loaded.value
      reply({ type: "loaded" })
    }
    return
  }
  const { metric, config } = plugin!
  const exit = await Effect.runPromiseExit(
    callPlugin(() =>
      message.type === "sample"
        ? metric.sample!(message.input, config, message.ctx)
        : metric.corpus!(message.inputs, config, message.ctx)
    )
  )
  reply(
    Exit.isSuccess(exit)
      ? { type: "result", seq: message.seq, ok: true, value: exit.value }
      : { type: "result", seq: message.seq, ok: false, reason: exitReason(exit)! }
  )
}

// one call at a time, in order: the host sends the next only after the answer
let queue = Promise.resolve()
const receive = (message: HostMessage) => {
  queue = queue.then(() =>
    handle(message).catch((e) => {
      process.stderr.write(`plugin runner: ${(e as Error)?.stack ?? e}\n`)
      realExit(70)
    })
  )
}

if (parentPort) parentPort.on("message", receive)
else {
  process.on("message", receive)
  // the host went away (it exited or was killed): so does this worker
  process.on("disconnect", () => realExit(0))
}
