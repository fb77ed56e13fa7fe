import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { CorpusError, readCorpus } from "../src/Corpus.ts"
import { fixture } from "./fixtures/paths.ts"

const tmp = mkdtempSync(join(tmpdir(), "hyperwords-corpus-"))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const failure = async (paths: ReadonlyArray<string>, options = {}): Promise<CorpusError> => {
  const exit = await Effect.runPromiseExit(readCorpus(paths, options))
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const err = exit.cause.reasons.find((r) => r._tag === "Fail")?.error
  expect(err).toBeInstanceOf(CorpusError)
  return err as CorpusError
}

describe("bad input", () => {
  it("malformed JSON lines and records without text are counted skips naming file and line", async () => {
    const file = fixture("bad", "malformed.jsonl")
    const c = await Effect.runPromise(readCorpus([file]))
    expect(c.poems.map((p) => p.doc)).toEqual(["malformed.jsonl#1 ?/Good", "malformed.jsonl#4 ?/Also good"])
    expect(c.skipped).toHaveLength(2)
    expect(c.skipped[0]).toMatchObject({ file, line: 2 })
    expect(c.skipped[0]!.reason).toMatch(/^not valid JSON/)
    expect(c.skipped[1]).toMatchObject({ file, line: 3 })
    expect(c.skipped[1]!.reason).toContain("has no text field (tried text, content, poem_text")
  })

  it("cp1251 bytes fail with the file, the line and a hint; the encoding param reads them", async () => {
    const file = fixture("bad", "cp1251.txt")
    const err = await failure([file])
    expect(err.message).toMatch(/cp1251\.txt:1: not valid UTF-8 \(byte 0x[0-9a-f]+ at offset 0\)/)
    // the hint names the flag the pipeline has, not only a config param
    expect(err.message).toContain("pass --encoding windows-1251")
    const c = await Effect.runPromise(readCorpus([file], { encoding: "windows-1251" }))
    expect(c.poems[0]!.lines[1]!.text).toBe("кошка шла вкусно есть.")
    // an encoding for one corpus leaves the others strict UTF-8
    const both = await Effect.runPromise(
      readCorpus([file, fixture("ru_poems.jsonl")], { encodings: { [file]: "windows-1251" } })
    )
    expect(both.poems[0]!.lines[1]!.text).toBe("кошка шла вкусно есть.")
    expect(both.poems.some((p) => p.doc.startsWith("ru_poems.jsonl#1"))).toBe(true)
  })

  it("a FIFO or a device is refused at once instead of blocking the read", async () => {
    const fifo = join(tmp, "poems.txt")
    execFileSync("mkfifo", [fifo])
    const err = await failure([fifo])
    expect(err.message).toContain(`${fifo}: not a regular file`)
    const zero = await failure(["/dev/zero"])
    expect(zero.message).toContain("/dev/zero: not a regular file")
  })

  it("UTF-16 with a byte-order mark is read; without one it fails with a hint", async () => {
    const c = await Effect.runPromise(readCorpus([fixture("bad", "utf16.txt")]))
    expect(c.poems[0]!.lines[0]!.text).toBe("Белый снег лежит на поле,")
    const err = await failure([fixture("bad", "utf16-nobom.txt")])
    expect(err.message).toContain("utf16-nobom.txt: looks like UTF-16 without a byte-order mark")
    expect(err.message).toContain("pass --encoding utf-16le")
  })

  it("an empty corpus fails with a clear error", async () => {
    const err = await failure([fixture("bad", "empty.jsonl")])
    expect(err.message).toMatch(
      /empty\.jsonl: no poems found; skipped: .*empty\.jsonl: no poems in this file/
    )
  })

  it("a binary file fails naming the file and line; inside a folder it is a counted skip", async () => {
    const err = await failure([fixture("bad", "binary.txt")])
    expect(err.message).toMatch(/binary\.txt:1: binary content \(a NUL byte at offset 7\)/)
    const dir = join(tmp, "mixed")
    mkdirSync(dir)
    writeFileSync(join(dir, "a.txt"), "Cold rain on the window.\n")
    writeFileSync(join(dir, "b.txt"), Buffer.from([1, 2, 0, 3, 0x0a, 0]))
    const c = await Effect.runPromise(readCorpus([dir]))
    expect(c.poems).toHaveLength(1)
    expect(c.skipped).toEqual([
      {
        file: join(dir, "b.txt"),
        line: 1,
        reason: "binary content (a NUL byte at offset 2); not a text corpus"
      }
    ])
  })

  it("a 1 MB line is skipped with its reason; the rest of the poem is kept", async () => {
    const file = join(tmp, "long.jsonl")
    const long = "снег ".repeat(210_000)
    const good = { title: "Good", text: "Белый снег лежит на поле,\nкошка шла." }
    writeFileSync(
      file,
      `${JSON.stringify({ title: "Long", text: `Первая строка\n${long}\nпоследняя строка` })}\n${JSON.stringify(good)}\n`
    )
    const c = await Effect.runPromise(readCorpus([file]))
    expect(c.poems.map((p) => p.lines.map((l) => l.line))).toEqual([
      [1, 3],
      [1, 2]
    ])
    expect(c.skipped).toHaveLength(1)
    expect(c.skipped[0]).toMatchObject({ file, line: 1 })
    expect(c.skipped[0]!.reason).toMatch(/line 2: 1049999 characters, longer than maxLineChars 2000/)
  })

  it("a missing corpus fails naming it", async () => {
    const err = await failure([join(tmp, "nope.jsonl")])
    expect(err.message).toBe(`${join(tmp, "nope.jsonl")}: no such corpus (ENOENT)`)
  })

  it("a JSON file that is not JSON fails with the line of the error", async () => {
    const file = join(tmp, "broken.json")
    writeFileSync(file, '[\n  {"text": "a"},\n  {"text": }\n]\n')
    const err = await failure([file])
    expect(err.message).toMatch(/broken\.json:3: not valid JSON/)
  })
})
