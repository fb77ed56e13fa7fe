/**
 * Publishing the reports: a static site folder (the reports tree with a landing page that opens
 * the leaderboard), and, when a Hugging Face token and a dataset repository are configured, an
 * upload of that folder with `@huggingface/hub`. A dry run lists what would be written and
 * uploaded and touches neither the disk nor the network.
 *
 * Publishing is deliberate: the repository is created private unless `public` is asked for (and
 * an existing public one is refused without it); corpus text — poetry lines with their author and
 * title — stays home unless `includeCorpus` (see {@link corpusRule}); and the token is read only by
 * this process: plugin children and Python workers start without it ({@link withoutHubCredentials}).
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  openAsBlob,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync
} from "node:fs"
import { dirname, join, relative, sep } from "node:path"
import { isHubCredential, withoutHubCredentials } from "@hyperwords/core/Env"
import { escapeHtml } from "@hyperwords/core/Html"
import { Effect, Redacted } from "effect"
import { PublishError } from "./Errors.ts"

/** Hub credentials and the environment without them (one rule for plugins, workers and publishing). */
export { isHubCredential, withoutHubCredentials }

/** A file of the site. */
export interface SiteFile {
  /** Path inside the site (and the repository), with `/` separators. */
  readonly path: string
  /** Where it comes from; `undefined` for a file the publisher writes (the landing page). */
  readonly source?: string
  /** What is written instead of the source (a redacted copy, the landing page). */
  readonly content?: string
  readonly bytes: number
  /** Why it differs from its source (e.g. corpus lines removed). */
  readonly note?: string
}

/** A reports file that is not published, and why. */
export interface LeftOut {
  readonly path: string
  readonly bytes: number
  readonly reason: string
}

/**
 * Which report files carry corpus text, decided per file from what each page shows:
 * - `field/…` (the associative-field explorer) shows every mined hyperword's evidence: corpus
 *   lines with their document (author and title) — left out;
 * - `poem_hyperwords.jsonl` has the same lines in each record's `evidence` — published without
 *   that field (the hyperwords, parts, senses and statistics stay);
 * - the probe reports show hyperwords, their parts, one next word and lens tokens, the
 *   leaderboard shows model generations and prompts, `bench/` numbers: no corpus lines, published.
 */
export const corpusRule = (path: string): "leave-out" | "redact" | undefined =>
  path === "field" || path.startsWith("field/")
    ? "leave-out"
    : path === "poem_hyperwords.jsonl" || path.endsWith("/poem_hyperwords.jsonl")
      ? "redact"
      : undefined

const LEFT_OUT_REASON = "the field explorer: corpus lines with their author and title"
const REDACTED_NOTE = "redacted: the corpus lines (evidence) removed"

/** `poem_hyperwords.jsonl` without its corpus lines; a bad line is named by file and line. */
export const redactHyperwords = (text: string, file: string): string =>
  text
    .split("\n")
    .map((line, i) => {
      if (line.trim() === "") return line
      let record: unknown
      try {
        record = JSON.parse(line)
      } catch (e) {
        throw new Error(
          `${file}:${i + 1}: not JSON (${(e as Error).message}); cannot remove its corpus lines`
        )
      }
      if (typeof record !== "object" || record === null || Array.isArray(record)) {
        throw new Error(`${file}:${i + 1}: not a JSON object; cannot remove its corpus lines`)
      }
      const { evidence: _evidence, ...rest } = record as Record<string, unknown>
      return JSON.stringify(rest)
    })
    .join("\n")

/** Options of `publish`. */
export interface PublishOptions {
  /** The reports folder to publish. */
  readonly from: string
  /** The site folder to write. */
  readonly to: string
  readonly dryRun: boolean
  /** A dataset repository id (`user/name`), if any. */
  readonly repo?: string
  readonly token?: Redacted.Redacted<string>
  /** The hub endpoint (default https://huggingface.co). */
  readonly hubUrl?: string
  /** Create the repository public, or upload to an existing public one (default: private only). */
  readonly public?: boolean
  /** Publish corpus text too: the field explorer and the evidence lines (default: left out). */
  readonly includeCorpus?: boolean
}

/** What `publish` did or, in a dry run, would do. */
export interface PublishReport {
  readonly site: string
  /** The manifest: every file written and uploaded. */
  readonly files: ReadonlyArray<SiteFile>
  /** Reports files not published (corpus text without `includeCorpus`). */
  readonly leftOut: ReadonlyArray<LeftOut>
  readonly bytes: number
  readonly wroteSite: boolean
  /** The upload target (`datasets/user/name`) and its visibility, or why there is none. */
  readonly upload:
    | { readonly repo: string; readonly uploaded: boolean; readonly visibility: "private" | "public" }
    | { readonly skipped: string }
}

/** The landing page: opens the leaderboard. */
export const landingPage = (target: string): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'">
<meta http-equiv="refresh" content="0; url=${escapeHtml(target)}">
<title>hyperwords reports</title></head>
<body><p><a href="${escapeHtml(target)}">hyperwords leaderboard</a></p></body></html>
`

const byPath = <T extends { readonly path: string }>(a: T, b: T) =>
  a.path < b.path ? -1 : a.path > b.path ? 1 : 0

/**
 * The site of a reports folder, without dotfiles and scratch folders, in path order: what is
 * published (corpus files redacted or left out unless `includeCorpus`) and what is left out.
 */
export const collectSite = (
  from: string,
  options: { readonly includeCorpus?: boolean } = {}
): { readonly files: Array<SiteFile>; readonly leftOut: Array<LeftOut> } => {
  const files: Array<SiteFile> = []
  const leftOut: Array<LeftOut> = []
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name.startsWith(".")) continue
      const p = join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.isFile()) {
        const path = relative(from, p).split(sep).join("/")
        const bytes = statSync(p).size
        const rule = options.includeCorpus ? undefined : corpusRule(path)
        if (rule === "leave-out") leftOut.push({ path, bytes, reason: LEFT_OUT_REASON })
        else if (rule === "redact") {
          const content = redactHyperwords(readFileSync(p, "utf8"), p)
          files.push({ path, source: p, content, bytes: Buffer.byteLength(content), note: REDACTED_NOTE })
        } else files.push({ path, source: p, bytes })
      }
    }
  }
  walk(from)
  const hasLanding = files.some((f) => f.path === "index.html")
  if (!hasLanding && files.some((f) => f.path === "leaderboard/index.html")) {
    const content = landingPage("leaderboard/index.html")
    files.push({ path: "index.html", content, bytes: Buffer.byteLength(content) })
  }
  return { files: files.sort(byPath), leftOut: leftOut.sort(byPath) }
}

const writeSite = (files: ReadonlyArray<SiteFile>, to: string): void => {
  for (const f of files) {
    const dest = join(to, ...f.path.split("/"))
    mkdirSync(dirname(dest), { recursive: true })
    if (f.content !== undefined) writeFileSync(dest, f.content)
    else if (f.source !== undefined) copyFileSync(f.source, dest)
  }
}

const upload = (site: string, files: ReadonlyArray<SiteFile>, repo: string, options: PublishOptions) =>
  Effect.tryPromise({
    try: async () => {
      const hub = await import("@huggingface/hub")
      const accessToken = Redacted.value(options.token!)
      const designation = { type: "dataset" as const, name: repo }
      const common = { accessToken, ...(options.hubUrl === undefined ? {} : { hubUrl: options.hubUrl }) }
      if (await hub.repoExists({ repo: designation, ...common })) {
        const info = await hub.datasetInfo({ name: repo, ...common })
        if (info.private !== true && options.public !== true) {
          throw new Error(
            `datasets/${repo} is public; pass --public to publish to it, or choose a private --repo`
          )
        }
      } else {
        await hub.createRepo({
          repo: designation,
          visibility: options.public ? "public" : "private",
          ...common
        })
      }
      await hub.uploadFiles({
        repo: designation,
        ...common,
        commitTitle: "hyperwords: publish reports",
        files: await Promise.all(
          files.map(async (f) => ({
            path: f.path,
            content: await openAsBlob(join(site, ...f.path.split("/")))
          }))
        )
      })
    },
    catch: (e) => new PublishError({ target: `datasets/${repo}`, detail: (e as Error)?.message ?? String(e) })
  })

/** Write the site folder and upload it when a token and a repository are configured. */
export const publish = (options: PublishOptions): Effect.Effect<PublishReport, PublishError> =>
  Effect.gen(function* () {
    if (!existsSync(options.from) || !statSync(options.from).isDirectory()) {
      return yield* new PublishError({
        target: options.to,
        detail: `no reports folder at ${options.from}; run the pipeline first or pass --from`
      })
    }
    const { files, leftOut } = yield* Effect.try({
      try: () => collectSite(options.from, { includeCorpus: options.includeCorpus ?? false }),
      catch: (e) => new PublishError({ target: options.to, detail: (e as Error).message })
    })
    if (files.length === 0) {
      return yield* new PublishError({
        target: options.to,
        detail: `${options.from} has no files to publish`
      })
    }
    const bytes = files.reduce((s, f) => s + f.bytes, 0)
    const target =
      options.repo === undefined
        ? { skipped: "no repository configured (--repo or HF_REPO)" }
        : options.token === undefined
          ? { skipped: "no HF_TOKEN configured" }
          : undefined
    const visibility = options.public ? ("public" as const) : ("private" as const)
    if (options.dryRun) {
      return {
        site: options.to,
        files,
        leftOut,
        bytes,
        wroteSite: false,
        upload: target ?? { repo: `datasets/${options.repo}`, uploaded: false, visibility }
      }
    }
    yield* Effect.try({
      try: () => writeSite(files, options.to),
      catch: (e) => new PublishError({ target: options.to, detail: (e as Error).message })
    })
    if (target) return { site: options.to, files, leftOut, bytes, wroteSite: true, upload: target }
    yield* upload(options.to, files, options.repo!, options)
    return {
      site: options.to,
      files,
      leftOut,
      bytes,
      wroteSite: true,
      upload: { repo: `datasets/${options.repo}`, uploaded: true, visibility }
    }
  })

const formatBytes = (n: number): string =>
  n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`

/** The lines `hyperwords publish` prints: the manifest, what is left out, and the upload. */
export const reportLines = (report: PublishReport, hubUrl = "https://huggingface.co"): Array<string> => {
  const out = [
    `${report.wroteSite ? "wrote" : "would write"} ${report.files.length} files (${formatBytes(report.bytes)}) to ${report.site}`,
    ...report.files.map((f) => `  ${f.path}  ${formatBytes(f.bytes)}${f.note ? `  ${f.note}` : ""}`)
  ]
  if (report.leftOut.length > 0) {
    out.push(`left out ${report.leftOut.length} files with corpus text (--include-corpus publishes them):`)
    for (const f of report.leftOut) out.push(`  ${f.path}  ${formatBytes(f.bytes)}  ${f.reason}`)
  }
  const u = report.upload
  if ("skipped" in u) out.push(`not uploading: ${u.skipped}`)
  else if (u.uploaded) out.push(`uploaded to ${hubUrl.replace(/\/$/, "")}/${u.repo} (${u.visibility})`)
  else {
    out.push(`would upload ${report.files.length} files to ${u.repo} (dry run: nothing sent)`)
    out.push(
      u.visibility === "private"
        ? "  as a private dataset (--public to publish it openly); an existing public one is refused"
        : "  as a public dataset (--public)"
    )
  }
  return out
}
