/**
 * A hostile corpus end to end: poems whose lines, titles and authors carry injection attempts go
 * through the real pipeline — the real `models` stage on a local model folder whose name is
 * hostile, `generate` on the `--corpus` folder, `embed`, a probe stage and an evaluate stage on
 * the base (with a hostile prompt set) and the `report` stage — run by the real `hyperwords` bin
 * on the tiny random model of the models package's fixtures. Then headless Chromium opens the
 * three pages (the field explorer, the probe report, the leaderboard) with their CSP removed: no
 * script of the data's may run, and the texts must show literally.
 */
import { spawn } from "node:child_process"
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { chromiumArgs, chromiumPath } from "@hyperwords/core/Chromium"
import { hasCsp, hostileTexts as hostile, openWatched, withoutCsp } from "@hyperwords/core/PageCheck"
import { type Browser, chromium, type Page } from "playwright-core"
import { afterAll, describe, expect, it } from "vitest"

// The page.evaluate callbacks run in the page, where these globals exist; Node's types lack them.
// biome-ignore lint/suspicious/noExplicitAny: page globals, checked by the browser when the test runs
type PageGlobal = any
declare const document: PageGlobal
declare const window: PageGlobal

const evalDir = resolve(import.meta.dirname, "..")
const repoDir = resolve(evalDir, "..", "..")
const pkg = (name: string, file: string) => JSON.stringify(join(repoDir, "packages", name, "src", file))
const binPath = join(repoDir, "packages", "core", "bin", "hyperwords.ts")
const bridgeFixture = join(repoDir, "packages", "models", "test", "fixtures", "bridge.ts")

interface BridgeFixture {
  readonly bridgeMissing: () => string | undefined
  readonly tinyModel: (arch: "llama" | "gemma3_text") => Promise<string>
}
const fixture = () => import(pathToFileURL(bridgeFixture).href) as Promise<BridgeFixture>

/** Poems whose images repeat (so they are mined) and whose every line, title and author is hostile. */
const poems = [
  [hostile.img, hostile.close, `the cold white snow ${hostile.script}`, `a warm purring lap ${hostile.attr}`],
  [hostile.alert, hostile.attr, `${hostile.js} the cold white snow`, `the red autumn leaves ${hostile.sep}`],
  [hostile.script, "plain", `cold white snow ${hostile.close} again`, `a warm purring lap ${hostile.img}`],
  [hostile.js, hostile.sep, `the red autumn leaves ${hostile.alert}`, `a warm purring lap ${hostile.js}`],
  ["anon", "five", `red autumn leaves ${hostile.attr}`, `cold white snow ${hostile.sep}`],
  ["anon", "six", `a warm purring lap and red autumn leaves ${hostile.script}`, "the cold white snow"]
].map(([author, title, ...lines]) => ({ author, title, text: lines.join("\n") }))

/**
 * The model's folder, as `model` in the config names it: the user's path, hostile. (Its last
 * segment stays plain: transformers.js cannot load a tokenizer from a folder whose own name has a
 * space or one of '"<>=#?% in it.)
 */
const modelParam = `models/${hostile.attr} ${hostile.alert}/tiny`
const boardTitle = `board ${hostile.close}`

const promptSet = {
  id: "hostile",
  version: "1",
  prompts: [
    {
      id: "en-a",
      lang: "en",
      task: "describe-image",
      request: hostile.img,
      prompt: `Describe ${hostile.script}:\n`
    },
    { id: "en-b", lang: "en", task: "ten-words", prompt: `Ten words ${hostile.attr}\n1.` },
    { id: "en-c", lang: "en", task: "invent-words", prompt: `Invent ${hostile.js} ${hostile.sep}\n` }
  ]
}

const config = `
import { defineConfig } from ${pkg("core", "index.ts")}
import { generateStage } from ${pkg("corpus", "GenerateStage.ts")}
import { embedStage } from ${pkg("corpus", "EmbedStage.ts")}
import { probeStageFor } from ${pkg("probe", "ProbeStage.ts")}
import { evaluateStage } from ${pkg("eval", "EvaluateStage.ts")}
import { reportStage } from ${pkg("eval", "ReportStage.ts")}
import { modelsStage } from ${pkg("train-bridge", "ModelsStage.ts")}
import hyperwordUsage from ${JSON.stringify(join(repoDir, "plugins", "metric-hyperword-usage", "src", "index.ts"))}

const base = { stage: "models", output: "model" }
const metrics = [hyperwordUsage]

export default defineConfig({
  store: ".hyperwords",
  reports: "reports",
  stages: [
    modelsStage,
    generateStage,
    embedStage,
    probeStageFor({ model: base }),
    evaluateStage({ id: "evaluate-base", model: base, metrics }),
    reportStage({
      evaluations: ["evaluate-base"],
      probes: { "evaluate-base": { stage: "probe-models", link: "../probe/models/index.html" } },
      metrics
    })
  ],
  params: ({ corpus }) => ({
    models: { model: ${JSON.stringify(modelParam)} },
    generate: { corpus: [...corpus], minCount: 2, minNpmi: 0, minLlr: 0, maxWords: 3, heldoutFraction: 0.1 },
    embed: { layoutIterations: 20, batchSize: 8 },
    "probe-models": { items: 3, patchscopeLayers: 0, findings: false, png: false },
    "evaluate-base": { promptSet: "prompts.json", samples: 1, maxNewTokens: 6, batchSize: 4 },
    report: { title: ${JSON.stringify(boardTitle)}, resamples: 200 }
  })
})
`

const runCli = (dir: string, args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; output: string }>((res) => {
    const env: NodeJS.ProcessEnv = { ...process.env, CI: "1", HF_TOKEN: "", HF_REPO: "" }
    delete env.HYPERWORDS_STORE
    const child = spawn(process.execPath, [binPath, ...args], { cwd: dir, env })
    let output = ""
    child.stdout.on("data", (d) => (output += d))
    child.stderr.on("data", (d) => (output += d))
    child.on("close", (code) => res({ code, output }))
  })

/** Open a page with its Content-Security-Policy removed; what it did is collected. */
const openWithoutCsp = async (browser: Browser, file: string) => {
  const html = readFileSync(file, "utf8")
  expect(hasCsp(html)).toBe(true)
  const bare = withoutCsp(html)
  expect(hasCsp(bare)).toBe(false)
  return openWatched(browser, file.replace(/\.html$/, ".no-csp.html"), { html: bare })
}

/** What injected markup would have left in a page: its script's flag, elements, handlers. */
const injected = (tab: Page) =>
  tab.evaluate(() => ({
    pwned: window.__pwned,
    elements: document.querySelectorAll("img,iframe,object,embed,form,svg[onload],foreignObject").length,
    handlers: [...document.querySelectorAll("*")].flatMap((e) =>
      [...e.attributes].filter((a) => a.name.startsWith("on")).map((a) => a.name)
    ),
    scriptLinks: [...document.querySelectorAll("[href],[src]")]
      .map((e) => e.getAttribute("href") ?? e.getAttribute("src"))
      .filter((u) => /^\s*javascript:/i.test(u))
  }))

const clean = { pwned: undefined, elements: 0, handlers: [], scriptLinks: [] }

describe("a hostile corpus through the pipeline into every page", async () => {
  const missing = existsSync(bridgeFixture)
    ? (await fixture()).bridgeMissing()
    : `no fixture at ${bridgeFixture}`
  const made: Array<string> = []
  let browser: Browser | undefined
  afterAll(async () => {
    await browser?.close()
    for (const d of made) rmSync(d, { recursive: true, force: true })
  })

  it("runs every stage, and no page runs the data's script or hides its text", async (ctx) => {
    if (missing) return ctx.skip(missing)
    if (!existsSync(chromiumPath()))
      throw new Error(`${chromiumPath()} is missing: apt-get install -y chromium`)
    const tiny = await (await fixture()).tinyModel("llama")
    const root = join(evalDir, "test", ".tmp")
    mkdirSync(root, { recursive: true })
    const dir = mkdtempSync(join(root, "hostile-"))
    made.push(dir)
    const model = join(dir, modelParam)
    cpSync(tiny, model, { recursive: true })
    writeFileSync(
      join(model, "hyperwords-model.json"),
      JSON.stringify({ name: `tiny-llama ${hostile.img}`, safetensors_sha256: "0".repeat(64), files: {} })
    )
    mkdirSync(join(dir, "hostile"))
    writeFileSync(join(dir, "hostile", "poems.jsonl"), poems.map((p) => `${JSON.stringify(p)}\n`).join(""))
    writeFileSync(join(dir, "prompts.json"), JSON.stringify(promptSet))
    writeFileSync(join(dir, "pipeline.config.ts"), config)

    const run = await runCli(dir, ["pipeline", "--corpus", "hostile"])
    expect(run.code, run.output).toBe(0)
    for (const s of ["models", "generate", "embed", "probe-models", "evaluate-base", "report"])
      expect(run.output).toMatch(new RegExp(`^${s}\\s+RAN`, "m"))

    // what the pages are made of: the mined records, their evidence lines and documents, verbatim
    const records = readFileSync(join(dir, "reports", "poem_hyperwords.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map(
        (l) =>
          JSON.parse(l) as {
            id: string
            surface: string
            parts: Array<string>
            evidence?: Array<{ doc: string; line: number; text: string }>
          }
      )
    const evidence = records.flatMap((r) => r.evidence ?? [])
    expect(records.length).toBeGreaterThanOrEqual(3)
    for (const p of [hostile.script, hostile.attr, hostile.close, hostile.js, hostile.sep])
      expect(evidence.some((e) => e.text.includes(p))).toBe(true)
    expect(evidence.some((e) => e.doc.includes(hostile.img) || e.doc.includes(hostile.close))).toBe(true)

    browser = await chromium.launch({ executablePath: chromiumPath(), args: chromiumArgs() })

    // the field explorer: the model's name, and each hostile record's words, evidence and documents
    {
      const { tab, problems } = await openWithoutCsp(browser, join(dir, "reports", "field", "index.html"))
      await tab.waitForFunction(() => "hyperwordsField" in window)
      expect(await tab.locator(".meta").textContent()).toContain(modelParam)
      const data = await tab.evaluate(() => JSON.parse(document.getElementById("field-data").textContent))
      const shown = Object.entries(
        data.records as Record<
          string,
          { id: string; evidence: Array<{ doc: string; line: number; text: string }> }
        >
      ).filter(([, r]) => r.evidence.some((e) => e.text.includes("__pwned") || e.doc.includes("__pwned")))
      expect(shown.length).toBeGreaterThan(0)
      for (const [at, r] of shown) {
        const rec = records.find((x) => x.id === r.id)!
        await tab.evaluate((i: number) => window.hyperwordsField.select(i), Number(at))
        expect(await tab.locator("#panel .word").textContent()).toBe(rec.surface)
        const lines = await tab.locator("#panel .ev").allTextContents()
        expect(lines).toEqual((rec.evidence ?? []).map((e) => `${e.text}${e.doc}:${e.line}`))
        expect(await injected(tab)).toEqual(clean)
      }
      expect(problems).toEqual([])
      await tab.close()
    }

    // the probe report: the version's name and folder, its hyperwords
    {
      const { tab, problems } = await openWithoutCsp(
        browser,
        join(dir, "reports", "probe", "models", "index.html")
      )
      expect(await injected(tab)).toEqual(clean)
      expect(await tab.title()).toBe(`hyperwords probe: ${modelParam}`)
      expect(await tab.locator("h1").textContent()).toBe(`hyperwords probe: ${modelParam}`)
      expect(await tab.locator(".meta").textContent()).toContain("tuned: tiny (")
      const words = await tab.locator(".word").allTextContents()
      expect(words.length).toBe(3)
      for (const w of words) expect(records.map((r) => r.surface)).toContain(w)
      expect(problems).toEqual([])
      await tab.close()
    }

    // the leaderboard: its title, the version's row, the prompts of the examples
    {
      const { tab, problems } = await openWithoutCsp(
        browser,
        join(dir, "reports", "leaderboard", "index.html")
      )
      expect(await injected(tab)).toEqual(clean)
      expect(await tab.title()).toBe(boardTitle)
      expect(await tab.locator("h1").textContent()).toContain(boardTitle)
      expect(await tab.locator("#board tbody th").first().textContent()).toContain(modelParam)
      const who = (await tab.locator(".example .who").allTextContents()).join("\n")
      for (const p of promptSet.prompts) expect(who).toContain(p.prompt.trim())
      expect(problems).toEqual([])
      await tab.close()
    }
  }, 600_000)
})
