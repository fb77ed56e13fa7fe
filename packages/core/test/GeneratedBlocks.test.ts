import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { blockMarkers, replaceBlock, writeBlock } from "../src/GeneratedBlocks.ts"

const { open, close } = blockMarkers("board")
const readme = `# title\n\nbefore\n\n${open}\n\n| old | typed |\n\n${close}\n\nafter\n`

const failure = (e: Effect.Effect<unknown, { message: string }>): string => {
  const exit = Effect.runSyncExit(e)
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  return String(exit.cause)
}

describe("generated blocks", () => {
  it("replace only what is between the markers, and are stable on a rerun", () => {
    const once = Effect.runSync(replaceBlock(readme, "README.md", "board", "| new | computed |\n"))
    expect(once).toBe(`# title\n\nbefore\n\n${open}\n\n| new | computed |\n\n${close}\n\nafter\n`)
    expect(Effect.runSync(replaceBlock(once, "README.md", "board", "| new | computed |"))).toBe(once)
  })

  it("refuse a file without the block, with it twice, or closed before it opens, naming file and line", () => {
    expect(failure(replaceBlock("# nothing\n", "docs/README.md", "board", "x"))).toMatch(
      /docs\/README\.md: no generated block "board": put the lines <!-- generated:board --> and <!-- \/generated:board -->/
    )
    expect(failure(replaceBlock(`${readme}\n${open}\n`, "README.md", "board", "x"))).toMatch(
      /README\.md: block "board" is marked more than once \(lines 5, 13\)/
    )
    expect(failure(replaceBlock(`${close}\n\n${open}\n`, "README.md", "board", "x"))).toMatch(
      /README\.md: block "board" closes \(line 1\) before it opens \(line 3\)/
    )
    // a marker quoted inside a line is not a marker
    expect(Effect.runSync(replaceBlock(`see ${open} here\n${readme}`, "README.md", "board", "y"))).toContain(
      `see ${open} here\n`
    )
    // another block's markers are not this one's
    expect(failure(replaceBlock(readme, "README.md", "stage-times", "x"))).toMatch(
      /no generated block "stage-times"/
    )
  })

  it("write the file in place and leave it untouched when it is refused", () => {
    const dir = mkdtempSync(join(tmpdir(), "blocks-"))
    const file = join(dir, "README.md")
    writeFileSync(file, readme)
    Effect.runSync(writeBlock(file, "board", "computed"))
    expect(readFileSync(file, "utf8")).toContain(`${open}\n\ncomputed\n\n${close}\n\nafter`)
    writeFileSync(file, "# no block\n")
    expect(failure(writeBlock(file, "board", "computed"))).toMatch(/no generated block/)
    expect(readFileSync(file, "utf8")).toBe("# no block\n")
    expect(failure(writeBlock(join(dir, "missing.md"), "board", "x"))).toMatch(/missing\.md: ENOENT/)
    rmSync(dir, { recursive: true, force: true })
  })
})

describe("the repository's README", () => {
  it("holds the blocks the commands write (the board and the stage times), each once", () => {
    const text = readFileSync(join(import.meta.dirname, "..", "..", "..", "README.md"), "utf8")
    for (const name of ["board", "stage-times"])
      expect(Effect.runSync(replaceBlock(text, "README.md", name, "x"))).toContain(
        `${blockMarkers(name).open}\n\nx\n\n`
      )
  })
})
