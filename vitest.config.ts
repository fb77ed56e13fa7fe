import { existsSync, readdirSync } from "node:fs"
import { availableParallelism } from "node:os"
import { join } from "node:path"
import { defineConfig } from "vitest/config"
import type { Reporter, TestModule } from "vitest/node"

const project = (name: string, root: string) => ({
  test: {
    name,
    root,
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000
  }
})

// A plain closing line ("N passed, N failed, N skipped") that any log reader understands.
const summaryLine: Reporter = {
  onTestRunEnd(modules: ReadonlyArray<TestModule>) {
    const count = { passed: 0, failed: 0, skipped: 0 }
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const state = t.result().state
        if (state === "passed") count.passed++
        else if (state === "failed") count.failed++
        else count.skipped++
      }
      if (m.state() === "failed" && [...m.children.allTests()].length === 0) count.failed++
    }
    process.stdout.write(`\n${count.passed} passed, ${count.failed} failed, ${count.skipped} skipped\n`)
  }
}

/** Every plugin folder (one with a package.json): a plugin made by `pnpm create-metric` is tested with no edit here. */
export const plugins = (root: string = import.meta.dirname): Array<string> =>
  readdirSync(join(root, "plugins"), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, "plugins", d.name, "package.json")))
    .map((d) => d.name)
    .sort()

export default defineConfig({
  test: {
    reporters: ["default", summaryLine],
    // Vitest's default in run mode is one worker fewer than the cores: on a 2-core machine the files
    // ran one at a time, with the second core idle while a file waited on its Python bridge or
    // Chromium. Two workers on 2 cores: 15m12s against 25m55s for the whole suite, 700 passed both
    // times (2026-12-07, one run each). At most 4: every worker can hold a model or a bridge.
    maxWorkers: Math.min(4, availableParallelism()),
    projects: [
      project("core", "packages/core"),
      project("train-bridge", "packages/train-bridge"),
      project("models", "packages/models"),
      project("corpus", "packages/corpus"),
      project("probe", "packages/probe"),
      project("eval", "packages/eval"),
      ...plugins().map((name) => project(name, `plugins/${name}`))
    ]
  }
})
