/**
 * Hashing: canonical JSON (sorted keys) for structured values, and streaming sha256 of files
 * with large reads so hashing keeps up with `sha256sum`.
 */
import { createHash } from "node:crypto"
import { closeSync, openSync, readSync } from "node:fs"

/** JSON with object keys sorted at every depth and `undefined` members dropped. */
export const canonicalJson = (value: unknown): string => JSON.stringify(sortKeys(value))

const sortKeys = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key]
      if (v !== undefined) out[key] = sortKeys(v)
    }
    return out
  }
  return value
}

/** Hex sha256 of a string or bytes. */
export const sha256 = (data: string | Uint8Array): string => createHash("sha256").update(data).digest("hex")

/** Hex sha256 of the canonical JSON of a value. */
export const hashValue = (value: unknown): string => sha256(canonicalJson(value))

const CHUNK = 4 * 1024 * 1024

/** Hex sha256 and size of a file, read in 4 MiB chunks. */
export const hashFileSync = (path: string): { readonly sha256: string; readonly bytes: number } => {
  const hash = createHash("sha256")
  const buffer = Buffer.allocUnsafe(CHUNK)
  const fd = openSync(path, "r")
  let bytes = 0
  try {
    for (;;) {
      const n = readSync(fd, buffer, 0, CHUNK, null)
      if (n === 0) break
      hash.update(n === CHUNK ? buffer : buffer.subarray(0, n))
      bytes += n
    }
  } finally {
    closeSync(fd)
  }
  return { sha256: hash.digest("hex"), bytes }
}
