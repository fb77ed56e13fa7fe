import { describe, expect, it } from "@effect/vitest"
import { generateBatch } from "../src/Batch.ts"
import { loadModel, type Model } from "../src/Model.ts"
import { bridgeMissing, tinyModel } from "./fixtures/bridge.ts"

const missing = bridgeMissing()

/** Each prompt generated alone with its seed, end-of-sequence tokens left out. */
const alone = async (
  model: Model,
  prompts: ReadonlyArray<string>,
  seeds: ReadonlyArray<number>,
  temperature: number
): Promise<Array<string>> => {
  const texts: Array<string> = []
  const eos = new Set(model.config.eosTokenIds)
  for (const [i, p] of prompts.entries()) {
    const g = await model.generate(p, {
      maxNewTokens: 12,
      sampling: { temperature, topP: 0.95, seed: seeds[i]! }
    })
    texts.push(model.decode(g.ids.filter((id) => !eos.has(id))))
  }
  return texts
}

describe.skipIf(missing !== undefined)(
  `generateBatch on tiny models (${missing ?? "bridge present"})`,
  () => {
    // prompts of different lengths (left padding), one sharing a prefix, Russian and English
    const prompts = [
      "The cat sat on the warm windowsill",
      "The cat",
      "Кошка мурчит на тёплом подоконнике, и вечер",
      "The cat sat on the"
    ]
    const seeds = [3, 5, 7, 11]

    it.each(["llama", "gemma3_text"] as const)(
      "gives each prompt the tokens it gets alone with its seed, with and without a shared prefix (%s)",
      async (arch) => {
        const model = await loadModel(await tinyModel(arch))
        const each = await alone(model, prompts, seeds, 0.8)
        const options = { maxNewTokens: 12, temperature: 0.8, topP: 0.95, seeds }
        expect(await generateBatch(model, prompts, options)).toEqual(each)
        expect(await generateBatch(model, prompts, { ...options, prefix: "The cat" })).toEqual(each)
      }
    )

    it.each(["llama", "gemma3_text"] as const)(
      "runs the samples of one prompt once in the first step, each with its own seed (%s)",
      async (arch) => {
        const model = await loadModel(await tinyModel(arch))
        const repeated = [prompts[0]!, prompts[1]!, prompts[0]!, prompts[0]!, prompts[1]!]
        const several = [3, 5, 7, 11, 13]
        const each = await alone(model, repeated, several, 1.2)
        // the seeds differ, so the samples of a prompt differ (else the test would not see a mix-up)
        expect(new Set([each[0], each[2], each[3]]).size).toBeGreaterThan(1)
        const options = { maxNewTokens: 12, temperature: 1.2, topP: 0.95, seeds: several }
        expect(await generateBatch(model, repeated, options)).toEqual(each)
        expect(await generateBatch(model, repeated, { ...options, prefix: "The cat" })).toEqual(each)
      }
    )
  }
)
