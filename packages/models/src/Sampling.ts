/**
 * Choosing the next token from a row of logits: greedy (argmax) or sampling with temperature,
 * top-k and top-p from a seeded generator, so the same seed gives the same tokens on every run.
 * The generator is transformers.js's MT19937 (`random.Random`), which matches Python's `random`.
 *
 * Top-p over a whole vocabulary (Gemma's is 262,144) needs the normaliser, a sum of exps over
 * every token. One pass counts the tokens by how far below the max they are, computing only the
 * near ones' exps; the far ones' counts bound the normaliser from both sides, and a cut that
 * both bounds agree on is the cut of the exact sum. A row whose cut falls between them (about 1
 * in 100 of Gemma's) sums exactly. The tokens drawn are those of the exact sum, draw for draw.
 */
import { transformersJs } from "./internal/transformers.ts"

/** How to sample; absent from a generation request means greedy. */
export interface SamplingOptions {
  /** Divides the logits; > 0 (default 1). */
  readonly temperature?: number
  /** Keep only the k most likely tokens; 0 or absent keeps all. */
  readonly topK?: number
  /** Keep the smallest set of most likely tokens whose probability reaches p; 1 or absent keeps all. */
  readonly topP?: number
  /** Seed of the generator; absent picks one at random (and the result reports it). */
  readonly seed?: number
}

/** A uniform [0, 1) source. */
export interface Uniform {
  readonly random: () => number
}

/** A seeded uniform generator (MT19937, the same stream as Python's `random.Random(seed)`). */
export const seededUniform = (seed: number): Uniform => {
  const rng = new (transformersJs().random.Random)(seed)
  return { random: () => rng.random() }
}

/** Index of the largest value (the first one on ties, like `torch.argmax`). */
export const argmax = (row: Float32Array): number => {
  let best = 0
  let max = row[0] ?? Number.NEGATIVE_INFINITY
  for (let i = 1; i < row.length; i++) {
    const v = row[i]!
    if (v > max) {
      max = v
      best = i
    }
  }
  return best
}

/** Orders indices of `row` by value, largest first, then by index (lower first). */
const byValueThenIndex =
  (row: Float32Array) =>
  (a: number, b: number): number =>
    row[b]! - row[a]! !== 0 ? row[b]! - row[a]! : a - b

/** Indices of the k largest values, largest first (ties: lower index first). */
export const topKIndices = (row: Float32Array, k: number): Array<number> => {
  const n = Math.min(k, row.length)
  if (n <= 0) return []
  // a min-heap of the best n seen so far, keyed by (value, -index)
  const heap: Array<number> = []
  const less = (a: number, b: number) => row[a]! < row[b]! || (row[a] === row[b] && a > b)
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < heap.length && less(heap[l]!, heap[m]!)) m = l
      if (r < heap.length && less(heap[r]!, heap[m]!)) m = r
      if (m === i) return
      ;[heap[i], heap[m]] = [heap[m]!, heap[i]!]
      i = m
    }
  }
  const up = (i: number) => {
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!less(heap[i]!, heap[p]!)) return
      ;[heap[i], heap[p]] = [heap[p]!, heap[i]!]
      i = p
    }
  }
  for (let i = 0; i < row.length; i++) {
    if (heap.length < n) {
      heap.push(i)
      up(heap.length - 1)
    } else if (less(heap[0]!, i)) {
      heap[0] = i
      down(0)
    }
  }
  return heap.sort(byValueThenIndex(row))
}

/**
 * A top-p cut: the candidates most likely first, their unnormalised probabilities, and how many
 * of them are kept.
 */
interface Cut {
  readonly candidates: ReadonlyArray<number>
  readonly mass: ReadonlyArray<number>
  readonly keep: number
}

/**
 * How many of `mass` (most likely first) top-p keeps, measured against a normaliser known to lie
 * in [lo, hi]: the first whose running share reaches top-p, else all; undefined when a normaliser
 * in that range could keep two counts. Each share and running sum only falls as the normaliser
 * grows, so a test that passes at `hi` passes for all and one that fails at `lo` fails for all.
 */
const keptOf = (mass: ReadonlyArray<number>, topP: number, lo: number, hi: number): number | undefined => {
  if (topP >= 1) return mass.length
  let atHi = 0
  let atLo = 0
  for (let i = 0; i < mass.length; i++) {
    atHi += mass[i]! / hi
    atLo += mass[i]! / lo
    const surely = atHi >= topP
    if (surely !== atLo >= topP) return undefined
    if (surely) return i + 1
  }
  return mass.length
}

/**
 * The top-p cut over the whole vocabulary, against a normaliser in [lo, hi] (undefined when that
 * range could cut in two places; with lo = hi, the cut at that normaliser): a window of the `m`
 * most likely tokens (`window(m)`, from 64, four times larger each time) grows until it holds
 * top-p of the mass, then `keptOf` cuts it.
 */
const cutAt = (
  window: (m: number) => ReadonlyArray<number>,
  scaled: (i: number) => number,
  vocab: number,
  topP: number,
  lo: number,
  hi: number
): Cut | undefined => {
  let m = Math.min(vocab, 64)
  for (;;) {
    const candidates = window(m)
    const mass = candidates.map(scaled)
    let grow = false
    if (m < vocab) {
      const held = mass.reduce((a, b) => a + b, 0)
      const surely = held / hi >= topP
      if (surely !== held / lo >= topP) return undefined
      grow = !surely
    }
    if (!grow) {
      const keep = keptOf(mass, topP, lo, hi)
      return keep === undefined ? undefined : { candidates, mass, keep }
    }
    m = Math.min(vocab, m * 4)
  }
}

/** Buckets per unit of scaled logit (logit / temperature) below the row's max. */
const PER_UNIT = 256
/** Buckets counted; the last holds every token further below. */
const BUCKETS = 48 * PER_UNIT
/** Tokens in the first NEAR buckets have their exp computed exactly in the counting pass. */
const NEAR = 14 * PER_UNIT
/** exp(-b / PER_UNIT) for b = 0..BUCKETS: the bounds of one bucket's tokens' mass. */
const bucketExp = Float64Array.from({ length: BUCKETS + 1 }, (_, b) => Math.exp(-b / PER_UNIT))

/** A row counted by bucket below its max, with bounds on its normaliser. */
interface Counted {
  readonly counts: Int32Array
  /** The tokens of the first NEAR buckets and their buckets. */
  readonly near: ReadonlyArray<number>
  readonly nearBucket: ReadonlyArray<number>
  /** Bounds on Σ exp((logit − max) / temperature) as summed in token order. */
  readonly lo: number
  readonly hi: number
  /** A logit was NaN (then only the exact sum will do). */
  readonly nan: boolean
}

/**
 * One pass over a row: each token's bucket, floor((max − logit) / temperature · PER_UNIT), and the
 * exact exp of the tokens near the max. A token in bucket b has mass in
 * (exp(−(b+1)/PER_UNIT), exp(−b/PER_UNIT)], so the far tokens' mass is bounded by their counts,
 * and the normaliser with it; the bounds are widened by far more than Math.exp's and the
 * summation's rounding.
 */
export const countBelowMax = (row: Float32Array, max: number, temperature: number): Counted => {
  const scale = PER_UNIT / temperature
  const counts = new Int32Array(BUCKETS)
  const near: Array<number> = []
  const nearBucket: Array<number> = []
  let exact = 0
  let nan = false
  for (let i = 0; i < row.length; i++) {
    const b = Math.floor((max - row[i]!) * scale) // NaN for a NaN logit
    if (b < NEAR) {
      exact += Math.exp((row[i]! - max) / temperature)
      near.push(i)
      nearBucket.push(b)
      counts[b]!++
    } else if (b < BUCKETS) counts[b]!++
    else if (b >= BUCKETS) counts[BUCKETS - 1]!++
    else nan = true
  }
  // a token's bucket is its (max − logit) / temperature · PER_UNIT to within a few roundings: its
  // mass is within (exp(−(b+1)/PER_UNIT), exp(−b/PER_UNIT)] to within far less than the slack
  let farLo = 0
  let farHi = 0
  for (let b = NEAR; b < BUCKETS - 1; b++) {
    farLo += counts[b]! * bucketExp[b + 1]!
    farHi += counts[b]! * bucketExp[b]!
  }
  farHi += counts[BUCKETS - 1]! * bucketExp[BUCKETS - 1]!
  const slack = row.length * 1e-15 + 1e-9
  return {
    counts,
    near,
    nearBucket,
    lo: (exact + farLo) * (1 - slack),
    hi: (exact + farHi) * (1 + slack),
    nan
  }
}

/**
 * `topKIndices(row, k)` from a counted row: the k largest lie in the fewest nearest buckets that
 * hold k (a nearer bucket's tokens are all larger), so only those are gathered and sorted.
 */
export const largest = (
  row: Float32Array,
  k: number,
  max: number,
  temperature: number,
  { counts, near, nearBucket }: Counted
): Array<number> => {
  let last = 0
  for (let held = counts[0]!; held < k && last < BUCKETS - 1; ) held += counts[++last]!
  let gathered: Array<number>
  const scale = PER_UNIT / temperature
  if (last < NEAR) gathered = near.filter((_, j) => nearBucket[j]! <= last)
  else if (last < BUCKETS - 1) {
    gathered = []
    for (let i = 0; i < row.length; i++) if (Math.floor((max - row[i]!) * scale) <= last) gathered.push(i)
  } else return topKIndices(row, k)
  gathered.sort(byValueThenIndex(row))
  return gathered.slice(0, k)
}

/**
 * Sample a token from logits. Order as in transformers: temperature, then top-k, then top-p
 * over the renormalised distribution, then one draw from `uniform`.
 */
export const sampleToken = (logits: Float32Array, options: SamplingOptions, uniform: Uniform): number => {
  const temperature = options.temperature ?? 1
  if (!(temperature > 0)) throw new RangeError(`temperature must be > 0, got ${temperature}`)
  const topK = options.topK ?? 0
  const topP = options.topP ?? 1
  if (!(topP > 0 && topP <= 1)) throw new RangeError(`topP must be in (0, 1], got ${topP}`)
  const vocab = logits.length
  const limit = Math.min(topK, vocab)

  // exp relative to the row's max stays in range; probabilities are these over their sum
  let max = Number.NEGATIVE_INFINITY
  for (let i = 0; i < vocab; i++) if (logits[i]! > max) max = logits[i]!
  const scaled = (i: number) => Math.exp((logits[i]! - max) / temperature)

  if (topK <= 0 && topP >= 1) {
    // plain sampling over the whole vocabulary: one scan, no ordering needed
    let total = 0
    for (let i = 0; i < vocab; i++) total += scaled(i)
    let x = uniform.random() * total
    for (let i = 0; i < vocab; i++) {
      x -= scaled(i)
      if (x < 0) return i
    }
    return argmax(logits)
  }

  // Candidates, most likely first, with the normaliser top-p is measured against: the top-k
  // set's mass (top-k filters first, as in transformers), else the whole vocabulary's.
  let cut: Cut
  if (topK > 0) {
    const candidates = topKIndices(logits, limit)
    const mass = candidates.map(scaled)
    let total = 0
    for (const p of mass) total += p
    cut = { candidates, mass, keep: keptOf(mass, topP, total, total)! }
  } else {
    const counted = countBelowMax(logits, max, temperature)
    const window = (m: number) => largest(logits, m, max, temperature, counted)
    // the normaliser's bounds decide the cut but for a row whose cut lies within them; then
    // its exact sum does, as it always could
    cut =
      (counted.nan ? undefined : cutAt(window, scaled, vocab, topP, counted.lo, counted.hi)) ??
      (() => {
        let total = 0
        for (let i = 0; i < vocab; i++) total += scaled(i)
        return cutAt((m) => topKIndices(logits, m), scaled, vocab, topP, total, total)!
      })()
  }
  const { candidates, mass, keep } = cut
  let sum = 0
  for (let i = 0; i < keep; i++) sum += mass[i]!
  let x = uniform.random() * sum
  for (let i = 0; i < keep; i++) {
    x -= mass[i]!
    if (x < 0) return candidates[i]!
  }
  return candidates[keep - 1]!
}
