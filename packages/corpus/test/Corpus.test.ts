import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { detectLang, readCorpus } from "../src/Corpus.ts"
import { fixture } from "./fixtures/paths.ts"

const read = (paths: ReadonlyArray<string>, options = {}) => Effect.runPromise(readCorpus(paths, options))

describe("readCorpus", () => {
  it("reads JSONL records with a doc id, author and title, and poem line numbers", async () => {
    const c = await read([fixture("ru_poems.jsonl")])
    expect(c.poems).toHaveLength(4)
    const first = c.poems[0]!
    expect(first.doc).toBe("ru_poems.jsonl#1 test/Кошка")
    expect(first.lang).toBe("ru")
    expect(first.lines[1]).toEqual({ line: 2, text: "кошка шла вкусно есть." })
    expect(c.files[0]!.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(c.skipped).toEqual([])
  })

  it("reads a JSON array, detecting the `content` field", async () => {
    const c = await read([fixture("ru_poems.json")])
    expect(c.poems.map((p) => p.doc)).toEqual(["ru_poems.json#1 test/Окно", "ru_poems.json#2 test/Чай"])
  })

  it("reads CSV with quoted multi-line fields, commas and escaped quotes", async () => {
    const c = await read([fixture("en_poems.csv")])
    expect(c.poems).toHaveLength(3)
    expect(c.poems[0]!.doc).toBe("en_poems.csv#1 Test Author/Morning, with Rain")
    expect(c.poems[0]!.lines.map((l) => l.text)).toEqual([
      "Cold rain on the window,",
      "soft light on the floor;",
      'the kettle sings, "come in",',
      "cold rain at the door."
    ])
    expect(c.poems.every((p) => p.lang === "en")).toBe(true)
  })

  it("reads a folder in name order, each text file a document, and lists what it skipped", async () => {
    const c = await read([fixture("folder")])
    expect(c.poems.map((p) => [p.doc, p.lang])).toEqual([
      ["garden.txt", "en"],
      ["river.txt", "ru"]
    ])
    expect(c.skipped).toEqual([{ file: fixture("folder", "notes.md"), reason: "not a corpus file (.md)" }])
  })

  it("takes the text field it is told", async () => {
    const c = await read([fixture("ru_poems.jsonl")], { textField: "title" })
    expect(c.poems[0]!.lines).toEqual([{ line: 1, text: "Кошка" }])
  })

  it("detects the language of a text by its letters", () => {
    expect(detectLang("Белый снег, white snow")).toBe("ru")
    expect(detectLang("Cold rain on the window")).toBe("en")
    expect(detectLang("1812 — !!!")).toBeUndefined()
  })
})
