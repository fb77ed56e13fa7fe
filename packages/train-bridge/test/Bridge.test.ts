import { execFileSync, spawn } from "node:child_process"
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Progress } from "@hyperwords/core/Progress"
import { Effect, Exit, Fiber, Layer, Result } from "effect"
import { describe, expect, it } from "vitest"
import { Bridge, parseEventLine } from "../src/Bridge.ts"
import { pythonProjectDir, venvPython } from "../src/Paths.ts"

const fixtures = join(import.meta.dirname, "fixtures")
const layer = Bridge.layer.pipe(Layer.provide(Layer.mergeAll(NodeServices.layer, Progress.silent)))
const run = <A, E>(e: Effect.Effect<A, E, Bridge>) => Effect.runPromiseExit(e.pipe(Effect.provide(layer)))
const job = (mode: string, input?: unknown) => ({
  label: `test ${mode}`,
  module: "slow_worker",
  args: [mode],
  env: { PYTHONPATH: fixtures },
  ...(input === undefined ? {} : { input })
})
const workerPids = (pattern = "slow_worker slow"): Array<number> => {
  try {
    return execFileSync("pgrep", ["-f", pattern], { encoding: "utf8" }).trim().split("\n").map(Number)
  } catch {
    return []
  }
}

/** Gone, or only a zombie no one has reaped yet. */
const gone = (pid: number): boolean => {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z") ?? true
  } catch {
    return true
  }
}
const waitFor = async (ok: () => boolean, ms: number) => {
  const start = Date.now()
  while (!ok() && Date.now() - start < ms) await new Promise((r) => setTimeout(r, 100))
  return ok()
}

describe("Bridge events", () => {
  it("decodes every event type and refuses other lines", () => {
    expect(Result.isSuccess(parseEventLine('{"type":"progress","task":"t","done":1,"total":null}'))).toBe(
      true
    )
    expect(
      Result.isSuccess(parseEventLine('{"type":"artifact","kind":"onnx","path":"p","sha256":"x","bytes":3}'))
    ).toBe(true)
    expect(Result.isSuccess(parseEventLine('{"type":"done","result":{}}'))).toBe(true)
    expect(parseEventLine("Loading weights...")).toEqual(Result.fail("not JSON: Loading weights..."))
    expect(Result.isFailure(parseEventLine('{"type":"progress","task":"t"}'))).toBe(true)
  })
})

describe("Bridge workers (real Python processes)", () => {
  it("sends the typed job on stdin and collects artifacts and the result", async () => {
    const exit = await run(
      Effect.gen(function* () {
        const bridge = yield* Bridge
        return yield* bridge.run(job("echo", { steps: 3, text: "кошка" }))
      })
    )
    expect(Exit.isSuccess(exit)).toBe(true)
    if (Exit.isSuccess(exit)) {
      expect(exit.value.result).toEqual({ job: { steps: 3, text: "кошка" } })
      expect(exit.value.artifacts.map((a) => a.kind)).toEqual(["echo"])
    }
  }, 600_000)

  it("an error event becomes one message with the worker's stderr", async () => {
    const exit = await run(Bridge.use((b) => b.run(job("fail"))))
    expect(String(exit)).toContain("test fail: the corpus is empty [empty-corpus]")
    expect(String(exit)).toContain("something broke deep inside")
  }, 600_000)

  it("a crash without an error event shows the exit code and the traceback", async () => {
    const exit = await run(Bridge.use((b) => b.run(job("crash"))))
    expect(String(exit)).toContain("the worker exited with code 3 before finishing")
    expect(String(exit)).toContain("ValueError: bad tensor shape")
  }, 600_000)

  it("kill -9 of the worker fails the job with a clear message", async () => {
    const fiber = Effect.runFork(Bridge.use((b) => b.run(job("slow"))).pipe(Effect.provide(layer)))
    const start = Date.now()
    while (workerPids().length === 0 && Date.now() - start < 300_000)
      await new Promise((r) => setTimeout(r, 100))
    for (const pid of workerPids()) process.kill(pid, "SIGKILL")
    const exit = await Effect.runPromise(Fiber.await(fiber))
    expect(String(exit)).toMatch(/the worker was killed|exited with code/)
  }, 600_000)

  it("interrupting the job (Ctrl-C) kills the worker", async () => {
    const fiber = Effect.runFork(Bridge.use((b) => b.run(job("slow"))).pipe(Effect.provide(layer)))
    const start = Date.now()
    while (workerPids().length === 0 && Date.now() - start < 300_000)
      await new Promise((r) => setTimeout(r, 100))
    expect(workerPids().length).toBe(1)
    await Effect.runPromise(Fiber.interrupt(fiber))
    const t = Date.now()
    while (workerPids().length > 0 && Date.now() - t < 15_000) await new Promise((r) => setTimeout(r, 100))
    expect(workerPids()).toEqual([])
  }, 600_000)

  it("kill -9 of the Node host ends its worker within seconds (no orphan)", async () => {
    const host = spawn(process.execPath, [join(fixtures, "host.ts"), "orphan"], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    try {
      const found = await waitFor(() => workerPids("slow_worker orphan").length === 1, 300_000)
      expect(found).toBe(true)
      const [worker] = workerPids("slow_worker orphan")
      // the worker is up (past its imports) when it has written its first event; give it a moment
      await new Promise((r) => setTimeout(r, 1000))
      host.kill("SIGKILL")
      const ended = await waitFor(() => gone(worker!), 10_000)
      expect(ended, `worker ${worker} still runs 10 s after its host was killed`).toBe(true)
    } finally {
      host.kill("SIGKILL")
      for (const pid of workerPids("slow_worker orphan")) process.kill(pid, "SIGKILL")
    }
  }, 600_000)

  it("the worker does not see the Hugging Face token of the host", async () => {
    const saved = {
      HF_TOKEN: process.env.HF_TOKEN,
      HUGGING_FACE_HUB_TOKEN: process.env.HUGGING_FACE_HUB_TOKEN
    }
    process.env.HF_TOKEN = "hf_secret_of_the_publisher"
    process.env.HUGGING_FACE_HUB_TOKEN = "hf_another_secret"
    try {
      const exit = await run(Bridge.use((b) => b.run(job("env"))))
      expect(Exit.isSuccess(exit), String(exit)).toBe(true)
      if (Exit.isSuccess(exit)) {
        const env = exit.value.result.env as Array<string>
        expect(env).toContain("PYTHONUNBUFFERED")
        expect(env.filter((k) => /TOKEN/i.test(k))).toEqual([])
      }
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
    }
  }, 600_000)
})

describe("HYPERWORDS_PYTHON (the user's own environment)", () => {
  const withPython = async <A>(value: string, body: () => Promise<A>): Promise<A> => {
    const saved = process.env.HYPERWORDS_PYTHON
    process.env.HYPERWORDS_PYTHON = value
    try {
      return await body()
    } finally {
      if (saved === undefined) delete process.env.HYPERWORDS_PYTHON
      else process.env.HYPERWORDS_PYTHON = saved
    }
  }

  it("runs the worker with that python, in the package's python folder", async () => {
    // a wrapper around the workspace venv's python, as a user's conda or pyenv python would be:
    // the marker it sets shows the worker ran through it
    const dir = mkdtempSync(join(tmpdir(), "hw-python-"))
    try {
      const wrapper = join(dir, "python")
      writeFileSync(wrapper, `#!/bin/sh\nHW_TEST_WRAPPER=yes exec '${venvPython}' "$@"\n`)
      chmodSync(wrapper, 0o755)
      const exit = await withPython(wrapper, () =>
        run(Bridge.use((b) => Effect.all([b.ensureEnvironment, b.run(job("where"))])))
      )
      if (!Exit.isSuccess(exit)) throw new Error(String(exit.cause))
      const [python, worker] = exit.value
      expect(python).toBe(wrapper)
      expect(worker.result).toEqual({ cwd: resolve(pythonProjectDir), marker: "yes" })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 600_000)

  it("a python that does not exist is a clear error naming the variable and the path", async () => {
    const missing = join(tmpdir(), "hw-no-such-env", "bin", "python")
    const exit = await withPython(missing, () => run(Bridge.use((b) => b.run(job("echo", {})))))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(String(exit)).toContain(
      `python environment: HYPERWORDS_PYTHON names ${missing}, which does not exist`
    )
  }, 600_000)
})
