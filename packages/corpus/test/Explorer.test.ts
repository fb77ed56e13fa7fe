import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { chromiumArgs } from "@hyperwords/core/Chromium"
import { jsonForScript } from "@hyperwords/core/Html"
import { type Browser, chromium } from "playwright-core"
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
