/**
 * Every `hyperwords` command that prints results takes `--json` (`Output.ts`). The commands are
 * enumerated from the real command tree — the core commands and those the repository's
 * `pipeline.config.ts` adds — and each one's `--help` is read for the flag. A command that prints
 * no results is named below with the reason; a new command fails here until it takes `--json` or
 * is named.
 */
import { resolve } from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { describe, expect, it } from "vitest"
import { type AnyCommand, rootCommand } from "../src/Cli.ts"
import { configCommands } from "../src/Main.ts"

/** Commands that print no results, each with the reason (none today: every command does). */
const printsNoResults: Readonly<Record<string, string>> = {}

/** The leaf commands under a command, as paths (`store verify`). */
const leaves = (command: AnyCommand, path: ReadonlyArray<string> = []): Array<Array<string>> => {
  const groups = command.subcommands.flatMap((g) => g.commands) as ReadonlyArray<AnyCommand>
  if (groups.length === 0) return [[...path]]
  return groups.flatMap((c) => leaves(c, [...path, c.name]))
}

/** The FLAGS section of a command's `--help`, read through the real CLI. */
const helpFlags = async (root: AnyCommand, path: ReadonlyArray<string>): Promise<string> => {
  const lines: Array<string> = []
  const log = console.log
  console.log = (...xs: Array<unknown>) => lines.push(xs.join(" "))
  try {
    await Effect.runPromise(
      Command.runWith(root, { version: "test" })([...path, "--help"]).pipe(
        Effect.provide(NodeServices.layer)
      ) as Effect.Effect<void>
    )
  } finally {
    console.log = log
  }
  const help = lines.join("\n")
  const flags = /\nFLAGS\n([\s\S]*?)(\n\n|\nGLOBAL FLAGS|$)/.exec(help)
  return flags?.[1] ?? ""
}

describe("--json on every command that prints results", () => {
  it("every command of the CLI takes --json, or is named as printing no results", async () => {
    const config = resolve(import.meta.dirname, "..", "..", "..", "pipeline.config.ts")
    const extra = await configCommands(["--config", config])
    expect(extra.length, "the repository's pipeline.config.ts adds its commands").toBeGreaterThan(0)
    const root = rootCommand(extra)
    const paths = leaves(root).map((p) => p.join(" "))
    // the tree as the README lists it: a command lost from the tree is not a command that passes
    for (const known of ["pipeline", "store verify", "store gc", "store times", "models list", "score"])
      expect(paths).toContain(known)
    const missing: Array<string> = []
    for (const path of paths) {
      if (path in printsNoResults) continue
      const flags = await helpFlags(root, path.split(" "))
      expect(flags, `the help of ${path}`).toMatch(/--config|--model|--metric|--[a-z]/)
      if (!/^\s*--json\b/m.test(flags)) missing.push(path)
    }
    expect(missing, "commands that print results without --json").toEqual([])
    // the check itself: a command without the flag is found
    const bare = Command.make("bare", { config: Flag.String("config") }, () => Effect.void)
    expect(await helpFlags(rootCommand([bare]), ["bare"])).not.toMatch(/--json/)
    expect(await helpFlags(root, ["store", "verify"])).toMatch(/^\s*--json\b/m)
    for (const name of Object.keys(printsNoResults)) expect(paths, "a stale allow-list entry").toContain(name)
  }, 120_000)
})
