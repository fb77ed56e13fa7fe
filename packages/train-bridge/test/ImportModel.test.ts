/**
 * `hyperwords models import` end to end on a tiny random Llama folder built offline
 * (`tests/import_fixtures.py`): the real workers stage it, export its graphs and check parity; the
 * folder then loads with `@hyperwords/models` and generates PyTorch's greedy ids.
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Progress } from "@hyperwords/core/Progress"
import { loadModel, releaseModel } from "@hyperwords/models/Model"
import { Effect, Exit, Layer } from "effect"
import { Bridge } from "../src/Bridge.ts"
import { importedModels, importModel, importName } from "../src/ImportModel.ts"
import { missingFiles, readModelDir, referencesDone } from "../src/ModelDir.ts"
import { pythonProjectDir, venvPython } from "../src/Paths.ts"

const missing = existsSync(venvPython) ? undefined : `the bridge venv is absent (${venvPython})`
const layer = Bridge.layer.pipe(Layer.provide(Layer.mergeAll(NodeServices.layer, Progress.silent)))
const run = <A, E>(e: Effect.Effect<A, E, Bridge>) => Effect.runPromiseExit(e.pipe(Effect.provide(layer)))

describe("import names", () => {
  it("take the folder's name, made safe", () => {
    expect(importName("/models/Qwen2.5-0.5B")).toBe("Qwen2.5-0.5B")
    expect(importName("/x/my model (v2)/")).toBe("my-model-v2")
    expect(importName("/x/.hidden")).toBe("hidden")
  })
})

describe.skipIf(missing !== undefined)(
  `models import on a tiny Llama (${missing ?? "bridge present"})`,
  () => {
    const root = mkdtempSync(join(tmpdir(), "hw-import-"))
    const src = join(root, "My Tiny Llama")
    const store = join(root, "store")
    let dir = ""
    const threads = process.env.OMP_NUM_THREADS
    beforeAll(() => {
      process.env.OMP_NUM_THREADS = "1" // the workers share the machine
      execFileSync(venvPython, ["-m", "tests.import_fixtures", src, "--family", "llama"], {
        cwd: pythonProjectDir,
        env: { ...process.env, HF_HUB_OFFLINE: "1" },
        stdio: ["ignore", "pipe", "pipe"],
        timeout: 300_000
      })
    }, 300_000)
    afterAll(async () => {
      if (dir) await releaseModel(dir)
      if (threads === undefined) delete process.env.OMP_NUM_THREADS
      else process.env.OMP_NUM_THREADS = threads
      rmSync(root, { recursive: true, force: true })
    })

    it("imports, checks parity and writes the card", { timeout: 600_000 }, async () => {
      const exit = await run(importModel(src, store))
      if (!Exit.isSuccess(exit)) throw new Error(String(exit.cause))
      expect(exit.value.name).toBe("My-Tiny-Llama")
      dir = exit.value.dir
      expect(dir).toBe(join(store, "models", "My-Tiny-Llama"))
      expect(missingFiles(dir)).toEqual([])
      const { manifest, config } = readModelDir(dir)
      expect(config.model_type).toBe("llama")
      expect(manifest.source).toMatchObject({ kind: "import", path: src })
      expect(importedModels(store).map((m) => [m.name, m.source])).toEqual([["My-Tiny-Llama", src]])
      // the last step: the graphs read their weights from the folder's model.safetensors
      expect(referencesDone(dir)).toBe(true)
      expect(statSync(join(dir, "onnx", "weights.safetensors")).ino).toBe(
        statSync(join(dir, "model.safetensors")).ino
      )
    })

    it("loads with @hyperwords/models and generates PyTorch's greedy ids", { timeout: 120_000 }, async () => {
      const model = await loadModel(dir)
      const card = JSON.parse(readFileSync(join(dir, "hyperwords-model.json"), "utf8")) as {
        parity: { generation: { torch_greedy_ids: Array<number> } }
      }
      // the text export_onnx.sample_prompt_ids checks with
      const prompt = "The cat sat on the warm windowsill and watched the evening. Кошка мурчит."
      const g = await model.generate(prompt, { maxNewTokens: 8, stopAtEos: false })
      expect(g.ids).toEqual(card.parity.generation.torch_greedy_ids)
      expect(g.text).toBe(model.decode(g.ids))
    })

    it("refuses to replace a complete import without --force, and a registered name", async () => {
      const again = await run(importModel(src, store))
      expect(Exit.isFailure(again) && String(again.cause)).toContain("already holds a complete model")
      const registered = await run(importModel(src, store, { name: "smollm2-135m" }))
      expect(Exit.isFailure(registered) && String(registered.cause)).toContain("is a registered model")
    })

    it("refuses an unsupported architecture with the supported list", { timeout: 300_000 }, async () => {
      const gpt2 = join(root, "gpt2")
      execFileSync(venvPython, ["-m", "tests.import_fixtures", gpt2, "--family", "gpt2"], {
        cwd: pythonProjectDir,
        env: { ...process.env, HF_HUB_OFFLINE: "1" },
        stdio: ["ignore", "pipe", "pipe"],
        timeout: 300_000
      })
      const exit = await run(importModel(gpt2, store))
      const text = Exit.isFailure(exit) ? String(exit.cause) : ""
      expect(text).toContain('model_type "gpt2" (GPT2LMHeadModel) is not supported')
      expect(text).toContain("[unsupported-architecture]")
      for (const family of ["llama", "mistral", "qwen2", "qwen3", "gemma2", "gemma3_text"]) {
        expect(text).toContain(family)
      }
    })
  }
)
