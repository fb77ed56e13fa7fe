/**
 * Two model versions file by file: what `scripts/ray-parity.ts` reports when it compares the
 * quick profile's fine-tune run locally with the same stage run on a Ray cluster. A version's
 * files (the merged weights, the tokenizer, the ONNX graphs) are named with their sha256 in its
 * `ModelVersion` document; its training record also holds timings, so the documents themselves
 * differ between two runs and only the files are compared.
 */

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
