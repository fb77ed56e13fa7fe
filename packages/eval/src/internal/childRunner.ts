/**
 * The child side of a `child-process` metric: imports the plugin module by path, decodes its
 * config, scores the samples it is sent and reports each result over IPC. The host enforces
 * timeouts and kills this process, so nothing here needs to guard against hangs.
 */
import { Effect, Exit } from "effect"
import { importMetric, loadMetric, type MetricContext, type SampleInput } from "../Metric.ts"
import { callPlugin, exitReason } from "./outcome.ts"

/** The job the host sends. */
export interface ChildJob {
  readonly type: "run"
  readonly module: string
  readonly name: string
  readonly config: unknown
  readonly inputs: ReadonlyArray<SampleInput>
  readonly ctx: MetricContext
}

/** What the child reports. */
export type ChildEvent =
  | { readonly type: "loaded" }
  | { readonly type: "load-error"; readonly reason: string }
  | { readonly type: "sample"; readonly i: number; readonly ok: true; readonly value: unknown }
  | { readonly type: "sample"; readonly i: number; readonly ok: false; readonly reason: string }
  | { readonly type: "corpus"; readonly ok: true; readonly value: unknown }
  | { readonly type: "corpus"; readonly ok: false; readonly reason: string }
  | { readonly type: "done" }

const send = (event: ChildEvent): Promise<void> =>
  new Promise((resolve) => {
    try {
      process.send!(event, undefined, undefined, () => resolve())
    } catch (e) {
      const reason = `returned a value that cannot be sent between processes (${(e as Error).message})`
      if (event.type === "sample")
        process.send!({ type: "sample", i: event.i, ok: false, reason }, () => resolve())
      else if (event.type === "corpus") process.send!({ type: "corpus", ok: false, reason }, () => resolve())
      else resolve()
    }
  })

const run = async (job: ChildJob): Promise<void> => {
  const loaded = await Effect.runPromiseExit(
    importMetric(job.module, job.name).pipe(Effect.flatMap((m) => loadMetric(m.with(job.config))))
  )
  if (Exit.isFailure(loaded)) {
    await send({ type: "load-error", reason: exitReason(loaded) ?? "could not be loaded" })
    return
  }
  const { metric, config } = loaded.value
  await send({ type: "loaded" })
  if (metric.sample) {
    for (const [i, input] of job.inputs.entries()) {
      const exit = await Effect.runPromiseExit(callPlugin(() => metric.sample!(input, config, job.ctx)))
      if (Exit.isSuccess(exit)) await send({ type: "sample", i, ok: true, value: exit.value })
      else {
        await send({ type: "sample", i, ok: false, reason: exitReason(exit)! })
        return
      }
    }
  }
  if (metric.corpus) {
    const exit = await Effect.runPromiseExit(callPlugin(() => metric.corpus!(job.inputs, config, job.ctx)))
    if (Exit.isSuccess(exit)) await send({ type: "corpus", ok: true, value: exit.value })
    else await send({ type: "corpus", ok: false, reason: exitReason(exit)! })
  }
  await send({ type: "done" })
}

process.once("message", (job: ChildJob) => {
  run(job).then(
    () => process.disconnect?.(),
    (e) => {
      process.stderr.write(`child runner: ${(e as Error)?.stack ?? e}\n`)
      process.exit(70)
    }
  )
})
