/**
 * Batches of prompts answered by worker threads, each with its own onnxruntime session and a
 * share of the cores. onnxruntime-node's `session.run` holds the JavaScript thread, and a decode
 * step spends about as long again choosing each row's token in JavaScript, so in one thread the
 * graph and the sampling take turns. Two workers with half the threads each overlap one's
 * sampling with the other's graph. A row's tokens depend only on its prompt and seed (not on its
 * batch, nor on onnxruntime's threads), so the texts are those `generateBatch` gives in the
 * calling process.
 */
import { existsSync } from "node:fs"
import { availableParallelism } from "node:os"
import { fileURLToPath } from "node:url"
import { Worker } from "node:worker_threads"
import { type BatchOptions, BatchStopped, generateBatch } from "./Batch.ts"
import type { BatchReply, BatchRequest } from "./internal/batchWorker.ts"
import { loadModel } from "./Model.ts"
import type { Dtype } from "./ModelDir.ts"

/** One batch: its prompts and how to answer them. */
export interface PromptBatch {
  readonly prompts: ReadonlyArray<string>
  readonly options: BatchOptions
}

/** How to answer batches. */
export interface BatchWorkersOptions {
  /** Worker threads; 1 (or a single batch) answers in this process, with its own threads. */
  readonly workers: number
  /** onnxruntime threads per worker (HYPERWORDS_THREADS in its environment). */
  readonly threads: number
  readonly dtype?: Dtype
  /** Called as each batch is done, in the order they finish. */
  readonly onBatch?: (index: number, texts: ReadonlyArray<string>) => void
  /** Stops the workers; the promise then rejects. */
  readonly signal?: AbortSignal
}

/**
 * Workers and threads for this machine: HYPERWORDS_ANSWER_WORKERS workers if set, else two
 * when there are two cores or more; the cores shared between them, unless HYPERWORDS_THREADS
 * caps the threads, which then stay in one process.
 */
export const answerWorkers = (
  cores: number = availableParallelism(),
  env: NodeJS.ProcessEnv = process.env
): { readonly workers: number; readonly threads: number } => {
  const asked = Number(env.HYPERWORDS_ANSWER_WORKERS ?? 0)
  const capped = Number(env.HYPERWORDS_THREADS ?? 0)
  if (Number.isInteger(asked) && asked > 0)
    return { workers: asked, threads: capped > 0 ? capped : Math.max(1, Math.floor(cores / asked)) }
  if (capped > 0 || cores < 2) return { workers: 1, threads: capped > 0 ? capped : 1 }
  return { workers: 2, threads: Math.floor(cores / 2) }
}

const workerPath = (): string => {
  const ts = fileURLToPath(new URL("./internal/batchWorker.ts", import.meta.url))
  return existsSync(ts) ? ts : ts.replace(/\.ts$/, ".js")
}

const stopped = () => new BatchStopped()

/** Each batch's texts, in batch order, answered in this process. */
const inProcess = async (
  dir: string,
  batches: ReadonlyArray<PromptBatch>,
  options: BatchWorkersOptions
): Promise<Array<ReadonlyArray<string>>> => {
  const model = await loadModel(dir, options.dtype === undefined ? {} : { dtype: options.dtype })
  const results: Array<ReadonlyArray<string>> = []
  const stop = () => options.signal?.aborted === true
  for (const [i, batch] of batches.entries()) {
    if (stop()) throw stopped()
    results.push(await generateBatch(model, batch.prompts, { ...batch.options, stopped: stop }))
    options.onBatch?.(i, results[i]!)
  }
  return results
}

/**
 * Each batch's texts, in batch order, from `options.workers` worker threads on model folder
 * `dir` (one worker, or one batch: this process). A batch goes to the first worker free; a
 * worker's failure stops them all and rejects with its message. It settles once every worker
 * has exited: a stop (the signal, a failure) ends each batch running at its next step.
 */
export const generateBatches = (
  dir: string,
  batches: ReadonlyArray<PromptBatch>,
  options: BatchWorkersOptions
): Promise<Array<ReadonlyArray<string>>> => {
  const count = Math.min(options.workers, batches.length)
  if (count <= 1) return inProcess(dir, batches, options)
  return new Promise((resolve, reject) => {
    const results: Array<ReadonlyArray<string>> = new Array(batches.length)
    // a worker is stopped between steps, never terminated while onnxruntime works for it (a
    // session opening, a run): its reply would find the worker gone and abort the process
    const stop = new Int32Array(new SharedArrayBuffer(4))
    const busy = new Set<Worker>()
    const alive = new Set<Worker>()
    let next = 0
    let finished = 0
    let outcome: { readonly error?: Error } | undefined
    const settleWhenGone = () => {
      if (outcome === undefined || alive.size > 0) return
      options.signal?.removeEventListener("abort", abort)
      if (outcome.error === undefined) resolve(results)
      else reject(outcome.error)
    }
    const retired = new Set<Worker>()
    const retire = (w: Worker) => {
      if (alive.has(w) && !busy.has(w) && !retired.has(w)) {
        retired.add(w)
        void w.terminate()
      }
    }
    const end = (error?: Error) => {
      if (outcome !== undefined) return
      outcome = error === undefined ? {} : { error }
      Atomics.store(stop, 0, 1)
      for (const w of alive) retire(w)
      settleWhenGone()
    }
    const abort = () => end(stopped())
    if (options.signal?.aborted) return reject(stopped())
    options.signal?.addEventListener("abort", abort, { once: true })
    const give = (w: Worker) => {
      if (outcome !== undefined || next >= batches.length) return retire(w)
      const index = next++
      const request: BatchRequest = { index, ...batches[index]! }
      busy.add(w)
      w.postMessage(request)
    }
    for (let k = 0; k < count; k++) {
      const w = new Worker(workerPath(), {
        workerData: { dir, dtype: options.dtype ?? "fp32", stop },
        execArgv: [],
        env: { ...process.env, HYPERWORDS_THREADS: String(options.threads) }
      })
      alive.add(w)
      busy.add(w) // opening its session until it says ready
      w.on("message", (reply: BatchReply) => {
        busy.delete(w)
        if (reply.type === "ready") return give(w)
        if (reply.type === "failed") {
          end(
            new Error(
              reply.index === undefined
                ? `an answer worker could not open ${dir}: ${reply.message}`
                : reply.message
            )
          )
          return retire(w)
        }
        if (outcome === undefined) {
          results[reply.index] = reply.texts
          finished++
          try {
            options.onBatch?.(reply.index, reply.texts)
          } catch (e) {
            end(e instanceof Error ? e : new Error(String(e)))
          }
          if (finished === batches.length) end()
        }
        give(w)
      })
      w.on("error", (e) => {
        busy.delete(w)
        end(e)
      })
      w.on("exit", (code) => {
        alive.delete(w)
        busy.delete(w)
        if (outcome === undefined && !retired.has(w))
          end(new Error(`an answer worker exited (code ${code}) before the batches were done`))
        settleWhenGone()
      })
    }
  })
}
