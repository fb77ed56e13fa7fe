import { Context, Effect } from "effect"
import { describe, expect, it } from "vitest"
import { checkExecutor, describeExecutor, Executor, parseExecutor, resolveExecutor } from "../src/Executor.ts"

describe("the executor setting", () => {
  it("reads local, Ray Client and head addresses", () => {
    expect(parseExecutor("local", "x")).toBe("local")
    expect(parseExecutor("ray://head.lan:10001", "x")).toEqual({ ray: { address: "ray://head.lan:10001" } })
    expect(parseExecutor("ray:127.0.0.1:6379", "x")).toEqual({ ray: { address: "127.0.0.1:6379" } })
    expect(parseExecutor("ray:auto", "x")).toEqual({ ray: { address: "auto" } })
    expect(describeExecutor({ ray: { address: "auto" } })).toBe("Ray at auto")
  })

  it("refuses anything else, naming where it came from and the forms it takes", () => {
    expect(() => parseExecutor("ray://nohost", "--executor")).toThrow(
      /--executor: "ray:\/\/nohost" is not an executor; use local, ray:\/\/HOST:PORT/
    )
    expect(() => parseExecutor("slurm", "HYPERWORDS_EXECUTOR")).toThrow(/HYPERWORDS_EXECUTOR/)
    expect(() => checkExecutor({ ray: {} }, "pipeline.config.ts executor")).toThrow(
      /expected "local" or \{ ray: \{ address/
    )
    expect(() => checkExecutor({ ray: { address: "h:1" }, extra: 1 }, "c")).toThrow(/expected/)
    expect(checkExecutor({ ray: { address: "h:1" } }, "c")).toEqual({ ray: { address: "h:1" } })
    expect(checkExecutor({ ray: { address: "ray://h:1" } }, "c")).toEqual({ ray: { address: "ray://h:1" } })
  })

  it("the flag wins over the config, the config over the variable; local when none says", () => {
    const env = { HYPERWORDS_EXECUTOR: "ray:auto" }
    expect(resolveExecutor("local", { ray: { address: "h:1" } }, env)).toBe("local")
    expect(resolveExecutor(undefined, { ray: { address: "h:1" } }, env)).toEqual({ ray: { address: "h:1" } })
    expect(resolveExecutor(undefined, undefined, env)).toEqual({ ray: { address: "auto" } })
    expect(resolveExecutor(undefined, undefined, {})).toBe("local")
    expect(resolveExecutor(undefined, undefined, { HYPERWORDS_EXECUTOR: " " })).toBe("local")
  })

  it("is local unless a run provides another", async () => {
    expect(await Effect.runPromise(Effect.service(Executor))).toBe("local")
    const ray = { ray: { address: "auto" } } as const
    expect(
      await Effect.runPromise(Effect.service(Executor).pipe(Effect.provideService(Executor, ray)))
    ).toEqual(ray)
    expect(Context.isReference(Executor)).toBe(true)
  })
})
