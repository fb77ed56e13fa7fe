import { describe, expect, it } from "vitest"
import { readEmbeddings, readEmbeddingsTable } from "../src/Embeddings.ts"
import { embeddingsTable } from "../src/EmbedStage.ts"

describe("embeddings.arrow read back", () => {
  const nodes = [
    { id: "h1", kind: "hyperword", lang: "en", text: "warmpurringlap" },
    { id: "p1", kind: "part", lang: "ru", text: "кошка" },
    { id: "p2", kind: "part", lang: "en", text: "dusk" }
  ]
  const dim = 4
  const vectors = Float32Array.from({ length: nodes.length * dim }, (_, i) => i / 7 - 0.5)
  const bytes = embeddingsTable(nodes, vectors, dim, { model: "m", layer: "3" })

  it("gives every node with the vector the embed stage wrote", () => {
    const read = readEmbeddings(bytes)
    expect([...read.keys()]).toEqual(["h1", "p1", "p2"])
    nodes.forEach((n, i) => {
      const e = read.get(n.id)!
      expect({ kind: e.kind, lang: e.lang, text: e.text }).toEqual({
        kind: n.kind,
        lang: n.lang,
        text: n.text
      })
      expect([...e.vector]).toEqual([...vectors.subarray(i * dim, (i + 1) * dim)])
    })
  })

  it("is a table that groups like any other", () => {
    const t = readEmbeddingsTable(bytes)
    expect(t.numRows()).toBe(3)
    expect(t.columnNames()).toEqual(["id", "kind", "lang", "text", "vector"])
    const byKind = t.groupby("kind").count().orderby("kind").objects()
    expect(byKind).toEqual([
      { kind: "hyperword", count: 1 },
      { kind: "part", count: 2 }
    ])
  })
})
