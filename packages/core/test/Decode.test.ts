import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Result } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { HyperwordRecord } from "../src/Artifacts.ts"
import { decodeJsonlText, decodeJsonText, maxTextFileBytes, readText } from "../src/Decode.ts"

const record = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    id: "ru:кошка+шла",
    surface: "кошкашла",
    lang: "ru",
    parts: ["кошка", "шла"],
    lemmas: ["кошка", "идти"],
    origin: "mined",
    ...over
  })

const failure = (r: Result.Result<unknown, { message: string }>): string => {
  if (Result.isSuccess(r)) throw new Error("expected a failure")
  return r.failure.message
}

describe("Decode", () => {
  it("decodes good JSONL and skips blank lines", () => {
    const r = decodeJsonlText(
      HyperwordRecord,
      `${record()}\n\n${record({ origin: "generated", seed: 7 })}\n`,
      "set.jsonl"
    )
    expect(Result.isSuccess(r) && r.success.length).toBe(2)
  })
  it("names the file, line and field of a bad record", () => {
    expect(
      failure(decodeJsonlText(HyperwordRecord, `${record()}\n${record({ lang: "de" })}`, "set.jsonl"))
    ).toBe('set.jsonl:2: field lang: Expected "ru" | "en", got "de"')
    expect(failure(decodeJsonlText(HyperwordRecord, `${record({ parts: ["кошка", 3] })}`, "set.jsonl"))).toBe(
      "set.jsonl:1: field parts[1]: Expected string, got 3"
    )
  })
  it("refuses parts that do not rebuild the surface", () => {
    expect(
      failure(decodeJsonlText(HyperwordRecord, record({ parts: ["кошка", "шёл"] }), "set.jsonl"))
    ).toContain('do not rebuild "кошкашла"')
  })
  it("names the line of broken JSON", () => {
    expect(failure(decodeJsonlText(HyperwordRecord, `${record()}\n{oops`, "set.jsonl"))).toMatch(
      /^set\.jsonl:2: not valid JSON/
    )
    expect(failure(decodeJsonText(HyperwordRecord, "[", "one.json"))).toMatch(/^one\.json: not valid JSON/)
  })
})

describe("readText", () => {
  const dir = mkdtempSync(join(tmpdir(), "hw-decode-"))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it("refuses bytes that are not UTF-8, naming the file, the line and the byte offset", async () => {
    const file = join(dir, "latin1.txt")
    writeFileSync(file, Buffer.from("first line\ncaf\xe9 au lait\n", "latin1"))
    const exit = await Effect.runPromiseExit(readText(file))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(String(exit)).toContain(`${file}:2: not valid UTF-8 (byte 0xe9 at offset 14)`)
    // with the encoding named, the same bytes read as what they are
    expect(await Effect.runPromise(readText(file, { encoding: "latin1" }))).toBe("first line\ncafé au lait\n")
  })

  it("refuses a FIFO and a device at once instead of blocking on them", async () => {
    const fifo = join(dir, "fifo")
    execFileSync("mkfifo", [fifo])
    for (const file of [fifo, "/dev/zero"]) {
      const exit = await Effect.runPromiseExit(readText(file))
      expect(String(exit)).toContain(`${file}: not a regular file`)
    }
  })

  it(`refuses a file over the cap (${maxTextFileBytes} bytes) before reading it`, async () => {
    const file = join(dir, "huge.txt")
    writeFileSync(file, "")
    truncateSync(file, maxTextFileBytes + 1) // sparse: no disk used
    const exit = await Effect.runPromiseExit(readText(file))
    expect(String(exit)).toMatch(/huge\.txt: \d+ MB is over the \d+ MB a text file may have/)
  })
})
