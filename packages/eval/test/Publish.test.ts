/**
 * Publishing is deliberate: a private repository unless `--public`, no corpus text unless
 * `--include-corpus`, a manifest in the dry run, and the token for the uploading process only.
 * The hub is a real HTTP server on loopback that speaks the endpoints `@huggingface/hub` calls
 * (repo info, repo create, preupload, commit).
 */
import { once } from "node:events"
import { mkdirSync, writeFileSync } from "node:fs"
import { createServer, type IncomingMessage, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { Effect, Exit, Redacted } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { runMetrics } from "../src/Harness.ts"
import { loadMetrics } from "../src/Metric.ts"
import { publish } from "../src/Publish.ts"
import { envProbe } from "./fixtures/envProbe.ts"
import { makeProject, removeProjects, runCli } from "./fixtures/project.ts"

afterAll(removeProjects)

const CORPUS_LINE = "Shall I compare thee to a summer's day?"
const CORPUS_DOC = "shakespeare/sonnets#XVIII"
const TOKEN = "hf_loopback_test_token"

/** A reports folder as the pipeline leaves it: leaderboard, probe report, explorer, hyperwords. */
const withReports = (): { dir: string; reports: string } => {
  const dir = makeProject()
  const reports = join(dir, "reports")
  for (const d of ["leaderboard", "probe/finetune", "field", "bench"])
    mkdirSync(join(reports, d), { recursive: true })
  writeFileSync(join(reports, "leaderboard", "index.html"), "<!doctype html><title>board</title>")
  writeFileSync(join(reports, "leaderboard", "leaderboard.json"), '{"entries":[]}\n')
  writeFileSync(join(reports, "probe", "finetune", "index.html"), "<!doctype html><title>probe</title>")
  writeFileSync(join(reports, "bench", "vocab.json"), '{"points":[]}\n')
  writeFileSync(
    join(reports, "field", "index.html"),
    `<!doctype html><script type="application/json">${JSON.stringify({ evidence: [{ doc: CORPUS_DOC, text: CORPUS_LINE }] })}</script>`
  )
  const record = (surface: string, evidence: boolean) =>
    JSON.stringify({
      id: `en:${surface}`,
      surface,
      parts: ["summer", "day"],
      origin: evidence ? "mined" : "generated",
      ...(evidence
        ? { evidence: [{ doc: CORPUS_DOC, line: 1, text: CORPUS_LINE }] }
        : { gloss: "a warm day" }),
      senses: { visual: 0.5 }
    })
  writeFileSync(
    join(reports, "poem_hyperwords.jsonl"),
    `${record("summerday", true)}\n${record("warmday", false)}\n`
  )
  writeFileSync(join(reports, ".scratch"), "never published")
  return { dir, reports }
}

interface Seen {
  readonly method: string
  readonly path: string
  readonly auth: string | undefined
  readonly body: string
}

/** A loopback hub: answers the upload API and records every request. */
const startHub = async (existing?: { private: boolean }) => {
  const seen: Array<Seen> = []
  const commits: Array<Map<string, string>> = []
  let created = existing !== undefined
  let isPrivate = existing?.private ?? false
  const read = async (req: IncomingMessage) => {
    const chunks: Array<Buffer> = []
    for await (const c of req) chunks.push(c as Buffer)
    return Buffer.concat(chunks).toString("utf8")
  }
  const server: Server = createServer(async (req, res) => {
    const body = await read(req)
    const path = (req.url ?? "").split("?")[0]!
    seen.push({ method: req.method ?? "", path, auth: req.headers.authorization, body })
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { "content-type": "application/json" })
      res.end(JSON.stringify(value))
    }
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return json(401, { error: "bad token" })
    const info = path.match(/^\/api\/datasets\/([^/]+\/[^/]+)(\/revision\/[^/]+)?$/)
    if (req.method === "GET" && info) {
      if (!created) return json(404, { error: "Repository not found" })
      return json(200, { _id: "1", id: info[1], private: isPrivate, lastModified: "2026-01-01T00:00:00Z" })
    }
    if (req.method === "POST" && path === "/api/repos/create") {
      const b = JSON.parse(body)
      created = true
      isPrivate = b.visibility === "private" || b.private === true
      return json(200, {
        url: `http://hub/datasets/${b.organization}/${b.name}`,
        name: `${b.organization}/${b.name}`
      })
    }
    if (req.method === "POST" && /^\/api\/datasets\/[^/]+\/[^/]+\/preupload\/main$/.test(path)) {
      const b = JSON.parse(body) as { files: Array<{ path: string }> }
      return json(200, { files: b.files.map((f) => ({ path: f.path, uploadMode: "regular" })) })
    }
    if (req.method === "POST" && /^\/api\/datasets\/[^/]+\/[^/]+\/commit\/main$/.test(path)) {
      const files = new Map<string, string>()
      for (const line of body.split("\n").filter((l) => l !== "")) {
        const op = JSON.parse(line) as { key: string; value: { path: string; content: string } }
        if (op.key === "file")
          files.set(op.value.path, Buffer.from(op.value.content, "base64").toString("utf8"))
      }
      commits.push(files)
      return json(200, { commitOid: "abc", commitUrl: "http://hub/commit/abc" })
    }
    return json(404, { error: `no route ${req.method} ${path}` })
  })
  server.listen(0, "127.0.0.1")
  await once(server, "listening")
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    seen,
    commits,
    created: () => seen.filter((s) => s.path === "/api/repos/create").map((s) => JSON.parse(s.body)),
    close: () => new Promise<void>((r) => server.close(() => r()))
  }
}

const publishTo = (hubUrl: string, from: string, extra: { public?: boolean; includeCorpus?: boolean } = {}) =>
  Effect.runPromiseExit(
    publish({
      from,
      to: join(from, "..", "site"),
      dryRun: false,
      repo: "someone/board",
      token: Redacted.make(TOKEN),
      hubUrl,
      ...extra
    })
  )

describe("publish to a hub (a real HTTP server on loopback)", () => {
  it("creates the repository private by default and uploads no corpus text", async () => {
    const { reports } = withReports()
    const hub = await startHub()
    try {
      const exit = await publishTo(hub.url, reports)
      expect(Exit.isSuccess(exit), String(exit)).toBe(true)
      expect(hub.created()).toEqual([
        expect.objectContaining({
          name: "board",
          organization: "someone",
          type: "dataset",
          visibility: "private"
        })
      ])
      expect(hub.seen.every((s) => s.auth === `Bearer ${TOKEN}`)).toBe(true)
      expect(hub.commits).toHaveLength(1)
      const files = hub.commits[0]!
      expect([...files.keys()].sort()).toEqual([
        "bench/vocab.json",
        "index.html",
        "leaderboard/index.html",
        "leaderboard/leaderboard.json",
        "poem_hyperwords.jsonl",
        "probe/finetune/index.html"
      ])
      for (const [path, content] of files) {
        expect(content, path).not.toContain(CORPUS_LINE)
        expect(content, path).not.toContain(CORPUS_DOC)
      }
      // the hyperwords themselves are published, their evidence lines are not
      const records = files
        .get("poem_hyperwords.jsonl")!
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l))
      expect(records.map((r) => r.surface)).toEqual(["summerday", "warmday"])
      expect(records[0]).not.toHaveProperty("evidence")
      expect(records[1].gloss).toBe("a warm day")
    } finally {
      await hub.close()
    }
  })

  it("refuses to upload into an existing public repository unless --public", async () => {
    const { reports } = withReports()
    const hub = await startHub({ private: false })
    try {
      const exit = await publishTo(hub.url, reports)
      expect(String(exit)).toMatch(/datasets\/someone\/board is public.*--public/)
      expect(hub.commits).toHaveLength(0)
      const opted = await publishTo(hub.url, reports, { public: true })
      expect(Exit.isSuccess(opted), String(opted)).toBe(true)
      expect(hub.commits).toHaveLength(1)
      expect(hub.created()).toEqual([])
    } finally {
      await hub.close()
    }
  })

  it("hyperwords publish --public --include-corpus: a public repository with the corpus files as they are", async () => {
    const { dir } = withReports()
    const hub = await startHub()
    try {
      const r = await runCli(
        dir,
        ["publish", "site", "--repo", "someone/board", "--public", "--include-corpus"],
        {
          HF_TOKEN: TOKEN,
          HF_ENDPOINT: hub.url
        }
      )
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toContain(`uploaded to ${hub.url}/datasets/someone/board`)
      expect(hub.created()).toEqual([expect.objectContaining({ visibility: "public" })])
      const files = hub.commits[0]!
      expect(files.get("field/index.html")).toContain(CORPUS_LINE)
      expect(files.get("poem_hyperwords.jsonl")).toContain(CORPUS_LINE)
      expect(r.stdout + r.stderr).not.toContain(TOKEN)
    } finally {
      await hub.close()
    }
  })

  it("--dry-run shows the manifest: what goes up, what is redacted, what is left out, and sends nothing", async () => {
    const { dir } = withReports()
    const hub = await startHub()
    try {
      const r = await runCli(dir, ["publish", "site", "--dry-run", "--repo", "someone/board"], {
        HF_TOKEN: TOKEN,
        HF_ENDPOINT: hub.url
      })
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toMatch(/^ {2}leaderboard\/index\.html {2}/m)
      expect(r.stdout).toMatch(
        /^ {2}poem_hyperwords\.jsonl {2}.*redacted: the corpus lines \(evidence\) removed/m
      )
      expect(r.stdout).toMatch(/left out.*--include-corpus/)
      expect(r.stdout).toMatch(/^ {2}field\/index\.html {2}.*corpus lines with their author and title/m)
      expect(r.stdout).toContain("would upload 6 files to datasets/someone/board (dry run: nothing sent)")
      expect(r.stdout).toContain("as a private dataset")
      expect(hub.seen).toEqual([])
    } finally {
      await hub.close()
    }
  })
})

describe("the token stays with the uploader", () => {
  it("a child-process metric plugin does not see HF_TOKEN or HUGGING_FACE_HUB_TOKEN", async () => {
    const saved = {
      HF_TOKEN: process.env.HF_TOKEN,
      HUGGING_FACE_HUB_TOKEN: process.env.HUGGING_FACE_HUB_TOKEN
    }
    process.env.HF_TOKEN = TOKEN
    process.env.HUGGING_FACE_HUB_TOKEN = TOKEN
    try {
      const cols = await Effect.runPromise(
        Effect.gen(function* () {
          const loaded = yield* loadMetrics([envProbe])
          return yield* runMetrics(loaded, [{ id: "a", text: "warm dusk", promptId: "p" }], { seed: 1 })
        })
      )
      const col = cols[0]!
      expect(col.status, col.reason).toBe("ok")
      expect(col.samples[0]?.details).toMatchObject({ tokens: "", path: expect.any(String) })
      expect(col.samples[0]?.score).toBe(0)
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
    }
  })
})
