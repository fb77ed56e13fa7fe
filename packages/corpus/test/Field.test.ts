import { describe, expect, it } from "vitest"
import { buildField, defaultFieldOptions, fieldTexts } from "../src/Field.ts"
import { fieldRecords, fieldVectors } from "./fixtures/field.ts"

describe("the associative field", () => {
  const records = fieldRecords()
  const vectors = fieldVectors(records)
  const field = buildField(records, vectors, 32, defaultFieldOptions)

  it("has a node per hyperword and per distinct part, and joins each hyperword to its parts", () => {
    const { nodes } = fieldTexts(records)
    expect(field.nodes.map((n) => n.id)).toEqual(nodes.map((n) => n.id))
    expect(field.nodes.filter((n) => n.kind === "hyperword")).toHaveLength(records.length)
    expect(field.nodes.filter((n) => n.kind === "part")).toHaveLength(8)
    const index = new Map(field.nodes.map((n, i) => [n.id, i]))
    const has = (a: number, b: number) =>
      field.edges.some((e) => (e.source === a && e.target === b) || (e.source === b && e.target === a))
    for (const r of records)
      for (const p of r.parts) expect(has(index.get(r.id)!, index.get(`part:en:${p}`)!)).toBe(true)
    for (const e of field.edges) {
      expect(e.source).toBeLessThan(e.target)
      expect(e.target).toBeLessThan(field.nodes.length)
    }
  })

  it("puts the two themes in different clouds, with cohesion and composition scores in range", () => {
    const cloudOf = (id: string) => field.nodes.find((n) => n.id === id)!.cloud
    expect(cloudOf("en:white+snow")).toBe(cloudOf("en:cold+snow"))
    expect(cloudOf("en:white+snow")).not.toBe(cloudOf("en:red+fire"))
    expect(field.clouds.reduce((n, c) => n + c.size, 0)).toBe(field.nodes.length)
    for (const c of field.clouds) expect(c.cohesion).toBeLessThanOrEqual(1)
    for (const h of field.hyperwords) {
      expect(h.composition).toBeGreaterThanOrEqual(-1)
      expect(h.composition).toBeLessThanOrEqual(1)
      // the synthetic hyperwords are their parts' mean: composition is high
      expect(h.composition).toBeGreaterThan(0.8)
    }
  })

  it("is the same field on a rerun", () => {
    const again = buildField(records, fieldVectors(records), 32, defaultFieldOptions)
    expect(JSON.stringify(again)).toBe(JSON.stringify(field))
  })
})
