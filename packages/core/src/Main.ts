/** The `hyperwords` program: the root command with Node's services, errors printed as one line. */

import { existsSync } from "node:fs"
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect, Layer } from "effect"
import { Command } from "effect/cli"
import { type AnyCommand, reportErrors, rootCommand } from "./Cli.ts"
import type { PipelineConfig } from "./Config.ts"
import { crashAsJson, jsonPresenter, jsonRequested } from "./Output.ts"
import { Progress } from "./Progress.ts"

/**
 * The commands `pipeline.config.ts` adds. The config is imported before the command line is
 * parsed; when it cannot be, the core commands still run (and `pipeline` reports why).
 */
export const configCommands = async (argv: ReadonlyArray<string>): Promise<ReadonlyArray<AnyCommand>> => {
  const i = argv.indexOf("--config")
  const file = resolve(i >= 0 && argv[i + 1] ? argv[i + 1]! : "pipeline.config.ts")
  if (!existsSync(file)) return []
  try {
    const mod = (await import(pathToFileURL(file).href)) as { default?: PipelineConfig }
    return mod.default?.commands ?? []
  } catch (e) {
    process.stderr.write(
      `warning: ${file} could not be loaded (${(e as Error).message ?? e}); only the core commands are available\n`
    )
    return []
  }
}

/** Run the CLI with the core commands and those of other packages. */
export const main = (extraCommands: ReadonlyArray<AnyCommand> = []): void => {
  // `--json`: results and errors as one JSON document on stdout (`Output.ts`)
  const json = jsonRequested(process.argv.slice(2))
  const program = Command.run(rootCommand(extraCommands), { version: "0.1.0" }).pipe(
    reportErrors(json),
    (e) => (json ? crashAsJson(e) : e),
    Effect.provide(Layer.mergeAll(NodeServices.layer, Progress.layer, json ? jsonPresenter : Layer.empty))
  )
  NodeRuntime.runMain(program as Effect.Effect<void>)
}
