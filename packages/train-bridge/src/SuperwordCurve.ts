/**
 * The superword curve: for each vocabulary size K, the share of held-out tokens saved against the
 * bits-per-byte ratio it costs; the Pareto front of those points; and the curve as an SVG. Ratios
 * between two versions are paired by held-out document, with a bootstrap interval over documents.
 */
import { escapeHtml } from "@hyperwords/core/Html"
import { mulberry32 } from "@hyperwords/core/Random"

/** One measured point of the curve. */
export interface CurvePoint {
  /** The series: model and criterion, e.g. `gemma-3-270m / saving`. */
  readonly series: string
  readonly k: number
  /** Share of held-out tokens saved against the base tokenizer, 0..1. */
  readonly saved: number
  /** Held-out bits per byte over the base's (lower is better). */
  readonly ratio: number
  readonly ratioCi?: readonly [number, number]
}

/**
 * Indices of the points on the Pareto front: no other point saves at least as many tokens at a
 * ratio at most as high, with one of the two strictly better. Sorted by tokens saved.
 */
export const paretoFront = (points: ReadonlyArray<Pick<CurvePoint, "saved" | "ratio">>): Array<number> => {
  const front: Array<number> = []
  points.forEach((p, i) => {
    const dominated = points.some(
      (q, j) =>
        j !== i && q.saved >= p.saved && q.ratio <= p.ratio && (q.saved > p.saved || q.ratio < p.ratio)
    )
    if (!dominated && Number.isFinite(p.saved) && Number.isFinite(p.ratio)) front.push(i)
  })
  return front.sort((a, b) => points[a]!.saved - points[b]!.saved)
}

/**
 * Bits per byte of side B over side A on the same held-out texts, paired by document: the ratio of
 * total bits over total bytes, and a percentile interval from resampling documents.
 */
export const pairedDocRatio = (
  a: { readonly nats: ReadonlyArray<number>; readonly bytes: ReadonlyArray<number> },
  b: { readonly nats: ReadonlyArray<number>; readonly bytes: ReadonlyArray<number> },
  docs: ReadonlyArray<number>,
  options: { readonly resamples?: number; readonly seed?: number } = {}
): { ratio: number; ci: readonly [number, number]; docs: number } => {
  const n = docs.length
  if (a.nats.length !== n || b.nats.length !== n || a.bytes.length !== n || b.bytes.length !== n)
    throw new RangeError(`pairedDocRatio: ${n} documents but ${a.nats.length}/${b.nats.length} texts`)
  // per document: A's and B's nats (bytes are the same text, so only the nats differ)
  const byDoc = new Map<number, { a: number; b: number }>()
  for (let i = 0; i < n; i++) {
    const d = byDoc.get(docs[i]!) ?? { a: 0, b: 0 }
    d.a += a.nats[i]!
    d.b += b.nats[i]!
    byDoc.set(docs[i]!, d)
  }
  const rows = [...byDoc.values()]
  const ratioOf = (sample: ReadonlyArray<{ a: number; b: number }>) => {
    const sa = sample.reduce((s, r) => s + r.a, 0)
    return sa > 0 ? sample.reduce((s, r) => s + r.b, 0) / sa : Number.NaN
  }
  const rng = mulberry32(options.seed ?? 1)
  const ratios: Array<number> = []
  for (let r = 0; r < (options.resamples ?? 2000); r++) {
    const sample = Array.from({ length: rows.length }, () => rows[Math.floor(rng() * rows.length)]!)
    ratios.push(ratioOf(sample))
  }
  ratios.sort((x, y) => x - y)
  const at = (q: number) => ratios[Math.min(ratios.length - 1, Math.max(0, Math.floor(q * ratios.length)))]!
  return { ratio: ratioOf(rows), ci: [at(0.025), at(0.975)], docs: rows.length }
}

const colours = ["#3366cc", "#dc3912", "#109618", "#990099", "#ff9900", "#0099c6"]

/**
 * The curve as a standalone SVG: tokens saved (%) on x, bits-per-byte ratio to the base on y, one
 * colour per series, interval whiskers, the Pareto front of all points joined and ringed, and the
 * targets (ratio 1.02, 10% saved) as dashed lines.
 */
export const curveSvg = (
  points: ReadonlyArray<CurvePoint>,
  title: string,
  targets: { readonly ratio: number; readonly saved: number } = { ratio: 1.02, saved: 0.1 }
): string => {
  const w = 640
  const h = 400
  const pad = 56
  if (points.length === 0)
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><text x="${pad}" y="${h / 2}">${escapeHtml(title)}: no points</text></svg>`
  const xs = [0, targets.saved, ...points.map((p) => p.saved)]
  const ys = [1, targets.ratio, ...points.flatMap((p) => [p.ratio, ...(p.ratioCi ?? [])])].filter(
    Number.isFinite
  )
  const [x0, x1] = [Math.min(...xs), Math.max(...xs) * 1.05 + 1e-9]
  const [y0, y1] = [Math.min(...ys) - 0.01, Math.max(...ys) + 0.01]
  const sx = (x: number) => pad + ((x - x0) / Math.max(1e-9, x1 - x0)) * (w - 2 * pad)
  const sy = (y: number) => h - pad - ((y - y0) / Math.max(1e-9, y1 - y0)) * (h - 2 * pad)
  const series = [...new Set(points.map((p) => p.series))]
  const colour = (s: string) => colours[series.indexOf(s) % colours.length]!
  const front = paretoFront(points).map((i) => points[i]!)
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="11">`,
    `<rect width="${w}" height="${h}" fill="white"/>`,
    `<text x="${pad}" y="18" font-size="13">${escapeHtml(title)}</text>`,
    `<line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="#888"/>`,
    `<line x1="${pad}" y1="${pad}" x2="${pad}" y2="${h - pad}" stroke="#888"/>`,
    `<text x="${w / 2}" y="${h - 16}" text-anchor="middle">held-out tokens saved (%)</text>`,
    `<text x="14" y="${h / 2}" transform="rotate(-90 14 ${h / 2})" text-anchor="middle">bits per byte / base</text>`,
    `<text x="${pad}" y="${h - pad + 14}" text-anchor="middle">${(100 * x0).toFixed(0)}</text>`,
    `<text x="${w - pad}" y="${h - pad + 14}" text-anchor="middle">${(100 * x1).toFixed(0)}</text>`,
    `<text x="${pad - 4}" y="${sy(y0) + 4}" text-anchor="end">${y0.toFixed(2)}</text>`,
    `<text x="${pad - 4}" y="${sy(y1) + 4}" text-anchor="end">${y1.toFixed(2)}</text>`,
    `<line x1="${pad}" y1="${sy(targets.ratio)}" x2="${w - pad}" y2="${sy(targets.ratio)}" stroke="#999" stroke-dasharray="4 3"/>`,
    `<text x="${w - pad}" y="${sy(targets.ratio) - 4}" text-anchor="end" fill="#666">ratio ${targets.ratio}</text>`,
    `<line x1="${sx(targets.saved)}" y1="${pad}" x2="${sx(targets.saved)}" y2="${h - pad}" stroke="#999" stroke-dasharray="4 3"/>`,
    `<text x="${sx(targets.saved) + 4}" y="${pad + 10}" fill="#666">${(100 * targets.saved).toFixed(0)}% saved</text>`
  ]
  if (front.length > 1)
    out.push(
      `<polyline fill="none" stroke="#222" stroke-width="1" stroke-dasharray="2 2" points="${front.map((p) => `${sx(p.saved).toFixed(1)},${sy(p.ratio).toFixed(1)}`).join(" ")}"/>`
    )
  for (const s of series) {
    const own = points.filter((p) => p.series === s).sort((a, b) => a.k - b.k)
    out.push(
      `<polyline fill="none" stroke="${colour(s)}" stroke-width="1.5" points="${own.map((p) => `${sx(p.saved).toFixed(1)},${sy(p.ratio).toFixed(1)}`).join(" ")}"/>`
    )
    for (const p of own) {
      if (p.ratioCi)
        out.push(
          `<line x1="${sx(p.saved).toFixed(1)}" y1="${sy(p.ratioCi[0]).toFixed(1)}" x2="${sx(p.saved).toFixed(1)}" y2="${sy(p.ratioCi[1]).toFixed(1)}" stroke="${colour(s)}"/>`
        )
      out.push(
        `<circle cx="${sx(p.saved).toFixed(1)}" cy="${sy(p.ratio).toFixed(1)}" r="3" fill="${colour(s)}"><title>${escapeHtml(`${s}, K ${p.k}: ${(100 * p.saved).toFixed(1)}% saved, ratio ${p.ratio.toFixed(4)}`)}</title></circle>`,
        `<text x="${(sx(p.saved) + 5).toFixed(1)}" y="${(sy(p.ratio) - 5).toFixed(1)}" fill="${colour(s)}">${p.k}</text>`
      )
    }
  }
  for (const p of front)
    out.push(
      `<circle cx="${sx(p.saved).toFixed(1)}" cy="${sy(p.ratio).toFixed(1)}" r="6" fill="none" stroke="#222"/>`
    )
  series.forEach((s, i) => {
    out.push(
      `<rect x="${w - pad - 170}" y="${pad + 22 + 14 * i - 8}" width="10" height="10" fill="${colour(s)}"/>`,
      `<text x="${w - pad - 156}" y="${pad + 22 + 14 * i}">${escapeHtml(s)}</text>`
    )
  })
  out.push(
    `<text x="${w - pad - 170}" y="${pad + 22 + 14 * series.length + 4}" fill="#222">○ Pareto front</text>`,
    "</svg>"
  )
  return out.join("")
}
