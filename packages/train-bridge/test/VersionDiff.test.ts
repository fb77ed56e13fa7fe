import { describe, expect, it } from "@effect/vitest"
import { diffTable, diffVersions } from "../src/VersionDiff.ts"

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
