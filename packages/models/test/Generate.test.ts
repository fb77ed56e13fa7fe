import { beforeAll, describe, expect, it } from "@effect/vitest"
import { cachedSessionPaths } from "../src/internal/sessions.ts"
import { loadModel, type Model } from "../src/Model.ts"
import { bridgeMissing, tinyModel, torchReferenceFor } from "./fixtures/bridge.ts"

const prompts = ["The cat sat on the warm windowsill", "Кошка мурчит на тёплом подоконнике"]
const missing = bridgeMissing()

describe.skipIf(missing !== undefined)(`Generate on tiny models (${missing ?? "bridge present"})`, () => {
  const models: Record<string, Model> = {}
  const dirs: Record<string, string> = {}
  beforeAll(async () => {
    for (const arch of ["llama", "gemma3_text"] as const) {
      dirs[arch] = await tinyModel(arch)
      models[arch] = await loadModel(dirs[arch]!)
    }
  })

  // 40 tokens cross the tiny Gemma's 4-token sliding window many times over
  it.each(["llama", "gemma3_text"])("greedy ids equal PyTorch's (%s)", async (arch) => {
    const model = models[arch]!
    const ref = torchReferenceFor(dirs[arch]!, prompts, 40)
    for (const p of ref.prompts) {
      expect(model.encode(p.text)).toEqual(p.input_ids)
      const g = await model.generate(p.text, { maxNewTokens: 40, stopAtEos: false })
      expect(g.ids).toEqual(p.greedy_ids)
      expect(g.finishReason).toBe("length")
      expect(g.text).toBe(model.decode(g.ids))
    }
  })

  it("loading twice gives the same model, and one session per graph file", async () => {
    const dir = dirs.llama!
    expect(await loadModel(dir)).toBe(models.llama)
    await models.llama!.generate("a", { maxNewTokens: 1 })
    await models.llama!.generate("b", { maxNewTokens: 1 })
    expect(cachedSessionPaths().filter((p) => p.startsWith(dir))).toEqual([`${dir}/onnx/model.onnx`])
  })

  it("releaseModel frees the sessions; the model and a held reference open them again", async () => {
    const { releaseModel } = await import("../src/Model.ts")
    const dir = dirs.llama!
    const held = await loadModel(dir)
    const before = await held.generate("a", { maxNewTokens: 3 })
    await releaseModel(dir)
    expect(cachedSessionPaths().filter((p) => p.startsWith(dir))).toEqual([])
    expect((await held.generate("a", { maxNewTokens: 3 })).ids).toEqual(before.ids)
    const again = await loadModel(dir)
    expect(again).not.toBe(held)
    expect((await again.generate("a", { maxNewTokens: 3 })).ids).toEqual(before.ids)
    models.llama = again
  })

  it("a release by one holder leaves a folder another holds (and runs) alone; the last to let go frees it", async () => {
    // two stages side by side (--parallel): a probe done with a version, its evaluation still generating
    const { holdModel, releaseModel } = await import("../src/Model.ts")
    const dir = dirs.llama!
    const [probe, evaluation] = [holdModel(dir), holdModel(dir)]
    const model = await loadModel(dir)
    const expected = (await model.generate("a", { maxNewTokens: 48, stopAtEos: false })).ids
    const running = model.generate("a", { maxNewTokens: 48, stopAtEos: false })
    await probe()
    await releaseModel(dir)
    expect(cachedSessionPaths().filter((p) => p.startsWith(dir))).toEqual([`${dir}/onnx/model.onnx`])
    expect((await running).ids).toEqual(expected)
    await evaluation()
    await evaluation() // letting go twice counts once
    expect(cachedSessionPaths().filter((p) => p.startsWith(dir))).toEqual([])
    models.llama = await loadModel(dir)
  })

  it("seeded sampling repeats itself and differs between seeds", async () => {
    const model = models.llama!
    const sample = (seed: number) =>
      model.generate(prompts[0]!, {
        maxNewTokens: 24,
        stopAtEos: false,
        sampling: { temperature: 1.2, topK: 50, topP: 0.95, seed }
      })
    const a = await sample(11)
    const b = await sample(11)
    const c = await sample(12)
    expect(a.ids).toEqual(b.ids)
    expect(a.seed).toBe(11)
    expect(c.ids).not.toEqual(a.ids)
    const greedy = await model.generate(prompts[0]!, { maxNewTokens: 24, stopAtEos: false })
    expect(greedy.seed).toBeUndefined()
    expect(a.ids).not.toEqual(greedy.ids)
  })

  it("sampling without a seed reports the seed it used, which reproduces the run", async () => {
    const model = models.gemma3_text!
    const options = { maxNewTokens: 16, stopAtEos: false, sampling: { temperature: 1 } }
    const first = await model.generate(prompts[1]!, options)
    expect(typeof first.seed).toBe("number")
    const again = await model.generate(prompts[1]!, {
      ...options,
      sampling: { temperature: 1, seed: first.seed! }
    })
    expect(again.ids).toEqual(first.ids)
  })

  it("stops at the end-of-sequence token", async () => {
    const model = models.llama!
    // make the fourth greedy token the end-of-sequence token
    const free = await model.generate(prompts[0]!, { maxNewTokens: 6, stopAtEos: false })
    const stopped = await model.generate(prompts[0]!, { maxNewTokens: 6, eosTokenIds: [free.ids[3]!] })
    const at = free.ids.indexOf(free.ids[3]!)
    expect(stopped.ids).toEqual(free.ids.slice(0, at + 1))
    expect(stopped.finishReason).toBe("eos")
  })

  it("streams tokens whose texts add up to the generation's text", async () => {
    const model = models.llama!
    const seen: Array<number> = []
    let text = ""
    const it = model.stream(prompts[1]!, { maxNewTokens: 12, stopAtEos: false })
    let r = await it.next()
    while (!r.done) {
      seen.push(r.value.id)
      text += r.value.text
      r = await it.next()
    }
    expect(seen).toEqual(r.value.ids)
    expect(text).toBe(r.value.text)
  })

  it("a consumer that stops early stops the generation", async () => {
    const model = models.llama!
    const got: Array<number> = []
    for await (const t of model.stream(prompts[0]!, { maxNewTokens: 30, stopAtEos: false })) {
      got.push(t.id)
      if (got.length === 3) break
    }
    expect(got).toHaveLength(3)
  })

  it("q8 loads its own graph and generates", async () => {
    const q8 = await loadModel(dirs.llama!, { dtype: "q8" })
    expect(q8).not.toBe(models.llama)
    const g = await q8.generate(prompts[0]!, { maxNewTokens: 8, stopAtEos: false })
    expect(g.ids).toHaveLength(8)
    expect(cachedSessionPaths()).toContain(`${dirs.llama}/onnx/model_quantized.onnx`)
  })

  it("aborting stops between tokens", async () => {
    const controller = new AbortController()
    controller.abort(new Error("stop"))
    await expect(models.llama!.generate("The", { signal: controller.signal })).rejects.toThrow("stop")
  })

  it("an empty prompt is refused", async () => {
    await expect(models.llama!.generate([])).rejects.toMatchObject({ _tag: "ModelInputError" })
  })
})
