import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import { describe, expect, it } from "vitest"

// The repository's README: written partly by commands (generated blocks), partly by hand. A block
// once pasted twice went unnoticed across sessions, with stale figures in its copy.
const readme = readFileSync(resolve(import.meta.dirname, "..", "..", "..", "README.md"), "utf8")

describe("README", () => {
  it("has each heading once", () => {
    const headings = readme.split("\n").filter((l) => /^#{1,4} /.test(l))
    expect(headings.filter((h, i) => headings.indexOf(h) !== i)).toEqual([])
  })

  it("repeats no paragraph", () => {
    const paragraphs = readme
      .split(/\n\s*\n/)
      .map((p) => p.trim())
      .filter((p) => p.length >= 120)
    expect(paragraphs.filter((p, i) => paragraphs.indexOf(p) !== i).map((p) => p.slice(0, 80))).toEqual([])
  })
})
