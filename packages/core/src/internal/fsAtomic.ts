/** Atomic file writes: temp file, fsync, rename, fsync of the directory. */
import { randomBytes } from "node:crypto"
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs"
import { dirname, join } from "node:path"

/** fsync a file or directory by path; directories may refuse on some file systems. */
export const fsyncPath = (path: string): void => {
  let fd: number | undefined
  try {
    fd = openSync(path, "r")
    fsyncSync(fd)
  } catch {
    // some file systems do not allow fsync on a directory; the rename is still atomic
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/** A unique temp path beside `target` (same file system, so the rename is atomic). */
export const tempPathBeside = (target: string): string =>
  join(dirname(target), `.${process.pid}-${randomBytes(6).toString("hex")}.tmp`)

/** Write `data` to `target` so readers see either the old file or the whole new one. */
export const writeFileAtomic = (target: string, data: string | Uint8Array): void => {
  mkdirSync(dirname(target), { recursive: true })
  const tmp = tempPathBeside(target)
  const fd = openSync(tmp, "w")
  try {
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data
    let off = 0
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off)
    fsyncSync(fd)
  } catch (e) {
    closeSync(fd)
    rmSync(tmp, { force: true })
    throw e
  }
  closeSync(fd)
  try {
    renameSync(tmp, target)
  } catch (e) {
    rmSync(tmp, { force: true })
    throw e
  }
  fsyncPath(dirname(target))
}
