import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { type Browser, chromium } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  bootstrapBand,
  chromiumArgs,
  chromiumPath,
  findingRow,
  renderReport,
  reportCharts,
  writeReport
} from "../src/Report.ts"
import { hostileSurface, hostileToken, syntheticFindings, syntheticMeasure } from "./fixtures/measure.ts"

// The page.evaluate callbacks run in the page, where these globals exist; Node's types lack them.
// biome-ignore lint/suspicious/noExplicitAny: page globals, checked by the browser when the test runs
type PageGlobal = any
declare const document: PageGlobal
declare const window: PageGlobal
declare const Image: PageGlobal

const missing = existsSync(chromiumPath()) ? undefined : `no Chromium at ${chromiumPath()}`
const out = join(import.meta.dirname, ".tmp", "report")

const input = {
  title: "probe <b>test</b>",
  runs: [
    { label: "base", measure: syntheticMeasure("base-model"), findings: syntheticFindings() },
    {
      label: "tuned",
      measure: syntheticMeasure("tuned <i>model</i>", 6, 6, 2, 2),
      findings: syntheticFindings()
    }
  ]
}

describe("bootstrapBand", () => {
  it("brackets the mean, and collapses when every row is the same", () => {
    const rows = Array.from({ length: 20 }, (_, i) => [i % 2, 0.5, i / 20])
    const band = bootstrapBand(rows, 3)
    band.mean.forEach((m, l) => {
      expect(band.lo[l]!).toBeLessThanOrEqual(m)
      expect(band.hi[l]!).toBeGreaterThanOrEqual(m)
    })
    expect(band.lo[1]).toBe(0.5)
    expect(band.hi[1]).toBe(0.5)
    expect(band.hi[0]! - band.lo[0]!).toBeGreaterThan(0.1)
    expect(bootstrapBand(rows, 3)).toEqual(band)
  })
})

describe("the report page", () => {
  const html = renderReport(input)
  let browser: Browser | undefined

  beforeAll(async () => {
    if (missing) return
    browser = await chromium.launch({ executablePath: chromiumPath(), args: chromiumArgs() })
  })
  afterAll(async () => {
    await browser?.close()
    rmSync(out, { recursive: true, force: true })
  })

  it("is self-contained, scriptless, and escapes every text", () => {
    expect(html).not.toMatch(/<script/i)
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3)/)
    expect(html).toContain("default-src &#39;none&#39;")
    expect(html).not.toContain(hostileSurface)
    expect(html).not.toContain(hostileToken)
    expect(html).toContain("&lt;/script&gt;&lt;script&gt;window.__pwned=1&lt;/script&gt;fire")
    expect(html).toContain("probe &lt;b&gt;test&lt;/b&gt;")
    expect(html).toContain("tuned &lt;i&gt;model&lt;/i&gt;")
    expect(html).toContain("P(Russian &lt;script&gt;)")
  })

  it("gives every finding its verdict, statistic, CI, p, n, band and rule, as computed", () => {
    for (const run of input.runs) {
      for (const f of run.findings) {
        const row = findingRow(run.label, f)
        const t = f.test
        expect(row).toContain(`>${f.verdict}</td>`)
        expect(row).toContain(`<td>${t.estimate.p.toPrecision(2)}</td>`)
        expect(row).toContain(`<td>${t.n}</td>`)
        expect(row).toContain(`${t.layers[0]}–${t.layers[t.layers.length - 1]}`)
        expect(html).toContain(row)
      }
    }
    const kaplanChart = reportCharts(input).find((c) => c.id === "finding-word-nonword")!
    const strong = input.runs[0]!.findings[0]!.test.perLayer.flatMap((e, l) => (e.p < 0.01 ? [l] : []))
    expect(strong.length).toBeGreaterThan(0)
    expect(kaplanChart.note).toContain(`layers at p < 0.01 on their own: ${strong.join(", ")}`)
    // the planted Kaplan readings are reproduced; the pivot's answer never leads before the output
    const [kaplan, pivot] = input.runs[0]!.findings
    expect(kaplan!.verdict).toBe("reproduced")
    expect(kaplan!.test.estimate.lo).toBeGreaterThan(0)
    expect(pivot!.verdict).toBe("not reproduced")
  })

  it("draws every chart for both model versions", () => {
    const charts = reportCharts(input)
    expect(charts.map((c) => c.id)).toEqual([
      "lens-fused",
      "lens-phrase",
      "assembly",
      "tracked",
      "norm",
      "attention-own",
      "attention-heads",
      "patchscope",
      "finding-word-nonword",
      "finding-english-pivot"
    ])
    for (const c of charts) {
      // per-version panels, or one panel whose legend names both versions
      const both =
        c.panels.length === 2 || (c.panels[0]!.svg.includes("base:") && c.panels[0]!.svg.includes("tuned:"))
      expect(both, c.id).toBe(true)
    }
  })

  it("runs no injected markup in Chromium, shows it as text, and screenshots drawn charts", async (ctx) => {
    if (missing || !browser) return ctx.skip(missing)
    mkdirSync(out, { recursive: true })
    const written = await writeReport(input, out)
    expect(written.png).toHaveLength(10)
    const tab = await browser.newPage({ viewport: { width: 1400, height: 900 } })
    const problems: Array<string> = []
    tab.on("pageerror", (e) => problems.push(e.message))
    tab.on("dialog", (d) => {
      problems.push(`dialog: ${d.message()}`)
      void d.dismiss()
    })
    tab.on("request", (r) => {
      if (!r.url().startsWith("file:")) problems.push(`request: ${r.url()}`)
    })
    await tab.goto(pathToFileURL(join(out, written.html)).href)
    expect(await tab.evaluate(() => window.__pwned)).toBeUndefined()
    expect(await tab.locator("img").count()).toBe(0)
    expect(await tab.locator("script").count()).toBe(0)
    expect(await tab.locator(".word").first().textContent()).toBe(hostileSurface)
    const cells = await tab.locator("#chart-lens-fused text.tok").allTextContents()
    expect(cells.some((t) => t.startsWith("<img·"))).toBe(true)
    expect(problems).toEqual([])

    // every PNG has drawn pixels: decoded by the browser, counted off-white
    for (const file of written.png) {
      const data = `data:image/png;base64,${readFileSync(join(out, file)).toString("base64")}`
      const drawn = await tab.evaluate(async (src: string) => {
        const img = new Image()
        img.src = src
        await img.decode()
        const c = document.createElement("canvas")
        c.width = img.width
        c.height = img.height
        const g = c.getContext("2d")
        g.drawImage(img, 0, 0)
        const d = g.getImageData(0, 0, c.width, c.height).data
        let n = 0
        for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] < 600) n++
        return { n, w: img.width, h: img.height }
      }, data)
      expect(drawn.w, file).toBeGreaterThan(200)
      expect(drawn.n, file).toBeGreaterThan(1500)
    }
  })
})
