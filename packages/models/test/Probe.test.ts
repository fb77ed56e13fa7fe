import { beforeAll, describe, expect, it } from "@effect/vitest"
import { loadModel, type Model } from "../src/Model.ts"
import { type Float32Tensor, view } from "../src/Probe.ts"
import { bridgeMissing, type ReferencePrompt, tinyModel, torchReferenceFor } from "./fixtures/bridge.ts"

const prompts = ["The cat sat on the warm windowsill and watched", "Ветер над рекой, холодные камни"]
const missing = bridgeMissing()

/** max |a - b| over max |b|, per layer of [L+1, T, H] reference states against row `b` of [L+1, B, T, H]. */
const layerRelDiffs = (got: Float32Tensor, row: number, ref: ReferencePrompt): Array<number> => {
  const [layers, t, h] = ref.hidden_dims as [number, number, number]
  return Array.from({ length: layers }, (_, l) => {
    let diff = 0
    let scale = 0
    for (let i = 0; i < t; i++) {
      const g = view(got, l, row, i)
      for (let j = 0; j < h; j++) {
        const r = ref.hidden[(l * t + i) * h + j]!
        diff = Math.max(diff, Math.abs(g[j]! - r))
        scale = Math.max(scale, Math.abs(r))
      }
    }
    return diff / scale
  })
}

describe.skipIf(missing !== undefined)(`Probe on tiny models (${missing ?? "bridge present"})`, () => {
  const models: Record<string, Model> = {}
  const dirs: Record<string, string> = {}
  beforeAll(async () => {
    for (const arch of ["llama", "gemma3_text"] as const) {
      dirs[arch] = await tinyModel(arch)
      models[arch] = await loadModel(dirs[arch]!)
    }
  })

  it.each(["llama", "gemma3_text"])("hidden states and lens top-1 match PyTorch (%s)", async (arch) => {
    const model = models[arch]!
    const ref = torchReferenceFor(dirs[arch]!, prompts, 1)
    // one padded batch: the shorter row's padding must not leak into its states
    const r = await model.probe({ texts: prompts })
    const L = model.config.numLayers
    const T = Math.max(...r.lengths)
    expect(r.hiddenStates.dims).toEqual([L + 1, 2, T, model.config.hiddenSize])
    expect(r.attentions.dims).toEqual([L, 2, model.config.numHeads, T, T])
    ref.prompts.forEach((p, b) => {
      expect(r.lengths[b]).toBe(p.input_ids.length)
      expect(Math.max(...layerRelDiffs(r.hiddenStates, b, p))).toBeLessThan(1e-4)
      let agree = 0
      let total = 0
      for (let l = 0; l <= L; l++) {
        for (let t = 0; t < p.input_ids.length; t++) {
          total++
          if (view(r.lensTopkIds, l, b, t)[0] === p.lens_top1[l]![t]) agree++
        }
      }
      expect(agree / total).toBeGreaterThanOrEqual(0.99)
    })
  })

  it("lens outputs are consistent: sorted log-probs, tracked ids agree with the top-k, logits with the last lens", async () => {
    const model = models.llama!
    const first = await model.probe({ texts: [prompts[0]!] })
    const top = Array.from(view(first.lensTopkIds, 2, 0, 3))
    const r = await model.probe({ texts: [prompts[0]!], tracked: top })
    const { k } = { k: r.lensTopkIds.dims[3]! }
    expect(r.trackedLogprobs.dims).toEqual([model.config.numLayers + 1, 1, r.lengths[0], k])
    const lps = view(r.lensTopkLogprobs, 2, 0, 3)
    const tracked = view(r.trackedLogprobs, 2, 0, 3)
    for (let i = 0; i < k; i++) {
      expect(lps[i]!).toBeLessThanOrEqual(0)
      if (i > 0) expect(lps[i]!).toBeLessThanOrEqual(lps[i - 1]!)
      expect(tracked[i]!).toBeCloseTo(lps[i]!, 5)
    }
    // the last lens entry at the last token is the model's own next-token distribution
    const L = model.config.numLayers
    const logits = view(r.logits, 0)
    let best = 0
    for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i
    expect(view(r.lensTopkIds, L, 0, r.lengths[0]! - 1)[0]).toBe(best)
    const g = await model.generate(prompts[0]!, { maxNewTokens: 1 })
    expect(g.ids[0]).toBe(best)
  })

  it("a patch replaces one state and changes only what follows it", async () => {
    const model = models.gemma3_text!
    const H = model.config.hiddenSize
    const base = await model.probe({ texts: [prompts[0]!] })
    const vector = Float32Array.from({ length: H }, (_, i) => Math.sin(i) * 20)
    const layer = 1
    const position = 4
    const r = await model.probe({ texts: [prompts[0]!], patch: { vector, layer, position } })
    expect(Array.from(view(r.hiddenStates, layer, 0, position))).toEqual(Array.from(vector))
    expect(view(r.hiddenStates, 0)).toEqual(view(base.hiddenStates, 0))
    for (let t = 0; t < position; t++) {
      expect(view(r.hiddenStates, layer + 1, 0, t)).toEqual(view(base.hiddenStates, layer + 1, 0, t))
    }
    const after = view(r.hiddenStates, layer + 1, 0, position + 1)
    const before = view(base.hiddenStates, layer + 1, 0, position + 1)
    expect(after).not.toEqual(before)
    // a negative position leaves the row alone
    const none = await model.probe({ texts: [prompts[0]!], patch: { vector, layer, position: -1 } })
    expect(none.hiddenStates.data).toEqual(base.hiddenStates.data)
  })

  it("per-row patches and tracked ids in a batch", async () => {
    const model = models.llama!
    const H = model.config.hiddenSize
    const zeros = new Float32Array(H)
    const ones = new Float32Array(H).fill(1)
    const r = await model.probe({
      texts: prompts,
      tracked: [
        [5, 6, 7],
        [8, 9, 10]
      ],
      patch: { vector: [zeros, ones], layer: 0, position: [1, -1] }
    })
    expect(Array.from(view(r.hiddenStates, 0, 0, 1))).toEqual(Array.from(zeros))
    expect(Array.from(view(r.hiddenStates, 0, 1, 1))).not.toEqual(Array.from(ones))
    expect(r.trackedLogprobs.dims[3]).toBe(3)
  })

  it("refuses requests outside the model", async () => {
    const model = models.llama!
    const H = model.config.hiddenSize
    const refuse = (request: Parameters<Model["probe"]>[0], detail: RegExp) =>
      expect(model.probe(request)).rejects.toMatchObject({
        _tag: "ModelInputError",
        message: expect.stringMatching(detail)
      })
    await refuse(
      { texts: ["a cat"], patch: { vector: new Float32Array(H), layer: 99, position: 0 } },
      /patch layer 99/
    )
    await refuse(
      { texts: ["a cat"], patch: { vector: new Float32Array(3), layer: 1, position: 0 } },
      /3 values/
    )
    await refuse(
      { texts: ["a cat"], patch: { vector: new Float32Array(H), layer: 1, position: 50 } },
      /position 50/
    )
    await refuse({ ids: [[1, 2, 1_000_000]] }, /outside the vocabulary/)
    await refuse({ ids: [] }, /at least one/)
  })

  it("view slices without copying and checks its indices", async () => {
    const t = { data: Float32Array.from({ length: 24 }, (_, i) => i), dims: [2, 3, 4] }
    expect(Array.from(view(t, 1, 2))).toEqual([20, 21, 22, 23])
    expect(view(t, 1).buffer).toBe(t.data.buffer)
    expect(() => view(t, 2)).toThrow(RangeError)
  })
})
