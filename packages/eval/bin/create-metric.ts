#!/usr/bin/env node
/** `pnpm create-metric NAME [--root DIR]`: a new metric plugin under `plugins/metric-NAME/`. */
import { existsSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { writeMetricTemplate } from "../src/Template.ts"

const workspaceRoot = (from: string): string => {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "pnpm-workspace.yaml"))) return dir
    if (dirname(dir) === dir) return resolve(from)
  }
}

const args = process.argv.slice(2)
const i = args.indexOf("--root")
const root = i >= 0 && args[i + 1] ? resolve(args[i + 1]!) : workspaceRoot(process.cwd())
const names = args.filter((a, k) => !a.startsWith("--") && !(i >= 0 && k === i + 1))
if (names.length !== 1) {
  process.stderr.write("usage: pnpm create-metric NAME [--root DIR]   (NAME like rhyme-density)\n")
  process.exit(2)
}
try {
  const { dir, files, registered } = writeMetricTemplate(names[0]!, root)
  const name = dir.split("/").pop()!
  process.stdout.write(
    `created ${dir}\n${files.map((f) => `  ${f.slice(dir.length + 1)}`).join("\n")}\n` +
      (registered.length > 0
        ? `registered in ${registered.map((f) => f.slice(root.length + 1)).join(", ")}\n`
        : "") +
      "\nnext:\n" +
      "  pnpm install   (links it into the workspace)\n" +
      `  pnpm --filter @hyperwords/${name} test   (vitest.config.ts finds every plugin folder)\n` +
      `  add it to the metrics list in pipeline.config.ts (import ... from "@hyperwords/${name}")\n`
  )
} catch (e) {
  process.stderr.write(`create-metric: ${(e as Error).message}\n`)
  process.exit(1)
}
