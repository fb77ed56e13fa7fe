/**
 * The comparison page in a real browser: headless Chromium loads it from file:// with hostile
 * text in answers, prompts, names and a task; no script of theirs may run and their text shows
 * literally; the task and language filters hide and show samples; a permalink opens the page at
 * its sample, highlighted, clearing a filter that hid it.
 */
import { existsSync, mkdirSync } from "node:fs"
import { join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { chromiumArgs, chromiumPath } from "@hyperwords/core/Chromium"
import { openWatched, withoutCsp } from "@hyperwords/core/PageCheck"
import { type Browser, chromium } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { renderComparePage } from "../src/ComparePage.ts"
import { comparePairs } from "../src/ComparePairs.ts"
import { hostile, hostileTask, sideA, sideB } from "./fixtures/compare.ts"

// The page.evaluate callbacks run in the page, where these globals exist; Node's types lack them.
// biome-ignore lint/suspicious/noExplicitAny: page globals, checked by the browser when the test runs
type PageGlobal = any
declare const document: PageGlobal
declare const window: PageGlobal
declare const location: PageGlobal

const tmp = resolve(import.meta.dirname, ".tmp")
let browser: Browser | undefined

beforeAll(async () => {
  if (!existsSync(chromiumPath()))
    throw new Error(
      `${chromiumPath()} is missing: apt-get install -y chromium (the page is tested in a real browser)`
    )
  mkdirSync(tmp, { recursive: true })
  browser = await chromium.launch({ executablePath: chromiumPath(), args: chromiumArgs() })
})

afterAll(async () => {
  await browser?.close()
})

const html = renderComparePage(comparePairs(sideA, sideB, { generatedAt: "2026-12-06T00:00:00Z" }))

const visible = (tab: import("playwright-core").Page) =>
  tab.evaluate(() =>
    [...document.querySelectorAll("section.sample")].filter((s) => !s.hidden).map((s) => s.id)
  )

describe("comparison page in Chromium", () => {
  for (const [label, page] of [
    ["as rendered", html],
    ["without its CSP", withoutCsp(html)]
  ] as const) {
    it(`runs no injected script and shows hostile text literally (${label})`, async () => {
      const { tab, problems } = await openWatched(
        browser!,
        join(tmp, `compare-${label.replace(/\W+/g, "-")}.html`),
        {
          html: page
        }
      )
      try {
        expect(problems).toEqual([])
        expect(await tab.evaluate(() => window.__pwned)).toBeUndefined()
        expect(await tab.locator("img").count()).toBe(0)
        expect(await tab.locator("script").count()).toBe(1)
        // biome-ignore lint/performance/useDomNodeTextContent: the text as shown (textContent would include the script's source)
        const text: string = await tab.evaluate(() => document.body.innerText)
        expect(text).toContain(`hostile answer ${hostile.img} ${hostile.script}`)
        expect(text).toContain(hostile.pwned)
        expect(text).toContain(`tuned ${hostile.img}`)
        expect(await tab.locator("#f-task option").allTextContents()).toContain(hostileTask)
        // the page's own script ran: the count is its text
        expect(await tab.locator("#count").textContent()).toBe("25 of 25 samples shown")
        // the most flipped first
        expect(await tab.evaluate(() => document.querySelector("section.sample").id)).toBe("sample-p2-0")
      } finally {
        await tab.close()
      }
    })
  }

  it("filters by task and by language", async () => {
    const { tab, problems } = await openWatched(browser!, join(tmp, "compare-filter.html"), { html })
    try {
      await tab.selectOption("#f-task", "ten-words")
      expect(await visible(tab)).toEqual(["sample-p2-0", "sample-p4-0"])
      expect(await tab.locator("#count").textContent()).toBe("2 of 25 samples shown")
      await tab.selectOption("#f-task", hostileTask)
      expect(await visible(tab)).toEqual(["sample-p3-0"])
      await tab.selectOption("#f-task", "")
      await tab.selectOption("#f-lang", "ru")
      expect(await visible(tab)).toEqual(["sample-p2-0", "sample-p4-0"])
      await tab.selectOption("#f-lang", "en")
      expect((await visible(tab)).length).toBe(23)
      expect(problems).toEqual([])
    } finally {
      await tab.close()
    }
  })

  it("opens a permalink at its sample, highlighted, and clears a filter that hides it", async () => {
    const file = join(tmp, "compare-permalink.html")
    const { tab, problems } = await openWatched(browser!, file, { html, height: 500 })
    try {
      const url = pathToFileURL(file).href
      // a fresh page at a permalink far down
      await tab.goto(`${url}#sample-f15-0`, { waitUntil: "load" })
      await tab.waitForTimeout(100)
      const at = await tab.evaluate(() => {
        const el = document.getElementById("sample-f15-0")
        return {
          highlighted: el.classList.contains("highlight"),
          top: el.getBoundingClientRect().top,
          y: window.scrollY
        }
      })
      expect(at.highlighted).toBe(true)
      expect(at.y).toBeGreaterThan(0)
      expect(Math.abs(at.top)).toBeLessThan(120) // scrolled to the top (below the sticky filters)
      // a permalink followed while a filter hides its sample
      await tab.selectOption("#f-lang", "ru")
      await tab.click("#sample-p2-0 a.permalink")
      expect(await tab.evaluate(() => location.hash)).toBe("#sample-p2-0")
      await tab.evaluate(() => {
        location.hash = "#sample-p3-0"
      })
      await tab.waitForTimeout(100)
      const p3 = await tab.evaluate(() => {
        const el = document.getElementById("sample-p3-0")
        return {
          hidden: el.hidden,
          highlighted: el.classList.contains("highlight"),
          lang: document.getElementById("f-lang").value
        }
      })
      expect(p3).toEqual({ hidden: false, highlighted: true, lang: "" })
      expect(await tab.locator("section.sample.highlight").count()).toBe(1)
      expect(problems).toEqual([])
    } finally {
      await tab.close()
    }
  })
})
