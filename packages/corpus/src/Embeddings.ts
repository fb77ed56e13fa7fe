/**
 * Reading `embeddings.arrow` back (written by the embed stage, `EmbedStage.embeddingsTable`) as an
 * arquero table, so the explorer or the probe can take the stored vectors instead of embedding
 * again: one row per node (id, kind, lang, text) with its vector.
 */
import { readFileSync } from "node:fs"
import { lazyModule } from "@hyperwords/core/Lazy"
import type * as Arquero from "arquero"
import type { ColumnTable } from "arquero"

/** arquero, loaded at the first table (a start-up that makes none does not load it). */
const aq = lazyModule<typeof Arquero>(() => import.meta.resolve("arquero"))

/** One stored node with its vector. */
export interface StoredEmbedding {
  readonly id: string
  readonly kind: string
  readonly lang: string
  readonly text: string
  readonly vector: Float32Array
}

/** The nodes and vectors of an `embeddings.arrow` file (its bytes or its path) as a table. */
export const readEmbeddingsTable = (file: string | Uint8Array): ColumnTable =>
  aq().fromArrow(typeof file === "string" ? readFileSync(file) : file)

/** The vectors of an `embeddings.arrow` file by node id, each a `Float32Array` of the stored dimension. */
export const readEmbeddings = (file: string | Uint8Array): Map<string, StoredEmbedding> => {
  const t = readEmbeddingsTable(file)
  const out = new Map<string, StoredEmbedding>()
  for (const row of t.objects()) {
    const r = row as { id: string; kind: string; lang: string; text: string; vector: ArrayLike<number> }
    out.set(r.id, { id: r.id, kind: r.kind, lang: r.lang, text: r.text, vector: Float32Array.from(r.vector) })
  }
  return out
}
