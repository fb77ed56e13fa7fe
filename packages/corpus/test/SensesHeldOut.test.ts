/**
 * The shipped sensory weights are scored on words they were not fitted on: the fit half and the
 * held-out words never share a word, the Russian held-out norms are never fitted on, and each
 * shipped weights file was fitted on exactly the fit half of the shared norms (its word count).
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { describe, expect, it } from "vitest"
import { readSensesWeights, shippedSensesWeights } from "../src/SensesDefault.ts"
import {
  fitHalf,
  hasSharedData,
  heldOutNorms,
  inTestHalf,
  lancasterFiles,
  lancasterNorms,
  sharedData
} from "../src/SensesValidation.ts"
import { scratchDir } from "./fixtures/cli.ts"

const header = "word,auditory.mean,gustatory.mean,haptic.mean,interoceptive.mean,olfactory.mean,visual.mean"

/** A shared-data folder holding both Lancaster files, with `words` spread over them. */
const lancasterFixture = (words: ReadonlyArray<string>): string => {
  const data = scratchDir("lancaster-")
  lancasterFiles.forEach((file, k) => {
    const path = join(data, file)
    mkdirSync(dirname(path), { recursive: true })
    const sep = file.endsWith(".tsv") ? "\t" : ","
    const rows = words
      .filter((_, i) => i % lancasterFiles.length === k)
      .map((w, i) => [w, 1, 0.5, 2, 0.1, 0.2, (i % 5) + 0.5].join(sep))
    writeFileSync(path, `${[header.replaceAll(",", sep), ...rows].join("\n")}\n`)
  })
  return data
}

const words = (norms: { rows: ReadonlyArray<{ word: string }> }) => new Set(norms.rows.map((r) => r.word))
const shared = (a: Set<string>, b: Set<string>) => [...a].filter((w) => b.has(w))

describe("the held-out words of the sensory weights", () => {
  it("split every word one way: the fit half and the English held-out words share none", () => {
    const vocab = Array.from({ length: 400 }, (_, i) => `word${i}`)
    const data = lancasterFixture(vocab)
    const fit = words(fitHalf(data))
    const held = words(heldOutNorms("en", data))
    expect(fit.size).toBeGreaterThan(150)
    expect(held.size).toBeGreaterThan(150)
    expect(shared(fit, held)).toEqual([])
    expect([...fit].every((w) => !inTestHalf(w))).toBe(true)
    expect([...held].every(inTestHalf)).toBe(true)
    // every word is on one side (the seeds and anchors aside, none of which is "wordN")
    expect(fit.size + held.size).toBe(vocab.length)
  })

  it.skipIf(!hasSharedData())(
    "on the shared norms: no fitted word is scored, no Russian word is fitted",
    () => {
      const fit = words(fitHalf(sharedData))
      const en = words(heldOutNorms("en", sharedData))
      const ru = words(heldOutNorms("ru", sharedData))
      expect(en.size).toBeGreaterThan(1000)
      expect(ru.size).toBeGreaterThan(300)
      expect(shared(fit, en)).toEqual([])
      expect(shared(fit, ru)).toEqual([])
      expect(fit.size).toBeLessThan(words(lancasterNorms(sharedData)).size)
      for (const model of ["gemma-3-270m", "smollm2-135m"]) {
        const w = readSensesWeights(shippedSensesWeights(model))
        expect(w.trainedOn.words, `${model}: fitted on the fit half's words`).toBe(fit.size)
      }
    }
  )
})
