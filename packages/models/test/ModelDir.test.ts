import { cpSync, mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { ModelDirError } from "../src/Errors.ts"
import { loadModel } from "../src/Model.ts"
import { checkModelDir, hyperwordsHome, pullCommand, resolveModelDir } from "../src/ModelDir.ts"
import { bridgeMissing, tinyModel, tmpDir } from "./fixtures/bridge.ts"

const rejection = async (p: Promise<unknown>): Promise<ModelDirError> => {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(ModelDirError)
    return e as ModelDirError
  }
  throw new Error("expected a ModelDirError")
}

describe("ModelDir", () => {
  it("resolves registered names under the home and paths as directories", () => {
    const saved = process.env.HYPERWORDS_HOME
    process.env.HYPERWORDS_HOME = "/srv/hw"
    try {
      expect(hyperwordsHome()).toBe("/srv/hw")
      expect(resolveModelDir("gemma-3-270m")).toBe("/srv/hw/models/gemma-3-270m")
      expect(resolveModelDir("/data/my-model")).toBe("/data/my-model")
      expect(resolveModelDir("./x")).toBe(join(process.cwd(), "x"))
    } finally {
      if (saved === undefined) delete process.env.HYPERWORDS_HOME
      else process.env.HYPERWORDS_HOME = saved
    }
    expect(pullCommand("/srv/hw/models/smollm2-135m")).toBe("pnpm hyperwords models pull smollm2-135m")
  })

  it("a missing directory names itself and the pull command", async () => {
    const e = await rejection(loadModel("/nonexistent/hyperwords/smollm2-135m"))
    expect(e._tag).toBe("ModelDirError")
    expect(e.path).toBe("/nonexistent/hyperwords/smollm2-135m")
    expect(e.message).toContain("does not exist")
    expect(e.message).toContain("pnpm hyperwords models pull smollm2-135m")
  })

  it("a directory without config.json says so", async () => {
    // a fresh clone has no test/.tmp until a tiny model is built: this test must not need one
    mkdirSync(tmpDir, { recursive: true })
    const dir = mkdtempSync(join(tmpDir, "empty-"))
    try {
      const e = await rejection(loadModel(dir))
      expect(e.missing).toBe("config.json")
      expect(e.message).toMatch(/config\.json is missing/)
    } finally {
      rmSync(dir, { recursive: true })
    }
  })
})

describe.skipIf(bridgeMissing() !== undefined)(
  `ModelDir on a tiny model (${bridgeMissing() ?? "bridge present"})`,
  () => {
    let tiny = ""
    let work = ""
    beforeAll(async () => {
      tiny = await tinyModel("llama")
      work = mkdtempSync(join(tmpDir, "broken-"))
    })
    afterAll(() => rmSync(work, { recursive: true, force: true }))

    const broken = (name: string, damage: (dir: string) => void): string => {
      const dir = join(work, name)
      cpSync(tiny, dir, { recursive: true })
      damage(dir)
      return dir
    }

    it("accepts the complete directory", () => {
      const files = checkModelDir(tiny)
      expect(files.config.modelType).toBe("llama")
      expect(files.config.eosTokenIds).toEqual([2])
    })

    it("config.json that is not JSON", async () => {
      const dir = broken("bad-config", (d) => writeFileSync(join(d, "config.json"), "{ not json"))
      const e = await rejection(loadModel(dir))
      expect(e.missing).toBe("config.json")
      expect(e.message).toContain("is not valid JSON")
      expect(e.path).toBe(dir)
    })

    it("no tokenizer.json", async () => {
      const dir = broken("no-tokenizer", (d) => rmSync(join(d, "tokenizer.json")))
      expect((await rejection(loadModel(dir))).missing).toBe("tokenizer.json")
    })

    it("no onnx/model.onnx, and no q8 file for dtype q8", async () => {
      const dir = broken("no-onnx", (d) => rmSync(join(d, "onnx", "model.onnx")))
      const e = await rejection(loadModel(dir))
      expect(e.missing).toBe("onnx/model.onnx")
      expect(e.message).toContain("onnx/model.onnx is missing")
      expect(e.message).toContain("pnpm hyperwords models pull no-onnx")
      const q = broken("no-q8", (d) => rmSync(join(d, "onnx", "model_quantized.onnx")))
      expect((await rejection(loadModel(q, { dtype: "q8" }))).missing).toBe("onnx/model_quantized.onnx")
      // a weight-only graph is made on request (hyperwords_bridge.weight_quant): absent, it is named
      expect((await rejection(loadModel(q, { dtype: "w8" }))).missing).toBe("onnx/model_w8.onnx")
      expect((await rejection(loadModel(q, { dtype: "w4" }))).missing).toBe("onnx/model_w4.onnx")
    })

    it("a truncated graph is caught before onnxruntime sees it", async () => {
      const dir = broken("truncated", (d) => truncateSync(join(d, "onnx", "model.onnx"), 4))
      const e = await rejection(loadModel(dir))
      expect(e.message).toContain("onnx/model.onnx is truncated")
    })

    it("a corrupt graph fails when onnxruntime opens it, naming the file", async () => {
      const dir = broken("corrupt", (d) => {
        const f = join(d, "onnx", "model.onnx")
        truncateSync(f, 5000) // the header survives, the protobuf does not
      })
      const model = await loadModel(dir)
      const e = await rejection(model.generate("The cat"))
      expect(e.missing).toBe("onnx/model.onnx")
      expect(e.message).toContain("cannot be loaded by onnxruntime")
      expect(e.message).toContain("pnpm hyperwords models pull corrupt")
    })

    it("no probe graph: generation works, probing names onnx/probe.onnx", async () => {
      const dir = broken("no-probe", (d) => rmSync(join(d, "onnx", "probe.onnx")))
      const model = await loadModel(dir)
      expect((await model.generate("The cat", { maxNewTokens: 2 })).ids).toHaveLength(2)
      const e = await rejection(model.probe({ texts: ["The cat"] }))
      expect(e.missing).toBe("onnx/probe.onnx")
      const f = await rejection(model.embed(["The cat"]))
      expect(f.missing).toBe("onnx/probe.onnx")
    })

    it("a probe.json of another contract", async () => {
      const dir = broken("old-probe", (d) => {
        writeFileSync(
          join(d, "onnx", "probe.json"),
          JSON.stringify({ schemaVersion: 1, inputs: [], outputs: [] })
        )
      })
      const model = await loadModel(dir)
      const e = await rejection(model.probe({ texts: ["The cat"] }))
      expect(e.missing).toBe("onnx/probe.json")
      expect(e.message).toContain("lists no inputs input_ids")
    })
  }
)
