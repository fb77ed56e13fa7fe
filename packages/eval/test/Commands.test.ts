import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Artifacts } from "@hyperwords/core"
import { decodeValue } from "@hyperwords/core/Decode"
import { makeStore } from "@hyperwords/core/Store"
import { Effect } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { pipelineContext } from "../src/Commands.ts"
import { buildLeaderboard, writeLeaderboard } from "../src/Leaderboard.ts"
import { hostileInput } from "./fixtures/leaderboard.ts"
import { evalDir, makeProject, removeProjects, runCli } from "./fixtures/project.ts"

afterAll(removeProjects)

const lines = (s: string) =>
  s
    .trim()
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l))

describe("hyperwords score", () => {
  it("adds the scores of registered metrics to each object of a JSONL file", async () => {
    const dir = makeProject()
    writeFileSync(
      join(dir, "texts.jsonl"),
      [
        JSON.stringify({ id: "cat", text: "кошкашлавкусноесть и спит", lang: "ru" }),
        "",
        JSON.stringify({ text: "warmpurringlapatdusk", note: { keep: true } })
      ].join("\n")
    )
    const r = await runCli(dir, [
      "score",
      "--metric",
      "hyperword-usage",
      "--metric",
      "chars",
      "--input",
      "texts.jsonl"
    ])
    expect(r.code, r.stderr).toBe(0)
    const out = lines(r.stdout)
    expect(out).toHaveLength(2)
    expect(out[0]).toMatchObject({ id: "cat", scores: { "hyperword-usage": 1 / 3, chars: 25 } })
    expect(out[0].details["hyperword-usage"].used).toEqual(["кошкашлавкусноесть"])
    expect(out[1]).toMatchObject({
      text: "warmpurringlapatdusk",
      note: { keep: true },
      scores: { "hyperword-usage": 1 }
    })
    expect(r.stderr).toMatch(/hyperword-usage: mean 0\.6667 \[0\.3333, 1\], n = 2, corpus 1/)

    const toFile = await runCli(dir, [
      "score",
      "--metric",
      "chars",
      "--input",
      "texts.jsonl",
      "--out",
      "scored.jsonl"
    ])
    expect(toFile.code, toFile.stderr).toBe(0)
    expect(lines(readFileSync(join(dir, "scored.jsonl"), "utf8")).map((o) => o.scores.chars)).toEqual([
      25, 20
    ])
  })

  it("names the file and line of a bad input line, an unknown metric, and a failed plugin", async () => {
    const dir = makeProject()
    writeFileSync(
      join(dir, "bad.jsonl"),
      `${JSON.stringify({ text: "ok" })}\n${JSON.stringify({ txt: "no" })}\n`
    )
    const bad = await runCli(dir, ["score", "--metric", "chars", "--input", "bad.jsonl"])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/error: .*bad\.jsonl:2: field text: Missing key/)

    writeFileSync(
      join(dir, "ok.jsonl"),
      `${JSON.stringify({ text: "a b" })}\n${JSON.stringify({ id: "b", text: "c" })}\n`
    )
    const unknown = await runCli(dir, ["score", "--metric", "imagery", "--input", "ok.jsonl"])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain(
      'no metric "imagery" is registered (registered: hyperword-usage, chars, throws)'
    )

    // a failed column: what every metric scored is printed, then the failure, named, and exit 1
    const failed = await runCli(dir, [
      "score",
      "--metric",
      "chars",
      "--metric",
      "throws",
      "--input",
      "ok.jsonl"
    ])
    expect(failed.code).toBe(1)
    expect(lines(failed.stdout)).toEqual([
      { text: "a b", scores: { chars: 3, throws: 1 } },
      { id: "b", text: "c", scores: { chars: 1 } }
    ])
    expect(failed.stderr).toMatch(/chars: mean 2 \[/)
    expect(failed.stderr).toMatch(
      /error: metric throws@1\.0\.0#[0-9a-f]{12} failed: threw: the plugin broke on purpose on sample "b" \(partial: 1 of 2 samples/
    )
  })
})

describe("hyperwords score --json", () => {
  it("prints the scored objects and every metric's summary as one document; a failed column in it too", async () => {
    const dir = makeProject()
    writeFileSync(
      join(dir, "ok.jsonl"),
      `${JSON.stringify({ text: "a b" })}\n${JSON.stringify({ id: "b", text: "c" })}\n`
    )
    const r = await runCli(dir, ["score", "--metric", "chars", "--input", "ok.jsonl", "--json"])
    expect(r.code, r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.rows).toEqual([
      { text: "a b", scores: { chars: 3 } },
      { id: "b", text: "c", scores: { chars: 1 } }
    ])
    expect(doc.out).toBe(null)
    expect(doc.metrics).toHaveLength(1)
    expect(doc.metrics[0]).toMatchObject({ name: "chars", status: "ok", mean: 2, n: 2 })
    expect(doc.metrics[0].ci.every((x: unknown) => typeof x === "number")).toBe(true)
    expect(doc.error).toBeUndefined()

    // a failed column: the document holds what was scored and the error; exit 1, the line on stderr
    const failed = await runCli(dir, [
      "score",
      "--metric",
      "chars",
      "--metric",
      "throws",
      "--input",
      "ok.jsonl",
      "--json"
    ])
    expect(failed.code).toBe(1)
    const f = JSON.parse(failed.stdout)
    expect(f.rows[0].scores).toEqual({ chars: 3, throws: 1 })
    expect(f.metrics.map((m: { status: string }) => m.status)).toEqual(["ok", "failed"])
    expect(f.error.message).toMatch(/^metric throws@1\.0\.0#[0-9a-f]{12} failed: threw/)
    expect(failed.stderr).toMatch(/^error: metric throws/m)

    // an error before anything was scored: the error document only
    const unknown = await runCli(dir, ["score", "--metric", "imagery", "--input", "ok.jsonl", "--json"])
    expect(unknown.code, unknown.stderr).toBe(1)
    expect(unknown.stdout.startsWith("{"), unknown.stdout + unknown.stderr).toBe(true)
    expect(JSON.parse(unknown.stdout).error.message).toContain('no metric "imagery" is registered')
  })
})

describe("hyperwords score: encodings", () => {
  afterAll(removeProjects)

  it("Latin-1 input fails naming the file, line and byte, and reads with --encoding latin1", async () => {
    const dir = makeProject()
    writeFileSync(
      join(dir, "latin1.jsonl"),
      Buffer.from(`${JSON.stringify({ text: "plain" })}\n${JSON.stringify({ text: "café" })}\n`, "latin1")
    )
    const strict = await runCli(dir, ["score", "--metric", "chars", "--input", "latin1.jsonl"])
    expect(strict.code).toBe(1)
    expect(strict.stdout).toBe("")
    expect(strict.stderr).toMatch(/latin1\.jsonl:2: not valid UTF-8 \(byte 0xe9 at offset 29\).*--encoding/)
    const r = await runCli(dir, [
      "score",
      "--metric",
      "chars",
      "--input",
      "latin1.jsonl",
      "--encoding",
      "latin1"
    ])
    expect(r.code, r.stderr).toBe(0)
    expect(lines(r.stdout)[1]).toMatchObject({ text: "café", scores: { chars: 4 } })
  })
})

describe("hyperwords score: the sample contract", () => {
  const fieldsMetric = join(evalDir, "test", "fixtures", "sampleFields.ts")

  it("passes every field of SampleInput from the input line: task, request and prompt too", async () => {
    const dir = makeProject()
    const asked = {
      id: "dusk",
      text: "a cat asleep on the sill",
      promptId: "en-describe-dusk",
      prompt: "Sensations: warm, soft, purring, dusk.\nA short poem that paints this image:\n",
      lang: "en",
      task: "describe-image",
      request: "warm soft purring dusk"
    }
    writeFileSync(join(dir, "asked.jsonl"), `${JSON.stringify({ ...asked, note: 1 })}\n`)
    const r = await runCli(dir, ["score", "--metric", fieldsMetric, "--input", "asked.jsonl"])
    expect(r.code, r.stderr).toBe(0)
    const [out] = lines(r.stdout)
    expect(out.details["sample-fields"].given).toEqual(asked)
    expect(out.note).toBe(1)
  })

  it("names the file and line of a sample field of the wrong type", async () => {
    const dir = makeProject()
    writeFileSync(
      join(dir, "bad.jsonl"),
      `${JSON.stringify({ text: "ok", task: "ten-words" })}\n${JSON.stringify({ text: "ok", request: 3 })}\n` +
        `${JSON.stringify({ text: "ok", lang: "fr" })}\n`
    )
    const r = await runCli(dir, ["score", "--metric", fieldsMetric, "--input", "bad.jsonl"])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/bad\.jsonl:2: field request/)
  })
  it("lets the hyperword-usage plugin leave out a hyperword the prompt gave", async () => {
    const dir = makeProject()
    writeFileSync(
      join(dir, "copied.jsonl"),
      `${JSON.stringify({ id: "copied", text: "warmpurringlapatdusk and a cat", task: "invent-words", prompt: "Hyperwords: warmpurringlapatdusk.\nMore:\n" })}\n`
    )
    const r = await runCli(dir, ["score", "--metric", "hyperword-usage", "--input", "copied.jsonl"])
    expect(r.code, r.stderr).toBe(0)
    expect(lines(r.stdout)[0].scores["hyperword-usage"]).toBe(0)
  })
})

describe("hyperwords rescore", () => {
  it("re-scores the Generations artifacts named in pipeline.lock.json without regenerating", async () => {
    const dir = makeProject()
    const store = makeStore(join(dir, ".hyperwords"))
    const staged = join(dir, "generations.jsonl")
    const gens = [
      { id: "p1-s0", promptId: "p1", text: "warmpurringlapatdusk glows" },
      { id: "p1-s1", promptId: "p1", text: "dusk glows" },
      { id: "p2-s0", promptId: "p2", text: "кошкашлавкусноесть" }
    ]
    writeFileSync(staged, gens.map((g) => JSON.stringify(g)).join("\n"))
    const manifest = await Effect.runPromise(
      Effect.gen(function* () {
        const file = yield* store.putFile(staged, { move: true })
        return yield* store.writeArtifact({
          kind: "Generations",
          data: {
            schemaVersion: 1,
            model: { id: "smollm2-135m", revision: "abc" },
            promptSet: { id: "imagery", version: "1", sha256: "0".repeat(64) },
            samples: 3,
            file: "generations.jsonl"
          },
          files: [{ ...file, path: "generations.jsonl" }],
          lineage: {
            stage: "evaluate",
            key: "k",
            codeVersion: "1",
            inputs: {},
            params: {},
            runId: "r",
            createdAt: new Date().toISOString()
          }
        })
      })
    )
    const at = new Date().toISOString()
    writeFileSync(
      join(dir, "pipeline.lock.json"),
      JSON.stringify({
        lockVersion: 1,
        profile: "quick",
        updatedAt: at,
        stages: {
          evaluate: {
            key: "k",
            contributors: {},
            outputs: { generations: manifest.hash },
            runId: "r",
            status: "ran",
            durationMs: 1,
            at
          }
        }
      })
    )
    const r = await runCli(dir, ["rescore", "--metric", "hyperword-usage", "--metric", "chars"])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain(`smollm2-135m (generations ${manifest.hash.slice(0, 12)}, 3 samples)`)
    const out = join(dir, "reports", "rescore", `smollm2-135m-${manifest.hash.slice(0, 12)}`)
    const rows = lines(readFileSync(join(out, "scores.jsonl"), "utf8"))
    expect(rows.map((x) => x.scores["hyperword-usage"])).toEqual([0.5, 0, 1])
    expect(rows[0]).toMatchObject({ id: "p1-s0", promptId: "p1", words: 2 })
    const run = JSON.parse(readFileSync(join(out, "eval-run.json"), "utf8"))
    expect(run).toMatchObject({ schemaVersion: 1, generations: manifest.hash, file: "scores.jsonl" })
    expect(decodeValue(Artifacts.EvalRun, run, { file: "eval-run.json" })._tag).toBe("Success")
    expect(run.metrics.map((m: { name: string; status: string }) => `${m.name}:${m.status}`)).toEqual([
      "hyperword-usage:ok",
      "chars:ok"
    ])

    const json = await runCli(dir, ["rescore", "--metric", "chars", "--json"])
    expect(json.code, json.stderr).toBe(0)
    const doc = JSON.parse(json.stdout)
    expect(doc.runs).toHaveLength(1)
    expect(doc.runs[0]).toMatchObject({
      model: { id: "smollm2-135m", revision: "abc" },
      generations: manifest.hash,
      samples: 3,
      dir: out
    })
    expect(doc.runs[0].metrics.map((m: { name: string; n: number }) => [m.name, m.n])).toEqual([["chars", 3]])

    const none = await runCli(makeProject(), ["rescore"])
    expect(none.code).toBe(1)
    expect(none.stderr).toMatch(/no Generations artifacts to rescore/)
  })
})

describe("the pipeline context rescore gives the metrics", () => {
  it("names the judge's folder where the store holds it now, after the project moved with its store", async () => {
    const dir = makeProject()
    const store = makeStore(join(dir, ".hyperwords"))
    // recorded where the project used to be; the folder moved with the store
    const recorded = join(dir, "..", "old-place", ".hyperwords", "models", "tiny-judge")
    const now = join(dir, ".hyperwords", "models", "tiny-judge")
    mkdirSync(now, { recursive: true })
    const manifest = await Effect.runPromise(
      store.writeArtifact({
        kind: "ModelVersion",
        data: {
          schemaVersion: 1,
          name: "tiny-judge",
          model: { id: "tiny-judge", revision: "abc" },
          architecture: "llama",
          source: { kind: "local", detail: recorded },
          dir: recorded,
          files: {}
        },
        files: [],
        lineage: {
          stage: "models",
          key: "k",
          codeVersion: "1",
          inputs: {},
          params: {},
          runId: "r",
          createdAt: new Date().toISOString()
        }
      })
    )
    const at = new Date().toISOString()
    writeFileSync(
      join(dir, "pipeline.lock.json"),
      JSON.stringify({
        lockVersion: 1,
        profile: "quick",
        updatedAt: at,
        stages: {
          models: {
            key: "k",
            contributors: {},
            outputs: { model: manifest.hash },
            runId: "r",
            status: "ran",
            durationMs: 1,
            at
          }
        }
      })
    )
    const context = await Effect.runPromise(pipelineContext(join(dir, "pipeline.lock.json"), store))
    expect(context.model).toBe(now)
  })
})

describe("hyperwords publish", () => {
  const withReports = () => {
    const dir = makeProject()
    writeLeaderboard(join(dir, "reports", "leaderboard"), buildLeaderboard(hostileInput))
    mkdirSync(join(dir, "reports", "probe", "base"), { recursive: true })
    writeFileSync(join(dir, "reports", "probe", "base", "index.html"), "<!doctype html><title>probe</title>")
    writeFileSync(join(dir, "reports", ".scratch"), "not published")
    return dir
  }

  it("writes a static site of the reports with a landing page", async () => {
    const dir = withReports()
    const r = await runCli(dir, ["publish", "site"])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain("wrote 5 files")
    expect(r.stdout).toContain("not uploading: no repository configured")
    const site = join(dir, "site")
    expect(readdirSync(site).sort()).toEqual(["index.html", "leaderboard", "probe"])
    expect(readdirSync(join(site, "leaderboard")).sort()).toEqual([
      "index.html",
      "leaderboard.json",
      "leaderboard.md"
    ])
    expect(readFileSync(join(site, "index.html"), "utf8")).toContain('url=leaderboard/index.html"')
    expect(existsSync(join(site, ".scratch"))).toBe(false)
  })

  it("lists what it would upload in a dry run, and writes and sends nothing", async () => {
    const dir = withReports()
    const r = await runCli(dir, ["publish", "site", "--dry-run", "--repo", "someone/hyperwords-board"], {
      HF_TOKEN: "hf_not_a_real_token",
      // any attempt to reach the network would fail loudly
      HTTPS_PROXY: "http://127.0.0.1:9",
      HTTP_PROXY: "http://127.0.0.1:9"
    })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain("would write 5 files")
    for (const f of [
      "index.html",
      "leaderboard/index.html",
      "leaderboard/leaderboard.json",
      "probe/base/index.html"
    ]) {
      expect(r.stdout).toContain(`  ${f}  `)
    }
    expect(r.stdout).toContain(
      "would upload 5 files to datasets/someone/hyperwords-board (dry run: nothing sent)"
    )
    expect(r.stdout + r.stderr).not.toContain("hf_not_a_real_token")
    expect(existsSync(join(dir, "site"))).toBe(false)

    const noToken = await runCli(dir, ["publish", "site", "--dry-run"], { HF_REPO: "someone/board" })
    expect(noToken.stdout).toContain("not uploading: no HF_TOKEN configured")

    const json = await runCli(dir, ["publish", "site", "--dry-run", "--json"], { HF_REPO: "someone/board" })
    expect(json.code, json.stderr).toBe(0)
    const doc = JSON.parse(json.stdout)
    expect(doc).toMatchObject({
      dryRun: true,
      wroteSite: false,
      upload: { skipped: "no HF_TOKEN configured" }
    })
    expect(doc.files).toHaveLength(5)
    expect(doc.files.map((f: { path: string }) => f.path)).toContain("leaderboard/leaderboard.json")
    expect(typeof doc.bytes).toBe("number")
    expect(existsSync(join(dir, "site"))).toBe(false)
  })

  it("readme --json: what it wrote into the README", async () => {
    const dir = withReports()
    writeFileSync(join(dir, "README.md"), "# board\n\n<!-- generated:board -->\n<!-- /generated:board -->\n")
    const r = await runCli(dir, ["readme", "--json"])
    expect(r.code, r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc).toMatchObject({
      file: join(dir, "README.md"),
      source: join("reports", "leaderboard", "leaderboard.json")
    })
    expect(doc.rows).toBeGreaterThan(0)
    expect(readFileSync(join(dir, "README.md"), "utf8")).toContain("| version |")
  })
})
