/**
 * Decoding files against schemas with errors that name the file, the line (for JSONL) and the
 * field, e.g. `data/poems.jsonl:12: field parts[1]: Expected string, got 3`.
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync } from "node:fs"
import { Effect, Result, Schema, SchemaIssue } from "effect"
import { DecodeError } from "./Errors.ts"

type Decodable<A> = Schema.Codec<A, unknown, never, never>

const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("")

const valueAt = (value: unknown, path: ReadonlyArray<PropertyKey>): unknown => {
  let cur: unknown = value
  for (const p of path) {
    if (cur === null || typeof cur !== "object") return undefined
    cur = (cur as Record<PropertyKey, unknown>)[p]
  }
  return cur
}

const preview = (u: unknown): string => {
  const s = JSON.stringify(u)
  if (s === undefined) return "nothing"
  return s.length > 60 ? `${s.slice(0, 57)}...` : s
}

/** Decode a value; on failure a DecodeError for the first issue, naming `file`, `line` and the field. */
export const decodeValue = <A>(
  schema: Decodable<A>,
  value: unknown,
  where: { readonly file: string; readonly line?: number }
): Result.Result<A, DecodeError> => {
  const result = Schema.decodeUnknownResult(schema)(value)
  if (Result.isSuccess(result)) return Result.succeed(result.success)
  const failure = result.failure as { issue?: SchemaIssue.Issue }
  const formatted = failure.issue ? SchemaIssue.makeFormatterStandardSchemaV1()(failure.issue) : undefined
  const first = formatted?.issues[0]
  const path = (first?.path ?? []).map((p) => (typeof p === "object" && p !== null && "key" in p ? p.key : p))
  const got = valueAt(value, path as ReadonlyArray<PropertyKey>)
  const detail = first
    ? `${first.message}${path.length === 0 || /, got /.test(first.message) ? "" : `, got ${preview(got)}`}`
    : String(result.failure)
  return Result.fail(
    new DecodeError({
      file: where.file,
      ...(where.line === undefined ? {} : { line: where.line }),
      field: formatPath(path as ReadonlyArray<PropertyKey>),
      detail
    })
  )
}

const parseJson = (
  text: string,
  where: { file: string; line?: number }
): Result.Result<unknown, DecodeError> => {
  try {
    return Result.succeed(JSON.parse(text))
  } catch (e) {
    return Result.fail(
      new DecodeError({
        file: where.file,
        ...(where.line === undefined ? {} : { line: where.line }),
        detail: `not valid JSON (${(e as Error).message})`
      })
    )
  }
}

/** Decode JSON text (the contents of `file`) against a schema. */
export const decodeJsonText = <A>(
  schema: Decodable<A>,
  text: string,
  file: string
): Result.Result<A, DecodeError> =>
  Result.flatMap(parseJson(text, { file }), (u) => decodeValue(schema, u, { file }))

/** Read and decode a JSON file. */
export const decodeJsonFile = <A>(schema: Decodable<A>, file: string): Effect.Effect<A, DecodeError> =>
  Effect.flatMap(readText(file), (text) => Effect.fromResult(decodeJsonText(schema, text, file)))

/**
 * The largest text file hyperwords reads (corpora, prompt sets, texts to score, JSON and JSONL
 * documents): 256 MiB. Larger files are refused before they are read; split them.
 */
export const maxTextFileBytes = 256 * 1024 * 1024

const mb = (bytes: number): string => `${Math.round(bytes / (1024 * 1024))} MB`

/**
 * Whether a path can be read as a text file: a regular file (FIFOs, devices and sockets block or
 * never end) no larger than `maxTextFileBytes`. Returns the reason it cannot, or undefined.
 */
export const textFileProblem = (file: string): string | undefined => {
  let st: ReturnType<typeof statSync>
  try {
    st = statSync(file)
  } catch (e) {
    return `cannot read (${(e as NodeJS.ErrnoException).code ?? e})`
  }
  return statProblem(st)
}

const statProblem = (st: { isFile(): boolean; isDirectory(): boolean; size: number | bigint }) => {
  if (st.isDirectory()) return "is a folder, not a file"
  if (!st.isFile()) return "not a regular file (a FIFO, device or socket); give a file"
  if (Number(st.size) > maxTextFileBytes)
    return `${mb(Number(st.size))} is over the ${mb(maxTextFileBytes)} a text file may have; split it`
  return undefined
}

/**
 * The bytes of a regular file no larger than `maxTextFileBytes`. It is opened without blocking,
 * so a FIFO named by mistake is refused instead of waiting for a writer forever.
 */
export const readFileBytesSync = (file: string): Result.Result<Uint8Array, DecodeError> => {
  const cannot = (e: unknown) =>
    Result.fail(new DecodeError({ file, detail: `cannot read (${(e as NodeJS.ErrnoException).code ?? e})` }))
  let fd: number
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (e) {
    return cannot(e)
  }
  try {
    const st = fstatSync(fd)
    const problem = statProblem(st)
    if (problem !== undefined) return Result.fail(new DecodeError({ file, detail: problem }))
    const bytes = Buffer.allocUnsafe(st.size)
    let off = 0
    while (off < bytes.length) {
      const n = readSync(fd, bytes, off, bytes.length - off, off)
      if (n === 0) break
      off += n
    }
    return Result.succeed(bytes.subarray(0, off))
  } catch (e) {
    return cannot(e)
  } finally {
    closeSync(fd)
  }
}

/** `readFileBytesSync` as an effect. */
export const readFileBytes = (file: string): Effect.Effect<Uint8Array, DecodeError> =>
  Effect.suspend(() => Effect.fromResult(readFileBytesSync(file)))

/** Offset of the first byte that breaks UTF-8, or -1. */
export const invalidUtf8At = (b: Uint8Array): number => {
  let i = 0
  while (i < b.length) {
    const c = b[i]!
    if (c < 0x80) {
      i++
      continue
    }
    const n = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1
    if (n < 0) return i
    for (let k = 1; k <= n; k++) if (i + k >= b.length || (b[i + k]! & 0xc0) !== 0x80) return i
    i += n + 1
  }
  return -1
}

/** The 1-based line of a byte offset. */
export const lineAtOffset = (bytes: Uint8Array, offset: number): number => {
  let line = 1
  for (let i = 0; i < offset && i < bytes.length; i++) if (bytes[i] === 0x0a) line++
  return line
}

/** How to read a text file: its encoding (strict UTF-8 when absent) and what to tell the user when it is not. */
export interface TextOptions {
  /** A WHATWG encoding label (`latin1`, `windows-1251`, `utf-16le`); decoding is strict. */
  readonly encoding?: string | undefined
  /** Appended to the error for bytes that are not UTF-8, e.g. "or pass --encoding latin1". */
  readonly hint?: string | undefined
}

/**
 * Decode bytes strictly: UTF-8 (a leading BOM dropped) unless `encoding` names another; bytes that
 * do not decode fail naming the file, the line and the byte offset — never U+FFFD in silence.
 */
export const decodeTextBytes = (
  bytes: Uint8Array,
  file: string,
  options: TextOptions = {}
): Result.Result<string, DecodeError> => {
  if (options.encoding !== undefined) {
    let decoder: InstanceType<typeof TextDecoder>
    try {
      decoder = new TextDecoder(options.encoding, { fatal: true })
    } catch {
      return Result.fail(new DecodeError({ file, detail: `unknown encoding "${options.encoding}"` }))
    }
    try {
      return Result.succeed(decoder.decode(bytes))
    } catch (e) {
      return Result.fail(
        new DecodeError({
          file,
          detail: `cannot be decoded as ${options.encoding} (${(e as Error).message})`
        })
      )
    }
  }
  const bad = invalidUtf8At(bytes)
  if (bad >= 0) {
    return Result.fail(
      new DecodeError({
        file,
        line: lineAtOffset(bytes, bad),
        detail:
          `not valid UTF-8 (byte 0x${bytes[bad]!.toString(16)} at offset ${bad}); ` +
          (options.hint ?? "convert it to UTF-8")
      })
    )
  }
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0
  return Result.succeed(new TextDecoder("utf-8").decode(bytes.subarray(start)))
}

/**
 * Read a text file (strict UTF-8, or `options.encoding`); a failure names the file and the reason
 * (ENOENT, not a regular file, over `maxTextFileBytes`, the line and offset of a bad byte).
 */
export const readText = (file: string, options: TextOptions = {}): Effect.Effect<string, DecodeError> =>
  Effect.flatMap(readFileBytes(file), (bytes) => Effect.fromResult(decodeTextBytes(bytes, file, options)))

/** Decode JSONL text line by line (blank lines skipped); the first bad line fails with its number. */
export const decodeJsonlText = <A>(
  schema: Decodable<A>,
  text: string,
  file: string
): Result.Result<Array<A>, DecodeError> => {
  const out: Array<A> = []
  const lines = text.split("\n")
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim()
    if (line === "") continue
    const r = Result.flatMap(parseJson(line, { file, line: i + 1 }), (u) =>
      decodeValue(schema, u, { file, line: i + 1 })
    )
    if (Result.isFailure(r)) return Result.fail(r.failure)
    out.push(r.success)
  }
  return Result.succeed(out)
}

/** Read and decode a JSONL file. */
export const decodeJsonlFile = <A>(
  schema: Decodable<A>,
  file: string
): Effect.Effect<Array<A>, DecodeError> =>
  Effect.flatMap(readText(file), (text) => Effect.fromResult(decodeJsonlText(schema, text, file)))
