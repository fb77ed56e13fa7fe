/**
 * The probe report: one self-contained HTML page per run whose charts are inline SVG drawn here
 * (no script, no CDN; the Content-Security-Policy forbids scripts altogether), every chart also as
 * a PNG screenshot from headless Chromium, and every number in `report.json`. With two model
 * versions (base and tuned) every chart shows both. Every text that reaches the page — hyperwords,
 * lens tokens, model names — passes through `escapeHtml`.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { chromiumArgs, chromiumPath } from "@hyperwords/core/Chromium"
import { escapeHtml, pageHead } from "@hyperwords/core/Html"
import { mulberry32 } from "@hyperwords/core/Random"
import { lineChart } from "./Charts.ts"
import type { Finding } from "./Findings.ts"
import { type Condition, conditions, type ModelMeasure } from "./Measure.ts"
import { fillGaps, superwordCharts, superwordSection } from "./SuperwordReport.ts"
import type { SuperwordMeasure } from "./Superwords.ts"
import { alpha } from "./Verdict.ts"

export { lineChart } from "./Charts.ts"

/** One model version's measurements and findings. */
export interface ReportRun {
  /** "base", "tuned", or the model's name. */
  readonly label: string
  readonly measure: ModelMeasure
  readonly findings: ReadonlyArray<Finding>
}

/** What the page shows. */
export interface ReportInput {
  readonly title: string
  readonly runs: ReadonlyArray<ReportRun>
  /** The item whose lens and attention are drawn in detail (index into the probe set; default 0). */
  readonly focus?: number
  readonly seed?: number
  /** A superwords version: its one-token states against the base's spans (`Superwords.ts`). */
  readonly superwords?: SuperwordMeasure
}

/** A mean with its bootstrap 95% interval. */
export interface Band {
  readonly mean: ReadonlyArray<number>
  readonly lo: ReadonlyArray<number>
  readonly hi: ReadonlyArray<number>
}

/** Per-layer mean over rows with a percentile-bootstrap 95% band (seeded). */
export const bootstrapBand = (
  rows: ReadonlyArray<ReadonlyArray<number>>,
  seed = 1,
  resamples = 1000
): Band => {
  const layers = rows[0]?.length ?? 0
  const n = rows.length
  const rand = mulberry32(seed)
  const meanAt = (l: number, pick: ReadonlyArray<number>) =>
    pick.reduce((s, i) => s + rows[i]![l]!, 0) / pick.length
  const all = rows.map((_, i) => i)
  const samples = Array.from({ length: resamples }, () =>
    Array.from({ length: n }, () => Math.floor(rand() * n))
  )
  const mean: Array<number> = []
  const lo: Array<number> = []
  const hi: Array<number> = []
  for (let l = 0; l < layers; l++) {
    mean.push(meanAt(l, all))
    const ms = samples.map((s) => meanAt(l, s)).sort((a, b) => a - b)
    lo.push(ms[Math.floor(0.025 * (resamples - 1))]!)
    hi.push(ms[Math.ceil(0.975 * (resamples - 1))]!)
  }
  return { mean, lo, hi }
}

const heat = (t: number): string => {
  // white → deep blue
  const c = Math.max(0, Math.min(1, t))
  const r = Math.round(255 - c * 215)
  const g = Math.round(255 - c * 165)
  const b = Math.round(255 - c * 55)
  return `rgb(${r},${g},${b})`
}

/** A layer × position heatmap of the lens: colour is the top token's probability, text the token. */
export const lensHeatmap = (
  tokens: ReadonlyArray<string>,
  top: ReadonlyArray<ReadonlyArray<string>>,
  logprob: ReadonlyArray<ReadonlyArray<number>>
): string => {
  const cw = 64
  const ch = 16
  const ml = 34
  const mt = 18
  const layers = top.length
  const cols = tokens.length
  const w = ml + cols * cw + 4
  const h = mt + layers * ch + 4
  const parts: Array<string> = []
  tokens.forEach((t, p) => {
    parts.push(
      `<text x="${ml + p * cw + cw / 2}" y="12" text-anchor="middle" class="tok in">${escapeHtml(clip(t))}</text>`
    )
  })
  for (let l = 0; l < layers; l++) {
    // the top row is the last layer, as a reader follows the stream upwards
    const yy = mt + (layers - 1 - l) * ch
    parts.push(`<text x="${ml - 4}" y="${yy + 12}" text-anchor="end" class="tick">${l}</text>`)
    for (let p = 0; p < cols; p++) {
      const prob = Math.exp(logprob[l]?.[p] ?? -Infinity)
      parts.push(
        `<rect x="${ml + p * cw}" y="${yy}" width="${cw - 1}" height="${ch - 1}" fill="${heat(prob)}"><title>${escapeHtml(`layer ${l}, position ${p}: ${top[l]?.[p] ?? ""} (p=${prob.toFixed(3)})`)}</title></rect>`,
        `<text x="${ml + p * cw + cw / 2}" y="${yy + 12}" text-anchor="middle" class="tok" fill="${prob > 0.6 ? "#fff" : "#111"}">${escapeHtml(clip(top[l]?.[p] ?? ""))}</text>`
      )
    }
  }
  return `<svg viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img">${parts.join("")}</svg>`
}

const clip = (t: string): string => {
  const s = t.replace(/\s/g, "·")
  return [...s].length > 8 ? `${[...s].slice(0, 7).join("")}…` : s
}

/** A matrix heatmap (rows × columns), colour scaled to [0, max]. */
export const matrixHeatmap = (
  values: ReadonlyArray<ReadonlyArray<number>>,
  options: { readonly rowLabel: string; readonly colLabels?: ReadonlyArray<string>; readonly cell?: number }
): string => {
  const c = options.cell ?? 14
  const ml = 34
  const mt = options.colLabels ? 40 : 8
  const rows = values.length
  const cols = Math.max(...values.map((r) => r.length), 1)
  const max = Math.max(1e-9, ...values.flat())
  const parts: Array<string> = []
  options.colLabels?.forEach((t, j) => {
    parts.push(
      `<text x="${ml + j * c + c / 2}" y="${mt - 4}" transform="rotate(-60 ${ml + j * c + c / 2} ${mt - 4})" class="tok">${escapeHtml(clip(t))}</text>`
    )
  })
  for (let i = 0; i < rows; i++) {
    const yy = mt + (rows - 1 - i) * c
    parts.push(`<text x="${ml - 4}" y="${yy + c - 3}" text-anchor="end" class="tick">${i}</text>`)
    values[i]!.forEach((v, j) => {
      parts.push(
        `<rect x="${ml + j * c}" y="${yy}" width="${c - 1}" height="${c - 1}" fill="${heat(v / max)}"><title>${escapeHtml(`${options.rowLabel} ${i}, ${j}: ${v.toFixed(3)}`)}</title></rect>`
      )
    })
  }
  return `<svg viewBox="0 0 ${ml + cols * c + 4} ${mt + rows * c + 4}" width="${ml + cols * c + 4}" height="${mt + rows * c + 4}" role="img">${parts.join("")}</svg>`
}

interface Chart {
  readonly id: string
  readonly title: string
  readonly note: string
  /** One panel per model version, or one panel comparing them. */
  readonly panels: ReadonlyArray<{ readonly label: string; readonly svg: string }>
}

const meanOver = (rows: ReadonlyArray<ReadonlyArray<number>>): Array<number> =>
  (rows[0] ?? []).map((_, l) => rows.reduce((s, r) => s + r[l]!, 0) / rows.length)

/** The layers whose own contrast beats the null at p < alpha, in words (a reading aid: the verdict is the band's). */
export const significantLayers = (f: Finding): string => {
  const layers = f.test.perLayer.flatMap((e, l) => (e.p < alpha ? [l] : []))
  return `layers at p < ${alpha} on their own: ${layers.length > 0 ? layers.join(", ") : "none"}`
}

/** The charts of a report. */
export const reportCharts = (input: ReportInput): Array<Chart> => {
  const runs = input.runs
  const focus = input.focus ?? 0
  const seed = input.seed ?? 1
  const two = runs.length > 1
  const name = (r: ReportRun, what: string) => (two ? `${r.label}: ${what}` : what)
  const charts: Array<Chart> = []
  const item = runs[0]?.measure.items[focus]
  const focusName = item ? item.item.surface : ""
  for (const cond of ["fused", "phrase"] as const satisfies ReadonlyArray<Condition>) {
    charts.push({
      id: `lens-${cond}`,
      title: `Logit lens, ${cond === "fused" ? "the hyperword" : "the phrase"}: ${focusName}`,
      note: "layer (rows, last layer on top) × position; each cell shows the lens's top token, its colour the token's probability",
      panels: runs.map((r) => {
        const c = r.measure.items[focus]!.conditions[cond]
        return {
          label: `${r.label} · ${c.text}`,
          svg: lensHeatmap(
            c.tokens,
            c.lensTop,
            c.lensLogprobs.map((row) => row.map((k) => k[0]!))
          )
        }
      })
    })
  }
  charts.push({
    id: "assembly",
    title: "Assembly curves",
    note: "cosine per layer between the hyperword's last-position state and the phrase's, and the mean of its parts' states each read alone; mean over the probe set with a bootstrap 95% band. Raw cosines of hidden states sit high at most layers (one common direction dominates); the centred panel subtracts each layer's mean state over the probe set, with the nonword control as the floor",
    panels: [
      {
        label: runs.map((r) => r.label).join(" vs "),
        svg: lineChart(
          runs.flatMap((r, k) => {
            const phrase = bootstrapBand(
              r.measure.items.map((i) => i.assemblyPhrase),
              seed
            )
            const parts = bootstrapBand(
              r.measure.items.map((i) => i.assemblyParts),
              seed
            )
            return [
              { name: name(r, "fused ~ phrase"), values: phrase.mean, band: phrase, dashed: k > 0 },
              { name: name(r, "fused ~ mean(parts)"), values: parts.mean, band: parts, dashed: k > 0 }
            ]
          }),
          { yLabel: "cosine" }
        )
      },
      {
        label: `centred (each layer's mean state subtracted) · ${runs.map((r) => r.label).join(" vs ")}`,
        svg: lineChart(
          runs.flatMap((r, k) => {
            const curves: Array<[string, ReadonlyArray<ReadonlyArray<number>>]> = [
              ["fused ~ phrase", r.measure.items.map((i) => i.centred.phrase)],
              ["fused ~ mean(parts)", r.measure.items.map((i) => i.centred.parts)]
            ]
            if (r.measure.items.every((i) => i.centred.nonword))
              curves.push(["fused ~ nonword (floor)", r.measure.items.map((i) => i.centred.nonword!)])
            return curves.map(([label, values]) => {
              const band = bootstrapBand(values, seed)
              return { name: name(r, label), values: band.mean, band, dashed: k > 0 }
            })
          }),
          { yLabel: "centred cosine" }
        )
      }
    ]
  })
  const roles = [
    ["part", "parts"],
    ["next", "next word"],
    ["gloss", "gloss (ru)"]
  ] as const
  // layer 0's lens is far below every later one (-400 on Gemma): the chart starts at -30
  const floor = -30
  const tracked = (r: ReportRun, role: string, cond: "fused" | "phrase") =>
    r.measure.items.flatMap((i) =>
      i.conditions[cond].tracked.filter((t) => t.role === role).map((t) => t.logprob)
    )
  if (runs.some((r) => roles.some(([role]) => tracked(r, role, "fused").length > 0))) {
    charts.push({
      id: "tracked",
      title: "Tracked tokens through the layers",
      note: "logit-lens log-probability at the hyperword's last position, per layer (each part's first token; the word that follows the image in its line or scene, when the item has one; the first word of a Russian item's gloss), mean over the probe set with a bootstrap 95% band, values below -30 drawn at -30. Solid: read fused; dotted: the same words read as a phrase",
      panels: runs.map((r) => ({
        label: `${r.label} (${r.measure.model})`,
        svg: lineChart(
          roles.flatMap(([role, label]) =>
            (["fused", "phrase"] as const).flatMap((cond) => {
              const rows = tracked(r, role, cond).map((v) => v.map((x) => Math.max(floor, x)))
              if (rows.length === 0) return []
              const band = bootstrapBand(rows, seed)
              return [
                {
                  name: `${label}${cond === "phrase" ? " · phrase" : ""}`,
                  values: band.mean,
                  band,
                  dashed: cond === "phrase"
                }
              ]
            })
          ),
          { yLabel: "lens log-prob", yMin: floor }
        )
      }))
    })
  }
  charts.push({
    id: "norm",
    title: "Activation-norm profile",
    note: "residual-stream norm at the last position per layer, mean over the probe set, per condition",
    panels: [
      {
        label: runs.map((r) => r.label).join(" vs "),
        svg: lineChart(
          runs.flatMap((r, k) =>
            conditions
              .filter((c) => r.measure.items.every((i) => i.conditions[c]))
              .map((c) => ({
                name: name(r, c),
                values: meanOver(r.measure.items.map((i) => i.conditions[c]!.norm)),
                dashed: k > 0
              }))
          ),
          { yLabel: "norm", log: true }
        )
      }
    ]
  })
  charts.push({
    id: "attention-own",
    title: "Attention onto the item's own pieces",
    note: "attention mass from the hyperword's last position onto its own tokens, per layer (rows) and head (columns), mean over the probe set",
    panels: runs.map((r) => ({
      label: r.label,
      svg: matrixHeatmap(
        r.measure.items[0]!.conditions.fused.ownAttention.map((row, l) =>
          row.map(
            (_, h) =>
              r.measure.items.reduce((s, i) => s + i.conditions.fused.ownAttention[l]![h]!, 0) /
              r.measure.items.length
          )
        ),
        { rowLabel: "layer", cell: 16 }
      )
    }))
  })
  charts.push({
    id: "attention-heads",
    title: `Attention per layer and head: ${focusName}`,
    note: "from the hyperword's last position onto every token (columns grouped by head), per layer (rows)",
    panels: runs.map((r) => {
      const it = r.measure.items[focus]!
      const tokens = it.conditions.fused.tokens
      return {
        label: r.label,
        svg: matrixHeatmap(
          it.attention.map((heads) => heads.flat()),
          {
            rowLabel: "layer",
            colLabels: it.attention[0]!.flatMap((_, h) => tokens.map((t, p) => (p === 0 ? `h${h} ${t}` : t))),
            cell: 12
          }
        )
      }
    })
  })
  if (runs.some((r) => r.measure.patchscope)) {
    charts.push({
      id: "patchscope",
      title: "Patchscope retrieval",
      note: "share of hyperwords whose part is decoded (in the top ranks) when the hyperword's state at a layer is patched into a repeat-the-word prompt",
      panels: [
        {
          label: runs.map((r) => r.label).join(" vs "),
          svg: lineChart(
            runs.flatMap((r, k) => {
              const ps = r.measure.patchscope
              if (!ps) return []
              const values = Array.from({ length: r.measure.numLayers + 1 }, (_, l) => {
                const j = ps.layers.indexOf(l)
                return j >= 0 ? ps.retrieval[j]! : Number.NaN
              })
              return [{ name: name(r, `top-${ps.hitRank}`), values: fillGaps(values), dashed: k > 0 }]
            }),
            { yLabel: "retrieved", yMin: 0, yMax: 1 }
          )
        }
      ]
    })
  }
  const findingIds = [...new Set(runs.flatMap((r) => r.findings.map((f) => f.id)))]
  for (const id of findingIds) {
    const log = id.startsWith("english-pivot")
    charts.push({
      id: `finding-${id}`,
      title: runs.flatMap((r) => r.findings.filter((f) => f.id === id))[0]!.claim,
      note: runs
        .map((r) => {
          const f = r.findings.find((x) => x.id === id)
          return f ? `${r.label}: ${f.verdict} (${f.test.rule}); ${significantLayers(f)} — ${f.figure}` : ""
        })
        .join(" | "),
      panels: [
        {
          label: `${runs.map((r) => r.label).join(" vs ")} · mean over items with a bootstrap 95% band`,
          svg: lineChart(
            runs.flatMap((r, k) => {
              const f = r.findings.find((x) => x.id === id)
              return f
                ? Object.entries(f.curves).map(([n, v]) => {
                    const band = f.ci?.[n]
                    return { name: name(r, n), values: v, dashed: k > 0, ...(band ? { band } : {}) }
                  })
                : []
            }),
            log ? { yLabel: "probability", log: true } : { yLabel: "accuracy", yMin: 0, yMax: 1 }
          )
        }
      ]
    })
  }
  if (input.superwords) charts.push(...superwordCharts(input.superwords))
  return charts
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #111; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 0 0 2px; }
.meta, .note { color: #555; font-size: 12px; max-width: 1000px; }
figure.chart { margin: 18px 0; padding: 10px; border: 1px solid #ddd; border-radius: 6px; background: #fff; display: block; width: max-content; max-width: none; }
.panels { display: flex; gap: 18px; flex-wrap: nowrap; align-items: flex-start; }
.panel h3 { font-size: 12px; font-weight: 600; margin: 4px 0; }
.tick { font-size: 10px; fill: #444; } .tok { font-size: 10px; font-family: ui-monospace, monospace; } .in { fill: #000; font-weight: 600; }
table.findings { border-collapse: collapse; margin: 8px 0 16px; } table.findings td, table.findings th { border: 1px solid #ddd; padding: 4px 8px; vertical-align: top; font-size: 13px; }
.sentence { font-size: 15px; max-width: 1000px; }
.yes { color: #176b2c; font-weight: 600; } .no { color: #a3261b; font-weight: 600; } .maybe { color: #8a5a00; font-weight: 600; }
`

const num = (x: number) => (Math.abs(x) >= 0.01 || x === 0 ? x.toFixed(3) : x.toExponential(2))

/** A row of the findings table: every figure of the verdict, escaped. */
export const findingRow = (label: string, f: Finding): string => {
  const t = f.test
  const cells = [
    label,
    f.claim,
    f.verdict,
    t.statistic,
    num(t.estimate.mean),
    `[${num(t.estimate.lo)}, ${num(t.estimate.hi)}]`,
    t.estimate.p.toPrecision(2),
    String(t.n),
    `${t.layers[0]}–${t.layers[t.layers.length - 1]}: ${t.band.map((b) => b.why).join("; ")}`,
    t.rule,
    f.figure
  ]
  const cls = f.verdict === "reproduced" ? "yes" : f.verdict === "inconclusive" ? "maybe" : "no"
  return `<tr>${cells.map((c, i) => `<td${i === 2 ? ` class="${cls}"` : ""}>${escapeHtml(c)}</td>`).join("")}</tr>`
}

/** The report page. */
export const renderReport = (input: ReportInput): string => {
  const charts = reportCharts(input)
  const csp =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
  const items = input.runs[0]?.measure.items ?? []
  const findings = [
    ...input.runs.flatMap((r) => r.findings.map((f) => findingRow(r.label, f))),
    ...(input.superwords?.findings ?? []).map((f) => findingRow("tuned vs base", f))
  ].join("\n")
  const figures = charts
    .map(
      (c) => `<figure class="chart" id="chart-${escapeHtml(c.id)}">
<h2>${escapeHtml(c.title)}</h2>
<p class="note">${escapeHtml(c.note)}</p>
<div class="panels">${c.panels.map((p) => `<div class="panel"><h3>${escapeHtml(p.label)}</h3>${p.svg}</div>`).join("")}</div>
</figure>`
    )
    .join("\n")
  return `<!doctype html>
<html lang="en">
${pageHead({ title: input.title, csp, style: STYLE })}
<body>
<h1>${escapeHtml(input.title)}</h1>
<p class="meta">${input.runs.map((r) => `${escapeHtml(r.label)}: ${escapeHtml(r.measure.model)} (${r.measure.numLayers} layers, ${r.measure.numHeads} heads)`).join(" · ")} · ${items.length} hyperwords: ${items
    .slice(0, 40)
    .map((i) => `<span class="word">${escapeHtml(i.item.surface)}</span>`)
    .join(", ")}</p>
<h2>What the literature predicts</h2>
<p class="note">Each verdict is a band test fixed in the code before any reading: per item, a contrast in the direction the paper claims; its mean over a band of layers taken from the paper (as a share of the depth) against a sign-flip permutation null, with a bootstrap 95% CI over items. Reproduced only at p &lt; ${escapeHtml(String(alpha))}; inconclusive when the test cannot be carried (too few items, or the model does not do the task).</p>
<table class="findings"><tr><th>model</th><th>claim</th><th>verdict</th><th>statistic</th><th>mean</th><th>95% CI</th><th>p</th><th>n</th><th>band (layers)</th><th>rule</th><th>figure</th></tr>
${findings}
</table>
${input.superwords ? superwordSection(input.superwords) : ""}
${figures}
</body>
</html>
`
}

/** The report's numbers. */
export const reportJson = (input: ReportInput) => ({
  schemaVersion: 1,
  title: input.title,
  focus: input.focus ?? 0,
  runs: input.runs.map((r) => ({ label: r.label, findings: r.findings, measure: r.measure })),
  ...(input.superwords ? { superwords: input.superwords } : {})
})

/** Chromium's binary and flags (the sandbox stays on except for root). */
export { chromiumArgs, chromiumPath }

/** Screenshot every chart of a written report into `dir` as `<chart id>.png`; the file names. */
export const renderPngs = async (htmlFile: string, dir: string): Promise<Array<string>> => {
  const { chromium } = await import("playwright-core")
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: chromiumArgs() })
  try {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } })
    await page.goto(pathToFileURL(htmlFile).href)
    mkdirSync(dir, { recursive: true })
    const ids = await page.locator("figure.chart").evaluateAll((els) => els.map((e) => e.id))
    const files: Array<string> = []
    for (const id of ids) {
      const file = `${id}.png`
      await page.locator(`#${id}`).screenshot({ path: join(dir, file) })
      files.push(file)
    }
    return files
  } finally {
    await browser.close()
  }
}

/** Write `report.html`, `report.json` and (when Chromium is there) one PNG per chart into `dir`. */
export const writeReport = async (
  input: ReportInput,
  dir: string,
  options: { readonly png?: boolean } = {}
): Promise<{ readonly html: string; readonly json: string; readonly png: ReadonlyArray<string> }> => {
  mkdirSync(dir, { recursive: true })
  const html = join(dir, "report.html")
  writeFileSync(html, renderReport(input))
  writeFileSync(join(dir, "report.json"), JSON.stringify(reportJson(input)))
  const png = options.png === false ? [] : await renderPngs(html, dir)
  return { html: "report.html", json: "report.json", png }
}
