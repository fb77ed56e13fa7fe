/**
 * Publishing the reports: a static site folder (the reports tree with a landing page that opens
 * the leaderboard), and, when a Hugging Face token and a dataset repository are configured, an
 * upload of that folder with `@huggingface/hub`. A dry run lists what would be written and
 * uploaded and touches neither the disk nor the network.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  openAsBlob,
  readdirSync,
  statSync,
  writeFileSync
} from "node:fs"
import { dirname, join, relative, sep } from "node:path"
import { escapeHtml } from "@hyperwords/core/Html"
import { Effect, Redacted } from "effect"
import { PublishError } from "./Errors.ts"

/** A file of the site. */
export interface SiteFile {
  /** Path inside the site (and the repository), with `/` separators. */
  readonly path: string
  /** Where it comes from; `undefined` for a file the publisher writes (the landing page). */
  readonly source?: string
  readonly bytes: number
}

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
}

/** What `publish` did or, in a dry run, would do. */
export interface PublishReport {
  readonly site: string
  readonly files: ReadonlyArray<SiteFile>
  readonly bytes: number
  readonly wroteSite: boolean
  /** The upload target (`datasets/user/name`), or why there is none. */
  readonly upload: { readonly repo: string; readonly uploaded: boolean } | { readonly skipped: string }
}

/** The landing page: opens the leaderboard. */
export const landingPage = (target: string): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'">
<meta http-equiv="refresh" content="0; url=${escapeHtml(target)}">
<title>hyperwords reports</title></head>
<body><p><a href="${escapeHtml(target)}">hyperwords leaderboard</a></p></body></html>
`

/** The files of a reports folder, without dotfiles and scratch folders, in path order. */
export const collectSite = (from: string): Array<SiteFile> => {
  const out: Array<SiteFile> = []
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name.startsWith(".")) continue
      const p = join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.isFile())
        out.push({ path: relative(from, p).split(sep).join("/"), source: p, bytes: statSync(p).size })
    }
  }
  walk(from)
  const hasLanding = out.some((f) => f.path === "index.html")
  if (!hasLanding && out.some((f) => f.path === "leaderboard/index.html")) {
    out.push({ path: "index.html", bytes: Buffer.byteLength(landingPage("leaderboard/index.html")) })
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

const writeSite = (files: ReadonlyArray<SiteFile>, to: string): void => {
  for (const f of files) {
    const dest = join(to, ...f.path.split("/"))
    mkdirSync(dirname(dest), { recursive: true })
    if (f.source === undefined) writeFileSync(dest, landingPage("leaderboard/index.html"))
    else copyFileSync(f.source, dest)
  }
}

const upload = (site: string, files: ReadonlyArray<SiteFile>, repo: string, options: PublishOptions) =>
  Effect.tryPromise({
    try: async () => {
      const hub = await import("@huggingface/hub")
      const accessToken = Redacted.value(options.token!)
      const designation = { type: "dataset" as const, name: repo }
      const common = { accessToken, ...(options.hubUrl === undefined ? {} : { hubUrl: options.hubUrl }) }
      if (!(await hub.repoExists({ repo: designation, ...common }))) {
        await hub.createRepo({ repo: designation, ...common })
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
    const files = collectSite(options.from)
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
    if (options.dryRun) {
      return {
        site: options.to,
        files,
        bytes,
        wroteSite: false,
        upload: target ?? { repo: `datasets/${options.repo}`, uploaded: false }
      }
    }
    yield* Effect.try({
      try: () => writeSite(files, options.to),
      catch: (e) => new PublishError({ target: options.to, detail: (e as Error).message })
    })
    if (target) return { site: options.to, files, bytes, wroteSite: true, upload: target }
    yield* upload(options.to, files, options.repo!, options)
    return {
      site: options.to,
      files,
      bytes,
      wroteSite: true,
      upload: { repo: `datasets/${options.repo}`, uploaded: true }
    }
  })
