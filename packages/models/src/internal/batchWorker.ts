/**
 * The worker side of `BatchWorkers`: loads one model folder's generation graph with the threads
 * its environment gives (HYPERWORDS_THREADS) and answers batches one at a time, each with the
 * texts `generateBatch` gives in the calling process. The host stops it by setting its shared
 * flag: the batch running ends at its next step (a worker terminated inside onnxruntime's run
 * would abort the whole process).
 */
import { parentPort, workerData } from "node:worker_threads"
import { type BatchOptions, generateBatch } from "../Batch.ts"
import { loadModel } from "../Model.ts"
import type { Dtype } from "../ModelDir.ts"

/** What the host sends: one batch to answer. */
export interface BatchRequest {
  readonly index: number
  readonly prompts: ReadonlyArray<string>
  readonly options: BatchOptions
}

/** What the worker sends back. */
export type BatchReply =
  | { readonly type: "ready" }
  | { readonly type: "done"; readonly index: number; readonly texts: ReadonlyArray<string> }
  | { readonly type: "failed"; readonly index: number | undefined; readonly message: string }

const port = parentPort!
const send = (reply: BatchReply) => port.postMessage(reply)
const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e))

const { dir, dtype, stop } = workerData as {
  readonly dir: string
  readonly dtype: Dtype
  /** One Int32 on a SharedArrayBuffer: 1 stops the worker. */
  readonly stop: Int32Array
}
const stopped = () => Atomics.load(stop, 0) === 1
try {
  const model = await loadModel(dir, { dtype })
  await model.generationGraph()
  port.on("message", (request: BatchRequest) => {
    generateBatch(model, request.prompts, { ...request.options, stopped }).then(
      (texts) => send({ type: "done", index: request.index, texts }),
      (e: unknown) => send({ type: "failed", index: request.index, message: messageOf(e) })
    )
  })
  send({ type: "ready" })
} catch (e) {
  send({ type: "failed", index: undefined, message: messageOf(e) })
}
