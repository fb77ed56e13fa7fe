import { existsSync, readFileSync, rmSync } from "node:fs"
import { join } from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect, Option } from "effect"
import { Command } from "effect/cli"
import { afterAll, describe, expect, it } from "vitest"
import { partsOf, probeCommand } from "../src/Commands.ts"
import { tinyMissing, tinyModel } from "./fixtures/tiny.ts"

const out = join(import.meta.dirname, ".tmp", "command")

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
})
