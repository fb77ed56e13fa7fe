/** Seeded randomness shared by every package, so a seed means the same stream everywhere. */

/** A uniform generator on [0, 1) from a 32-bit seed (mulberry32: small, fast, seedable). */
export const mulberry32 = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * A percentile bootstrap 95% interval of `statistic` over `n` items resampled with replacement
 * (seeded: the same data gives the same interval; non-finite resamples are dropped).
 */
export const bootstrapCi = (
  n: number,
  statistic: (indices: ReadonlyArray<number>) => number,
  options: { readonly samples?: number; readonly seed?: number } = {}
): readonly [number, number] => {
  const next = mulberry32(options.seed ?? 1)
  const values: Array<number> = []
  for (let s = 0; s < (options.samples ?? 1000); s++) {
    const idx = Array.from({ length: n }, () => Math.floor(next() * n))
    const v = statistic(idx)
    if (Number.isFinite(v)) values.push(v)
  }
  values.sort((a, b) => a - b)
  const at = (q: number) => values[Math.min(values.length - 1, Math.max(0, Math.floor(q * values.length)))]!
  return [at(0.025), at(0.975)]
}
