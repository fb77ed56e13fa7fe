/**
 * The leaderboard in a real browser: headless Chromium loads the rendered page from file:// with
 * injection attempts in every text; no script of theirs may run, their text must show literally,
 * the page's own sort script must work, and the table must be drawn.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { chromiumArgs } from "@hyperwords/core/Chromium"
import { type Browser, chromium, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { buildLeaderboard, renderHtml } from "../src/Leaderboard.ts"
import { hostileExperimentInput, payloads, wideInput } from "./fixtures/leaderboard.ts"

// The page.evaluate callbacks run in the page, where these globals exist; Node's types lack them.
// biome-ignore lint/suspicious/noExplicitAny: page globals, checked by the browser when the test runs
type PageGlobal = any
declare const document: PageGlobal
declare const window: PageGlobal
declare const Image: PageGlobal

const CHROMIUM = "/usr/bin/chromium"
const tmp = resolve(import.meta.dirname, ".tmp")
let browser: Browser | undefined

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: apt-get install -y chromium (the leaderboard is tested in a real browser)`
    )
  }
  mkdirSync(tmp, { recursive: true })
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: chromiumArgs()
  })
})

afterAll(async () => {
  await browser?.close()
})

interface Visit {
  readonly page: Page
  readonly dialogs: Array<string>
  readonly requests: Array<string>
  readonly errors: Array<string>
}

const visit = async (html: string, name: string): Promise<Visit> => {
  const file = join(tmp, `${name}.html`)
  writeFileSync(file, html)
  const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } })
  const dialogs: Array<string> = []
  const requests: Array<string> = []
  const errors: Array<string> = []
  page.on("dialog", (d) => {
    dialogs.push(d.message())
    void d.dismiss()
  })
  page.on("request", (r) => requests.push(r.url()))
  page.on("pageerror", (e) => errors.push(e.message))
  await page.goto(pathToFileURL(file).href, { waitUntil: "load" })
  await page.waitForTimeout(200) // let any onerror handler of a stray <img> fire
  return { page, dialogs, requests, errors }
}

const pixelSpread = (page: Page, png: Buffer): Promise<{ sd: number; distinct: number }> =>
  page.evaluate(
    async (src) => {
      const img = new Image()
      img.src = src
      await img.decode()
      const canvas = document.createElement("canvas")
      canvas.width = img.width
      canvas.height = img.height
      const ctx = canvas.getContext("2d")!
      ctx.drawImage(img, 0, 0)
      const { data } = ctx.getImageData(0, 0, img.width, img.height)
      let sum = 0
      let sq = 0
      const seen = new Set<number>()
      const n = data.length / 4
      for (let i = 0; i < data.length; i += 4) {
        const y = 0.299 * data[i]! + 0.587 * data[i + 1]! + 0.114 * data[i + 2]!
        sum += y
        sq += y * y
        seen.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!)
      }
      const mean = sum / n
      return { sd: Math.sqrt(sq / n - mean * mean), distinct: seen.size }
    },
    `data:image/png;base64,${png.toString("base64")}`
  )

// the hostile board with a control row: the experiment's sentences carry hostile names too
const data = buildLeaderboard(hostileExperimentInput)
const html = renderHtml(data)

describe("leaderboard in Chromium", () => {
  for (const [label, page] of [
    ["as rendered", html],
    // the escaping alone must hold, without the Content-Security-Policy behind it
    ["without its CSP", html.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, "")]
  ] as const) {
    it(`runs no injected script and shows every text literally (${label})`, async () => {
      expect(page.includes("Content-Security-Policy")).toBe(label === "as rendered")
      const v = await visit(page, label === "as rendered" ? "leaderboard" : "leaderboard-no-csp")
      try {
        expect(v.dialogs).toEqual([])
        expect(v.errors).toEqual([])
        expect(await v.page.evaluate(() => window.__xss)).toBeUndefined()
        expect(v.requests.filter((u) => !u.startsWith("file://"))).toEqual([])
        expect(await v.page.locator("img").count()).toBe(0)
        const onAttrs = await v.page.evaluate(
          () =>
            [...document.querySelectorAll("*")].flatMap((e) =>
              [...e.attributes].filter((a) => a.name.startsWith("on")).map((a) => a.name)
            ).length
        )
        expect(onAttrs).toBe(0)
        // biome-ignore lint/performance/useDomNodeTextContent: what is rendered visibly is the point
        const text = await v.page.evaluate(() => document.body.innerText)
        for (const p of payloads) expect(text).toContain(p)
        // the experiment's sentences name the control literally
        const findings = await v.page.evaluate(() => document.getElementById("findings")?.innerText ?? "")
        expect(findings).toContain(`> control ${payloads[2]} on imageability`)
        expect(await v.page.title()).toBe(`hyperwords ${payloads[2]}`)
        const links = await v.page.evaluate(() =>
          [...document.querySelectorAll("[href],[src],[action]")].map(
            (e) => e.getAttribute("href") ?? e.getAttribute("src") ?? e.getAttribute("action")
          )
        )
        expect(links).toEqual(["../probe/base/index.html"])
      } finally {
        await v.page.close()
      }
    })
  }

  it("would catch a page that does not escape (the check itself works)", async () => {
    const raw = `<!doctype html><title>t</title><p>${payloads[1]}</p><div>${payloads[0]}</div>`
    const v = await visit(raw, "unescaped")
    try {
      expect(await v.page.evaluate(() => window.__xss)).toBe(1)
      expect(v.dialogs).toEqual(["1"])
    } finally {
      await v.page.close()
    }
  })

  it("draws the table and sorts it with its own script under the CSP", async () => {
    const v = await visit(html, "leaderboard-sort")
    try {
      const names = () =>
        v.page.evaluate(() =>
          [...document.querySelectorAll("#board tbody tr")].map((r) => r.querySelector("th")!.textContent)
        )
      expect((await names())[0]).toMatch(/^base/)
      const header = v.page.locator("#board thead th", { hasText: "imageability" })
      await header.click()
      await header.click() // descending: the tuned version (higher mean) first
      expect(await header.getAttribute("aria-sort")).toBe("descending")
      expect((await names())[0]).toMatch(/^tuned/)
      const box = await v.page.locator("#board").boundingBox()
      expect(box!.height).toBeGreaterThan(80)
      expect(box!.width).toBeGreaterThan(600)
      const shot = await v.page.locator("#board").screenshot({ path: join(tmp, "leaderboard-table.png") })
      await v.page.screenshot({ path: join(tmp, "leaderboard.png"), fullPage: true })
      const spread = await pixelSpread(v.page, shot)
      expect(spread.sd).toBeGreaterThan(10)
      expect(spread.distinct).toBeGreaterThan(20)
    } finally {
      await v.page.close()
    }
  })

  it('shows a tie as "tied" with its MDE, and the score above the random-word control, all as text', async () => {
    // the control answers as the tuned version does, ± 0.01 by prompt: within noise
    const [base, tuned, control] = hostileExperimentInput.entries
    const tiedInput = {
      ...hostileExperimentInput,
      entries: [
        base!,
        {
          ...tuned!,
          summaries: tuned!.summaries.map((s) =>
            s.name === "imageability"
              ? { ...s, corpus: { score: 0.59, control: 0.5, controlCi: [0.48, 0.52] as const } }
              : s
          )
        },
        {
          ...control!,
          rows: tuned!.rows!.map((r) => ({
            ...r,
            scores: {
              ...r.scores,
              imageability: r.scores.imageability! + (Number(r.promptId!.slice(1)) % 2 === 0 ? 0.01 : -0.01)
            }
          }))
        }
      ]
    }
    const board = buildLeaderboard(tiedInput)
    const v = await visit(renderHtml(board), "leaderboard-tied")
    try {
      const tied = v.page.locator("#board tbody tr", { hasText: "tuned" }).locator(".delta.tied")
      expect(await tied.count()).toBe(1)
      expect(await tied.textContent()).toMatch(/^vs control Δ [+−-]?[\d.]+ tied MDE [\d.]+$/)
      // the title names the hostile control row, as text
      expect(await tied.getAttribute("title")).toContain(`vs control ${payloads[2]} (control)`)
      expect(await tied.getAttribute("title")).toMatch(
        /tied: within noise .* minimum detectable \|Δ\| [\d.]+ \(80% power/
      )
      const findings = await v.page.locator("#findings li").allTextContents()
      expect(findings.filter((f) => f.includes(" tied on imageability ("))).toEqual([
        expect.stringMatching(
          new RegExp(
            `^tuned .* and control ${payloads[2].replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} tied on imageability \\(Δ .*; MDE [\\d.]+ at 80% power\\)$`
          )
        )
      ])
      const chance = v.page
        .locator("#board tbody tr", { hasText: "tuned" })
        .locator(".lc", { hasText: "above chance" })
      expect(await chance.first().textContent()).toMatch(
        /^above chance \+0\.09 \[[\d.]+, [\d.]+\] \(control 0\.5\)$/
      )
      expect(await v.page.evaluate(() => window.__xss)).toBeUndefined()
      expect(v.dialogs).toEqual([])
    } finally {
      await v.page.close()
    }
  })

  it("fits a 1280-px window with the default's six metrics: the table scrolls inside, the version column stays", async () => {
    const v = await visit(renderHtml(buildLeaderboard(wideInput)), "leaderboard-wide")
    try {
      const widths = await v.page.evaluate(() => ({
        page: document.documentElement.scrollWidth,
        window: window.innerWidth
      }))
      expect(widths.page).toBeLessThanOrEqual(widths.window)
      const first = v.page.locator("#board tbody th").first()
      const before = (await first.boundingBox())!.x
      await v.page.evaluate(() => {
        const wrap = document.querySelector("#board").parentElement
        wrap.scrollLeft = wrap.scrollWidth
      })
      expect(Math.abs((await first.boundingBox())!.x - before)).toBeLessThan(2)
      await v.page.screenshot({ path: join(tmp, "leaderboard-wide.png"), fullPage: true })
    } finally {
      await v.page.close()
    }
  })
})
