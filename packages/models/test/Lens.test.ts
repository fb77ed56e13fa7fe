import { execFileSync } from "node:child_process"
import { cpSync, existsSync, rmSync } from "node:fs"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { loadModel, type Model } from "../src/Model.ts"
import { bridgeDir, bridgeMissing, bridgePython, tinyModel } from "./fixtures/bridge.ts"

const missing = bridgeMissing()

describe.skipIf(missing !== undefined)(`the lens at the last token (${missing ?? "bridge present"})`, () => {
  for (const arch of ["llama", "gemma3_text"] as const) {
    describe(arch, () => {
      let plain: Model
      let headed: Model
      const dir = () => join(plain.dir, "..", `${arch}-lens-head`)
      beforeAll(async () => {
        plain = await loadModel(await tinyModel(arch))
        // a copy of the model with its lens head, made as a pull makes it
        rmSync(dir(), { recursive: true, force: true })
        cpSync(plain.dir, dir(), { recursive: true })
        execFileSync(bridgePython, ["-m", "hyperwords_bridge.lens_head", dir()], {
          cwd: bridgeDir,
          stdio: "ignore"
        })
        headed = await loadModel(dir())
        return () => rmSync(dir(), { recursive: true, force: true })
      })

      it("gives the probe graph's lens at each row's last token, through the lens head", async () => {
        expect(existsSync(join(plain.dir, "onnx", "lens.onnx"))).toBe(false)
        expect(await headed.lensGraph()).toBeDefined()
        const ids = [
          plain.encode("The cat sat on the mat"),
          plain.encode("Кошка"),
          plain.encode("warm dusk light")
        ]
        const tracked = [
          [5, 9, 11],
          [3, 4, 5],
          [7, 7, 2]
        ]
        const a = await plain.lensAtLast(ids, tracked)
        const b = await headed.lensAtLast(ids, tracked)
        expect(b.dims).toEqual([plain.config.numLayers + 1, 3, 3])
        expect(a.dims).toEqual(b.dims)
        for (let i = 0; i < a.data.length; i++) expect(b.data[i]!).toBeCloseTo(a.data[i]!, 4)
        // and the probe graph itself at that position, layer by layer
        const full = await plain.probe({ ids: [ids[1]!], tracked: [tracked[1]!] })
        const [layers, , t, k] = full.trackedLogprobs.dims as [number, number, number, number]
        for (let l = 0; l < layers; l++)
          for (let j = 0; j < k; j++)
            expect(b.data[(l * 3 + 1) * 3 + j]!).toBeCloseTo(
              full.trackedLogprobs.data[(l * t + ids[1]!.length - 1) * k + j]!,
              4
            )
      })

      it("refuses tracked rows that do not match the prompts", async () => {
        await expect(headed.lensAtLast([[1, 2]], [])).rejects.toMatchObject({ _tag: "ModelInputError" })
        await expect(headed.lensAtLast([[1, 2]], [[1], [2]])).rejects.toMatchObject({
          _tag: "ModelInputError"
        })
      })
    })
  }
})
