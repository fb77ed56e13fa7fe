import { mkdirSync, readdirSync, rmSync, symlinkSync } from "node:fs"
import { join } from "node:path"
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

  it("reads the embedding graph when the folder has it, the probe graph when not", async () => {
    expect((await model.hiddenStatesGraph()).path).toBe(join(model.dir, "onnx", "embed.onnx"))
    // the same model without embed.onnx: every other file linked
    const bare = join(model.dir, "..", "tiny-gemma3-no-embed")
    rmSync(bare, { recursive: true, force: true })
    mkdirSync(join(bare, "onnx"), { recursive: true })
    for (const f of readdirSync(model.dir)) if (f !== "onnx") symlinkSync(join(model.dir, f), join(bare, f))
    for (const f of readdirSync(join(model.dir, "onnx")))
      if (f !== "embed.onnx") symlinkSync(join(model.dir, "onnx", f), join(bare, "onnx", f))
    try {
      const other = await loadModel(bare)
      expect((await other.hiddenStatesGraph()).path).toBe(join(bare, "onnx", "probe.onnx"))
      const a = await model.embed(texts, { layer: 1 })
      const b = await other.embed(texts, { layer: 1 })
      for (let i = 0; i < a.data.length; i++) expect(b.data[i]!).toBeCloseTo(a.data[i]!, 5)
    } finally {
      rmSync(bare, { recursive: true, force: true })
    }
  })

  it("refuses a layer outside the model", async () => {
    await expect(model.embed(texts, { layer: 99 })).rejects.toMatchObject({ _tag: "ModelInputError" })
  })
})
