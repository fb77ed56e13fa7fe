import { rmSync } from "node:fs"
import { loadModel, type Model, releaseModel } from "@hyperwords/models/Model"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { measureItems } from "../src/Measure.ts"
import { layersTextView, measureLayers } from "../src/MeasureLayers.ts"
import { tinyMissing, tinyModel, tinyModelWithProbeCuts } from "./fixtures/tiny.ts"

describe("a hyperword at some layers of a tiny Llama", async () => {
  const missing = await tinyMissing()
  let plain: Model
  let cut: Model
  beforeAll(async () => {
    if (missing) return
    plain = await loadModel(await tinyModel("llama"))
    cut = await loadModel(await tinyModelWithProbeCuts("llama", "tiny-llama-measure-layers", [[0, 2]]))
  }, 600_000)
  afterAll(async () => {
    if (missing) return
    await releaseModel(cut.dir)
    rmSync(cut.dir, { recursive: true, force: true })
  })

  it("reads the same rows through the cut as through the whole graph, at the asked layer numbers", async (ctx) => {
    if (missing) return ctx.skip(missing)
    const fromCut = await measureLayers(cut, "warmlap", ["warm", "lap"], [2, 0])
    const fromFull = await measureLayers(plain, "warmlap", ["warm", "lap"], [2, 0])
    expect(fromCut.graph).toBe("probe-layers-0-2.onnx")
    expect(fromFull.graph).toBe("probe.onnx")
    expect(fromCut.rows.map((r) => r.layer)).toEqual([0, 2])
    expect(fromCut.tokens).toEqual(fromFull.tokens)
    fromCut.rows.forEach((r, i) => {
      const f = fromFull.rows[i]!
      expect(r.layer).toBe(f.layer)
      expect(r.topId).toBe(f.topId)
      expect(r.norm).toBeCloseTo(f.norm, 4)
      expect(r.p).toBeCloseTo(f.p, 5)
      expect(r.phrase).toBeCloseTo(f.phrase, 5)
      expect(r.parts).toBeCloseTo(f.parts, 5)
    })
    // layer 2 alone: still layer 2 (the cut's entry 1), not entry 0 or layer 1
    const only = await measureLayers(cut, "warmlap", ["warm", "lap"], [2])
    expect(only.rows).toHaveLength(1)
    expect(only.rows[0]!.norm).toBeCloseTo(fromFull.rows[1]!.norm, 4)
    const view = layersTextView(only)
    expect(view).toMatch(/\n\s+2\s+\d/)
    expect(view).not.toMatch(/\n\s+[013]\s+\d/)
  })

  it("gives the values the whole-model measurement gives at those layers", async (ctx) => {
    if (missing) return ctx.skip(missing)
    const item = { id: "en:warm+lap", surface: "warmlap", parts: ["warm", "lap"], lang: "en" }
    const all = await measureItems(plain, [item], { seed: 1, batchSize: 2, conditions: ["fused", "phrase"] })
    const it0 = all.items[0]!
    const fused = it0.conditions.fused
    const last = fused.tokens.length - 1
    const m = await measureLayers(cut, item.surface, item.parts, [0, 2])
    for (const row of m.rows) {
      expect(row.norm).toBeCloseTo(fused.norm[row.layer]!, 3)
      expect(row.top).toBe(fused.lensTop[row.layer]![last])
      expect(row.phrase).toBeCloseTo(it0.assemblyPhrase[row.layer]!, 4)
      // measureItems reads the parts through the embedding graph: the same states within float error
      expect(row.parts).toBeCloseTo(it0.assemblyParts[row.layer]!, 4)
    }
  })
})
