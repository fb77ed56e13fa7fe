import { loadModel, type Model } from "@hyperwords/models/Model"
import { runProbeOutputs, view } from "@hyperwords/models/Probe"
import { beforeAll, describe, expect, it } from "vitest"
import {
  assemblyCurve,
  conditions,
  conditionTexts,
  cosine,
  logitsOfStates,
  measureItems,
  nonword,
  type ProbeItem,
  patchscopeTarget,
  ranksIn,
  readIds,
  shuffledParts,
  spreadLayers
} from "../src/Measure.ts"
import { tinyMissing, tinyModel } from "./fixtures/tiny.ts"

const sorted = (s: string) => [...s].sort().join("")

describe("the controls", () => {
  it("a nonword is a seeded permutation of the surface's letters, different from it", () => {
    for (const [surface, lang] of [
      ["кошкашлавкусноесть", "ru"],
      ["warmpurringlap", "en"],
      ["moon-lit", "en"]
    ] as const) {
      const w = nonword(surface, lang, 7)
      expect(sorted(w)).toBe(sorted(surface))
      expect([...w]).toHaveLength([...surface].length)
      expect(w).not.toBe(surface)
      expect(nonword(surface, lang, 7)).toBe(w)
    }
    // non-letters keep their place
    expect(nonword("moon-lit", "en", 3)[4]).toBe("-")
    // a word of one repeated letter cannot change
    expect(nonword("aaa", "en", 1)).toBe("aaa")
  })

  it("shuffled parts are a different order of the same parts", () => {
    const parts = ["кошка", "шла", "вкусно", "есть"]
    const s = shuffledParts(parts, 1)
    expect([...s].sort()).toEqual([...parts].sort())
    expect(s).not.toEqual(parts)
    expect(shuffledParts(["a", "b"], 5)).toEqual(["b", "a"])
    const texts = conditionTexts({ id: "x", surface: "кошкашла", parts: ["кошка", "шла"], lang: "ru" }, 1)
    expect(texts).toEqual({
      fused: "кошкашла",
      phrase: "кошка шла",
      nonword: texts.nonword,
      shuffled: "шлакошка"
    })
  })
})

describe("vector helpers", () => {
  it("cosine and assembly of a stack with itself are 1", () => {
    const a = [Float32Array.from([1, 2, 3]), Float32Array.from([-1, 0, 4])]
    expect(assemblyCurve(a, a).map((x) => x.toFixed(6))).toEqual(["1.000000", "1.000000"])
    expect(cosine([1, 0], [0, 1])).toBe(0)
    expect(cosine([0, 0], [1, 1])).toBe(0)
  })
  it("ranks and layer spreads", () => {
    expect(ranksIn([0.1, 3, 2, 3], [1, 2, 0])).toEqual([1, 3, 4])
    expect(spreadLayers(30, 4)).toEqual([0, 10, 20, 30])
    expect(spreadLayers(3, 8)).toEqual([0, 1, 2, 3])
  })
})

describe("measurements on a tiny model", async () => {
  const missing = await tinyMissing()
  let model: Model
  beforeAll(async () => {
    if (missing) return
    model = await loadModel(await tinyModel("llama"))
  })

  const items: Array<ProbeItem> = [
    { id: "en:warm+lap", surface: "warmlap", parts: ["warm", "lap"], lang: "en" },
    { id: "ru:кошка+шла", surface: "кошкашла", parts: ["кошка", "шла"], lang: "ru", gloss: "cat walked" },
    // one part: the fused item is read exactly as its only part
    { id: "en:sky", surface: "sky", parts: ["sky"], lang: "en" }
  ]

  it("has the shapes the report reads, and the invariants of the conditions", async (ctx) => {
    if (missing) return ctx.skip(missing)
    const spec = (await model.probeGraphSession()).spec
    const layers = spec.numLayers + 1
    const m = await measureItems(model, items, { seed: 1, batchSize: 5, patchscopeLayers: [0, 1, 3] })
    expect(m.numLayers).toBe(spec.numLayers)
    expect(m.items).toHaveLength(3)
    for (const it of m.items) {
      expect(Object.keys(it.conditions).sort()).toEqual([...conditions].sort())
      for (const c of conditions) {
        const cm = it.conditions[c]!
        const read = readIds(model, cm.text)
        expect(cm.tokens).toHaveLength(read.ids.length)
        expect(cm.start).toBe(read.start)
        expect(cm.norm).toHaveLength(layers)
        expect(cm.lensIds).toHaveLength(layers)
        expect(cm.lensIds[0]).toHaveLength(read.ids.length)
        expect(cm.lensIds[0]![0]).toHaveLength(spec.k)
        expect(cm.lensTop[layers - 1]).toHaveLength(read.ids.length)
        expect(cm.ownAttention).toHaveLength(spec.numLayers)
        expect(cm.ownAttention[0]).toHaveLength(spec.numHeads)
        for (const a of cm.ownAttention.flat()) {
          expect(a).toBeGreaterThan(0)
          expect(a).toBeLessThanOrEqual(1 + 1e-5)
        }
        for (const t of cm.tracked) {
          expect(t.logprob).toHaveLength(layers)
          for (const lp of t.logprob) expect(lp).toBeLessThanOrEqual(0)
        }
      }
      expect(it.conditions.fused.tracked.filter((t) => t.role === "part")).toHaveLength(it.item.parts.length)
      expect(it.assemblyPhrase).toHaveLength(layers)
      for (const c of [...it.assemblyPhrase, ...it.assemblyParts])
        expect(Math.abs(c)).toBeLessThanOrEqual(1 + 1e-6)
      expect(it.attention).toHaveLength(spec.numLayers)
      // attention rows are distributions over the item's tokens
      for (const heads of it.attention)
        for (const row of heads) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4)
    }
    // the Russian item tracks its gloss's first word; the English ones do not
    expect(m.items[1]!.conditions.fused.tracked.map((t) => t.role)).toEqual(["part", "part", "gloss"])
    expect(m.items[0]!.conditions.fused.tracked.map((t) => t.role)).toEqual(["part", "part"])
    // fused == its only part read alone: the assembly cosine is 1 at every layer
    for (const c of m.items[2]!.assemblyParts) expect(c).toBeCloseTo(1, 5)
    for (const c of m.items[2]!.assemblyPhrase) expect(c).toBeCloseTo(1, 5)
    // centring keeps identical states identical and gives every measured item its nonword floor
    for (const c of m.items[2]!.centred.parts) expect(c).toBeCloseTo(1, 4)
    for (const it of m.items) {
      expect(it.centred.phrase).toHaveLength(layers)
      expect(it.centred.nonword).toHaveLength(layers)
    }
    const ps = m.patchscope!
    expect(ps.layers).toEqual([0, 1, 3])
    expect(ps.ranks).toHaveLength(3)
    for (const r of ps.ranks) for (const x of r) expect(x).toBeGreaterThanOrEqual(1)
    expect(ps.retrieval).toHaveLength(3)
    const target = patchscopeTarget(model)
    expect(target.placeholder).toBeLessThan(target.ids.length - 1)
  })

  it("decodes a patched run's final state as the full graph's logits would", async (ctx) => {
    if (missing) return ctx.skip(missing)
    const graph = await model.probeGraphSession()
    const target = patchscopeTarget(model)
    const vector = Float32Array.from({ length: graph.spec.hiddenSize }, (_, i) => Math.sin(i))
    for (const layer of [0, 2]) {
      const input = { ids: [target.ids], patch: { vector, layer, position: target.placeholder } }
      const full = await runProbeOutputs(graph, input, ["logits", "hidden_states"])
      const hs = full.hidden_states!
      const final = view(
        { data: hs.data as Float32Array, dims: hs.dims },
        graph.spec.numLayers,
        0,
        target.ids.length - 1
      )
      const fast = await logitsOfStates(graph, [final], target.ids[0]!)
      const want = full.logits!.data as Float32Array
      let diff = 0
      for (let i = 0; i < fast.vocab; i++) diff = Math.max(diff, Math.abs(fast.data[i]! - want[i]!))
      expect(diff).toBeLessThan(1e-3)
    }
  })

  it("reads only the asked conditions, and a batch gives what one row at a time gives", async (ctx) => {
    if (missing) return ctx.skip(missing)
    const few = await measureItems(model, items.slice(0, 2), {
      seed: 1,
      conditions: ["fused", "phrase"],
      batchSize: 1
    })
    expect(Object.keys(few.items[0]!.conditions).sort()).toEqual(["fused", "phrase"])
    const all = await measureItems(model, items.slice(0, 2), { seed: 1, batchSize: 8 })
    few.items.forEach((it, i) => {
      it.assemblyPhrase.forEach((c, l) => {
        expect(c).toBeCloseTo(all.items[i]!.assemblyPhrase[l]!, 4)
      })
      it.conditions.fused.norm.forEach((n, l) => {
        expect(n).toBeCloseTo(all.items[i]!.conditions.fused.norm[l]!, 2)
      })
    })
  })
})

describe("centred cosines", () => {
  it("subtract each layer's mean before the cosine", async () => {
    const { centredCurve, layerMeans } = await import("../src/Measure.ts")
    // two states that share a large common direction: raw cosine near 1, centred they are opposite
    const a = [Float32Array.from([10, 1, 0])]
    const b = [Float32Array.from([10, -1, 0])]
    const means = layerMeans([a, b])
    expect(Array.from(means[0]!)).toEqual([10, 0, 0])
    expect(centredCurve(a, b, means)[0]).toBeCloseTo(-1, 6)
  })
})

describe("nextWord and trackedWords", () => {
  it("finds the word after the parts when they come in order, within three words of each other", async () => {
    const { nextWord, trackedWords } = await import("../src/Measure.ts")
    expect(nextWord("Кошка шла вкусно есть, и вечер тих", ["кошка", "шла", "вкусно"])).toBe("есть")
    expect(nextWord("the frost and snow were falling", ["frost", "snow"])).toBe("were")
    expect(nextWord("the frost was on the hill far from any snow", ["frost", "snow"])).toBeUndefined()
    expect(nextWord("snow then frost", ["frost", "snow"])).toBeUndefined()
    expect(nextWord("warm lap", ["warm", "lap"])).toBeUndefined()
    const roles = trackedWords({
      id: "x",
      surface: "кошкашла",
      parts: ["кошка", "шла"],
      lang: "ru",
      gloss: "cat walked",
      next: "есть"
    })
    expect(roles.map((r) => r.role)).toEqual(["part", "part", "gloss", "next"])
  })
})
