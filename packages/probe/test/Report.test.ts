import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs"
import { join } from "node:path"
import { hostileTexts as hostile, openWatched, withoutCsp } from "@hyperwords/core/PageCheck"
import { type Browser, chromium } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Finding } from "../src/Findings.ts"
import {
  bootstrapBand,
  chromiumArgs,
  chromiumPath,
  findingRow,
  type ReportInput,
  renderReport,
  reportCharts,
  writeReport
} from "../src/Report.ts"
import type { SuperwordMeasure } from "../src/Superwords.ts"
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
    const { tab, problems } = await openWatched(browser, join(out, written.html), {
      width: 1400,
      height: 900
    })
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

/** Findings whose every text (claim, figure, statistic, rule, band) is hostile. */
const hostileFindings = (): Array<Finding> =>
  syntheticFindings().map((f, i) => ({
    ...f,
    claim: `${f.claim} ${i === 0 ? hostile.attr : hostile.script}`,
    figure: `${f.figure} ${hostile.img} ${hostile.sep}`,
    test: {
      ...f.test,
      statistic: `${f.test.statistic} ${hostile.close}`,
      rule: `${f.test.rule} ${hostile.js}`,
      band: f.test.band.map((b) => ({ ...b, why: `${b.why} ${hostile.alert}` }))
    }
  }))

/** A superwords measurement with hostile spans, pieces, decodings, names and sentence. */
const hostileSuperwords = (layers: number): SuperwordMeasure => {
  const n = 4
  const findings = hostileFindings().map((f, i) => ({
    ...f,
    id: i === 0 ? ("superword-state" as const) : ("superword-patchscope" as const)
  }))
  return {
    tuned: `tuned ${hostile.script}`,
    base: `base ${hostile.attr}`,
    numLayers: layers,
    items: Array.from({ length: n }, (_, i) => ({
      surface: i === 0 ? ` ${hostile.img} lap` : ` w${i} x`,
      parts: ["w", "x"],
      basePieces: [hostile.close, "x"]
    })),
    leftOut: [{ surface: hostile.js, why: hostile.alert }],
    cosine: Array.from({ length: layers + 1 }, () =>
      Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 0.9 : 0.1)))
    ),
    patchscope: {
      prompt: `cat -> cat; ${hostile.attr} ->`,
      layers: [0, 3, 6],
      maxNewTokens: 5,
      tuned: [0, 3, 6].map(() => Array.from({ length: n }, () => hostile.close)),
      base: [0, 3, 6].map(() => Array.from({ length: n }, () => hostile.sep)),
      share: [0, 3, 6].map(() => [Array.from({ length: n }, () => 0.5), Array.from({ length: n }, () => 0.1)])
    },
    findings,
    sentence: `The superwords ${hostile.script} ${hostile.img}`
  }
}

describe("the report page with hostile texts everywhere", () => {
  const labels = [`base ${hostile.img}`, `tuned ${hostile.attr}`]
  const models = [`base-model ${hostile.close}`, `tuned-model ${hostile.alert}`]
  const title = `probe ${hostile.attr} ${hostile.script}`
  const hostileInput: ReportInput = {
    title,
    runs: [
      { label: labels[0]!, measure: syntheticMeasure(models[0]!), findings: hostileFindings() },
      { label: labels[1]!, measure: syntheticMeasure(models[1]!, 6, 6, 2, 2), findings: hostileFindings() }
    ],
    superwords: hostileSuperwords(6)
  }
  const html = renderReport(hostileInput)
  const bare = withoutCsp(html)
  let browser: Browser | undefined

  beforeAll(async () => {
    if (missing) return
    browser = await chromium.launch({ executablePath: chromiumPath(), args: chromiumArgs() })
  })
  afterAll(async () => {
    await browser?.close()
  })

  const open = async (page: string, name: string) => {
    mkdirSync(out, { recursive: true })
    return openWatched(browser!, join(out, `${name}.html`), { html: page, width: 1400, height: 900 })
  }

  it("strips only the CSP for the test", () => {
    expect(html).toContain('http-equiv="Content-Security-Policy"')
    expect(bare).not.toContain("Content-Security-Policy")
  })

  for (const [label, page] of [
    ["as rendered", html],
    ["without its CSP", bare]
  ] as const) {
    it(`runs no injected script and shows every text literally (${label})`, async (ctx) => {
      if (missing || !browser) return ctx.skip(missing)
      const { tab, problems } = await open(page, label === "as rendered" ? "hostile" : "hostile-no-csp")
      try {
        expect(
          await tab.evaluate(() => ({
            pwned: window.__pwned,
            elements: document.querySelectorAll("img,script,iframe,object,embed,a,form,b,i,foreignObject")
              .length,
            handlers: [...document.querySelectorAll("*")].flatMap((e) =>
              [...e.attributes].filter((a) => a.name.startsWith("on")).map((a) => a.name)
            ),
            links: document.querySelectorAll("[href],[src],[action],[xlink\\:href]").length
          }))
        ).toEqual({ pwned: undefined, elements: 0, handlers: [], links: 0 })
        expect(await tab.title()).toBe(title)
        expect(await tab.locator("h1").textContent()).toBe(title)
        const meta = (await tab.locator(".meta").textContent()) ?? ""
        for (const t of [...labels, ...models]) expect(meta).toContain(t)
        expect(await tab.locator(".word").first().textContent()).toBe(hostileSurface)

        // the findings table: every figure of every verdict, as text
        const cells = await tab.locator("table.findings td").allTextContents()
        for (const run of hostileInput.runs) {
          for (const f of run.findings) {
            expect(cells).toContain(f.claim)
            expect(cells).toContain(f.figure)
            expect(cells).toContain(f.test.statistic)
            expect(cells).toContain(f.test.rule)
            expect(cells.some((c) => c.includes(f.test.band[0]!.why))).toBe(true)
          }
        }
        expect(cells).toContain(labels[0])
        // the superwords: spans, pieces, decodings, what was left out, the sentence
        const sw = hostileInput.superwords!
        expect(cells).toContain(sw.items[0]!.surface)
        expect(cells).toContain(`${hostile.close} | x`)
        expect(cells).toContain(hostile.close)
        expect(cells).toContain(hostile.sep)
        expect(await tab.locator(".sentence").textContent()).toBe(sw.sentence)
        const notes = (await tab.locator(".note").allTextContents()).join("\n")
        expect(notes).toContain(`"${hostile.js}" (${hostile.alert})`)
        expect(notes).toContain(`${sw.tuned} sees one token, ${sw.base} the span's pieces`)
        expect(notes).toContain(sw.patchscope!.prompt)

        // the charts: titles, panel labels, legends, lens tokens and their tooltips
        const figures = (await tab.locator("figure.chart h2").allTextContents()).join("\n")
        expect(figures).toContain(`Logit lens, the hyperword: ${hostileSurface}`)
        expect(figures).toContain(hostileInput.runs[0]!.findings[0]!.claim)
        const panels = await tab.locator(".panel h3").allTextContents()
        expect(panels).toContain(`${labels[0]} · ${hostileSurface}`)
        expect(panels).toContain(`${sw.tuned} vs ${sw.base} · 4 superwords`)
        const legend = await tab.locator("#chart-assembly text.tick").allTextContents()
        expect(legend).toContain(`${labels[1]}: fused ~ phrase`)
        const tips = await tab.locator("#chart-lens-fused rect > title").allTextContents()
        expect(tips.some((t) => t.includes(`: ${hostileToken} (p=`))).toBe(true)
        const toks = await tab.locator("#chart-lens-fused text.tok").allTextContents()
        expect(toks).toContain("</scrip…")
        expect(problems).toEqual([])
      } finally {
        await tab.close()
      }
    })
  }

  // that the watcher catches a page putting these texts in raw is tested once, in core (PageCheck.test.ts)
})
