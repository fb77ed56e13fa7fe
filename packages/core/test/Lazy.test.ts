import { execFileSync } from "node:child_process"
import { resolve } from "node:path"
import { describe, expect, it } from "vitest"
import { lazyModule } from "../src/Lazy.ts"

const loads = () => (globalThis as { __lazyFlagLoads?: number }).__lazyFlagLoads ?? 0

describe("lazyModule", () => {
  it("loads nothing until the first call, then loads once", () => {
    let resolved = 0
    const before = loads()
    const flag = lazyModule<{ value: { loaded: boolean } }>(() => {
      resolved++
      return import.meta.resolve("./fixtures/lazy-flag.mjs")
    })
    expect(resolved).toBe(0)
    expect(loads()).toBe(before)
    expect(flag().value.loaded).toBe(true)
    expect(flag()).toBe(flag())
    expect(resolved).toBe(1)
    expect(loads()).toBe(before + 1)
  })

  it("gives the instance a static import gives (one module, not a second copy)", async () => {
    const lazy = lazyModule<typeof import("effect/Duration")>(() => import.meta.resolve("effect/Duration"))
    const imported = await import("effect/Duration")
    expect(lazy()).toBe(imported)
    expect(lazy().seconds).toBe(imported.seconds)
  })
})

describe("start-up", () => {
  // `pnpm pipeline` on a store that has every stage loads the config and the CLI and nothing else;
  // these packages are hundreds of modules (arquero and Arrow alone some 300) a restored run never uses
  it("loading the CLI and the default pipeline config loads no table library or tokenizer", () => {
    const root = resolve(import.meta.dirname, "..", "..", "..")
    const out = execFileSync(
      process.execPath,
      [
        resolve(import.meta.dirname, "fixtures", "startup-modules.mjs"),
        resolve(root, "packages", "core", "src", "Main.ts"),
        resolve(root, "pipeline.config.ts")
      ],
      { cwd: root, encoding: "utf8", maxBuffer: 1 << 24 }
    )
    const urls = JSON.parse(out) as Array<string>
    expect(urls.some((u) => u.endsWith("/pipeline.config.ts"))).toBe(true)
    expect(urls.some((u) => u.includes("/plugins/metric-imageability/"))).toBe(true)
    // (onnxruntime-node is loaded: its binding is opened on first use, and it costs some 10 ms)
    for (const heavy of ["arquero", "apache-arrow", "@huggingface/transformers", "sharp", "graphology"])
      expect(urls.filter((u) => u.includes(`/node_modules/${heavy}/`))).toEqual([])
  })
})
