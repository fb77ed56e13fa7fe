/**
 * The hostile-page watcher the report tests rely on catches what it is there to catch: a page that
 * puts the hostile texts in raw runs their script and opens their dialog.
 */
import { existsSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type Browser, chromium } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { chromiumArgs, chromiumPath } from "../src/Chromium.ts"
import { hasCsp, hostileTexts as hostile, openWatched, withoutCsp } from "../src/PageCheck.ts"

const missing = existsSync(chromiumPath()) ? undefined : `no Chromium at ${chromiumPath()}`

describe("the hostile-page watcher", () => {
  let browser: Browser | undefined
  beforeAll(async () => {
    if (!missing) browser = await chromium.launch({ executablePath: chromiumPath(), args: chromiumArgs() })
  })
  afterAll(async () => {
    await browser?.close()
  })

  it("strips a page's CSP and nothing else", () => {
    const page = `<head><meta http-equiv="Content-Security-Policy" content="default-src 'none'"><title>t</title></head>`
    expect(hasCsp(page)).toBe(true)
    expect(withoutCsp(page)).toBe("<head><title>t</title></head>")
    expect(hasCsp(withoutCsp(page))).toBe(false)
  })

  it("would catch a page that puts the texts in raw (the check itself works)", async (ctx) => {
    if (missing || !browser) return ctx.skip(missing)
    const raw = `<!doctype html><title>t</title><p>${hostile.img}</p><div>${hostile.alert}</div>`
    const { tab, problems } = await openWatched(
      browser,
      join(mkdtempSync(join(tmpdir(), "page-")), "raw.html"),
      {
        html: raw
      }
    )
    try {
      expect(await tab.evaluate("window.__pwned")).toBe(1)
      expect(problems).toContain("dialog: 1")
    } finally {
      await tab.close()
    }
  })
})
