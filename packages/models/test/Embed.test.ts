import { beforeAll, describe, expect, it } from "@effect/vitest"
import { loadModel, type Model } from "../src/Model.ts"
import { view } from "../src/Probe.ts"
import { bridgeMissing, tinyModel } from "./fixtures/bridge.ts"

const texts = ["The cat sat on the warm windowsill", "Кошка", "a soft purring lap at dusk", "ветер"]
const missing = bridgeMissing()

describe.skipIf(missing !== undefined)(`Embed on a tiny model (${missing ?? "bridge present"})`, () => {
  let model: Model
  beforeAll(async () => {
    model = await loadModel(await tinyModel("gemma3_text"))
  })

  it("is the mean of the layer's states over the text's own tokens", async () => {
    const layer = 2
    const e = await model.embed(texts, { layer, batchSize: 3 })
    expect(e.dims).toEqual([texts.length, model.config.hiddenSize])
    expect(e.layer).toBe(layer)
    for (const [i, text] of texts.entries()) {
      const single = await model.probe({ texts: [text] })
      const n = single.lengths[0]!
      const mean = new Float64Array(model.config.hiddenSize)
      for (let t = 0; t < n; t++) {
        for (const [j, v] of view(single.hiddenStates, layer, 0, t).entries()) mean[j]! += v / n
      }
      const row = view(e, i)
      for (let j = 0; j < mean.length; j++) expect(row[j]!).toBeCloseTo(mean[j]!, 4)
    }
  })

  it("does not depend on batching", async () => {
    const a = await model.embed(texts, { batchSize: 1 })
    const b = await model.embed(texts, { batchSize: 4 })
    expect(a.layer).toBe(model.config.numLayers)
    for (let i = 0; i < a.data.length; i++) expect(b.data[i]!).toBeCloseTo(a.data[i]!, 4)
  })

  it("refuses a layer outside the model", async () => {
    await expect(model.embed(texts, { layer: 99 })).rejects.toMatchObject({ _tag: "ModelInputError" })
  })
})
