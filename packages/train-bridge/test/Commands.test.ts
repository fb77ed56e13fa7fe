/**
 * `hyperwords models list|pull|import --json` through the real bin, in a project whose config
 * registers the models command: the listing as one document, and errors as the error document.
 */
import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { afterAll, describe, expect, it } from "vitest"

const packageDir = resolve(import.meta.dirname, "..")
const bin = resolve(packageDir, "..", "core", "bin", "hyperwords.ts")
const made: Array<string> = []
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** A project whose config registers the models command, with an empty store. */
const project = (): string => {
  const root = join(packageDir, "test", ".tmp")
  mkdirSync(root, { recursive: true })
  const dir = mkdtempSync(join(root, "cli-"))
  made.push(dir)
  writeFileSync(
    join(dir, "pipeline.config.ts"),
    `import { defineConfig } from ${JSON.stringify(resolve(packageDir, "..", "core", "src", "index.ts"))}
import { modelsCommand } from ${JSON.stringify(join(packageDir, "src", "Commands.ts"))}
export default defineConfig({ stages: [], params: {}, commands: [modelsCommand] })
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

describe("hyperwords models --json", () => {
  it("models list: every registered and imported model with its state", () => {
    const dir = project()
    // an import that stopped half way: named, with what it misses
    const unfinished = join(dir, ".hyperwords", "models", "my-llama")
    mkdirSync(unfinished, { recursive: true })
    writeFileSync(join(unfinished, ".import-source.json"), JSON.stringify({ source: "/models/my-llama" }))
    const r = run(dir, ["models", "list", "--json"])
    expect(r.status, r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.store).toBe(join(dir, ".hyperwords"))
    expect(doc.models.map((m: { name: string; kind: string }) => `${m.name}:${m.kind}`)).toEqual([
      "gemma-3-270m:registered",
      "smollm2-135m:registered",
      "my-llama:imported"
    ])
    expect(doc.models[0]).toEqual({
      name: "gemma-3-270m",
      kind: "registered",
      ready: false,
      missing: ["everything"],
      revision: null,
      modelType: null,
      dir: join(dir, ".hyperwords", "models", "gemma-3-270m"),
      source: null
    })
    expect(doc.models[2]).toMatchObject({ ready: false, source: "/models/my-llama", revision: null })
    expect(doc.models[2].missing.length).toBeGreaterThan(0)
  })

  it("models pull and import: a refused name or folder is the error document, exit 1", () => {
    const dir = project()
    const pull = run(dir, ["models", "pull", "no-such-model", "--json"])
    expect(pull.status).toBe(1)
    expect(JSON.parse(pull.stdout)).toEqual({
      error: {
        message: 'no registered model "no-such-model"; registered: gemma-3-270m, smollm2-135m',
        code: "UsageError"
      }
    })
    expect(pull.stderr).toMatch(/^error: no registered model/m)
    const missing = join(dir, "no-such-folder")
    const imported = run(dir, ["models", "import", missing, "--json"])
    expect(imported.status).toBe(1)
    expect(JSON.parse(imported.stdout).error.message).toContain(`${missing} is not a folder`)
  })
})
