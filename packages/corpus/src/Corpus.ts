/**
 * Reading poetry corpora: JSONL, JSON (an array of objects), CSV (quoted multi-line fields) and
 * folders of `.txt` files, in Russian and English. A `.txt` file is one poem, unless it is a
 * Project Gutenberg text, which `Gutenberg.ts` splits into poems or play scenes. Every poem keeps
 * a document id and the number of each of its lines, for evidence. Problems with one record (a malformed JSON line, a
 * record without text, an overlong line) become counted skips naming the file and line; a file
 * that cannot be read as text at all fails with an error naming the file and line — unless it
 * was found inside a folder, where it is skipped with its reason.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { basename, extname, join, relative } from "node:path"
import { Hash } from "@hyperwords/core"
import { invalidUtf8At, lineAtOffset, readFileBytesSync } from "@hyperwords/core/Decode"
import { parse as parseCsv } from "csv-parse/sync"
import { Effect, Result, Schema } from "effect"
import { isGutenbergText, readGutenberg } from "./Gutenberg.ts"
import type { Lang } from "./SensationSeeds.ts"

/** A line of a poem: its number in the poem (1-based) and its text. */
export interface PoemLine {
  readonly line: number
  readonly text: string
}

/** A poem (or any document) of a corpus. */
export interface Poem {
  /** Where it comes from: `file#record` plus author and title when the record has them. */
  readonly doc: string
  readonly lang: Lang
  readonly lines: ReadonlyArray<PoemLine>
}

/** Something left out of a corpus, and why. */
export interface Skip {
  readonly file: string
  readonly line?: number
  readonly reason: string
}

/** A corpus file that was read, with its content hash. */
export interface SourceFile {
  readonly path: string
  readonly sha256: string
  readonly bytes: number
}

/** A corpus as read: its poems, what was skipped, and the files read. */
export interface Corpus {
  readonly poems: ReadonlyArray<Poem>
  readonly skipped: ReadonlyArray<Skip>
  readonly files: ReadonlyArray<SourceFile>
}

/** How to read corpora. */
export interface ReadOptions {
  /** The field holding a poem's text in JSON, JSONL and CSV records (detected when absent). */
  readonly textField?: string | undefined
  /** Text encoding of every file (`utf-8` with BOM detection when absent), e.g. `windows-1251`. */
  readonly encoding?: string | undefined
  /** Encodings of some of the paths given (files or folders), over `encoding` (`--encoding` for `--corpus`). */
  readonly encodings?: Readonly<Record<string, string>> | undefined
  /** Lines longer than this many characters are skipped: they are not verse. */
  readonly maxLineChars?: number | undefined
  /** Called with the bytes of each file as it is read. */
  readonly onFile?: ((bytes: number) => void) | undefined
}

/** A corpus could not be read; names the file and, where known, the line. */
export class CorpusError extends Schema.TaggedError<CorpusError>()("CorpusError", {
  file: Schema.String,
  line: Schema.optionalKey(Schema.Number),
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.line === undefined ? this.file : `${this.file}:${this.line}`}: ${this.detail}`
  }
}

/** Fields tried, in order, for a record's text when `textField` is not given. */
export const textFieldCandidates = ["text", "content", "poem_text", "poem", "body", "verse", "lyrics"]
const authorFields = ["author_id", "poet_id", "author", "poet"]
const titleFields = ["title", "poem_title", "name"]

/** Default longest line kept, in characters. */
export const defaultMaxLineChars = 2000

const corpusExtensions = new Set([".txt", ".jsonl", ".ndjson", ".json", ".csv"])

/** The manifest a pulled corpus keeps at its root (`hyperwords corpora pull`); not poems. */
export const corpusManifestFile = "corpus.json"

/** Whether a file found in a folder is a pulled corpus's manifest. */
const isManifest = (file: string): boolean => {
  if (basename(file) !== corpusManifestFile) return false
  try {
    const value = JSON.parse(readFileSync(file, "utf8")) as { kind?: unknown }
    return value?.kind === "hyperwords-corpus"
  } catch {
    return false
  }
}

// ---------------------------------------------------------------------------------------------
// decoding bytes

const looksCyrillic = (text: string): boolean => {
  const letters = text.match(/\p{L}/gu)?.length ?? 0
  const cyr = text.match(/\p{Script=Cyrillic}/gu)?.length ?? 0
  return letters > 20 && cyr / letters > 0.6
}

/** Decode a file's bytes: BOMs for UTF-8 and UTF-16, otherwise strict UTF-8 (or `encoding`). */
export const decodeBytes = (
  bytes: Uint8Array,
  file: string,
  encoding?: string
): { readonly text: string } | { readonly error: CorpusError } => {
  const fail = (detail: string, line?: number) => ({
    error: new CorpusError({ file, ...(line === undefined ? {} : { line }), detail })
  })
  if (encoding !== undefined) {
    try {
      return { text: new TextDecoder(encoding, { fatal: true }).decode(bytes) }
    } catch (e) {
      return fail(`cannot be decoded as ${encoding} (${(e as Error).message})`)
    }
  }
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return { text: new TextDecoder("utf-16le").decode(bytes) }
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return { text: new TextDecoder("utf-16be").decode(bytes) }
  const nul = bytes.indexOf(0)
  if (nul >= 0) {
    // UTF-16 text has a high byte of 0x00 (Latin) or 0x04 (Cyrillic) in every other byte
    const head = bytes.subarray(0, Math.min(bytes.length, 4096))
    const highShare = (parity: number): number => {
      let n = 0
      for (let i = parity; i < head.length; i += 2) if (head[i] === 0 || head[i] === 4) n++
      return n / Math.max(1, Math.floor(head.length / 2))
    }
    const le = highShare(1)
    const be = highShare(0)
    if (Math.max(le, be) > 0.9) {
      return fail(
        `looks like UTF-16 without a byte-order mark; re-save it as UTF-8 or pass --encoding utf-16${le > be ? "le" : "be"} (or set the generate stage's encoding param)`
      )
    }
    return fail(`binary content (a NUL byte at offset ${nul}); not a text corpus`, lineAtOffset(bytes, nul))
  }
  const bad = invalidUtf8At(bytes)
  if (bad >= 0) {
    const guess = looksCyrillic(new TextDecoder("windows-1251").decode(bytes.subarray(0, 65536)))
      ? "; it looks like windows-1251 (cp1251): convert it (iconv -f cp1251 -t utf-8) or pass --encoding windows-1251 (or set the generate stage's encoding param)"
      : "; convert it to UTF-8 or pass --encoding with its encoding, e.g. --encoding latin1 (or set the generate stage's encoding param)"
    return fail(
      `not valid UTF-8 (byte 0x${bytes[bad]!.toString(16)} at offset ${bad})${guess}`,
      lineAtOffset(bytes, bad)
    )
  }
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0
  return { text: new TextDecoder("utf-8").decode(bytes.subarray(start)) }
}

// ---------------------------------------------------------------------------------------------
// records to poems

/** The language of a text by its letters: Russian when most are Cyrillic, English when Latin. */
export const detectLang = (text: string): Lang | undefined => {
  const sample = text.length > 20000 ? text.slice(0, 20000) : text
  let cyr = 0
  let lat = 0
  for (const ch of sample) {
    const c = ch.codePointAt(0)!
    if ((c >= 0x0400 && c <= 0x04ff) || c === 0x0451) cyr++
    else if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) lat++
  }
  if (cyr === 0 && lat === 0) return undefined
  return cyr >= lat ? "ru" : "en"
}

interface Collector {
  readonly poems: Array<Poem>
  readonly skipped: Array<Skip>
  readonly maxLineChars: number
}

const addPoem = (c: Collector, doc: string, text: string, where: { file: string; line?: number }): void => {
  const lang = detectLang(text)
  if (lang === undefined) {
    c.skipped.push({ ...where, reason: "no Russian or English text" })
    return
  }
  const lines: Array<PoemLine> = []
  const raw = text.split(/\r\n|\r|\n/)
  for (let i = 0; i < raw.length; i++) {
    const t = raw[i]!.trim()
    if (t === "") continue
    if (t.length > c.maxLineChars) {
      c.skipped.push({
        ...where,
        reason: `${doc} line ${i + 1}: ${t.length} characters, longer than maxLineChars ${c.maxLineChars} (not verse)`
      })
      continue
    }
    lines.push({ line: i + 1, text: t })
  }
  if (lines.length > 0) c.poems.push({ doc, lang, lines })
}

/** A Project Gutenberg text: its poems, or its plays' scenes, each a document. */
const addGutenberg = (c: Collector, text: string, name: string, where: { file: string }): void => {
  for (const d of readGutenberg(text, name).docs) {
    const lang = detectLang(d.lines.map((l) => l.text).join("\n"))
    if (lang === undefined) {
      c.skipped.push({ ...where, reason: `${d.doc}: no Russian or English text` })
      continue
    }
    c.poems.push({ doc: d.doc, lang, lines: d.lines })
  }
}

const pick = (record: Record<string, unknown>, fields: ReadonlyArray<string>): string | undefined => {
  for (const f of fields) {
    const v = record[f]
    if (typeof v === "string" && v.trim() !== "") return v.trim()
  }
  return undefined
}

const addRecord = (
  c: Collector,
  record: unknown,
  n: number,
  name: string,
  where: { file: string; line?: number },
  textField: string | undefined
): void => {
  if (record === null || typeof record !== "object" || Array.isArray(record)) {
    c.skipped.push({ ...where, reason: `record ${n} is not an object` })
    return
  }
  const r = record as Record<string, unknown>
  const fields = textField === undefined ? textFieldCandidates : [textField]
  const value = fields.map((f) => r[f]).find((v) => v !== undefined)
  const text = Array.isArray(value) && value.every((v) => typeof v === "string") ? value.join("\n") : value
  if (typeof text !== "string") {
    c.skipped.push({
      ...where,
      reason:
        value === undefined
          ? `record ${n} has no text field (tried ${fields.join(", ")}; set textField)`
          : `record ${n}: field ${fields.find((f) => r[f] !== undefined)} is not text`
    })
    return
  }
  const author = pick(r, authorFields)
  const title = pick(r, titleFields)
  const label = author !== undefined || title !== undefined ? ` ${author ?? "?"}/${title ?? "?"}` : ""
  addPoem(c, `${name}#${n}${label}`, text, where)
}

/** The line of a JSON syntax error, from the position or the snippet V8 puts in its message. */
const positionLine = (text: string, message: string): number | undefined => {
  const lc = /line (\d+)/.exec(message)
  if (lc) return Number(lc[1])
  const pos = /position (\d+)/.exec(message)
  if (pos) return text.slice(0, Number(pos[1])).split("\n").length
  const snippet = /"(?:\.\.\.)?([\s\S]+?)(?:\.\.\.)?" is not valid JSON/.exec(message)?.[1]
  const at = snippet === undefined ? -1 : text.indexOf(snippet)
  if (at < 0) return undefined
  // the snippet is centred on the error
  return text.slice(0, at + Math.floor(snippet!.length / 2)).split("\n").length
}

const readJsonl = (c: Collector, text: string, file: string, name: string, textField?: string): void => {
  const lines = text.split("\n")
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim()
    if (line === "") continue
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch (e) {
      c.skipped.push({ file, line: i + 1, reason: `not valid JSON (${(e as Error).message})` })
      continue
    }
    addRecord(c, value, i + 1, name, { file, line: i + 1 }, textField)
  }
}

const readJson = (
  c: Collector,
  text: string,
  file: string,
  name: string,
  textField?: string
): CorpusError | undefined => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    const msg = (e as Error).message
    const line = positionLine(text, msg)
    return new CorpusError({
      file,
      ...(line === undefined ? {} : { line }),
      detail: `not valid JSON (${msg.replaceAll("\n", "\\n")}); a file of one JSON object per line should be named .jsonl`
    })
  }
  const records = Array.isArray(value)
    ? value
    : value !== null && typeof value === "object"
      ? (Object.values(value).find(Array.isArray) ?? [value])
      : undefined
  if (records === undefined) return new CorpusError({ file, detail: "expected an array of poem objects" })
  for (const [i, r] of records.entries()) addRecord(c, r, i + 1, name, { file }, textField)
  return undefined
}

const readCsv = (
  c: Collector,
  text: string,
  file: string,
  name: string,
  textField?: string
): CorpusError | undefined => {
  let rows: Array<{ record: Record<string, string>; info: { lines: number } }>
  try {
    rows = parseCsv(text, { columns: true, info: true, bom: true, relax_column_count: true }) as typeof rows
  } catch (e) {
    const err = e as Error & { lines?: number }
    return new CorpusError({
      file,
      ...(err.lines === undefined ? {} : { line: err.lines }),
      detail: `not valid CSV (${err.message})`
    })
  }
  for (const [i, row] of rows.entries()) {
    addRecord(c, row.record, i + 1, name, { file, line: row.info.lines }, textField)
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------
// files and folders

const listFolder = (dir: string): Array<string> => {
  const out: Array<string> = []
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.name.startsWith(".")) continue
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.isFile()) out.push(p)
    }
  }
  walk(dir)
  return out
}

const readOne = (
  c: Collector,
  files: Array<SourceFile>,
  file: string,
  name: string,
  options: ReadOptions,
  encoding: string | undefined
): CorpusError | undefined => {
  const read = readFileBytesSync(file)
  if (Result.isFailure(read)) return new CorpusError({ file, detail: read.failure.detail })
  const bytes = read.success
  options.onFile?.(bytes.length)
  files.push({ path: file, sha256: Hash.sha256(bytes), bytes: bytes.length })
  const decoded = decodeBytes(bytes, file, encoding)
  if ("error" in decoded) return decoded.error
  const text = decoded.text
  switch (extname(file).toLowerCase()) {
    case ".jsonl":
    case ".ndjson":
      readJsonl(c, text, file, name, options.textField)
      return undefined
    case ".json":
      return readJson(c, text, file, name, options.textField)
    case ".csv":
      return readCsv(c, text, file, name, options.textField)
    case ".txt":
      if (isGutenbergText(text)) addGutenberg(c, text, name, { file })
      else addPoem(c, name, text, { file })
      return undefined
    default:
      addPoem(c, name, text, { file })
      return undefined
  }
}

/** Read corpora (files or folders) in the order given, folders in name order. */
export const readCorpus = (
  paths: ReadonlyArray<string>,
  options: ReadOptions = {}
): Effect.Effect<Corpus, CorpusError> =>
  Effect.suspend(() => {
    const c: Collector = {
      poems: [],
      skipped: [],
      maxLineChars: options.maxLineChars ?? defaultMaxLineChars
    }
    const files: Array<SourceFile> = []
    const encodingOf = (path: string) => options.encodings?.[path] ?? options.encoding
    for (const path of paths) {
      let isDir: boolean
      try {
        isDir = statSync(path).isDirectory()
      } catch (e) {
        return Effect.fail(
          new CorpusError({
            file: path,
            detail: `no such corpus (${(e as NodeJS.ErrnoException).code ?? e})`
          })
        )
      }
      if (!isDir) {
        const before = c.poems.length
        const err = readOne(c, files, path, basename(path), options, encodingOf(path))
        if (err) return Effect.fail(err)
        if (c.poems.length === before) c.skipped.push({ file: path, reason: "no poems in this file" })
        continue
      }
      for (const file of listFolder(path)) {
        const name = relative(path, file).split("\\").join("/")
        if (isManifest(file)) continue
        if (!corpusExtensions.has(extname(file).toLowerCase())) {
          c.skipped.push({ file, reason: `not a corpus file (${extname(file) || "no extension"})` })
          continue
        }
        const before = c.poems.length
        const err = readOne(c, files, file, name, options, encodingOf(path))
        if (err)
          c.skipped.push({ file, ...(err.line === undefined ? {} : { line: err.line }), reason: err.detail })
        else if (c.poems.length === before) c.skipped.push({ file, reason: "no poems in this file" })
      }
    }
    if (c.poems.length === 0) {
      const why = c.skipped.length > 0 ? `; skipped: ${c.skipped.slice(0, 3).map(formatSkip).join("; ")}` : ""
      return Effect.fail(
        new CorpusError({ file: paths.join(", ") || "(no corpus)", detail: `no poems found${why}` })
      )
    }
    return Effect.succeed({ poems: c.poems, skipped: c.skipped, files })
  })

/** A skip as one line: `file:line: reason`. */
export const formatSkip = (s: Skip): string =>
  `${s.line === undefined ? s.file : `${s.file}:${s.line}`}: ${s.reason}`
