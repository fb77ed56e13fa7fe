/**
 * The superwords part of the probe report: the plain sentence, the two charts (cosine of the one
 * token to its span's base state against another span's; the Patchscope share of the span's words)
 * and a table of examples. Every text passes through `escapeHtml`.
 */
import { escapeHtml } from "@hyperwords/core/Html"
import { lineChart } from "./Charts.ts"
import type { SuperwordMeasure } from "./Superwords.ts"
import { alpha } from "./Verdict.ts"

/** A chart of the report (the shape `Report.reportCharts` returns). */
export interface SuperwordChart {
  readonly id: string
  readonly title: string
  readonly note: string
  readonly panels: ReadonlyArray<{ readonly label: string; readonly svg: string }>
}

/** NaN gaps (unpatched layers) filled by linear interpolation between the read ones. */
export const fillGaps = (xs: ReadonlyArray<number>): Array<number> => {
  const known = xs.flatMap((v, i) => (Number.isNaN(v) ? [] : [i]))
  if (known.length === 0) return [...xs]
  return xs.map((v, i) => {
    if (!Number.isNaN(v)) return v
    const a = [...known].reverse().find((j) => j < i)
    const b = known.find((j) => j > i)
    if (a === undefined) return xs[b!]!
    if (b === undefined) return xs[a]!
    return xs[a]! + ((xs[b]! - xs[a]!) * (i - a)) / (b - a)
  })
}

const passing = (perLayer: ReadonlyArray<{ readonly p: number }>) => {
  const layers = perLayer.flatMap((e, l) => (e.p < alpha ? [l] : []))
  return `layers at p < ${alpha} on their own: ${layers.length > 0 ? layers.join(", ") : "none"}`
}

/** The charts of a superword measurement. */
export const superwordCharts = (m: SuperwordMeasure): Array<SuperwordChart> =>
  m.findings.map((f) => {
    const patched = f.id === "superword-patchscope"
    return {
      id: f.id,
      title: f.claim,
      note:
        `${f.verdict} (${f.test.rule}); ${passing(f.test.perLayer)} — ${f.figure}. ` +
        (patched
          ? "Share of the span's words in the base's greedy continuation of the repeat-the-word prompt with the state patched at a layer: the tuned superword state (own span), the same continuation scored against another span's words (null), and the base's own state at the span's last piece (reference); lines join the patched layers"
          : "Cosine per layer of the tuned model's state at the superword token to the base's state at the last piece of the same span (own) and to the other spans' (null), both read after BOS alone; mean over superwords with a bootstrap 95% band"),
      panels: [
        {
          label: `${m.tuned} vs ${m.base} · ${m.items.length} superwords`,
          svg: lineChart(
            Object.entries(f.curves).map(([name, values]) => {
              const band = f.ci[name]
              return {
                name,
                values: patched ? fillGaps(values) : values,
                dashed: name !== "own",
                ...(band ? { band: patched ? { lo: fillGaps(band.lo), hi: fillGaps(band.hi) } : band } : {})
              }
            }),
            patched ? { yLabel: "share of the span's words", yMin: 0, yMax: 1 } : { yLabel: "cosine" }
          )
        }
      ]
    }
  })

/** The section: the sentence, what was left out, and examples of the Patchscope decodings. */
export const superwordSection = (m: SuperwordMeasure, examples = 12): string => {
  const ps = m.patchscope
  // the patched layer nearest the middle of the band the verdict reads
  const layers = m.findings[0]?.test.layers ?? []
  const middle = layers[Math.floor(layers.length / 2)] ?? 0
  const j =
    ps === undefined
      ? -1
      : ps.layers.reduce(
          (best, l, k) => (Math.abs(l - middle) < Math.abs(ps.layers[best]! - middle) ? k : best),
          0
        )
  const rows = m.items.slice(0, examples).map((it, i) => {
    const cells = [
      it.surface,
      it.basePieces.join(" | "),
      ...(ps === undefined ? [] : [ps.tuned[j]![i]!, ps.base[j]![i]!]),
      ...(m.cosine.length > middle ? [m.cosine[middle]![i]![i]!.toFixed(3)] : [])
    ]
    return `<tr>${cells.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`
  })
  const head = [
    "superword",
    "base pieces",
    ...(ps === undefined
      ? []
      : [
          `decoded from the tuned state (layer ${ps.layers[j]})`,
          `decoded from the base's state (layer ${ps.layers[j]})`
        ]),
    `cosine (layer ${middle})`
  ]
  const left =
    m.leftOut.length === 0
      ? ""
      : `<p class="note">${escapeHtml(
          `${m.leftOut.length} superwords left out: ${m.leftOut
            .slice(0, 8)
            .map((x) => `"${x.surface}" (${x.why})`)
            .join("; ")}${m.leftOut.length > 8 ? "; …" : ""}`
        )}</p>`
  return `<h2>Superwords: one token against the span the base reads</h2>
<p class="sentence">${escapeHtml(m.sentence)}</p>
<p class="note">${escapeHtml(
    `Each superword is read after BOS alone in both models: ${m.tuned} sees one token, ${m.base} the span's pieces. ` +
      "The null is the pairing: each tuned state against the other superwords' base states, the p-value from random relabellings of the base side. " +
      (ps === undefined
        ? ""
        : `Patchscope prompt: "${ps.prompt}", ${ps.maxNewTokens} greedy tokens, the answer read up to the first separator.`)
  )}</p>
${left}
<table class="findings"><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr>
${rows.join("\n")}
</table>`
}
