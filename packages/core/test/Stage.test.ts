import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { type LoadedArtifact, readHyperwords, readModelVersion } from "../src/Stage.ts"

const artifact = (lines: ReadonlyArray<string>): { set: LoadedArtifact; cleanup: () => void } => {
  const dir = mkdtempSync(join(tmpdir(), "hw-set-"))
  writeFileSync(join(dir, "poem_hyperwords.jsonl"), `${lines.join("\n")}\n`)
  const set = {
    hash: "h",
    manifest: {} as LoadedArtifact["manifest"],
    data: { file: "poem_hyperwords.jsonl" },
    file: (p: string) => join(dir, p)
  }
  return { set, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

const record = {
  id: "en:moon+light",
  surface: "moonlight",
  lang: "en",
  parts: ["moon", "light"],
  lemmas: [],
  origin: "mined"
}

describe("readHyperwords", () => {
  it("decodes the records of a hyperword set, skipping blank lines", async () => {
    const { set, cleanup } = artifact([JSON.stringify(record), "", JSON.stringify({ ...record, id: "en:x" })])
    const records = await Effect.runPromise(readHyperwords(set))
    cleanup()
    expect(records.map((r) => r.id)).toEqual(["en:moon+light", "en:x"])
  })

  it("names the file and line of a line that is not JSON or not a record", async () => {
    for (const bad of ["{not json", JSON.stringify({ ...record, parts: ["sun"] })]) {
      const { set, cleanup } = artifact([JSON.stringify(record), bad])
      const exit = await Effect.runPromiseExit(readHyperwords(set))
      cleanup()
      expect(Exit.isFailure(exit)).toBe(true)
      expect(String(Exit.isFailure(exit) ? exit.cause : "")).toMatch(/poem_hyperwords\.jsonl:2/)
    }
  })
})

describe("readModelVersion", () => {
  const version = {
    schemaVersion: 1,
    name: "finetune",
    model: { id: "m", revision: "r" },
    architecture: "llama",
    source: { kind: "finetune", detail: "d" },
    files: {}
  }
  const input = (data: unknown): LoadedArtifact => ({
    hash: "h",
    manifest: {} as LoadedArtifact["manifest"],
    data,
    file: (p) => p
  })

  it("gives the version with its folder", async () => {
    const v = await Effect.runPromise(readModelVersion(input({ ...version, dir: "/models/x" }), "model"))
    expect(v.dir).toBe("/models/x")
    expect(v.name).toBe("finetune")
  })

  it("fails naming the input when it is missing, malformed or has no folder", async () => {
    const fail = async (a: LoadedArtifact | undefined) =>
      (await Effect.runPromise(Effect.flip(readModelVersion(a, "base")))).message
    expect(await fail(undefined)).toMatch(/^base: the stage has no such input/)
    expect(await fail(input({ ...version, dir: "/x", schemaVersion: 2 }))).toMatch(/^base/)
    expect(await fail(input(version))).toMatch(/^base: model finetune has no folder/)
  })
})
