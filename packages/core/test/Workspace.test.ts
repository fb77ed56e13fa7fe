import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { describe, expect, it } from "vitest"

// `pnpm typecheck` runs `tsc -b` in every package at once (turbo). `tsc -b` also builds a package's
// project references into their own `.typecheck/`, so two packages' tasks could write one
// reference's declarations at the same moment: CI once read a half-written `ModelDir.d.ts` ("is
// not a module"). Turbo orders tasks only along package.json dependencies, so each reference must
// be one, and the typecheck task must wait for its dependencies' typecheck.
const root = resolve(import.meta.dirname, "..", "..", "..")
const readJson = (path: string) => JSON.parse(readFileSync(path, "utf8"))
const projects = ["packages", "plugins"]
  .flatMap((dir) => readdirSync(join(root, dir)).map((name) => join(root, dir, name)))
  .concat(join(root, "benchmarks"))
  .filter((dir) => existsSync(join(dir, "tsconfig.json")) && existsSync(join(dir, "package.json")))

describe("the workspace's type check", () => {
  it("waits for each package's dependencies to finish their own type check", () => {
    const turbo = readJson(join(root, "turbo.json"))
    expect(turbo.tasks.typecheck.dependsOn).toContain("^typecheck")
  })

  it("declares every project reference as a package dependency, so turbo orders them", () => {
    expect(projects.length).toBeGreaterThan(5)
    const missing: Array<string> = []
    for (const dir of projects) {
      const tsconfig = readJson(join(dir, "tsconfig.json"))
      const pkg = readJson(join(dir, "package.json"))
      const deps = { ...pkg.dependencies, ...pkg.devDependencies, ...pkg.peerDependencies }
      for (const ref of tsconfig.references ?? []) {
        const name = readJson(join(resolve(dir, ref.path), "package.json")).name
        if (!(name in deps)) missing.push(`${pkg.name} → ${name}`)
      }
    }
    expect(missing).toEqual([])
  })
})
