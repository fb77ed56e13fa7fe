import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { generateBatch } from "../src/Batch.ts"
import { answerWorkers, generateBatches, type PromptBatch } from "../src/BatchWorkers.ts"
import { loadModel } from "../src/Model.ts"
import { bridgeMissing, tinyModel } from "./fixtures/bridge.ts"

const missing = bridgeMissing()

describe("answerWorkers", () => {
  it("shares the cores between two workers, unless the threads are capped or asked for", () => {
    expect(answerWorkers(2, {})).toEqual({ workers: 2, threads: 1 })
    expect(answerWorkers(8, {})).toEqual({ workers: 2, threads: 4 })
    expect(answerWorkers(1, {})).toEqual({ workers: 1, threads: 1 })
    expect(answerWorkers(8, { HYPERWORDS_THREADS: "2" })).toEqual({ workers: 1, threads: 2 })
    expect(answerWorkers(8, { HYPERWORDS_ANSWER_WORKERS: "4" })).toEqual({ workers: 4, threads: 2 })
    expect(answerWorkers(2, { HYPERWORDS_ANSWER_WORKERS: "1" })).toEqual({ workers: 1, threads: 2 })
    expect(answerWorkers(2, { HYPERWORDS_ANSWER_WORKERS: "x" })).toEqual({ workers: 2, threads: 1 })
  })
})

describe.skipIf(missing !== undefined)(
  `generateBatches on a tiny model (${missing ?? "bridge present"})`,
  () => {
    const options = (seeds: ReadonlyArray<number>) => ({
      maxNewTokens: 10,
      temperature: 0.9,
      topP: 0.95,
      seeds
    })
    const batches: Array<PromptBatch> = [
      { prompts: ["The cat sat on the warm windowsill", "The cat"], options: options([1, 2]) },
      { prompts: ["Кошка мурчит на тёплом подоконнике"], options: options([3]) },
      { prompts: ["The cat sat on the", "The cat sat on the", "A dog"], options: options([4, 5, 6]) },
      { prompts: ["Rain on the roof"], options: options([7]) }
    ]

    it("answers in two worker threads what generateBatch answers in this process", async () => {
      const dir = await tinyModel("llama")
      const model = await loadModel(dir)
      const here: Array<ReadonlyArray<string>> = []
      for (const b of batches) here.push(await generateBatch(model, b.prompts, b.options))
      const seen: Array<number> = []
      const there = await generateBatches(dir, batches, {
        workers: 2,
        threads: 1,
        onBatch: (i, texts) => {
          seen.push(i)
          expect(texts).toEqual(here[i])
        }
      })
      expect(there).toEqual(here)
      expect([...seen].sort()).toEqual([0, 1, 2, 3])
      // one worker answers in this process, to the same texts
      expect(await generateBatches(dir, batches, { workers: 1, threads: 1 })).toEqual(here)
    })

    it("lets a worker with no batch left go while another still answers", async () => {
      const dir = await tinyModel("llama")
      // the short batch is done long before the long one: its worker leaves first
      const uneven: Array<PromptBatch> = [
        {
          prompts: ["The cat sat on the warm windowsill", "A dog", "Rain"],
          options: { ...options([1, 2, 3]), maxNewTokens: 48 }
        },
        { prompts: ["Snow"], options: { ...options([4]), maxNewTokens: 1 } }
      ]
      const model = await loadModel(dir)
      const here = [
        await generateBatch(model, uneven[0]!.prompts, uneven[0]!.options),
        await generateBatch(model, uneven[1]!.prompts, uneven[1]!.options)
      ]
      expect(await generateBatches(dir, uneven, { workers: 2, threads: 1 })).toEqual(here)
    })

    it("rejects with a worker's error and stops the others", async () => {
      const dir = await tinyModel("llama")
      const bad = [...batches.slice(0, 2), { prompts: ["x"], options: { ...options([1]), topP: 0 } }]
      await expect(generateBatches(dir, bad, { workers: 2, threads: 1 })).rejects.toThrow(/topP must be in/)
    })

    it("stops when its signal is aborted", async () => {
      const dir = await tinyModel("llama")
      const controller = new AbortController()
      const done: Array<number> = []
      const run = generateBatches(dir, batches, {
        workers: 2,
        threads: 1,
        signal: controller.signal,
        onBatch: (i) => {
          done.push(i)
          controller.abort()
        }
      })
      await expect(run).rejects.toThrow(/answering stopped/)
      expect(done).toHaveLength(1)
    })

    it("names a folder its workers cannot open", async () => {
      const empty = mkdtempSync(join(tmpdir(), "no-model-"))
      try {
        await expect(generateBatches(empty, batches, { workers: 2, threads: 1 })).rejects.toThrow(
          new RegExp(`could not open ${empty}`)
        )
      } finally {
        rmSync(empty, { recursive: true, force: true })
      }
    })
  }
)
