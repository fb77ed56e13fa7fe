/**
 * The associative field: hyperwords and their parts as nodes of one graph. Edges join a
 * hyperword to its parts, parts that share a hyperword or an evidence line (co-occurrence), and
 * each node to its nearest neighbours by cosine in the model's space (similarity, within a
 * language). Clouds are Louvain communities of that graph (seeded, so a rerun gives the same
 * clouds); a cloud's cohesion is the mean cosine between its members' vectors, and a hyperword's
 * composition score is the cosine between its fused vector and the mean of its parts' vectors.
 */
import { createRequire } from "node:module"
import type { HyperwordRecord } from "@hyperwords/core/Artifacts"
import { compositionScore, rng } from "./Compositionality.ts"

// graphology and its algorithms are CommonJS whose declared ES default exports do not resolve
// under NodeNext; these are the parts the field uses
interface Graph {
  readonly size: number
  addNode(key: string, attributes: { x: number; y: number }): void
  addEdge(source: string, target: string, attributes: { weight: number }): void
  getNodeAttributes(key: string): { x: number; y: number }
}
// graphology and its algorithms load when a field is built, not when the module is imported
const require = createRequire(import.meta.url)
const graphology = () =>
  require("graphology") as new (options: {
    type: "undirected"
    allowSelfLoops: boolean
  }) => Graph
const louvainOf = () =>
  require("graphology-communities-louvain") as {
    detailed: (
      graph: Graph,
      options: { getEdgeWeight: string; resolution: number; rng: () => number }
    ) => { communities: Record<string, number>; modularity: number }
  }
const forceAtlas2Of = () =>
  require("graphology-layout-forceatlas2") as {
    inferSettings: (graph: Graph) => Record<string, unknown>
    assign: (
      graph: Graph,
      options: { iterations: number; getEdgeWeight: string; settings: Record<string, unknown> }
    ) => void
  }

/** A node of the field. */
export interface FieldNode {
  readonly id: string
  readonly kind: "hyperword" | "part"
  readonly lang: string
  readonly text: string
  readonly cloud: string
  readonly x: number
  readonly y: number
}

/** Kinds of edges: hyperword to part, parts together in a hyperword or line, nearest neighbours. */
export type EdgeKind = "part" | "cooccurrence" | "similarity"

/** An edge between two nodes (indices into `nodes`). */
export interface FieldEdge {
  readonly source: number
  readonly target: number
  readonly kind: EdgeKind
  readonly weight: number
}

/** A cloud: a community of the field. */
export interface FieldCloud {
  readonly id: string
  readonly size: number
  readonly hyperwords: number
  readonly cohesion: number
  /** Its most connected parts. */
  readonly label: string
}

/** What a hyperword gets from the field. */
export interface HyperwordField {
  readonly cloud: string
  readonly cohesion: number
  readonly composition: number
}

/** The built field. */
export interface Field {
  readonly nodes: ReadonlyArray<FieldNode>
  readonly edges: ReadonlyArray<FieldEdge>
  readonly clouds: ReadonlyArray<FieldCloud>
  /** By record, in input order. */
  readonly hyperwords: ReadonlyArray<HyperwordField>
  /** Similarity neighbours of each node (indices into `nodes`, nearest first). */
  readonly neighbours: ReadonlyArray<ReadonlyArray<number>>
  readonly modularity: number
}

/** Knobs of the field. */
export interface FieldOptions {
  /** Similarity neighbours per node. */
  readonly k: number
  /** Lowest cosine for a similarity edge. */
  readonly minSimilarity: number
  /** Seed of Louvain and of the layout's starting positions. */
  readonly seed: number
  /** Louvain resolution (higher: more, smaller clouds). */
  readonly resolution: number
  /** ForceAtlas2 iterations of the precomputed layout. */
  readonly layoutIterations: number
}

export const defaultFieldOptions: FieldOptions = {
  k: 8,
  minSimilarity: 0.3,
  seed: 1,
  resolution: 1,
  layoutIterations: 150
}

/** The key of a part's node: parts are shared across hyperwords of one language. */
export const partKey = (lang: string, part: string): string => `${lang}:${part.toLowerCase()}`

/** The texts the field embeds: each hyperword's fused surface, then each distinct part once. */
export const fieldTexts = (
  records: ReadonlyArray<HyperwordRecord>
): { readonly nodes: Array<{ id: string; kind: "hyperword" | "part"; lang: string; text: string }> } => {
  const nodes: Array<{ id: string; kind: "hyperword" | "part"; lang: string; text: string }> = []
  const seen = new Set<string>()
  for (const r of records) {
    if (seen.has(r.id)) continue
    seen.add(r.id)
    nodes.push({ id: r.id, kind: "hyperword", lang: r.lang, text: r.surface })
  }
  const parts = new Map<string, { id: string; kind: "part"; lang: string; text: string }>()
  for (const r of records) {
    for (const p of r.parts) {
      const id = `part:${partKey(r.lang, p)}`
      if (!parts.has(id)) parts.set(id, { id, kind: "part", lang: r.lang, text: p.toLowerCase() })
    }
  }
  nodes.push(...[...parts.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)))
  return { nodes }
}

/** Unit vectors of `[n, dim]` rows after subtracting each language's mean row. */
export const centredUnitVectors = (
  vectors: Float32Array,
  dim: number,
  langs: ReadonlyArray<string>
): Float32Array => {
  const means = new Map<string, { sum: Float64Array; n: number }>()
  langs.forEach((lang, i) => {
    const m = means.get(lang) ?? { sum: new Float64Array(dim), n: 0 }
    for (let j = 0; j < dim; j++) m.sum[j]! += vectors[i * dim + j]!
    m.n++
    means.set(lang, m)
  })
  const out = new Float32Array(vectors.length)
  langs.forEach((lang, i) => {
    const m = means.get(lang)!
    let norm = 0
    for (let j = 0; j < dim; j++) {
      const v = vectors[i * dim + j]! - m.sum[j]! / m.n
      out[i * dim + j] = v
      norm += v * v
    }
    const s = norm > 0 ? 1 / Math.sqrt(norm) : 0
    for (let j = 0; j < dim; j++) out[i * dim + j]! *= s
  })
  return out
}

/** The k nearest neighbours of every row by cosine among rows of the same language. */
export const nearestNeighbours = (
  unit: Float32Array,
  dim: number,
  langs: ReadonlyArray<string>,
  k: number,
  onRow?: (done: number) => void
): Array<Array<{ index: number; cosine: number }>> => {
  const n = langs.length
  const best: Array<Array<{ index: number; cosine: number }>> = Array.from({ length: n }, () => [])
  const offer = (i: number, j: number, c: number) => {
    const list = best[i]!
    if (list.length === k && c <= list[k - 1]!.cosine) return
    let at = list.length
    // ties keep the lower index first, so the lists do not depend on visiting order
    while (at > 0 && (list[at - 1]!.cosine < c || (list[at - 1]!.cosine === c && list[at - 1]!.index > j)))
      at--
    list.splice(at, 0, { index: j, cosine: c })
    if (list.length > k) list.pop()
  }
  for (let i = 0; i < n; i++) {
    const oi = i * dim
    for (let j = i + 1; j < n; j++) {
      if (langs[j] !== langs[i]) continue
      const oj = j * dim
      let dot = 0
      for (let t = 0; t < dim; t++) dot += unit[oi + t]! * unit[oj + t]!
      offer(i, j, dot)
      offer(j, i, dot)
    }
    onRow?.(i + 1)
  }
  return best
}

const compareStrings = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** Mean cosine over distinct pairs of unit vectors: (|Σu|² − n) / (n(n − 1)). */
const meanPairCosine = (unit: Float32Array, dim: number, members: ReadonlyArray<number>): number => {
  const n = members.length
  if (n < 2) return 1
  const sum = new Float64Array(dim)
  let self = 0
  for (const i of members) {
    for (let j = 0; j < dim; j++) {
      sum[j]! += unit[i * dim + j]!
      self += unit[i * dim + j]! ** 2
    }
  }
  let sq = 0
  for (let j = 0; j < dim; j++) sq += sum[j]! ** 2
  return (sq - self) / (n * (n - 1))
}

/** Composition scores of records from centred unit vectors of `fieldTexts(records).nodes`. */
export const compositionScores = (
  records: ReadonlyArray<HyperwordRecord>,
  unit: Float32Array,
  dim: number
): Array<number> => {
  const { nodes } = fieldTexts(records)
  const index = new Map(nodes.map((t, i) => [t.id, i]))
  const row = (i: number) => unit.subarray(i * dim, (i + 1) * dim)
  return records.map((r) =>
    compositionScore(
      row(index.get(r.id)!),
      r.parts.map((p) => row(index.get(`part:${partKey(r.lang, p)}`)!))
    )
  )
}

/** Build the field from the records and the vectors of `fieldTexts(records).nodes` (same order). */
export const buildField = (
  records: ReadonlyArray<HyperwordRecord>,
  vectors: Float32Array,
  dim: number,
  options: FieldOptions = defaultFieldOptions,
  onProgress?: (step: string, done: number, total: number) => void
): Field => {
  const { nodes: texts } = fieldTexts(records)
  const n = texts.length
  const index = new Map(texts.map((t, i) => [t.id, i]))
  const langs = texts.map((t) => t.lang)
  const unit = centredUnitVectors(vectors, dim, langs)

  const weights = new Map<string, { source: number; target: number; kind: EdgeKind; weight: number }>()
  const addEdge = (a: number, b: number, kind: EdgeKind, weight: number) => {
    if (a === b) return
    const [s, t] = a < b ? [a, b] : [b, a]
    const key = `${s} ${t}`
    const e = weights.get(key)
    if (e === undefined) weights.set(key, { source: s, target: t, kind, weight })
    else {
      // one edge per pair: the strongest kind names it, the weights add up
      const rank = { part: 2, cooccurrence: 1, similarity: 0 }
      e.weight += weight
      if (rank[kind] > rank[e.kind]) e.kind = kind
    }
  }

  const partsOf = (r: HyperwordRecord) => r.parts.map((p) => index.get(`part:${partKey(r.lang, p)}`)!)
  const lines = new Map<string, Set<number>>()
  for (const r of records) {
    const h = index.get(r.id)!
    const parts = [...new Set(partsOf(r))]
    for (const p of parts) addEdge(h, p, "part", 1)
    for (const e of r.evidence ?? []) {
      const key = `${r.lang}\0${e.doc}\0${e.line}`
      const set = lines.get(key) ?? new Set<number>()
      for (const p of parts) set.add(p)
      lines.set(key, set)
    }
    if ((r.evidence ?? []).length === 0) lines.set(`${r.id}\0`, new Set(parts))
  }
  const cooccur = new Map<string, number>()
  for (const set of lines.values()) {
    const ps = [...set].sort((a, b) => a - b)
    for (let i = 0; i < ps.length; i++)
      for (let j = i + 1; j < ps.length; j++) {
        const key = `${ps[i]} ${ps[j]}`
        cooccur.set(key, (cooccur.get(key) ?? 0) + 1)
      }
  }
  for (const [key, count] of [...cooccur].sort((a, b) => compareStrings(a[0], b[0]))) {
    const [a, b] = key.split(" ").map(Number) as [number, number]
    addEdge(a, b, "cooccurrence", Math.min(1, count / 2))
  }

  const neighbours = nearestNeighbours(unit, dim, langs, options.k, (d) => onProgress?.("neighbours", d, n))
  for (let i = 0; i < n; i++) {
    for (const nb of neighbours[i]!)
      if (nb.cosine >= options.minSimilarity) addEdge(i, nb.index, "similarity", nb.cosine)
  }

  const edges = [...weights.values()].sort((a, b) => a.source - b.source || a.target - b.target)
  const Graph = graphology()
  const graph = new Graph({ type: "undirected", allowSelfLoops: false })
  const random = rng(options.seed)
  texts.forEach((_, i) => {
    graph.addNode(String(i), { x: random() * 100, y: random() * 100 })
  })
  for (const e of edges) graph.addEdge(String(e.source), String(e.target), { weight: e.weight })

  onProgress?.("clouds", 0, 1)
  const communities = louvainOf().detailed(graph, {
    getEdgeWeight: "weight",
    resolution: options.resolution,
    rng: rng(options.seed + 1)
  })
  const members = new Map<number, Array<number>>()
  for (let i = 0; i < n; i++) {
    const c = communities.communities[String(i)]!
    const list = members.get(c) ?? []
    list.push(i)
    members.set(c, list)
  }
  // clouds named by size (then by first member) so names do not depend on Louvain's numbering
  const ordered = [...members.values()].sort((a, b) => b.length - a.length || a[0]! - b[0]!)
  const cloudOf = new Array<string>(n)
  const degree = new Array<number>(n).fill(0)
  for (const e of edges) {
    degree[e.source]! += e.weight
    degree[e.target]! += e.weight
  }
  const clouds: Array<FieldCloud> = ordered.map((list, c) => {
    const id = `c${c}`
    for (const i of list) cloudOf[i] = id
    const parts = list
      .filter((i) => texts[i]!.kind === "part")
      .sort((a, b) => degree[b]! - degree[a]! || a - b)
      .slice(0, 3)
    return {
      id,
      size: list.length,
      hyperwords: list.filter((i) => texts[i]!.kind === "hyperword").length,
      cohesion: meanPairCosine(unit, dim, list),
      label: (parts.length > 0 ? parts : list.slice(0, 3)).map((i) => texts[i]!.text).join(" · ")
    }
  })
  onProgress?.("clouds", 1, 1)

  const layoutIterations = options.layoutIterations
  if (layoutIterations > 0 && graph.size > 0) {
    const forceAtlas2 = forceAtlas2Of()
    forceAtlas2.assign(graph, {
      iterations: layoutIterations,
      getEdgeWeight: "weight",
      settings: { ...forceAtlas2.inferSettings(graph), barnesHutOptimize: n > 2000 }
    })
  }
  const cohesionOf = new Map(clouds.map((c) => [c.id, c.cohesion]))
  const nodes: Array<FieldNode> = texts.map((t, i) => {
    const a = graph.getNodeAttributes(String(i))
    return { ...t, cloud: cloudOf[i]!, x: round(a.x), y: round(a.y) }
  })
  const composition = compositionScores(records, unit, dim)
  const hyperwords = records.map((r, i): HyperwordField => {
    const h = index.get(r.id)!
    return {
      cloud: cloudOf[h]!,
      cohesion: round(cohesionOf.get(cloudOf[h]!)!),
      composition: round(composition[i]!)
    }
  })
  return {
    nodes,
    edges: edges.map((e) => ({ ...e, weight: round(e.weight) })),
    clouds: clouds.map((c) => ({ ...c, cohesion: round(c.cohesion) })),
    hyperwords,
    neighbours: neighbours.map((list) => list.map((nb) => nb.index)),
    modularity: communities.modularity
  }
}

const round = (x: number): number => Math.round(x * 1e4) / 1e4
