/**
 * `hyperwords generate --json` through the real bin on the tiny random Llama: the prompt, the text
 * and its token count as one document; a model that is not there is the error document.
 */
import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { bridgeMissing, packageDir, tinyModel } from "./fixtures/bridge.ts"

const bin = resolve(packageDir, "..", "core", "bin", "hyperwords.ts")
const made: Array<string> = []
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** A project whose config registers the generate command. */
const project = (): string => {
  const root = join(packageDir, "test", ".tmp")
  mkdirSync(root, { recursive: true })
  const dir = mkdtempSync(join(root, "cli-"))
  made.push(dir)
  writeFileSync(
    join(dir, "pipeline.config.ts"),
    `import { defineConfig } from ${JSON.stringify(resolve(packageDir, "..", "core", "src", "index.ts"))}
import { generateCommand } from ${JSON.stringify(join(packageDir, "src", "Commands.ts"))}
export default defineConfig({ stages: [], params: {}, commands: [generateCommand] })
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

describe("hyperwords generate --json", () => {
  const missing = bridgeMissing()

  it.skipIf(missing !== undefined)(
    "prints the prompt, the generated text and its tokens as one document",
    async () => {
      const model = await tinyModel("llama")
      const dir = project()
      const r = run(dir, [
        "generate",
        "--model",
        model,
        "--max-tokens",
        "5",
        "--seed",
        "3",
        "--json",
        "warm dusk"
      ])
      expect(r.status, r.stderr).toBe(0)
      const doc = JSON.parse(r.stdout)
      expect(doc).toMatchObject({ prompt: "warm dusk", maxTokens: 5, sampling: { seed: 3 } })
      expect(typeof doc.model).toBe("string")
      expect(typeof doc.text).toBe("string")
      expect(doc.tokens).toBeGreaterThan(0)
      expect(doc.tokens).toBeLessThanOrEqual(5)
      // the same text the human form prints after the prompt
      const human = run(dir, ["generate", "--model", model, "--max-tokens", "5", "--seed", "3", "warm dusk"])
      expect(human.stdout).toBe(`warm dusk${doc.text}\n`)
    }
  )

  it("a model that is not there: the error document, exit 1", () => {
    const dir = project()
    const r = run(dir, ["generate", "--model", join(dir, "no-such-model"), "--json", "hi"])
    expect(r.status).toBe(1)
    const doc = JSON.parse(r.stdout)
    expect(Object.keys(doc)).toEqual(["error"])
    expect(doc.error.message).toContain("no-such-model")
  })
})
