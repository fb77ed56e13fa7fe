import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { escapeHtml, escapeMarkdown, jsonForScript, safeHref } from "@hyperwords/core/Html"
import { describe, expect, it } from "vitest"
import {
  buildLeaderboard,
  type Cell,
  formatNumber,
  renderHtml,
  renderMarkdown,
  writeLeaderboard
} from "../src/Leaderboard.ts"
import { hostileInput, payloads } from "./fixtures/leaderboard.ts"

describe("escaping", () => {
  it("escapes markup, attributes and script-embedded JSON", () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&\``)).toBe(
      "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;"
    )
    const json = jsonForScript({ t: "</script><!-- \u2028 &" })
    expect(json).not.toMatch(/<|>|&|\u2028/)
    expect(JSON.parse(json)).toEqual({ t: "</script><!-- \u2028 &" })
    expect(escapeMarkdown("a|b *c* <i>\nd")).toBe("a\\|b \\*c\\* &lt;i&gt; d")
  })

  it("allows only relative and http(s) links", () => {
    expect(safeHref("../probe/base/index.html")).toBe("../probe/base/index.html")
    expect(safeHref("https://huggingface.co/x")).toBe("https://huggingface.co/x")
    for (const bad of [
      "javascript:alert(1)",
      " JaVaScRiPt:x",
      "data:text/html,x",
      "//evil.example",
      "java\tscript:x"
    ]) {
      expect(safeHref(bad), bad).toBeUndefined()
    }
  })
})

/** Every tag of a page with its attributes (quoted values consumed whole, as a browser reads them). */
const tagsOf = (html: string) =>
  [...html.matchAll(/<([a-zA-Z][\w-]*)((?:\s+[\w:-]+(?:="[^"]*"|='[^']*'|=[^\s"'>]+)?)*)\s*\/?>/g)].map(
    (m) => ({
      name: m[1]!.toLowerCase(),
      attrs: [...m[2]!.matchAll(/([\w:-]+)(?:="([^"]*)"|='([^']*)'|=([^\s"'>]+))?/g)].map((a) => ({
        name: a[1]!.toLowerCase(),
        value: a[2] ?? a[3] ?? a[4] ?? ""
      }))
    })
  )

describe("Leaderboard", () => {
  const data = buildLeaderboard(hostileInput)

  it("has a row per version, a column per metric and a paired delta against the base", () => {
    expect(data.rows.map((r) => r.name)).toEqual(["base", `tuned ${payloads[1]}`])
    expect(data.metrics.map((m) => m.name)).toEqual(["imageability", payloads[0]])
    const tuned = data.rows[1]!.cells.imageability!
    expect(tuned.status).toBe("ok")
    if (tuned.status !== "ok") return
    expect(tuned.delta?.vs).toBe("base")
    expect(tuned.delta?.delta).toBeCloseTo(0.1, 12)
    expect(tuned.delta?.n).toBe(12)
    expect(tuned.delta?.mark).toBe("***")
    expect(tuned.delta?.better).toBe(true)
    expect(data.rows[1]!.cells[payloads[0]]).toMatchObject({ status: "failed" })
    expect(data.rows[0]!.cells.imageability).not.toHaveProperty("delta")
  })

  it("renders no raw markup from any text, and no link that is not relative", () => {
    const html = renderHtml(data)
    for (const p of payloads) expect(html).not.toContain(p)
    const tags = tagsOf(html)
    expect(tags.filter((t) => t.name === "img" || t.attrs.some((a) => a.name.startsWith("on")))).toEqual([])
    expect(tags.flatMap((t) => t.attrs).filter((a) => /^\s*javascript:/i.test(a.value))).toEqual([])
    expect(html.match(/<script/g)?.length).toBe(3) // the JSON block and the page's own sort and filter scripts
    expect(html.match(/<\/style>/g)?.length).toBe(1)
    expect(html).toContain(escapeHtml(payloads[0]))
    expect(html).toContain('<a href="../probe/base/index.html">probe report</a>')
    const embedded = /<script type="application\/json" id="leaderboard-data">(.*?)<\/script>/s.exec(html)![1]!
    expect(JSON.parse(embedded).rows[1].name).toBe(`tuned ${payloads[1]}`)
  })

  it("has no external URL and a policy that forbids network and foreign scripts", () => {
    const html = renderHtml(data)
    const urls = tagsOf(html)
      .flatMap((t) => t.attrs)
      .filter((a) => ["src", "href", "action", "srcset", "poster", "data"].includes(a.name))
      .map((a) => a.value)
    expect(urls).toEqual(["../probe/base/index.html"])
    expect(html).not.toMatch(/https?:\/\//)
    expect(html).toMatch(/Content-Security-Policy" content="default-src &#39;none&#39;/)
  })

  it("writes Markdown and JSON with the same numbers, escaped", () => {
    const dir = mkdtempSync(join(tmpdir(), "leaderboard-"))
    const files = writeLeaderboard(dir, data)
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual([
      "index.html",
      "leaderboard.md",
      "leaderboard.json"
    ])
    const md = readFileSync(join(dir, "leaderboard.md"), "utf8")
    rmSync(dir, { recursive: true })
    for (const p of payloads) expect(md).not.toContain(p)
    expect(md).not.toMatch(/<script|<img/)
    // the intervals are the two-stage ones over the rows' 12 prompts, not the stored ±0.05
    const ci = (c: Cell | undefined) => (c?.status === "ok" ? c.ci!.map(formatNumber).join(", ") : "")
    expect(ci(data.rows[0]!.cells.imageability)).not.toBe("0.44, 0.54")
    expect(md).toContain(`| base | – | 0.49 [${ci(data.rows[0]!.cells.imageability)}] |`)
    expect(md).toContain(`0.59 [${ci(data.rows[1]!.cells.imageability)}] Δ +0.1\\*\\*\\* (MDE 0)`)
    expect(md).toContain("[probe report](<../probe/base/index.html>)")
    expect(md).toContain("javascript:window.\\_\\_xss=3") // shown as text, not a link
    expect(renderMarkdown(data)).toBe(md)
  })

  it("says failed once, whether or not the reason starts with it", () => {
    const failing = (reason: string) =>
      renderMarkdown(
        buildLeaderboard({
          ...hostileInput,
          entries: [
            {
              ...hostileInput.entries[0]!,
              summaries: [{ ...hostileInput.entries[0]!.summaries[0]!, status: "failed", reason }]
            }
          ]
        })
      )
    expect(failing("failed: none of 3 answers has 7 valid nouns")).toContain(
      "| failed: none of 3 answers has 7 valid nouns |"
    )
    expect(failing("failed: none of 3 answers has 7 valid nouns")).not.toContain("failed: failed")
    expect(failing("timed out after 10 ms")).toContain("| failed: timed out after 10 ms |")
  })
})
