import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { builtinPromptSet, loadPromptSet, promptSetFile, quotedLines } from "../src/PromptSet.ts"

const dir = mkdtempSync(join(tmpdir(), "hw-prompts-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("prompt set files", () => {
  it("an absolute promptSet path is used as it is; a relative one resolves against the project", async () => {
    const own = join(dir, "own.json")
    copyFileSync(builtinPromptSet, own)
    const project = join(dir, "project")
    expect(promptSetFile(project, own)).toBe(own)
    expect(promptSetFile(project, "prompts/x.json")).toBe(join(project, "prompts", "x.json"))
    expect(promptSetFile(project, undefined)).toBe(builtinPromptSet)
    const loaded = await Effect.runPromise(loadPromptSet(promptSetFile(project, own)))
    expect(loaded.set.prompts.length).toBeGreaterThan(0)
  })

  it("a prompt set that is not UTF-8 fails naming the file and line, in both readers", async () => {
    const bad = join(dir, "latin1.json")
    writeFileSync(
      bad,
      Buffer.from(
        '{"id":"x","version":"1",\n"prompts":[{"id":"a","lang":"en","task":"continue-line","prompt":"caf\xe9"}]}',
        "latin1"
      )
    )
    const exit = await Effect.runPromiseExit(loadPromptSet(bad))
    expect(String(exit)).toContain(`${bad}:2: not valid UTF-8`)
    expect(() => quotedLines(bad)).toThrow(`${bad}:2: not valid UTF-8`)
  })
})
