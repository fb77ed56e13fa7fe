/**
 * Choosing the next token from a row of logits: greedy (argmax) or sampling with temperature,
 * top-k and top-p from a seeded generator, so the same seed gives the same tokens on every run.
 * The generator is transformers.js's MT19937 (`random.Random`), which matches Python's `random`.
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
  return heap.sort((a, b) => (row[b]! - row[a]! !== 0 ? row[b]! - row[a]! : a - b))
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
  let candidates: Array<number>
  let mass: Array<number>
  let total = 0
  if (topK > 0) {
    candidates = topKIndices(logits, limit)
    mass = candidates.map(scaled)
    for (const p of mass) total += p
  } else {
    for (let i = 0; i < vocab; i++) total += scaled(i)
    // grow a window of the most likely tokens until it holds top-p of the mass
    let m = Math.min(vocab, 64)
    for (;;) {
      candidates = topKIndices(logits, m)
      mass = candidates.map(scaled)
      if (m >= vocab || mass.reduce((a, b) => a + b, 0) / total >= topP) break
      m = Math.min(vocab, m * 4)
    }
  }

  let keep = candidates.length
  if (topP < 1) {
    let acc = 0
    for (let i = 0; i < mass.length; i++) {
      acc += mass[i]! / total
      if (acc >= topP) {
        keep = i + 1
        break
      }
    }
  }
  let sum = 0
  for (let i = 0; i < keep; i++) sum += mass[i]!
  let x = uniform.random() * sum
  for (let i = 0; i < keep; i++) {
    x -= mass[i]!
    if (x < 0) return candidates[i]!
  }
  return candidates[keep - 1]!
}
