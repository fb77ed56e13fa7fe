import { writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { loadModel } from "@hyperwords/models/Model"
import { afterAll, describe, expect, it } from "vitest"
import {
  channels,
  fitSupervised,
  pearson,
  readNorms,
  readSupervised,
  ridge,
  supervised,
  zeroShot
} from "../src/Senses.ts"
import { commandProject, removeCommandProjects, runBin, scratchDir } from "./fixtures/cli.ts"
import { modelMissing, testModel } from "./fixtures/models.ts"

const fixtures = resolve(import.meta.dirname, "fixtures")
afterAll(removeCommandProjects)

describe("norms and ridge", () => {
  it("maps Lancaster-style columns to channels, motion from foot/leg and torso", () => {
    const norms = readNorms(join(fixtures, "tiny_norms.csv"))
    expect(norms.channels).toEqual(["visual", "auditory", "gustatory", "motion"])
    const run = norms.rows.find((r) => r.word === "run")!
    expect(run.values[3]).toBeCloseTo((4.8 + 3.9) / 2)
  })

  it("ridge recovers a linear map", () => {
    const xs = Array.from({ length: 60 }, (_, i) => [Math.sin(i), Math.cos(i * 1.3), (i % 7) / 7])
    const ys = xs.map((x) => [2 * x[0]! - x[1]! + 0.5, x[2]!])
    const fit = ridge(xs, ys, 1e-6)
    const pred = xs.map((x) =>
      fit.weights.map(
        (w, k) => fit.bias[k]! + x.reduce((s, v, j) => s + ((v - fit.mean[j]!) / fit.scale[j]!) * w[j]!, 0)
      )
    )
    expect(
      pearson(
        pred.map((p) => p[0]!),
        ys.map((y) => y[0]!)
      )
    ).toBeGreaterThan(0.999)
  })
})

const missing = modelMissing()

describe.skipIf(missing !== undefined)(
  `the estimator on ${testModel} (${missing ?? "model present"})`,
  { timeout: 900_000 },
  () => {
    it("zero-shot: taste words taste, sound words sound; same input, same profile", async () => {
      const model = await loadModel(testModel)
      const est = zeroShot(model)
      const [honey, thunder] = await est.profiles(["honey", "thunder"], "en")
      expect(Object.keys(honey!).sort()).toEqual([...channels].sort())
      expect(honey!.gustatory).toBeGreaterThan(thunder!.gustatory)
      expect(thunder!.auditory).toBeGreaterThan(honey!.auditory)
      const [again] = await zeroShot(model).profiles(["honey"], "en")
      expect(again).toEqual(honey)
    })

    it("supervised: fitted on some words, saved as JSON, tested on others", async () => {
      const model = await loadModel(testModel)
      const norms = readNorms(join(fixtures, "tiny_norms.csv"))
      const test = new Set(["wine", "flute", "climb", "duty", "echo", "lemon", "march"])
      const train = { channels: norms.channels, rows: norms.rows.filter((r) => !test.has(r.word)) }
      const fitted = await fitSupervised(model, train, { source: "tiny_norms.csv" })
      const file = join(scratchDir("ridge-"), "senses.json")
      writeFileSync(file, JSON.stringify(fitted))
      const est = supervised(model, readSupervised(file), zeroShot(model))
      const held = norms.rows.filter((r) => test.has(r.word))
      const profiles = await est.profiles(
        held.map((r) => r.word),
        "en"
      )
      expect(train.rows.some((r) => test.has(r.word))).toBe(false)
      // a channel the norms lack comes from the zero-shot estimator
      expect(Number.isFinite(profiles[0]!.olfactory)).toBe(true)
      const k = norms.channels.indexOf("gustatory")
      expect(
        pearson(
          profiles.map((p) => p.gustatory),
          held.map((r) => r.values[k]!)
        )
      ).toBeGreaterThan(0.3)
    })

    it("hyperwords senses --json through the real bin", () => {
      const dir = commandProject()
      const r = runBin(dir, ["senses", "--json", "--model", testModel, "honey", "warm soft fur"])
      expect(r.status, r.stderr).toBe(0)
      // one document: a profile per input, keyed by channel
      const doc = JSON.parse(r.stdout) as { model: string; profiles: Array<Record<string, unknown>> }
      expect(doc.model).toBe(testModel)
      const lines = doc.profiles
      expect(lines.map((l) => l.input)).toEqual(["honey", "warm soft fur"])
      for (const c of channels) expect(typeof lines[0]![c]).toBe("number")
      const table = runBin(dir, ["senses", "--model", testModel, "honey"])
      expect(table.stdout).toContain("gustat")
    })

    it("hyperwords senses --norms fits on a norms file", () => {
      const dir = commandProject()
      const r = runBin(dir, [
        "senses",
        "--json",
        "--model",
        testModel,
        "--norms",
        join(fixtures, "tiny_norms.csv"),
        "cake"
      ])
      expect(r.status, r.stderr).toBe(0)
      expect(JSON.parse(r.stdout).profiles[0].input).toBe("cake")
    })
  }
)
