/**
 * Parity with PyTorch on the real weights (smollm2-135m, gemma-3-270m), ONNX fp32:
 *  - the tokenizer gives PyTorch's ids;
 *  - greedy decoding of 32 tokens gives PyTorch's ids;
 *  - the probe graph's hidden states match PyTorch's within 1e-4 relative per layer
 *    (max |diff| over the layer's max |value|), for the four prompts run as one padded batch;
 *  - the logit lens top-1 agrees with PyTorch's at >= 99% of (layer, position) pairs.
 * Skipped, with the reason, when a model directory, its ONNX exports or the bridge venv is absent.
 * The figures are printed and written to test/.tmp/parity-<model>.json.
 */
import { existsSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { loadModel, type Model } from "../src/Model.ts"
import { resolveModelDir } from "../src/ModelDir.ts"
import { view } from "../src/Probe.ts"
import { bridgeMissing, type ReferencePrompt, tmpDir, torchReferenceFor } from "./fixtures/bridge.ts"

const prompts = [
  "The old cat sat on the warm windowsill and watched",
  "Кошка мурчит на тёплом подоконнике, а за окном",
  "In the evening the river smelled of rain and",
  "Ветер над рекой гонит холодные листья, и"
]
const newTokens = 32

const whyMissing = (name: string): string | undefined => {
  const bridge = bridgeMissing()
  if (bridge) return bridge
  const dir = resolveModelDir(name)
  for (const f of ["config.json", "onnx/model.onnx", "onnx/probe.onnx", "onnx/probe.json"]) {
    if (!existsSync(join(dir, f))) {
      return `${join(dir, f)} is absent; make it with: pnpm hyperwords models pull ${name}`
    }
  }
  return undefined
}

interface Figures {
  model: string
  greedyEqual: Array<boolean>
  firstDivergence: Array<{ step: number; torchMargin: number } | null>
  hiddenMaxRelDiffPerLayer: Array<number>
  hiddenMaxRelDiff: number
  lensTop1Agreement: number
}

for (const name of ["smollm2-135m", "gemma-3-270m"]) {
  const missing = whyMissing(name)
  describe.skipIf(missing !== undefined)(
    `parity with PyTorch: ${name} (${missing ?? "weights present"})`,
    () => {
      let model: Model
      let reference: { numLayers: number; prompts: ReadonlyArray<ReferencePrompt> }
      const figures: Figures = {
        model: name,
        greedyEqual: [],
        firstDivergence: [],
        hiddenMaxRelDiffPerLayer: [],
        hiddenMaxRelDiff: 0,
        lensTop1Agreement: 0
      }

      beforeAll(async () => {
        model = await loadModel(name)
        reference = torchReferenceFor(model.dir, prompts, newTokens)
      }, 1_200_000)

      it("tokenizes like transformers", () => {
        for (const p of reference.prompts) expect(model.encode(p.text)).toEqual(p.input_ids)
      })

      it(`greedy decoding of ${newTokens} tokens gives PyTorch's ids`, { timeout: 600_000 }, async () => {
        for (const p of reference.prompts) {
          const g = await model.generate(p.input_ids, { maxNewTokens: newTokens, stopAtEos: false })
          const step = g.ids.findIndex((id, i) => id !== p.greedy_ids[i])
          figures.greedyEqual.push(step === -1)
          figures.firstDivergence.push(step === -1 ? null : { step, torchMargin: p.greedy_margins[step]! })
        }
        for (const [i, p] of reference.prompts.entries()) {
          expect(
            figures.greedyEqual[i],
            `${p.text}: diverged at ${JSON.stringify(figures.firstDivergence[i])}`
          ).toBe(true)
        }
      })

      it("probe hidden states match within 1e-4 relative per layer; lens top-1 agrees at >= 99%", {
        timeout: 600_000
      }, async () => {
        const r = await model.probe({ ids: reference.prompts.map((p) => p.input_ids) })
        const layers = reference.numLayers + 1
        const perLayer = new Array<number>(layers).fill(0)
        let agree = 0
        let total = 0
        for (const [b, p] of reference.prompts.entries()) {
          const [, t, h] = p.hidden_dims as [number, number, number]
          for (let l = 0; l < layers; l++) {
            let diff = 0
            let scale = 0
            for (let i = 0; i < t; i++) {
              const got = view(r.hiddenStates, l, b, i)
              for (let j = 0; j < h; j++) {
                const want = p.hidden[(l * t + i) * h + j]!
                diff = Math.max(diff, Math.abs(got[j]! - want))
                scale = Math.max(scale, Math.abs(want))
              }
              total++
              if (view(r.lensTopkIds, l, b, i)[0] === p.lens_top1[l]![i]) agree++
            }
            perLayer[l] = Math.max(perLayer[l]!, diff / scale)
          }
        }
        figures.hiddenMaxRelDiffPerLayer = perLayer
        figures.hiddenMaxRelDiff = Math.max(...perLayer)
        figures.lensTop1Agreement = agree / total
        writeFileSync(join(tmpDir, `parity-${name}.json`), `${JSON.stringify(figures, null, 2)}\n`)
        console.log(
          `${name}: greedy equal ${figures.greedyEqual.filter(Boolean).length}/${figures.greedyEqual.length}, ` +
            `hidden max rel diff ${figures.hiddenMaxRelDiff.toExponential(2)}, ` +
            `lens top-1 agreement ${(100 * figures.lensTop1Agreement).toFixed(2)}%`
        )
        expect(figures.hiddenMaxRelDiff).toBeLessThan(1e-4)
        expect(figures.lensTop1Agreement).toBeGreaterThanOrEqual(0.99)
      })
    }
  )
}
