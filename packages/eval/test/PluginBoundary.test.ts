// The plugin boundary (issue 18, "One plugin SDK"): a plugin depends on @hyperwords/eval alone and
// takes what it needs from hyperwords through @hyperwords/eval/Sdk. This scans every plugin's
// code and package.json, and the template `pnpm create-metric` writes, and fails on any other
// workspace package (@hyperwords/core, models, corpus, probe, train-bridge, another plugin).
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join, relative, resolve } from "node:path"
import { describe, expect, it } from "vitest"
import { templateFiles } from "../src/Template.ts"

const repo = resolve(import.meta.dirname, "..", "..", "..")
const pluginsDir = join(repo, "plugins")

/** A module specifier of the workspace (in an import, export, dynamic import or require). */
const SPECIFIER = /(?:from|import|require)\s*\(?\s*["'](@hyperwords\/[a-z0-9-]+)(?:\/[^"']*)?["']/g

/** The @hyperwords/* packages a plugin's file refers to, other than @hyperwords/eval and itself. */
const forbiddenImports = (text: string, self?: string): Array<string> =>
  [...text.matchAll(SPECIFIER)].map((m) => m[1]!).filter((p) => p !== "@hyperwords/eval" && p !== self)

const forbiddenDependencies = (pkg: Record<string, Record<string, string> | undefined>, self: string) =>
  ["dependencies", "devDependencies", "peerDependencies", "optionalDependencies"].flatMap((field) =>
    Object.keys(pkg[field] ?? {})
      .filter((d) => d.startsWith("@hyperwords/") && d !== "@hyperwords/eval" && d !== self)
      .map((d) => `${field}: ${d}`)
  )

const sourceFiles = (dir: string): Array<string> =>
  existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true, recursive: true })
        .filter((e) => e.isFile() && /\.(m|c)?[jt]sx?$/.test(e.name))
        .map((e) => join(e.parentPath, e.name))
    : []

const plugins = readdirSync(pluginsDir, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(pluginsDir, d.name, "package.json")))
  .map((d) => d.name)

describe("the plugin boundary", () => {
  it("finds what it looks for", () => {
    expect(forbiddenImports(`import { x } from "@hyperwords/corpus/Senses"`)).toEqual(["@hyperwords/corpus"])
    expect(forbiddenImports(`import type { M } from '@hyperwords/models'`)).toEqual(["@hyperwords/models"])
    expect(forbiddenImports(`export { a } from "@hyperwords/core/Decode"`)).toEqual(["@hyperwords/core"])
    expect(forbiddenImports(`await import("@hyperwords/probe")`)).toEqual(["@hyperwords/probe"])
    expect(forbiddenImports(`import { defineMetric } from "@hyperwords/eval"`)).toEqual([])
    expect(forbiddenImports(`import { wordVectors } from "@hyperwords/eval/Sdk"`)).toEqual([])
  })

  it("has plugins to check", () => {
    expect(plugins.length).toBeGreaterThanOrEqual(5)
  })

  it.each(plugins)("%s imports no workspace package but @hyperwords/eval", (plugin) => {
    const dir = join(pluginsDir, plugin)
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"))
    const self = pkg.name as string
    const bad = ["src", "test", "scripts"].flatMap((sub) =>
      sourceFiles(join(dir, sub)).flatMap((file) =>
        forbiddenImports(readFileSync(file, "utf8"), self).map((p) => `${relative(repo, file)}: ${p}`)
      )
    )
    expect(bad, "import these through @hyperwords/eval/Sdk").toEqual([])
    expect(forbiddenDependencies(pkg, self), "a plugin depends on @hyperwords/eval alone").toEqual([])
  })

  it("holds for the plugin `pnpm create-metric` writes", () => {
    const files = templateFiles("rhyme-density")
    for (const [path, text] of Object.entries(files)) {
      if (/\.ts$/.test(path))
        expect(forbiddenImports(text, "@hyperwords/metric-rhyme-density"), path).toEqual([])
    }
    expect(
      forbiddenDependencies(JSON.parse(files["package.json"]!), "@hyperwords/metric-rhyme-density")
    ).toEqual([])
    expect(files["src/index.ts"]).toContain(`from "@hyperwords/eval/Sdk"`)
    expect(files["tsconfig.json"]).not.toMatch(/packages\/(core|models|corpus)/)
  })
})
