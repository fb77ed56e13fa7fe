#!/usr/bin/env node
/** The `hyperwords` command. Node's compile cache makes repeated starts (cached reruns) fast. */
import { enableCompileCache } from "node:module"

enableCompileCache?.()
const { configCommands, main } = await import("../src/Main.ts")
main(await configCommands(process.argv.slice(2)))
