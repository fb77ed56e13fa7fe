/**
 * `hyperwords probe WORD --json` through the real bin on the tiny random Llama: per model a row
 * per layer with numbers, and the report's path, as one document.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { tinyMissing, tinyModel } from "./fixtures/tiny.ts"

const packageDir = resolve(import.meta.dirname, "..")
const bin = resolve(packageDir, "..", "core", "bin", "hyperwords.ts")
const made: Array<string> = []
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** A project whose config registers the probe command. */
const project = (): string => {
  const root = join(packageDir, "test", ".tmp")
  mkdirSync(root, { recursive: true })
  const dir = mkdtempSync(join(root, "cli-"))
  made.push(dir)
  writeFileSync(
    join(dir, "pipeline.config.ts"),
    `import { defineConfig } from ${JSON.stringify(resolve(packageDir, "..", "core", "src", "index.ts"))}
import { probeCommands } from ${JSON.stringify(join(packageDir, "src", "Commands.ts"))}
export default defineConfig({ stages: [], params: {}, commands: [...probeCommands] })
`
  )
  return dir
}

const run = (dir: string, args: ReadonlyArray<string>) =>
  spawnSync(process.execPath, [bin, ...args], {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, CI: "1" }
  })

describe("hyperwords probe --json", async () => {
  const missing = await tinyMissing()

  it.skipIf(missing !== undefined)("a row per layer and the report, as one document", async () => {
    const model = await tinyModel("llama")
    const dir = project()
    const r = run(dir, [
      "probe",
      "--model",
      model,
      "--parts",
      "warm,lap",
      "--out",
      "out",
      "--json",
      "warmlap"
    ])
    expect(r.status, r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc).toMatchObject({ word: "warmlap", parts: ["warm", "lap"], lang: "en", png: [] })
    expect(doc.report).toBe(join(dir, "out", "report.html"))
    expect(existsSync(doc.report)).toBe(true)
    expect(doc.runs).toHaveLength(1)
    const run0 = doc.runs[0]
    expect(run0.label).toBe("model")
    expect(typeof run0.seconds).toBe("number")
    // 3 layers of the tiny model: rows 0..3
    expect(run0.numLayers).toBe(3)
    expect(run0.layers.map((l: { layer: number }) => l.layer)).toEqual([0, 1, 2, 3])
    for (const l of run0.layers) {
      for (const k of ["norm", "p", "assemblyPhrase", "assemblyParts"]) expect(typeof l[k]).toBe("number")
      expect(typeof l.lensTop).toBe("string")
    }
  })

  it("a word that is only spaces: the error document, exit 1", () => {
    const r = run(project(), ["probe", "--json", "  "])
    expect(r.status).toBe(1)
    expect(JSON.parse(r.stdout)).toEqual({ error: { message: "probe needs a word", code: "UsageError" } })
  })
})
