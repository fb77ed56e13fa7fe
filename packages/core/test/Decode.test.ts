import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { HyperwordRecord } from "../src/Artifacts.ts"
import { decodeJsonlText, decodeJsonText } from "../src/Decode.ts"

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
