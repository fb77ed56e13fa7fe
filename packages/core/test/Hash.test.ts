import { createHash } from "node:crypto"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { canonicalJson, hashFileSync, hashValue } from "../src/Hash.ts"

describe("Hash", () => {
  it("canonical JSON sorts keys at every depth and drops undefined", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: undefined, x: 0 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,{"x":0,"z":1}]},"b":1}'
    )
    expect(hashValue({ a: 1, b: 2 })).toBe(hashValue({ b: 2, a: 1 }))
    expect(hashValue({ a: 1 })).not.toBe(hashValue({ a: 2 }))
  })
  it("hashes files larger than one read chunk", () => {
    const dir = mkdtempSync(join(tmpdir(), "hw-hash-"))
    const f = join(dir, "x.bin")
    const data = Buffer.alloc(9 * 1024 * 1024 + 17, 3)
    writeFileSync(f, data)
    expect(hashFileSync(f)).toEqual({
      sha256: createHash("sha256").update(data).digest("hex"),
      bytes: data.length
    })
    rmSync(dir, { recursive: true })
  })
})
