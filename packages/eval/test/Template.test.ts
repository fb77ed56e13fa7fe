import { execFileSync, spawnSync } from "node:child_process"
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from "node:fs"
import { join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { Effect } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { runMetric } from "../src/Harness.ts"
import { loadMetric, type Metric } from "../src/Metric.ts"
import { registerPlugin, writeMetricTemplate } from "../src/Template.ts"

const evalDir = resolve(import.meta.dirname, "..")
const tmpRoot = join(evalDir, "test", ".tmp")
mkdirSync(tmpRoot, { recursive: true })
const made: Array<string> = []
const tempDir = () => {
  const d = mkdtempSync(join(tmpRoot, "create-metric-"))
  made.push(d)
  return d
}
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true })
})

describe("create-metric", () => {
  it("writes a plugin whose code loads, runs and scores", async () => {
    const root = tempDir()
    const { dir, files } = writeMetricTemplate("rhyme-density", root)
    expect(dir).toBe(join(root, "plugins", "metric-rhyme-density"))
    expect(files.map((f) => f.slice(dir.length + 1)).sort()).toEqual([
      "README.md",
      "package.json",
      "src/index.ts",
      "test/index.test.ts",
      "tsconfig.json"
    ])
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"))
    expect(pkg.name).toBe("@hyperwords/metric-rhyme-density")
    // its test script runs from its own folder against the workspace's vitest config
    expect(pkg.scripts.test).toBe("vitest run --root ../.. --project metric-rhyme-density")
    expect(readFileSync(join(dir, "src/index.ts"), "utf8")).toContain(
      "export const rhymeDensity = defineMetric"
    )

    // a workspace around the new plugin: root tsconfig, packages, and @hyperwords/eval resolvable
    symlinkSync(join(evalDir, ".."), join(root, "packages"))
    mkdirSync(join(root, "node_modules", "@hyperwords"), { recursive: true })
    symlinkSync(evalDir, join(root, "node_modules", "@hyperwords", "eval"))
    symlinkSync(join(evalDir, "..", "..", "tsconfig.base.json"), join(root, "tsconfig.base.json"))
    const mod = (await import(join(dir, "src", "index.ts"))) as { default: Metric<{ minLength?: number }> }
    const column = await Effect.runPromise(
      loadMetric(mod.default.with({ minLength: 5 })).pipe(
        Effect.flatMap((l) => runMetric(l, [{ id: "a", text: "warm purring lap" }], { seed: 1 }))
      )
    )
    expect(column.status, column.reason).toBe("ok")
    expect(column.samples[0]!.score).toBeCloseTo(1 / 3, 12)
    expect(column.id).toMatch(/^rhyme-density@0\.1\.0#/)
  })

  it("refuses bad names and existing folders, from the command line too", () => {
    const root = tempDir()
    expect(() => writeMetricTemplate("Bad Name", root)).toThrow(/not a metric name/)
    const bin = join(evalDir, "bin", "create-metric.ts")
    const out = execFileSync(process.execPath, [bin, "metric-warmth", "--root", root], { encoding: "utf8" })
    expect(out).toContain(join(root, "plugins", "metric-warmth"))
    const again = spawnSync(process.execPath, [bin, "warmth", "--root", root], { encoding: "utf8" })
    expect(again.status).toBe(1)
    expect(again.stderr).toMatch(/already exists/)
    const usage = spawnSync(process.execPath, [bin], { encoding: "utf8" })
    expect(usage.status).toBe(2)
  })
})

describe("create-metric registers the plugin in the workspace", () => {
  it("adds a workspace dependency to the root package.json and a reference to tsconfig.root.json, once", () => {
    const root = tempDir()
    writeFileSync(
      join(root, "package.json"),
      JSON.stringify({ name: "ws", dependencies: { "@hyperwords/eval": "workspace:*" } })
    )
    writeFileSync(
      join(root, "tsconfig.root.json"),
      JSON.stringify({ references: [{ path: "packages/eval" }] })
    )
    const { registered } = writeMetricTemplate("rhyme-density", root)
    expect(registered).toEqual([join(root, "package.json"), join(root, "tsconfig.root.json")])
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))
    expect(pkg.dependencies).toEqual({
      "@hyperwords/eval": "workspace:*",
      "@hyperwords/metric-rhyme-density": "workspace:*"
    })
    const ts = JSON.parse(readFileSync(join(root, "tsconfig.root.json"), "utf8"))
    expect(ts.references).toEqual([{ path: "packages/eval" }, { path: "plugins/metric-rhyme-density" }])
    expect(registerPlugin(root, "metric-rhyme-density")).toEqual([]) // already there
  })

  it("changes nothing where the root has neither file", () => {
    const root = tempDir()
    expect(writeMetricTemplate("warmth", root).registered).toEqual([])
    expect(existsSync(join(root, "package.json"))).toBe(false)
  })
})

describe("the workspace's vitest config", () => {
  it("tests every plugin folder, a new one included, with no edit", async () => {
    const repo = resolve(evalDir, "..", "..")
    const config = (await import(pathToFileURL(join(repo, "vitest.config.ts")).href)) as {
      plugins: (root?: string) => Array<string>
      default: { test: { projects: Array<{ test: { name: string; root: string } }> } }
    }
    const names = config.default.test.projects.map((p) => p.test.name)
    for (const d of readdirSync(join(repo, "plugins")))
      if (existsSync(join(repo, "plugins", d, "package.json"))) expect(names).toContain(d)
    const root = tempDir()
    writeMetricTemplate("rhyme-density", root)
    mkdirSync(join(root, "plugins", "notes"))
    expect(config.plugins(root)).toEqual(["metric-rhyme-density"])
  })
})
