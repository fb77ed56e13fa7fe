/**
 * Decoding files against schemas with errors that name the file, the line (for JSONL) and the
 * field, e.g. `data/poems.jsonl:12: field parts[1]: Expected string, got 3`.
 */
import { readFileSync } from "node:fs"
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

/** Read a UTF-8 text file; a failure names the file and the reason (ENOENT, EACCES, ...). */
export const readText = (file: string): Effect.Effect<string, DecodeError> =>
  Effect.try({
    try: () => readFileSync(file, "utf8"),
    catch: (e) => new DecodeError({ file, detail: `cannot read (${(e as NodeJS.ErrnoException).code ?? e})` })
  })

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
