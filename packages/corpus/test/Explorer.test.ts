import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import type { HyperwordRecord } from "@hyperwords/core/Artifacts"
import { chromiumArgs } from "@hyperwords/core/Chromium"
import { jsonForScript } from "@hyperwords/core/Html"
import { hostileTexts as hostile, openWatched, withoutCsp } from "@hyperwords/core/PageCheck"
import { type Browser, chromium, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { explorerData, renderExplorer } from "../src/Explorer.ts"
import { buildField, defaultFieldOptions } from "../src/Field.ts"
import { fieldRecords, fieldVectors } from "./fixtures/field.ts"

// The page.evaluate callbacks run in the page, where these globals exist; Node's types lack them.
// biome-ignore lint/suspicious/noExplicitAny: page globals, checked by the browser when the test runs
type PageGlobal = any
declare const document: PageGlobal
declare const window: PageGlobal

const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"
const missing = existsSync(chromiumPath) ? undefined : `no Chromium at ${chromiumPath}`
const out = join(import.meta.dirname, ".tmp", "explorer")

/** The explorer of the synthetic field, with hostile texts in a hyperword and an evidence line. */
const page = (): string => {
  const records = fieldRecords(true)
  const field = buildField(records, fieldVectors(records), 32, defaultFieldOptions)
  return renderExplorer(
    explorerData(field, records, { title: "test field <b>", model: "synthetic", layer: 0 })
  )
}

describe("the field explorer", () => {
  let browser: Browser | undefined
  const html = page()

  beforeAll(async () => {
    if (missing) return
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: chromiumArgs()
    })
  })
  afterAll(async () => {
    await browser?.close()
  })

  it("is one self-contained page whose data cannot close its script block", () => {
    expect(html).not.toMatch(/<script[^>]*\ssrc=/)
    expect(html).not.toMatch(/https?:\/\//)
    expect(html.match(/<\/script>/g)).toHaveLength(2)
    expect(html).not.toContain("<img src=x")
    expect(jsonForScript({ t: "</script><!--\u2028" })).toBe('{"t":"\\u003c/script\\u003e\\u003c!--\\u2028"}')
    expect(html).toContain("test field &lt;b&gt;")
  })

  it("draws the graph, finds and shows a hyperword, and runs no injected script", async (ctx) => {
    if (missing || !browser) return ctx.skip(missing)
    mkdirSync(out, { recursive: true })
    const file = join(out, "index.html")
    writeFileSync(file, html)
    const tab = await browser.newPage({ viewport: { width: 1200, height: 760 } })
    const problems: Array<string> = []
    tab.on("console", (m) => {
      if (m.type() === "error") problems.push(m.text())
    })
    tab.on("pageerror", (e) => problems.push(e.message))
    tab.on("dialog", (d) => {
      problems.push(`dialog: ${d.message()}`)
      void d.dismiss()
    })
    await tab.goto(pathToFileURL(file).href)
    await tab.waitForFunction(() => "hyperwordsField" in window)

    const shot = join(out, "explorer.png")
    await tab.screenshot({ path: shot })
    // pixels of the canvas that are not the background colour
    const drawn = await tab.evaluate(() => {
      const c = document.getElementById("canvas")
      const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data
      let n = 0
      for (let i = 0; i < d.length; i += 4) {
        if (Math.abs(d[i]! - 0xfb) + Math.abs(d[i + 1]! - 0xfa) + Math.abs(d[i + 2]! - 0xf7) > 30) n++
      }
      return n
    })
    expect(drawn).toBeGreaterThan(200)

    await tab.fill("#search", "frostsn")
    const result = tab.locator("#results .result", { hasText: "frostsnow" })
    await expect.poll(() => result.count()).toBe(1)
    await result.click()
    await expect.poll(() => tab.locator("#panel .word").textContent()).toBe("frostsnow")
    expect(await tab.locator("#panel .parts button").allTextContents()).toEqual(["frost", "snow"])
    expect(await tab.locator("#panel .senses").count()).toBe(1)
    expect(await tab.locator("#panel .neighbours button").count()).toBeGreaterThan(0)
    await tab.screenshot({ path: join(out, "explorer-selected.png") })

    // a click on a part in the panel moves to the part
    await tab.locator("#panel .parts button", { hasText: "frost" }).click()
    await expect.poll(() => tab.locator("#panel .word").textContent()).toBe("frost")

    // the hostile hyperword and its evidence show as text, and run nothing
    await tab.fill("#search", "pwned")
    await tab.locator("#results .result").first().click()
    expect(await tab.locator("#panel .word").textContent()).toBe(
      "</script><script>window.__pwned=1</script>fire"
    )
    expect(await tab.locator("#panel .ev").first().textContent()).toContain(
      '<img src=x onerror="window.__pwned=2">'
    )
    expect(await tab.locator("#panel img").count()).toBe(0)
    expect(await tab.evaluate(() => window.__pwned)).toBeUndefined()

    // a click on the canvas selects the node under the pointer (one in view, away from others)
    const target = await tab.evaluate(() => {
      const f = window.hyperwordsField
      const c = document.getElementById("canvas").getBoundingClientRect()
      const at: Array<[number, number]> = Array.from({ length: f.nodes }, (_, i) => f.screen(i))
      const data = JSON.parse(document.getElementById("field-data").textContent)
      const i = at.findIndex(
        ([x, y], i) =>
          x > 10 &&
          x < c.width - 10 &&
          y > 10 &&
          y < c.height - 10 &&
          at.every(([u, v], j) => j === i || (u - x) ** 2 + (v - y) ** 2 > 100)
      )
      return { x: at[i]![0], y: at[i]![1], text: data.nodes[i][2] as string }
    })
    await tab.mouse.click(target.x, target.y)
    await expect.poll(() => tab.locator("#panel .word").textContent()).toBe(target.text)
    expect(problems).toEqual([])
    await tab.close()
  })
})

/** The synthetic field's records plus hyperwords whose every text field is hostile. */
const hostileRecords = (): Array<HyperwordRecord> => {
  const rec = (parts: HyperwordRecord["parts"], extra: Partial<HyperwordRecord>): HyperwordRecord => ({
    id: `en:${parts.join("+")}`,
    surface: parts.join(""),
    lang: "en",
    parts,
    lemmas: [...parts],
    origin: "mined",
    stats: { count: 2, npmi: 0.5, llr: 12 },
    ...extra
  })
  return [
    ...fieldRecords(false),
    rec([hostile.close, "fire"], {
      gloss: `${hostile.script} ${hostile.js}`,
      evidence: [
        { doc: hostile.attr, line: 3, text: hostile.img },
        { doc: hostile.js, line: 4, text: hostile.sep }
      ]
    }),
    rec([hostile.img, hostile.attr], {
      origin: "generated",
      gloss: hostile.alert,
      evidence: [{ doc: hostile.close, line: 1, text: hostile.js }]
    }),
    rec([hostile.js, "snow"], { gloss: hostile.sep, evidence: [{ doc: "d", line: 1, text: hostile.alert }] })
  ]
}

describe("the field explorer with hostile texts everywhere", () => {
  let browser: Browser | undefined
  const records = hostileRecords()
  const field = buildField(records, fieldVectors(records), 32, defaultFieldOptions)
  const title = `field ${hostile.attr} ${hostile.close}`
  const model = `model ${hostile.img}`
  const data = explorerData(field, records, { title, model, layer: 0 })
  const html = renderExplorer(data)
  const bare = withoutCsp(html)

  beforeAll(async () => {
    if (missing) return
    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs() })
  })
  afterAll(async () => {
    await browser?.close()
  })

  const open = async (page: string, name: string) => {
    mkdirSync(out, { recursive: true })
    return openWatched(browser!, join(out, `${name}.html`), { html: page, width: 1200, height: 760 })
  }

  /** What a page built with script of its own would show: no markup of the data's, no handlers, no links. */
  const injected = (tab: Page) =>
    tab.evaluate(() => ({
      pwned: window.__pwned,
      elements: document.querySelectorAll("img,svg,iframe,object,embed,a,form,b").length,
      handlers: [...document.querySelectorAll("*")].flatMap((e) =>
        [...e.attributes].filter((a) => a.name.startsWith("on")).map((a) => a.name)
      ),
      scripts: document.querySelectorAll("script").length
    }))

  it("strips only the CSP for the test", () => {
    expect(html).toContain('http-equiv="Content-Security-Policy"')
    expect(bare).not.toContain("Content-Security-Policy")
    expect(bare.length).toBeGreaterThan(html.length - 400)
  })

  for (const [label, page] of [
    ["as rendered", html],
    ["without its CSP", bare]
  ] as const) {
    it(`runs no injected script and shows every text literally (${label})`, async (ctx) => {
      if (missing || !browser) return ctx.skip(missing)
      const { tab, problems } = await open(page, label === "as rendered" ? "hostile" : "hostile-no-csp")
      try {
        await tab.waitForFunction(() => "hyperwordsField" in window)
        expect(await tab.title()).toBe(title)
        expect(await tab.locator("h1").textContent()).toBe(title)
        expect(await tab.locator(".meta").textContent()).toContain(model)
        // the cloud list names clouds by their (hostile) parts
        const clouds = (await tab.locator("#results").textContent()) ?? ""
        for (const c of data.clouds.slice(0, 40)) expect(clouds).toContain(c.label)
        expect(data.clouds.some((c) => c.label.includes("__pwned"))).toBe(true)

        // every hostile hyperword's panel: word, parts, gloss, evidence and its documents, literally
        const hostileAt = Object.entries(data.records).filter(([, r]) => r.id.includes("__pwned"))
        expect(hostileAt).toHaveLength(3)
        for (const [at, r] of hostileAt) {
          const rec = records.find((x) => x.id === r.id)!
          await tab.evaluate((i: number) => window.hyperwordsField.select(i), Number(at))
          expect(await tab.locator("#panel .word").textContent()).toBe(rec.surface)
          expect(await tab.locator("#panel .parts button, #panel .parts span").allTextContents()).toEqual(
            rec.parts.map((p) => p.toLowerCase())
          )
          const panel = (await tab.locator("#panel").textContent()) ?? ""
          expect(panel).toContain(rec.gloss!)
          for (const e of rec.evidence ?? []) {
            expect(panel).toContain(e.text)
            expect(panel).toContain(`${e.doc}:${e.line}`)
          }
          expect(await injected(tab)).toEqual({ pwned: undefined, elements: 0, handlers: [], scripts: 2 })
        }

        // the search lists the hostile words as text, and a click shows one
        await tab.fill("#search", "pwned")
        const results = await tab.locator("#results .result").allTextContents()
        expect(results).toContain(hostileAt.map(([, r]) => records.find((x) => x.id === r.id)!.surface)[1])
        expect(results).toContain(hostile.attr)
        await tab.locator("#results .result", { hasText: hostile.img }).first().click()
        expect(await tab.locator("#panel .word").textContent()).toContain(hostile.img)
        expect(await injected(tab)).toEqual({ pwned: undefined, elements: 0, handlers: [], scripts: 2 })
        expect(problems).toEqual([])
      } finally {
        await tab.close()
      }
    })
  }

  // that the watcher catches a page putting these texts in raw is tested once, in core (PageCheck.test.ts)
})
