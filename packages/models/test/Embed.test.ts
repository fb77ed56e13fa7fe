import { execFileSync } from "node:child_process"
import { cpSync, mkdirSync, readdirSync, rmSync, symlinkSync } from "node:fs"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { loadModel, type Model } from "../src/Model.ts"
import { embedCutFile, embedCutLayers, embedCuts } from "../src/ModelDir.ts"
import { view } from "../src/Probe.ts"
import { bridgeDir, bridgeMissing, bridgePython, tinyModel } from "./fixtures/bridge.ts"

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

  it("reads the smallest graph cut that reaches the layer, with the full graph's states", async () => {
    // a copy of the model with the embedding graph cut after layer 1 (graph_cuts, as a pull makes it)
    const cut = join(model.dir, "..", "tiny-gemma3-cut")
    rmSync(cut, { recursive: true, force: true })
    cpSync(model.dir, cut, { recursive: true })
    try {
      execFileSync(bridgePython, ["-m", "hyperwords_bridge.graph_cuts", cut, "--embed-upto", "1"], {
        cwd: bridgeDir,
        stdio: "ignore"
      })
      expect(embedCuts(cut)).toEqual([1])
      const other = await loadModel(cut)
      expect((await other.hiddenStatesGraph(1)).path).toBe(join(cut, "onnx", embedCutFile(1)))
      expect((await other.hiddenStatesGraph(0)).path).toBe(join(cut, "onnx", embedCutFile(1)))
      expect((await other.hiddenStatesGraph(2)).path).toBe(join(cut, "onnx", "embed.onnx"))
      expect((await other.hiddenStatesGraph()).path).toBe(join(cut, "onnx", "embed.onnx"))
      for (const layer of [0, 1]) {
        const a = await model.embed(texts, { layer })
        const b = await other.embed(texts, { layer })
        for (let i = 0; i < a.data.length; i++) expect(b.data[i]!).toBeCloseTo(a.data[i]!, 5)
      }
    } finally {
      rmSync(cut, { recursive: true, force: true })
    }
  })

  it("cuts after the readers' layers: 1 and a third of the depth", () => {
    expect(embedCutLayers(18)).toEqual([1, 6])
    expect(embedCutLayers(30)).toEqual([1, 10])
    expect(embedCutLayers(3)).toEqual([1])
    expect(embedCutLayers(1)).toEqual([])
  })

  it("refuses a layer outside the model", async () => {
    await expect(model.embed(texts, { layer: 99 })).rejects.toMatchObject({ _tag: "ModelInputError" })
  })
})
