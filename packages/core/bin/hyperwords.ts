#!/usr/bin/env node
/** The `hyperwords` command. */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { Command } from "effect/cli"
import { reportErrors, rootCommand } from "../src/Cli.ts"
import { Progress } from "../src/Progress.ts"

const program = Command.run(rootCommand(), { version: "0.1.0" })

const main = program.pipe(reportErrors, Effect.provide(Layer.mergeAll(NodeServices.layer, Progress.layer)))

NodeRuntime.runMain(main as Effect.Effect<void>)
