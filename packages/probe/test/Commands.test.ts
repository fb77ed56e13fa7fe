import { existsSync, readFileSync, rmSync } from "node:fs"
import { join } from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect, Option } from "effect"
import { Command } from "effect/cli"
import { afterAll, describe, expect, it } from "vitest"
import { parseLayers, partsOf, probeCommand } from "../src/Commands.ts"
import { tinyMissing, tinyModel, tinyModelWithProbeCuts } from "./fixtures/tiny.ts"

const out = join(import.meta.dirname, ".tmp", "command")

/** Run `hyperwords probe` with args; what it printed on stdout and stderr. */
const runProbe = async (args: ReadonlyArray<string>): Promise<{ out: string; err: string }> => {
  const lines: Array<string> = []
  const errors: Array<string> = []
  const log = console.log
  const error = console.error
  console.log = (...xs: Array<unknown>) => lines.push(xs.join(" "))
  console.error = (...xs: Array<unknown>) => errors.push(xs.join(" "))
  try {
    await Effect.runPromise(
      Command.runWith(probeCommand, { version: "test" })(args).pipe(
        Effect.provide(NodeServices.layer)
      ) as Effect.Effect<void>
    )
  } finally {
    console.log = log
    console.error = error
  }
  return { out: lines.join("\n"), err: errors.join("\n") }
}

describe("hyperwords probe WORD", async () => {
  const missing = await tinyMissing()
  afterAll(() => rmSync(out, { recursive: true, force: true }))

  it("takes the parts from --parts, else from the hyperword set, else the word itself", () => {
    expect(partsOf("warmlap", Option.some("warm, lap"), "/nonexistent")).toEqual(["warm", "lap"])
    expect(partsOf("warmlap", Option.none(), "/nonexistent")).toEqual(["warmlap"])
  })

  it("prints a row per layer and writes the report", async (ctx) => {
    if (missing) return ctx.skip(missing)
    const dir = await tinyModel("llama")
    const lines: Array<string> = []
    const log = console.log
    console.log = (...xs: Array<unknown>) => lines.push(xs.join(" "))
    try {
      await Effect.runPromise(
        Command.runWith(probeCommand, { version: "test" })([
          "--model",
          dir,
          "--parts",
          "warm,lap",
          "--out",
          out,
          "warmlap"
        ]).pipe(Effect.provide(NodeServices.layer)) as Effect.Effect<void>
      )
    } finally {
      console.log = log
    }
    const text = lines.join("\n")
    expect(text).toMatch(/layer\s+norm\s+top lens token/)
    // 3 layers of the tiny model: rows 0..3
    expect(text).toMatch(/\n\s+3\s+\d/)
    expect(text).toMatch(/probed in \d+\.\d+s/)
    expect(existsSync(join(out, "report.html"))).toBe(true)
    expect(readFileSync(join(out, "report.html"), "utf8")).toContain("warmlap")
  })

  it("reads --layers as layer numbers", () => {
    expect(parseLayers("12, 0,6,6")).toEqual([0, 6, 12])
    expect(() => parseLayers("0,six")).toThrow(/comma-separated layer numbers/)
    expect(() => parseLayers("")).toThrow(/comma-separated layer numbers/)
  })

  it("--layers reads the probe graph cut to them when the model has one, and says so", async (ctx) => {
    if (missing) return ctx.skip(missing)
    const dir = await tinyModelWithProbeCuts("llama", "tiny-llama-probe-command", [[0, 2]])
    try {
      const cut = await runProbe([
        "--model",
        dir,
        "--parts",
        "warm,lap",
        "--layers",
        "2",
        "--out",
        out,
        "warmlap"
      ])
      expect(cut.out).toContain("reading onnx/probe-layers-0-2.onnx, the probe graph cut to layers 0,2")
      expect(cut.err).not.toContain("graph_cuts")
      // the asked layer's row only, by its real number
      expect(cut.out).toMatch(/\n\s+2\s+\d/)
      expect(cut.out).not.toMatch(/\n\s+[013]\s+\d/)
      // the same row as the whole graph's (the tiny model's own folder has no cut)
      const full = await runProbe([
        "--model",
        await tinyModel("llama"),
        "--parts",
        "warm,lap",
        "--layers",
        "2",
        "--out",
        out,
        "warmlap"
      ])
      const row = (text: string) => text.split("\n").find((l) => /^\s+2\s+\d/.test(l))
      expect(row(cut.out)).toBeDefined()
      expect(row(cut.out)).toBe(row(full.out))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("--layers without a cut reads the whole graph and prints how to make the cut", async (ctx) => {
    if (missing) return ctx.skip(missing)
    const dir = await tinyModel("llama")
    const r = await runProbe([
      "--model",
      dir,
      "--parts",
      "warm,lap",
      "--layers",
      "0,3",
      "--out",
      out,
      "warmlap"
    ])
    expect(r.out).toContain("reading onnx/probe.onnx, the whole probe graph")
    expect(r.err).toContain(`-m hyperwords_bridge.graph_cuts ${dir} --probe-layers 0,3`)
    expect(r.out).toMatch(/\n\s+0\s+\d/)
    expect(r.out).toMatch(/\n\s+3\s+\d/)
    expect(r.out).not.toMatch(/\n\s+[12]\s+\d/)
    expect(r.out).toMatch(/probed in \d+\.\d+s/)
  })
})
