import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { diskShortfall, freeBytes } from "../src/ModelDir.ts"

const dir = mkdtempSync(join(tmpdir(), "hw-modeldir-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("disk space before a pull", () => {
  it("reads the free space of a folder not made yet from its nearest existing parent", () => {
    const free = freeBytes(dir)
    expect(free).toBeGreaterThan(0)
    expect(Math.abs(freeBytes(join(dir, "models", "gemma-3-270m")) - free)).toBeLessThan(1e8)
  })

  it("says nothing when the bytes fit", () => {
    expect(diskShortfall(dir, 1_000, "pull x")).toBe("")
  })

  it("names the folder, the need and the free space when they do not", () => {
    const target = join(dir, "models", "gemma-3-270m")
    const message = diskShortfall(target, freeBytes(dir) + 1e12, "pull gemma-3-270m")
    expect(message).toContain("not enough disk space to pull gemma-3-270m")
    expect(message).toContain(target)
    expect(message).toMatch(/about [\d.]+ GB is needed in .*, [\d.]+ GB is free there/)
  })
})
