/**
 * Two model versions file by file: what `scripts/ray-parity.ts` reports when it compares the
 * quick profile's fine-tune run locally with the same stage run on a Ray cluster: every file of
 * the two model folders (the merged weights, the tokenizer, the ONNX graphs and their weights)
 * by its sha256, and the revision. The `ModelVersion` documents themselves are not compared: their
 * training records hold timings, which differ between any two runs. Nor is the model card's
 * `created` time: `hyperwords-model.json` is hashed with every `created` field taken out.
 */
import { createHash } from "node:crypto"
import { createReadStream, readdirSync, readFileSync } from "node:fs"
import { join, relative } from "node:path"

/** The files whose `created` fields (when the file was written) are not compared. */
export const TIMED_FILES = new Set(["hyperwords-model.json"])

/** `value` without any `created` field, at any depth. */
const withoutCreated = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(withoutCreated)
    : value !== null && typeof value === "object"
      ? Object.fromEntries(
          Object.entries(value)
            .filter(([k]) => k !== "created")
            .map(([k, v]) => [k, withoutCreated(v)])
        )
      : value

/**
 * Every file under `dir` (relative paths, `/`-separated) with its sha256; a file of `TIMED_FILES`
 * is hashed as its JSON without `created` fields.
 */
export const folderHashes = async (dir: string): Promise<Record<string, string>> => {
  const out: Record<string, string> = {}
  const files = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort()
  for (const file of files) {
    const name = relative(dir, file).split("\\").join("/")
    const hash = createHash("sha256")
    if (TIMED_FILES.has(name))
      hash.update(JSON.stringify(withoutCreated(JSON.parse(readFileSync(file, "utf8")))))
    else for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
    out[name] = hash.digest("hex")
  }
  return out
}

/** What a comparison reads of a `ModelVersion` document. */
export interface VersionFiles {
  readonly model: { readonly revision: string }
  readonly files: Readonly<Record<string, string>>
}

/** One file's row: its sha256 on each side (absent: the side has no such file). */
export interface FileRow {
  readonly file: string
  readonly a?: string
  readonly b?: string
  readonly same: boolean
}

/** Every file of either side, sorted, and whether all match (the revision included). */
export const diffVersions = (
  a: VersionFiles,
  b: VersionFiles
): { readonly rows: ReadonlyArray<FileRow>; readonly same: boolean; readonly revisionSame: boolean } => {
  const names = [...new Set([...Object.keys(a.files), ...Object.keys(b.files)])].sort()
  const rows = names.map((file) => {
    const [ha, hb] = [a.files[file], b.files[file]]
    return {
      file,
      ...(ha === undefined ? {} : { a: ha }),
      ...(hb === undefined ? {} : { b: hb }),
      same: ha !== undefined && ha === hb
    }
  })
  const revisionSame = a.model.revision === b.model.revision
  return { rows, same: revisionSame && rows.length > 0 && rows.every((r) => r.same), revisionSame }
}

/** The comparison as a Markdown table with the sides' names as column heads (whole hashes where they differ). */
export const diffTable = (
  diff: ReturnType<typeof diffVersions>,
  names: readonly [string, string]
): string => {
  const hash = (h: string | undefined, same: boolean) => (h === undefined ? "—" : same ? h.slice(0, 12) : h)
  return [
    `| file | ${names[0]} sha256 | ${names[1]} sha256 | same |`,
    "|---|---|---|---|",
    ...diff.rows.map(
      (r) => `| ${r.file} | ${hash(r.a, r.same)} | ${hash(r.b, r.same)} | ${r.same ? "yes" : "**no**"} |`
    )
  ].join("\n")
}
