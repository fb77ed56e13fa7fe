import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { readTable, sniffDelimiter } from "../src/CsvTable.ts"
import { readNorms } from "../src/Senses.ts"

const dir = mkdtempSync(join(tmpdir(), "hw-csv-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const file = (name: string, text: string) => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

describe("table files with a header row", () => {
  it("read the delimiter from the header line", () => {
    expect(sniffDelimiter("Word\tVisual.mean")).toBe("\t")
    expect(sniffDelimiter("word;visual")).toBe(";")
    expect(sniffDelimiter("word,visual;note")).toBe(",")
  })

  it("read CSV, TSV and semicolon files alike, a byte-order mark dropped, columns found in any case", () => {
    const rows = [
      ["csv", '\uFEFFWord,IMAG_M\ncat,6.1\n\ndog,"5.9"\n'],
      ["tsv", "Word\tIMAG_M\ncat\t6.1\ndog\t5.9\n"],
      ["semi", "Word;IMAG_M\ncat;6.1\ndog;5.9\n"]
    ] as const
    for (const [name, text] of rows) {
      const t = readTable(file(`${name}.txt`, text))
      expect(t.header).toEqual(["Word", "IMAG_M"])
      expect(t.column("word")).toBe("Word")
      expect(t.column("imag_m")).toBe("IMAG_M")
      expect(t.column("absent")).toBeUndefined()
      expect(t.records.map((r) => [r.Word, Number(r.IMAG_M)])).toEqual([
        ["cat", 6.1],
        ["dog", 5.9]
      ])
    }
  })

  it("serve the sensory norms reader (the models package's readNorms)", () => {
    const norms = readNorms(
      file("lancaster.tsv", "Word\tVisual.mean\tAuditory.mean\nКот\t4.5\t2.0\nкот\t1\t1\n")
    )
    expect(norms.channels).toEqual(["visual", "auditory"])
    expect(norms.rows).toHaveLength(1) // a repeated word keeps its first row
    expect(norms.rows[0]!.word).toBe("кот")
  })
})
