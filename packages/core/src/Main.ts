/** The `hyperwords` program: the root command with Node's services, errors printed as one line. */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect, Layer } from "effect"
import { Command } from "effect/cli"
import { type AnyCommand, reportErrors, rootCommand } from "./Cli.ts"
import { Progress } from "./Progress.ts"

/** Run the CLI with the core commands and those of other packages. */
export const main = (extraCommands: ReadonlyArray<AnyCommand> = []): void => {
  const program = Command.run(rootCommand(extraCommands), { version: "0.1.0" }).pipe(
    reportErrors,
    Effect.provide(Layer.mergeAll(NodeServices.layer, Progress.layer))
  )
  NodeRuntime.runMain(program as Effect.Effect<void>)
}
