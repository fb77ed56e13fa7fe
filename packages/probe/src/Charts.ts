/** The line chart of the probe report: series over layers, each with an optional CI band, as inline SVG. */
import { escapeHtml } from "@hyperwords/core/Html"

const palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f"]
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "–")
const px = (x: number) => x.toFixed(1)

/** A series of a line chart. */
export interface Series {
  readonly name: string
  readonly values: ReadonlyArray<number>
  readonly band?: { readonly lo: ReadonlyArray<number>; readonly hi: ReadonlyArray<number> }
  readonly dashed?: boolean
}

/** A line chart over layers, as SVG. */
export const lineChart = (
  series: ReadonlyArray<Series>,
  options: { readonly yLabel: string; readonly yMin?: number; readonly yMax?: number; readonly log?: boolean }
): string => {
  const w = 560
  const h = 260
  const m = { l: 56, r: 150, t: 12, b: 34 }
  const tr = (v: number) => (options.log ? Math.log10(Math.max(v, 1e-12)) : v)
  const vals = series.flatMap((s) => [...s.values, ...(s.band ? [...s.band.lo, ...s.band.hi] : [])]).map(tr)
  const finite = vals.filter(Number.isFinite)
  let y0 = options.yMin ?? Math.min(...finite)
  let y1 = options.yMax ?? Math.max(...finite)
  if (!(y1 > y0)) {
    y0 -= 0.5
    y1 += 0.5
  }
  const n = Math.max(...series.map((s) => s.values.length), 2)
  const x = (i: number) => m.l + (i / (n - 1)) * (w - m.l - m.r)
  const y = (v: number) => m.t + (1 - (tr(v) - y0) / (y1 - y0)) * (h - m.t - m.b)
  const parts: Array<string> = []
  for (let k = 0; k <= 4; k++) {
    const v = y0 + ((y1 - y0) * k) / 4
    const yy = m.t + (1 - k / 4) * (h - m.t - m.b)
    parts.push(
      `<line x1="${m.l}" x2="${w - m.r}" y1="${px(yy)}" y2="${px(yy)}" stroke="#e5e5e5"/>`,
      `<text x="${m.l - 4}" y="${px(yy + 4)}" text-anchor="end" class="tick">${escapeHtml(options.log ? `1e${v.toFixed(1)}` : f2(v))}</text>`
    )
  }
  const step = Math.max(1, Math.ceil((n - 1) / 10))
  for (let i = 0; i < n; i += step) {
    parts.push(`<text x="${px(x(i))}" y="${h - m.b + 14}" text-anchor="middle" class="tick">${i}</text>`)
  }
  parts.push(`<text x="${(m.l + w - m.r) / 2}" y="${h - 4}" text-anchor="middle" class="tick">layer</text>`)
  parts.push(
    `<text x="12" y="${(m.t + h - m.b) / 2}" transform="rotate(-90 12 ${(m.t + h - m.b) / 2})" text-anchor="middle" class="tick">${escapeHtml(options.yLabel)}</text>`
  )
  series.forEach((s, k) => {
    const color = palette[k % palette.length]!
    if (s.band) {
      const top = s.band.hi.map((v, i) => `${px(x(i))},${px(y(v))}`)
      const bottom = s.band.lo.map((v, i) => `${px(x(i))},${px(y(v))}`).reverse()
      parts.push(
        `<polygon points="${[...top, ...bottom].join(" ")}" fill="${color}" fill-opacity="0.18" stroke="none"/>`
      )
    }
    const pts = s.values.map((v, i) => `${px(x(i))},${px(y(v))}`).join(" ")
    parts.push(
      `<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ""}/>`,
      `<rect x="${w - m.r + 10}" y="${m.t + k * 18}" width="12" height="4" fill="${color}"/>`,
      `<text x="${w - m.r + 26}" y="${m.t + k * 18 + 6}" class="tick">${escapeHtml(s.name)}</text>`
    )
  })
  return `<svg viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img">${parts.join("")}</svg>`
}
