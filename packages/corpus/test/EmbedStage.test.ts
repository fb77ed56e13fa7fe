import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { HyperwordRecord } from "@hyperwords/core/Artifacts"
import { tableFromIPC } from "apache-arrow"
import { Schema } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { makeEmbedProject, removeEmbedProjects, smollmDir, smollmMissing } from "./fixtures/embedProject.ts"
import { runCli } from "./fixtures/project.ts"

const missing = smollmMissing()

/** The index document and files of the store's artifact of a kind. */
const artifact = (dir: string, kind: string) => {
  const store = join(dir, ".hyperwords")
  for (const a of readdirSync(join(store, "artifacts"))) {
    const m = JSON.parse(readFileSync(join(store, "artifacts", a), "utf8"))
    if (m.kind !== kind) continue
    const file = (path: string) => {
      const f = m.files.find((x: { path: string }) => x.path === path)
      return join(store, "objects", "sha256", f.sha256.slice(0, 2), f.sha256.slice(2))
    }
    return { data: m.data, file }
  }
  throw new Error(`no ${kind} in the store`)
}

describe("the embed stage", () => {
  afterAll(removeEmbedProjects)
  const params = { layoutIterations: 40, batchSize: 8 }

  it("embeds the mined hyperwords through the CLI: vectors, field, enriched records, explorer", async (ctx) => {
    if (missing) return ctx.skip(missing)
    const dir = makeEmbedProject(smollmDir, params)
    const r = await runCli(dir, ["pipeline"])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/embed\s+RAN/)
    expect(r.stderr).toMatch(/embed: embedding/)
    expect(r.stderr).toMatch(
      /embed: \d+ texts in .* at layer 30 of smollm2-135m; \d+ nodes, \d+ edges, \d+ clouds/
    )

    const records = readFileSync(join(dir, "reports", "poem_hyperwords.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => Schema.decodeUnknownSync(HyperwordRecord)(JSON.parse(l)))
    expect(records.length).toBeGreaterThan(5)
    const field = JSON.parse(readFileSync(artifact(dir, "AssociativeField").file("field.json"), "utf8"))
    const clouds = new Set(field.clouds.map((c: { id: string }) => c.id))
    for (const rec of records) {
      expect(rec.field).toBeDefined()
      expect(clouds.has(rec.field!.cloud)).toBe(true)
      expect(rec.field!.composition).toBeGreaterThanOrEqual(-1)
      expect(rec.field!.composition).toBeLessThanOrEqual(1)
      expect(Number.isFinite(rec.field!.cohesion)).toBe(true)
    }
    const parts = new Set(records.flatMap((x) => x.parts.map((p) => `${x.lang}:${p.toLowerCase()}`)))
    expect(field.nodes).toHaveLength(records.length + parts.size)
    expect(field.clouds.reduce((n: number, c: { size: number }) => n + c.size, 0)).toBe(field.nodes.length)
    for (const [s, t, kind, w] of field.edges) {
      expect(s).toBeLessThan(t)
      expect(t).toBeLessThan(field.nodes.length)
      expect(["part", "cooccurrence", "similarity"]).toContain(kind)
      expect(w).toBeGreaterThan(0)
    }

    const set = artifact(dir, "EmbeddingSet")
    expect(set.data).toMatchObject({ schemaVersion: 1, layer: 30, dim: 576, count: field.nodes.length })
    const table = tableFromIPC(readFileSync(set.file("embeddings.arrow")))
    expect(table.numRows).toBe(field.nodes.length)
    expect(table.getChild("id")!.toArray()).toEqual(field.nodes.map((n: { id: string }) => n.id))
    expect(table.getChild("vector")!.get(0)!.length).toBe(576)
    expect(table.schema.metadata.get("layer")).toBe("30")

    const assoc = artifact(dir, "AssociativeField").data
    expect(assoc).toMatchObject({
      nodes: field.nodes.length,
      edges: field.edges.length,
      explorer: "index.html"
    })
    const html = readFileSync(join(dir, "reports", "field", "index.html"), "utf8")
    expect(html).toContain('<script type="application/json" id="field-data">')

    const again = await runCli(dir, ["pipeline", "--explain"])
    expect(again.stdout).toMatch(/embed\s+HIT/)
  }, 300_000)

  it("gives the same vectors, field and records in a fresh store", async (ctx) => {
    if (missing) return ctx.skip(missing)
    const [a, b] = [makeEmbedProject(smollmDir, params), makeEmbedProject(smollmDir, params)]
    for (const dir of [a, b]) expect((await runCli(dir, ["pipeline"])).code).toBe(0)
    const bytes = (dir: string, kind: string, file: string) => readFileSync(artifact(dir, kind).file(file))
    expect(
      bytes(a, "AssociativeField", "field.json").equals(bytes(b, "AssociativeField", "field.json"))
    ).toBe(true)
    expect(
      bytes(a, "EmbeddingSet", "embeddings.arrow").equals(bytes(b, "EmbeddingSet", "embeddings.arrow"))
    ).toBe(true)
    expect(readFileSync(join(a, "reports", "poem_hyperwords.jsonl"), "utf8")).toBe(
      readFileSync(join(b, "reports", "poem_hyperwords.jsonl"), "utf8")
    )
  }, 400_000)

  it("fails in one line naming the model folder when it is broken", async () => {
    const dir = makeEmbedProject(join(import.meta.dirname, ".tmp", "no-such-model"), params)
    const r = await runCli(dir, ["pipeline"])
    expect(r.code).toBe(1)
    // the first stage to load the model (generate, for living words, or embed) names it
    expect(r.stderr).toMatch(/stage (generate|embed) failed: .*no-such-model/)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })
})
