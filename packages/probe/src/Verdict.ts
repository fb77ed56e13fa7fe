/**
 * How a literature check earns "reproduced": a layer band fixed here, before any model is read,
 * from where the paper saw its effect (as a share of the model's depth); per item a contrast in
 * the direction the paper claims; a permutation null (each item's contrast sign-flipped, i.e. the
 * two readings it contrasts exchanged within the item) and a percentile-bootstrap CI over items,
 * per layer and for the band. "Reproduced" only at one-sided p < 0.01 against that null.
 */
import { mulberry32 } from "@hyperwords/core/Random"

/** A band of layers as shares of the depth: layer l of L is in it when `from ≤ l/L ≤ to`. */
export interface DepthBand {
  readonly from: number
  readonly to: number
  /** Where in the paper the band comes from. */
  readonly why: string
}

/**
 * The bands of the three checks, fixed before any reading (never the best layer of a run). The
 * papers measured Llama-2-7B (32 layers); a band keeps their layers' share of the depth.
 */
export const bands = {
  /** Kaplan et al. 2024, Fig. 2b: near chance in the first layers, separated "between layers 6 and 20" of 32. */
  wordNonword: {
    from: 6 / 32,
    to: 20 / 32,
    why: "Kaplan et al. 2024: words and nonwords separate between layers 6 and 20 of 32"
  },
  /** Feucht et al. 2024: the previous piece is still readable right after the embedding (layers 1–3 of 32)… */
  erasureEarly: {
    from: 1 / 32,
    to: 3 / 32,
    why: "Feucht et al. 2024: the previous piece is readable in the first layers (1–3 of 32)"
  },
  /** …and erased by layer 9 of 32 (their erasure score sums layers 1–9), staying low to mid-depth. */
  erasureLate: {
    from: 9 / 32,
    to: 16 / 32,
    why: "Feucht et al. 2024: erased by layer 9 of 32; read over layers 9–16"
  },
  /** Wendler et al. 2024, Fig. 2: English rises from mid-depth and leads until the last layers (16–26 of 32). */
  pivot: {
    from: 16 / 32,
    to: 26 / 32,
    why: "Wendler et al. 2024: English leads the lens from layer 16 to about 26 of 32"
  },
  /**
   * Where a superword's single token should carry what the base assembled over the span's pieces:
   * the layers where a model has assembled a multi-token word at its last piece (Kaplan et al.'s
   * band, Fig. 2b), past the embedding and before the last layers turn to the next token.
   */
  superword: {
    from: 6 / 32,
    to: 20 / 32,
    why: "Kaplan et al. 2024: a multi-token word is assembled at its last piece between layers 6 and 20 of 32"
  }
} as const satisfies Record<string, DepthBand>

/** The layers of `0..numLayers` in a band (at least one: the nearest to its middle when it holds none). */
export const bandLayers = (numLayers: number, band: Pick<DepthBand, "from" | "to">): Array<number> => {
  const all = Array.from({ length: numLayers + 1 }, (_, l) => l)
  const inside = all.filter((l) => l / numLayers >= band.from - 1e-9 && l / numLayers <= band.to + 1e-9)
  // a band that starts above the embedding never falls back to it (layer 0 reads no context)
  const nearest = Math.round(((band.from + band.to) / 2) * numLayers)
  return inside.length > 0 ? inside : [band.from > 0 ? Math.max(1, nearest) : nearest]
}

/** The p-value below which a check counts as reproduced. */
export const alpha = 0.01
/** Fewer items than this and a check is inconclusive: too few to carry a band test. */
export const minItems = 20

/** A contrast over items: its mean, the bootstrap 95% CI and the one-sided permutation p of "mean > 0". */
export interface Estimate {
  readonly mean: number
  readonly lo: number
  readonly hi: number
  readonly p: number
}

/** Options of the item-level tests. */
export interface TestOptions {
  readonly seed: number
  readonly permutations?: number | undefined
  readonly resamples?: number | undefined
}

/**
 * For each column of `rows` (items × columns of per-item contrasts): the mean, the 95%
 * percentile-bootstrap CI with items resampled, and the one-sided p of the mean against the
 * sign-flip null, (1 + #{null mean ≥ observed}) / (B + 1). The same resamples and the same flips
 * serve every column, so the band and the layers are read against one null.
 */
export const itemTests = (
  rows: ReadonlyArray<ReadonlyArray<number>>,
  options: TestOptions
): Array<Estimate> => {
  const n = rows.length
  const cols = rows[0]?.length ?? 0
  const permutations = options.permutations ?? 1999
  const resamples = options.resamples ?? 2000
  if (n === 0)
    return Array.from({ length: cols }, () => ({ mean: Number.NaN, lo: Number.NaN, hi: Number.NaN, p: 1 }))
  const rand = mulberry32(options.seed)
  const mean = Array.from({ length: cols }, (_, c) => rows.reduce((s, r) => s + r[c]!, 0) / n)
  const boots = Array.from({ length: cols }, () => new Float64Array(resamples))
  for (let b = 0; b < resamples; b++) {
    const sums = new Float64Array(cols)
    for (let k = 0; k < n; k++) {
      const r = rows[Math.floor(rand() * n)]!
      for (let c = 0; c < cols; c++) sums[c]! += r[c]!
    }
    for (let c = 0; c < cols; c++) boots[c]![b] = sums[c]! / n
  }
  const above = new Array<number>(cols).fill(0)
  for (let b = 0; b < permutations; b++) {
    const sums = new Float64Array(cols)
    for (const r of rows) {
      const sign = rand() < 0.5 ? -1 : 1
      for (let c = 0; c < cols; c++) sums[c]! += sign * r[c]!
    }
    for (let c = 0; c < cols; c++) if (sums[c]! / n >= mean[c]! - 1e-12) above[c]!++
  }
  return mean.map((m, c) => {
    const sorted = boots[c]!.sort()
    return {
      mean: m,
      lo: sorted[Math.floor(0.025 * (resamples - 1))]!,
      hi: sorted[Math.ceil(0.975 * (resamples - 1))]!,
      p: (1 + above[c]!) / (permutations + 1)
    }
  })
}

/** Per-layer mean of a reading with its bootstrap 95% CI (items resampled, seeded). */
export interface LayerBand {
  readonly mean: ReadonlyArray<number>
  readonly lo: ReadonlyArray<number>
  readonly hi: ReadonlyArray<number>
}

/** The verdict of a check. */
export type Verdict = "reproduced" | "not reproduced" | "inconclusive"

/** What a check's verdict rests on: the band statistic against its null, and the rule applied. */
export interface BandTest {
  /** What the statistic is, in words. */
  readonly statistic: string
  readonly estimate: Estimate
  readonly n: number
  /** The band's layers (first and last) and where the band comes from. */
  readonly layers: ReadonlyArray<number>
  readonly band: ReadonlyArray<DepthBand>
  readonly permutations: number
  readonly resamples: number
  /** The contrast per layer against the same null (mean, CI, p). */
  readonly perLayer: ReadonlyArray<Estimate>
  readonly verdict: Verdict
  /** The rule that gave the verdict. */
  readonly rule: string
}

/**
 * The verdict: inconclusive when a precondition fails (said in `blocked`), with fewer than
 * `minItems` items, or with a statistic that is not a number; reproduced at p < 0.01; else not
 * reproduced.
 */
export const decide = (
  estimate: Estimate,
  n: number,
  blocked?: string
): { readonly verdict: Verdict; readonly rule: string } => {
  if (blocked !== undefined) return { verdict: "inconclusive", rule: blocked }
  if (n < minItems) return { verdict: "inconclusive", rule: `n = ${n} < ${minItems} items` }
  if (!Number.isFinite(estimate.mean))
    return { verdict: "inconclusive", rule: "the statistic is not a number" }
  return estimate.p < alpha
    ? { verdict: "reproduced", rule: `p < ${alpha} against the permutation null` }
    : { verdict: "not reproduced", rule: `p ≥ ${alpha} against the permutation null` }
}

/**
 * The band test of per-item, per-layer contrasts `contrast[item][layer]` (positive in the
 * direction the paper claims): the band statistic is each item's mean over the band's layers.
 */
export const bandTest = (
  contrast: ReadonlyArray<ReadonlyArray<number>>,
  band: DepthBand | ReadonlyArray<DepthBand>,
  options: TestOptions & { readonly statistic: string; readonly numLayers: number; readonly blocked?: string }
): BandTest => {
  const bandList = Array.isArray(band) ? (band as ReadonlyArray<DepthBand>) : [band as DepthBand]
  const layers = bandLayers(options.numLayers, bandList[0]!)
  const rows = contrast.map((r) => [...r, layers.reduce((s, l) => s + r[l]!, 0) / layers.length])
  const tests = itemTests(rows, options)
  const estimate = tests[tests.length - 1]!
  return {
    statistic: options.statistic,
    estimate,
    n: contrast.length,
    layers,
    band: bandList,
    permutations: options.permutations ?? 1999,
    resamples: options.resamples ?? 2000,
    perLayer: tests.slice(0, -1),
    ...decide(estimate, contrast.length, options.blocked)
  }
}

/** Per-layer mean and bootstrap 95% CI of a reading over items (`rows[item][layer]`). */
export const layerBand = (rows: ReadonlyArray<ReadonlyArray<number>>, seed: number): LayerBand => {
  const tests = itemTests(rows, { seed, permutations: 0 })
  return { mean: tests.map((t) => t.mean), lo: tests.map((t) => t.lo), hi: tests.map((t) => t.hi) }
}

const sig = (x: number) => (Math.abs(x) >= 0.01 || x === 0 ? x.toFixed(3) : x.toExponential(2))

/** The figures of a band test in one line: statistic, CI, p, n, band. */
export const testFigure = (t: BandTest): string =>
  `${t.statistic} = ${sig(t.estimate.mean)}, 95% CI [${sig(t.estimate.lo)}, ${sig(t.estimate.hi)}], ` +
  `p = ${t.estimate.p.toPrecision(2)} (one-sided, ${t.permutations} sign-flip permutations), n = ${t.n}, ` +
  `band layers ${t.layers[0]}–${t.layers[t.layers.length - 1]} (${t.band.map((b) => b.why).join("; ")})`

/**
 * Paired similarities: `sim[c][i][j]` is, in column `c` (a layer), how close the tuned reading of
 * item i is to the base reading of item j. Per item the contrast is its own pair against the mean of
 * the others, `sim[i][i] − mean_{j≠i} sim[i][j]`: the mean over items, its percentile-bootstrap 95%
 * CI (items resampled), and the one-sided p of the pairing null: the base readings relabelled by a
 * uniform random permutation, (1 + #{Σ_i sim[i][π(i)] ≥ Σ_i sim[i][i]}) / (B + 1) — exact under
 * exchangeable items, whatever the similarities' common level (hidden states are anisotropic). The
 * same permutations and resamples serve every column.
 */
export const pairingTests = (
  sim: ReadonlyArray<ReadonlyArray<ReadonlyArray<number>>>,
  options: TestOptions
): Array<Estimate> => {
  const n = sim[0]?.length ?? 0
  const permutations = options.permutations ?? 1999
  if (n < 2) return sim.map(() => ({ mean: Number.NaN, lo: Number.NaN, hi: Number.NaN, p: 1 }))
  const contrast = sim.map((m) =>
    m.map((row, i) => row[i]! - (row.reduce((s, x) => s + x, 0) - row[i]!) / (n - 1))
  )
  const rows = Array.from({ length: n }, (_, i) => contrast.map((col) => col[i]!))
  const boot = itemTests(rows, { seed: options.seed, permutations: 0, resamples: options.resamples })
  const rand = mulberry32(options.seed + 7919)
  const trace = sim.map((m) => m.reduce((s, row, i) => s + row[i]!, 0))
  const above = new Array<number>(sim.length).fill(0)
  const perm = Array.from({ length: n }, (_, i) => i)
  for (let b = 0; b < permutations; b++) {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1))
      ;[perm[i], perm[j]] = [perm[j]!, perm[i]!]
    }
    sim.forEach((m, c) => {
      let s = 0
      for (let i = 0; i < n; i++) s += m[i]![perm[i]!]!
      if (s >= trace[c]! - 1e-9) above[c]!++
    })
  }
  return boot.map((e, c) => ({ ...e, p: (1 + above[c]!) / (permutations + 1) }))
}

/** The indices of `layers` (read layers, e.g. the patched ones) in a band: the nearest to its middle when none is. */
export const bandColumns = (
  layers: ReadonlyArray<number>,
  numLayers: number,
  band: DepthBand
): Array<number> => {
  const wanted = bandLayers(numLayers, band)
  const inBand = layers.flatMap((l, c) => (wanted.includes(l) ? [c] : []))
  const middle = ((band.from + band.to) / 2) * numLayers
  return inBand.length > 0
    ? inBand
    : [layers.reduce((best, l, c) => (Math.abs(l - middle) < Math.abs(layers[best]! - middle) ? c : best), 0)]
}

/**
 * The band test of paired similarities `sim[column][i][j]` whose columns are the layers `layers`
 * (all of 0..numLayers, or the patched ones): the band statistic is each pair's similarity averaged
 * over the columns in the band (the nearest column when none is), read by `pairingTests`.
 * `perLayer` is indexed by layer, NaN with p = 1 where no column was read.
 */
export const pairingBandTest = (
  sim: ReadonlyArray<ReadonlyArray<ReadonlyArray<number>>>,
  layers: ReadonlyArray<number>,
  band: DepthBand,
  options: TestOptions & { readonly statistic: string; readonly numLayers: number; readonly blocked?: string }
): BandTest => {
  const cols = bandColumns(layers, options.numLayers, band)
  const n = sim[0]?.length ?? 0
  const bandSim = Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => cols.reduce((s, c) => s + sim[c]![i]![j]!, 0) / cols.length)
  )
  const tests = pairingTests([...sim, bandSim], options)
  const estimate = tests[tests.length - 1]!
  const none = { mean: Number.NaN, lo: Number.NaN, hi: Number.NaN, p: 1 }
  return {
    statistic: options.statistic,
    estimate,
    n,
    layers: cols.map((c) => layers[c]!),
    band: [band],
    permutations: options.permutations ?? 1999,
    resamples: options.resamples ?? 2000,
    perLayer: Array.from({ length: options.numLayers + 1 }, (_, l) => {
      const c = layers.indexOf(l)
      return c >= 0 ? tests[c]! : none
    }),
    ...decide(estimate, n, options.blocked)
  }
}
