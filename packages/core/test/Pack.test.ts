/**
 * The packages as a user gets them: build, `pnpm pack` every publishable package, install the
 * tarballs into a project outside the workspace (its own `pipeline.config.ts` and a metric plugin
 * of its own on `@hyperwords/eval/Sdk`), and run the published `hyperwords` bin on plain Node.
 * Third-party dependencies come from the local pnpm store (`--offline`; when the store has no
 * registry metadata for them, `--prefer-offline` reads it from the registry and still takes the
 * files from the store). `HYPERWORDS_SKIP_PACK=1` skips the test.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { delimiter, dirname, join, resolve } from "node:path"
import { afterAll, describe, expect, it } from "vitest"

const root = resolve(import.meta.dirname, "..", "..", "..")
const workspacePackages = ["packages", "plugins"].flatMap((d) =>
  readdirSync(join(root, d))
    .map((name) => join(root, d, name))
    .filter((dir) => existsSync(join(dir, "package.json")))
    .filter((dir) => JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).private !== true)
)

const run = (cmd: string, args: ReadonlyArray<string>, cwd: string, env: NodeJS.ProcessEnv = {}) => {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: "utf8",
    env: {
      ...process.env,
      PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}`,
      ...env
    },
    timeout: 600_000
  })
  return { code: r.status, out: r.stdout ?? "", err: `${r.stderr ?? ""}${r.error?.message ?? ""}` }
}

const plugin = `import { Degenerate, defineMetric } from "@hyperwords/eval"
import { contentWords, detectLang } from "@hyperwords/eval/Sdk"
import { Effect, Schema } from "effect"

/** The share of a text's words that are content words. */
export const contentShare = defineMetric({
  name: "content-share",
  version: "0.1.0",
  apiVersion: 2,
  description: "share of a text's words that are content words",
  config: Schema.Struct({}),
  module: import.meta.url,
  sample: (input) =>
    Effect.sync(() => {
      if (Degenerate.degenerate(input) !== undefined) return { score: 0, degenerate: true }
      const words = input.text.split(/\\s+/).filter((w) => w !== "")
      if (words.length === 0) return null
      return { score: contentWords(input.text, input.lang ?? detectLang(input.text)).length / words.length }
    })
})
export default contentShare
`

const config = `import { defineConfig } from "@hyperwords/core"
import { evalCommands } from "@hyperwords/eval"
import contentShare from "./metrics/content-share.ts"

export default defineConfig({ stages: [], commands: [...evalCommands({ metrics: [contentShare] })] })
`

const skip = process.env.HYPERWORDS_SKIP_PACK === "1"
const work = mkdtempSync(join(tmpdir(), "hyperwords-pack-"))
afterAll(() => rmSync(work, { recursive: true, force: true }))

describe.skipIf(skip)("the packed packages outside the workspace", () => {
  it("install from their tarballs; the bin runs with an outside plugin", { timeout: 900_000 }, () => {
    const build = run("pnpm", ["build"], root)
    expect(build.code, build.out + build.err).toBe(0)

    const tarballs = join(work, "tarballs")
    mkdirSync(tarballs)
    const deps: Record<string, string> = {}
    for (const dir of workspacePackages) {
      const packed = run("pnpm", ["pack", "--pack-destination", tarballs], dir)
      expect(packed.code, packed.out + packed.err).toBe(0)
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        name: string
        version: string
      }
      const file = join(tarballs, `${pkg.name.replace("@", "").replace("/", "-")}-${pkg.version}.tgz`)
      expect(existsSync(file), file).toBe(true)
      deps[pkg.name] = `file:${file}`
    }

    // What ships: compiled JavaScript with types, no tests, no TypeScript sources.
    const listing = execFileSync("tar", ["tzf", deps["@hyperwords/core"]!.slice(5)], { encoding: "utf8" })
    expect(listing).toContain("package/dist/index.js")
    expect(listing).toContain("package/dist/index.d.ts")
    expect(listing).toContain("package/dist/internal/bin.js")
    expect(listing).not.toMatch(/\.test\.|package\/src\/|package\/test\//)

    const project = join(work, "project")
    mkdirSync(join(project, "metrics"), { recursive: true })
    const effect = JSON.parse(readFileSync(join(root, "packages", "core", "package.json"), "utf8"))
      .dependencies.effect as string
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify(
        {
          name: "outside-project",
          private: true,
          type: "module",
          dependencies: { ...deps, effect },
          // the tarballs depend on each other by version: point those at the tarballs too
          pnpm: {
            overrides: deps,
            ignoredBuiltDependencies: ["node-llama-cpp", "onnxruntime-node", "protobufjs"]
          }
        },
        null,
        2
      )
    )
    writeFileSync(join(project, "metrics", "content-share.ts"), plugin)
    writeFileSync(join(project, "pipeline.config.ts"), config)
    writeFileSync(
      join(project, "texts.jsonl"),
      `${JSON.stringify({ id: "a", text: "the warm cat purrs on my lap at dusk" })}\n${JSON.stringify({ id: "b", text: "cold rain falls over the silent grey harbour" })}\n`
    )

    let install = run("pnpm", ["install", "--offline"], project)
    if (install.code !== 0) install = run("pnpm", ["install", "--prefer-offline"], project)
    expect(install.code, install.out + install.err).toBe(0)

    const bin = join(project, "node_modules", ".bin", "hyperwords")
    const help = run(bin, ["--help"], project)
    expect(help.code, help.out + help.err).toBe(0)
    expect(help.out).toContain("pipeline")
    expect(help.out).toContain("score")

    const score = run(bin, ["score", "--metric", "content-share", "--input", "texts.jsonl"], project)
    expect(score.code, score.out + score.err).toBe(0)
    const rows = score.out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { id: string; scores: Record<string, number> })
    expect(rows.map((r) => r.id)).toEqual(["a", "b"])
    for (const r of rows) expect(r.scores["content-share"]).toBeGreaterThan(0)
  })
})
