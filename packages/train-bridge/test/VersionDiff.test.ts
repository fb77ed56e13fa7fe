import { createHash } from "node:crypto"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { diffTable, diffVersions, folderHashes } from "../src/VersionDiff.ts"

const version = (revision: string, files: Record<string, string>) => ({ model: { revision }, files })

describe("two versions file by file", () => {
  it("match when the revision and every file's sha256 match", () => {
    const a = version("r1", { "model.safetensors": "aa", "tokenizer.json": "bb" })
    const d = diffVersions(a, version("r1", { "tokenizer.json": "bb", "model.safetensors": "aa" }))
    expect(d.same).toBe(true)
    expect(d.rows.map((r) => r.file)).toEqual(["model.safetensors", "tokenizer.json"])
  })

  it("differ on one changed file, a file one side lacks, another revision, or no files at all", () => {
    const a = version("r1", { "model.safetensors": "aa", "onnx/model.onnx": "cc" })
    const changed = diffVersions(a, version("r1", { "model.safetensors": "aa", "onnx/model.onnx": "cd" }))
    expect(changed.same).toBe(false)
    expect(changed.rows.find((r) => !r.same)?.file).toBe("onnx/model.onnx")
    const missing = diffVersions(a, version("r1", { "model.safetensors": "aa" }))
    expect(missing.same).toBe(false)
    expect(missing.rows.find((r) => r.file === "onnx/model.onnx")).toEqual({
      file: "onnx/model.onnx",
      a: "cc",
      same: false
    })
    expect(diffVersions(a, version("r2", a.files))).toMatchObject({ same: false, revisionSame: false })
    expect(diffVersions(version("r", {}), version("r", {})).same).toBe(false)
  })

  it("prints a Markdown table with a row per file, whole hashes where they differ", () => {
    const d = diffVersions(
      version("r", { x: "0123456789abcdef", y: "0123456789abcdef" }),
      version("r", { x: "0123456789abcdee", y: "0123456789abcdef" })
    )
    expect(diffTable(d, ["local", "Ray"])).toBe(
      "| file | local sha256 | Ray sha256 | same |\n|---|---|---|---|\n" +
        "| x | 0123456789abcdef | 0123456789abcdee | **no** |\n| y | 0123456789ab | 0123456789ab | yes |"
    )
  })
})

describe("a model folder's files", () => {
  it("a model card is compared without the times it was written", async () => {
    const [a, b] = [mkdtempSync(join(tmpdir(), "hw-card-")), mkdtempSync(join(tmpdir(), "hw-card-"))]
    try {
      const card = (created: string, sha: string) =>
        JSON.stringify({ name: "v", files: { x: { sha256: sha } }, source: { created } })
      writeFileSync(join(a, "hyperwords-model.json"), card("2026-12-06T14:40:14+00:00", "aa"))
      writeFileSync(join(b, "hyperwords-model.json"), card("2026-12-06T14:43:51+00:00", "aa"))
      expect(await folderHashes(a)).toEqual(await folderHashes(b))
      writeFileSync(join(b, "hyperwords-model.json"), card("2026-12-06T14:43:51+00:00", "ab"))
      expect(await folderHashes(a)).not.toEqual(await folderHashes(b))
    } finally {
      for (const d of [a, b]) rmSync(d, { recursive: true, force: true })
    }
  })

  it("are every file under it, nested ones by their relative path, with their sha256", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hw-folder-"))
    try {
      mkdirSync(join(dir, "onnx"))
      writeFileSync(join(dir, "config.json"), "{}")
      writeFileSync(join(dir, "onnx", "model.onnx"), Buffer.from([0, 1, 2]))
      const sha = (b: string | Buffer) => createHash("sha256").update(b).digest("hex")
      expect(await folderHashes(dir)).toEqual({
        "config.json": sha("{}"),
        "onnx/model.onnx": sha(Buffer.from([0, 1, 2]))
      })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
