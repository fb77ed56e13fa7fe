/**
 * A table file with a header row, as the human norms come: CSV, TSV or semicolon-separated (the
 * delimiter is read from the header line), a UTF-8 byte-order mark dropped, quotes relaxed.
 */
import { readFileSync } from "node:fs"
import { parse } from "csv-parse/sync"

/** The header and the records (column → text) of a table file. */
export interface CsvTable {
  readonly header: ReadonlyArray<string>
  readonly records: ReadonlyArray<Record<string, string>>
  /** The header's name for a column, matched case-insensitively (undefined when absent). */
  readonly column: (name: string) => string | undefined
}

/** The delimiter a header line uses: tab, else `;` when it has no comma, else comma. */
export const sniffDelimiter = (headerLine: string): string =>
  headerLine.includes("\t") ? "\t" : headerLine.includes(";") && !headerLine.includes(",") ? ";" : ","

/** Read a table file with a header row (see the module comment). */
export const readTable = (path: string): CsvTable => {
  const text = readFileSync(path, "utf8").replace(/^\uFEFF/, "")
  const newline = text.indexOf("\n")
  const records = parse(text, {
    delimiter: sniffDelimiter(newline < 0 ? text : text.slice(0, newline)),
    columns: true,
    skip_empty_lines: true,
    relax_quotes: true
  }) as Array<Record<string, string>>
  const header = Object.keys(records[0] ?? {})
  return {
    header,
    records,
    column: (name) => header.find((h) => h.toLowerCase() === name.toLowerCase())
  }
}
