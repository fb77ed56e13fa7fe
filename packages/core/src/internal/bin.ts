#!/usr/bin/env node
/**
 * The published `hyperwords` command (`dist/internal/bin.js`, plain JavaScript for Node ≥ 22); in
 * the workspace `bin/hyperwords.ts` runs the sources. Node's compile cache makes repeated starts fast.
 */
import { enableCompileCache } from "node:module"

enableCompileCache?.()
const { configCommands, main } = await import("../Main.ts")
main(await configCommands(process.argv.slice(2)))
