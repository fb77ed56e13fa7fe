import { mkdirSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { loadModel, type Model, releaseModel } from "../src/Model.ts"
import { type ProbeResult, view } from "../src/Probe.ts"
import {
  type LayerProbeResult,
  layerView,
  pickProbeLayersCut,
  probeLayersCommand,
  probeLayersCuts
} from "../src/ProbeLayers.ts"
import { bridgeMissing, tinyModel, tinyModelWithProbeCuts, tmpDir } from "./fixtures/bridge.ts"

const prompts = ["The cat sat on the warm windowsill and watched", "Ветер над рекой"]
const missing = bridgeMissing()

/** max |a - b| over max |b|. */
const relDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length)
  let diff = 0
  let scale = 1e-12
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!))
    scale = Math.max(scale, Math.abs(b[i]!))
  }
  return diff / scale
}

/** Every per-layer output of a layers result against the whole graph's result at the same layers, row by row. */
const expectSameLayers = (got: LayerProbeResult, full: ProbeResult): void => {
  expect(got.lengths).toEqual(full.lengths)
  got.lengths.forEach((n, b) => {
    for (const l of got.layers) {
      for (let t = 0; t < n; t++) {
        expect(
          relDiff(layerView(got, "hiddenStates", l, b, t), view(full.hiddenStates, l, b, t))
        ).toBeLessThan(1e-5)
        expect(
          relDiff(layerView(got, "lensTopkLogprobs", l, b, t), view(full.lensTopkLogprobs, l, b, t))
        ).toBeLessThan(1e-5)
        expect(
          relDiff(layerView(got, "trackedLogprobs", l, b, t), view(full.trackedLogprobs, l, b, t))
        ).toBeLessThan(1e-5)
        expect(layerView(got, "lensTopkIds", l, b, t)[0]).toBe(view(full.lensTopkIds, l, b, t)[0])
      }
    }
    for (const l of got.attentionLayers)
      expect(relDiff(layerView(got, "attentions", l, b), view(full.attentions, l, b))).toBeLessThan(1e-5)
  })
}

describe("probe-layers cuts of a folder", () => {
  it("lists a cut only when its description and graph are both there, and picks the lowest covering one", () => {
    const dir = join(tmpDir, "probe-layers-listing")
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(join(dir, "onnx"), { recursive: true })
    try {
      const describe = (layers: Array<number>, graph: boolean) => {
        const file = `probe-layers-${layers.join("-")}.onnx`
        const attention = layers.filter((j) => j >= 1).map((j) => j - 1)
        writeFileSync(
          join(dir, "onnx", file.replace(".onnx", ".json")),
          JSON.stringify({ file, layers, attention_layers: attention })
        )
        if (graph) writeFileSync(join(dir, "onnx", file), "x")
      }
      describe([0, 6, 12], true)
      describe([6, 30], true)
      describe([0, 6], false) // the graph was deleted (a failed check): not a cut
      writeFileSync(join(dir, "onnx", "probe-layers-1-2.json"), "{ not json")
      const cuts = probeLayersCuts(dir)
      expect(cuts.map((c) => c.layers).sort()).toEqual([
        [0, 6, 12],
        [6, 30]
      ])
      expect(pickProbeLayersCut(cuts, [6])?.file).toBe("probe-layers-0-6-12.onnx")
      expect(pickProbeLayersCut(cuts, [30])?.attentionLayers).toEqual([5, 29])
      expect(pickProbeLayersCut(cuts, [0, 30])).toBeUndefined()
      expect(probeLayersCuts(join(dir, "absent"))).toEqual([])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("names the command that makes a cut", () => {
    expect(probeLayersCommand("/m/qwen", [0, 6, 12])).toBe(
      "packages/train-bridge/python/.venv/bin/python -m hyperwords_bridge.graph_cuts /m/qwen --probe-layers 0,6,12"
    )
  })
})

describe.skipIf(missing !== undefined)(`probeLayers on a tiny Llama (${missing ?? "bridge present"})`, () => {
  let plain: Model
  let cut: Model
  let full: ProbeResult
  const tracked = [
    [5, 17, 99],
    [3, 4, 200]
  ]
  beforeAll(async () => {
    plain = await loadModel(await tinyModel("llama"))
    // entries 0..3 of the 3-layer model: one cut stopping below the top, one reaching it
    cut = await loadModel(
      await tinyModelWithProbeCuts("llama", "tiny-llama-probe-layers", [
        [0, 2],
        [1, 3]
      ])
    )
    full = await plain.probe({ texts: prompts, tracked })
  }, 600_000)
  afterAll(async () => {
    await releaseModel(cut.dir)
    rmSync(cut.dir, { recursive: true, force: true })
  })

  it("reads the cut for its layers, with the whole graph's values at the same layer numbers", async () => {
    const r = await cut.probeLayers({ texts: prompts, tracked, layers: [2, 0] })
    expect(r.graph).toBe("probe-layers-0-2.onnx")
    expect(r.layers).toEqual([0, 2])
    expect(r.attentionLayers).toEqual([1])
    const T = Math.max(...r.lengths)
    expect(r.hiddenStates.dims).toEqual([2, 2, T, cut.config.hiddenSize])
    expect(r.attentions?.dims).toEqual([1, 2, cut.config.numHeads, T, T])
    expect(r.trackedLogprobs.dims).toEqual([2, 2, T, 3])
    // the cut stops at layer 2: no logits
    expect(r.logits).toBeUndefined()
    expectSameLayers(r, full)
  })

  it("maps a cut's entries back to layer numbers: layer 2 is layer 2, not entry 1 or the cut's entry 2", async () => {
    const r = await cut.probeLayers({ texts: prompts, layers: [2] })
    expect(r.graph).toBe("probe-layers-0-2.onnx")
    expect(r.hiddenStates.dims[0]).toBe(1)
    const got = layerView(r, "hiddenStates", 2, 0, 3)
    expect(relDiff(got, view(full.hiddenStates, 2, 0, 3))).toBeLessThan(1e-5)
    expect(relDiff(got, view(full.hiddenStates, 1, 0, 3))).toBeGreaterThan(1e-2)
    expect(() => layerView(r, "hiddenStates", 0, 0, 3)).toThrow(RangeError)
    expect(relDiff(layerView(r, "attentions", 1, 0), view(full.attentions, 1, 0))).toBeLessThan(1e-5)
  })

  it("takes the cut reaching the last layer for it, logits included", async () => {
    const r = await cut.probeLayers({ texts: prompts, tracked, layers: [3] })
    expect(r.graph).toBe("probe-layers-1-3.onnx")
    expect(r.layers).toEqual([3])
    expect(r.attentionLayers).toEqual([2])
    expectSameLayers(r, full)
    expect(relDiff(r.logits!.data, full.logits.data)).toBeLessThan(1e-5)
  })

  it("falls back to the whole probe graph when no cut covers the layers, with the same results", async () => {
    const uncovered = await cut.probeLayers({ texts: prompts, tracked, layers: [1, 2] })
    expect(uncovered.graph).toBe("probe.onnx")
    expect(uncovered.layers).toEqual([1, 2])
    expect(uncovered.hiddenStates.dims[0]).toBe(2)
    expectSameLayers(uncovered, full)
    // a folder with no cut at all
    const none = await plain.probeLayers({ texts: prompts, tracked, layers: [0, 2] })
    expect(none.graph).toBe("probe.onnx")
    expect(none.logits?.dims).toEqual(full.logits.dims)
    expectSameLayers(none, full)
    // and the cut's own result is the fallback's
    const fromCut = await cut.probeLayers({ texts: prompts, tracked, layers: [0, 2] })
    expect(relDiff(fromCut.hiddenStates.data, none.hiddenStates.data)).toBeLessThan(1e-5)
    expect(fromCut.lensTopkIds.data).toEqual(none.lensTopkIds.data)
  })

  it("refuses layers outside 0..L and an empty list", async () => {
    await expect(cut.probeLayers({ texts: prompts, layers: [4] })).rejects.toMatchObject({
      _tag: "ModelInputError"
    })
    await expect(cut.probeLayers({ texts: prompts, layers: [] })).rejects.toMatchObject({
      _tag: "ModelInputError"
    })
  })
})
