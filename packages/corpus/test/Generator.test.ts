import { copyFileSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { HyperwordRecord } from "@hyperwords/core/Artifacts"
import { generateBatch } from "@hyperwords/models/Batch"
import { loadModel } from "@hyperwords/models/Model"
import { resolveModelDir } from "@hyperwords/models/ModelDir"
import { Effect, Schema } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { parseSensation } from "../src/Commands.ts"
import {
  contentWords,
  fuse,
  generateWords,
  rng,
  scenePrefix,
  scenePrompt,
  wordSeed
} from "../src/Generator.ts"
import { lemmatizer } from "../src/Segment.ts"
import { zeroShot } from "../src/Senses.ts"
import { commandProject, removeCommandProjects, runBin } from "./fixtures/cli.ts"
import { modelMissing, testModel } from "./fixtures/models.ts"
import { fixture } from "./fixtures/paths.ts"
import { makeProject, removeProjects, runCli } from "./fixtures/project.ts"

afterAll(() => {
  removeCommandProjects()
  removeProjects()
})

describe("fusion and seeds", () => {
  it("content words of a scene fuse into a word its parts rebuild", () => {
    const parts = contentWords("ru", "Тёплый кот мурчит на коленях, и вечер гаснет")
    expect(parts).toEqual(["тёплый", "кот", "мурчит", "коленях", "вечер"])
    const surface = fuse(parts)
    expect(parts.join("")).toBe(surface)
    expect(contentWords("en", "the warm cat purrs in the dusk")).toEqual(["warm", "cat", "purrs", "dusk"])
  })

  it("the random stream and word seeds depend only on the seed", () => {
    const a = rng(42)
    const b = rng(42)
    expect([a(), a(), a()]).toEqual([b(), b(), b()])
    expect(wordSeed(1, 0)).toBe(wordSeed(1, 0))
    expect(wordSeed(1, 0)).not.toBe(wordSeed(1, 1))
    expect(wordSeed(1, 0)).not.toBe(wordSeed(2, 0))
  })

  it("reads channel weights or free words", () => {
    expect(parseSensation("haptic=1,auditory=0.5")).toEqual({ haptic: 1, auditory: 0.5 })
    expect(parseSensation("warm soft purring dusk")).toBe("warm soft purring dusk")
    expect(() => parseSensation("smell=1")).toThrow(/unknown channel/)
  })
})

const missing = modelMissing()

describe.skipIf(missing !== undefined)(
  `the generator on ${testModel} (${missing ?? "model present"})`,
  { timeout: 900_000 },
  () => {
    it("makes valid generated records, the same for the same seed, from words or weights", async () => {
      const model = await loadModel(testModel)
      const estimator = zeroShot(model)
      const lem = await Effect.runPromise(lemmatizer("en"))
      const ctx = { model, estimator, lemmatizers: { en: lem } }
      const options = { sensation: "warm soft purring dusk", lang: "en" as const, n: 3, seed: 5 }
      const first = await generateWords(ctx, options)
      const second = await generateWords(ctx, options)
      expect(first.length).toBe(3)
      expect(second).toEqual(first)
      for (const r of first) {
        expect(Schema.decodeUnknownSync(HyperwordRecord)(r)).toBeTruthy()
        expect(r.origin).toBe("generated")
        expect(r.parts.join("")).toBe(r.surface)
        expect(r.gloss.length).toBeGreaterThan(0)
        expect(Object.keys(r.scores).sort()).toEqual(["coherence", "fit", "novelty"])
      }
      const other = await generateWords(ctx, { ...options, seed: 6 })
      expect(other.map((r) => r.surface)).not.toEqual(first.map((r) => r.surface))

      // channel weights pick image words of that channel
      const tasty = await generateWords(ctx, { sensation: { gustatory: 1 }, lang: "en", n: 2, seed: 5 })
      expect(tasty.length).toBe(2)
      expect(tasty.map((r) => r.senses.gustatory).reduce((s, x) => s + x, 0)).toBeGreaterThan(
        first.map((r) => r.senses.gustatory).reduce((s, x) => s + x, 0) / 1.5
      )

      // a corpus word is not new: a known surface scores novelty 0
      const known = { ...first[0]!, origin: "mined" as const }
      const again = await generateWords({ ...ctx, corpus: [known] }, options)
      const same = again.find((r) => r.surface === known.surface)
      if (same) expect(same.scores.novelty).toBe(0)
    })

    it("a batch over the examples' cache gives each scene the tokens it has alone", async () => {
      const model = await loadModel(testModel)
      const words = [["moon"], ["cat", "dusk"], ["warm", "soft", "purring", "dusk"], ["salt", "sea", "gulls"]]
      const prompts = words.map((w) => scenePrompt("en", w))
      const prefixIds = model.encode(scenePrefix("en"))
      // the cache path is taken: every prompt starts with the prefix's tokens, at different lengths
      for (const p of prompts) expect(model.encode(p).slice(0, prefixIds.length)).toEqual(prefixIds)
      expect(new Set(prompts.map((p) => model.encode(p).length)).size).toBeGreaterThan(2)
      const stopIds = [
        ...new Set(["\n", "\n\n"].flatMap((s) => model.encode(s, { addSpecialTokens: false })))
      ]
      const seeds = [11, 12, 13, 14]
      const options = { maxNewTokens: 16, temperature: 0.8, topP: 0.95, seeds, stopIds }
      const alone: Array<string> = []
      for (const [i, p] of prompts.entries()) {
        const stop = new Set([...model.config.eosTokenIds, ...stopIds])
        const g = await model.generate(p, {
          maxNewTokens: 16,
          sampling: { temperature: 0.8, topP: 0.95, seed: seeds[i]! },
          eosTokenIds: [...stop]
        })
        alone.push(model.decode(g.ids.filter((id) => !stop.has(id))))
      }
      expect(await generateBatch(model, prompts, { ...options, prefix: scenePrefix("en") })).toEqual(alone)
      expect(await generateBatch(model, prompts, options)).toEqual(alone)
    })

    it("the batch size only sizes the work: the same words for a seed", async () => {
      const model = await loadModel(testModel)
      const lem = await Effect.runPromise(lemmatizer("en"))
      const ctx = { model, estimator: zeroShot(model), lemmatizers: { en: lem } }
      const options = { sensation: "cold ringing blue dawn", lang: "en" as const, n: 4, seed: 9 }
      const one = await generateWords(ctx, { ...options, batchSize: 16 })
      expect(one.length).toBe(4)
      expect(await generateWords(ctx, { ...options, batchSize: 3 })).toEqual(one)
    })

    it("hyperwords feel through the real bin", () => {
      const dir = commandProject()
      const args = [
        "feel",
        "warm soft purring dusk",
        "-n",
        "2",
        "--seed",
        "3",
        "--json",
        "--model",
        testModel
      ]
      const r = runBin(dir, args)
      expect(r.status, r.stderr).toBe(0)
      // one document: the records as the generate stage writes them
      const doc = JSON.parse(r.stdout) as {
        lang: string
        seed: number
        words: Array<{ surface: string; parts: Array<string>; scores: Record<string, number> }>
      }
      expect(doc).toMatchObject({ model: testModel, lang: "en", seed: 3 })
      const words = doc.words
      expect(words.length).toBe(2)
      for (const w of words) expect(typeof w.scores.fit).toBe("number")
      for (const w of words) expect(w.parts.join("")).toBe(w.surface)
      expect(runBin(dir, args).stdout).toBe(r.stdout)
    })

    it("the generate stage adds living words and senses on every record, the same for a seed", async () => {
      const params = {
        corpus: ["en_poems.csv"],
        generated: 4,
        seed: 3,
        feel: ["warm soft purring dusk", "cold ringing blue dawn"]
      }
      const read = async () => {
        const dir = makeProject(params, resolveModelDir(testModel))
        copyFileSync(fixture("en_poems.csv"), join(dir, "en_poems.csv"))
        const r = await runCli(dir, ["pipeline"])
        expect(r.code, r.stderr).toBe(0)
        return readFileSync(join(dir, "reports", "poem_hyperwords.jsonl"), "utf8")
      }
      const text = await read()
      const records = text
        .trim()
        .split("\n")
        .map((l) => Schema.decodeUnknownSync(HyperwordRecord)(JSON.parse(l)))
      const generated = records.filter((r) => r.origin === "generated")
      expect(generated.length).toBe(4)
      expect(records.some((r) => r.origin === "mined")).toBe(true)
      for (const r of records) expect(r.senses).toBeDefined()
      for (const r of generated) expect(r.seed).toBeTypeOf("number")
      expect(await read()).toBe(text)
    })
  }
)
