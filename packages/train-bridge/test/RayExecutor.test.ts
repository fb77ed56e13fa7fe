/**
 * The bridge with `executor: { ray }`: real workers on a real Ray cluster, a head node started on
 * loopback by this file and stopped after it.
 */
import { execFileSync } from "node:child_process"
import { join, resolve } from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Executor, type ExecutorSetting } from "@hyperwords/core/Executor"
import { Progress } from "@hyperwords/core/Progress"
import { Effect, Exit, Fiber, Layer } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Bridge, rayExecArgs, type WorkerJob } from "../src/Bridge.ts"
import { pythonProjectDir } from "../src/Paths.ts"
import { freeCpus, type LocalRay, startLocalRay } from "../src/RayCluster.ts"

const fixtures = join(import.meta.dirname, "fixtures")
const layer = Bridge.layer.pipe(Layer.provide(Layer.mergeAll(NodeServices.layer, Progress.silent)))
const job = (mode: string, input?: unknown): WorkerJob => ({
  label: `ray ${mode}`,
  module: "slow_worker",
  args: [mode],
  env: { PYTHONPATH: fixtures },
  ...(input === undefined ? {} : { input })
})
const on = <A, E>(executor: ExecutorSetting, e: Effect.Effect<A, E, Bridge>) =>
  e.pipe(Effect.provide(layer), Effect.provideService(Executor, executor))
const workerPids = (): Array<number> => {
  try {
    return execFileSync("pgrep", ["-f", "slow_worker slow"], { encoding: "utf8" })
      .trim()
      .split("\n")
      .map(Number)
  } catch {
    return []
  }
}

describe("the command line of a Ray job", () => {
  it("carries the job's resources, retry, lock, folder and environment names", () => {
    const args = rayExecArgs("ray://h:1", {
      ...job("echo"),
      resources: { cpus: 2, gpus: 2, memoryBytes: 2e9, processes: 2 },
      resumable: true,
      lock: "/w/attempt.lock",
      graceSeconds: 120
    })
    expect(args.join(" ")).toBe(
      `-m hyperwords_bridge.ray_exec --address ray://h:1 --cpus 2 --gpus 2 --memory 2000000000 --processes 2 --resume-on-retry ` +
        `--lock /w/attempt.lock --grace 120 --cwd ${pythonProjectDir} --env PYTHONPATH -- slow_worker echo`
    )
    expect(rayExecArgs("h:1", { label: "x", module: "m", args: [] }).join(" ")).toContain(
      "--cpus 1 --gpus 0 --grace 10"
    )
  })
})

describe("bridge workers on a local Ray cluster", () => {
  let ray: LocalRay
  let python: string
  beforeAll(async () => {
    python = await Effect.runPromise(Bridge.use((b) => b.ensureEnvironment).pipe(Effect.provide(layer)))
    ray = await startLocalRay(python, { cpus: 2 })
  }, 300_000)
  afterAll(async () => {
    await ray?.stop()
  }, 60_000)

  it("runs the job on the cluster: the same result and artifacts as locally, the job's environment, the package's folder", async () => {
    const input = { steps: 3, text: "кошка <b>" }
    const local = await Effect.runPromise(
      on(
        "local",
        Bridge.use((b) => b.run(job("echo", input)))
      )
    )
    for (const address of [ray.address, ray.clientAddress]) {
      const remote = await Effect.runPromise(
        on(
          { ray: { address } },
          Bridge.use((b) => b.run(job("echo", input)))
        )
      )
      expect(remote.result).toEqual(local.result)
      expect(remote.artifacts).toEqual(local.artifacts)
    }
    const where = await Effect.runPromise(
      on(
        { ray: { address: ray.address } },
        Bridge.use((b) => b.run(job("where")))
      )
    )
    expect(resolve(String(where.result.cwd))).toBe(resolve(pythonProjectDir))
  }, 300_000)

  it("an error of the worker is one message with its stderr, not a retry", async () => {
    const exit = await Effect.runPromiseExit(
      on(
        { ray: { address: ray.address } },
        Bridge.use((b) => b.run(job("fail")))
      )
    )
    expect(String(exit)).toContain("ray fail: the corpus is empty [empty-corpus]")
    expect(String(exit)).toContain("something broke deep inside")
    expect(String(exit)).not.toContain("submitting again")
  }, 300_000)

  it("interrupting the run (Ctrl-C) cancels the job on the cluster", async () => {
    const fiber = Effect.runFork(
      on(
        { ray: { address: ray.address } },
        Bridge.use((b) => b.run({ ...job("slow"), graceSeconds: 5 }))
      )
    )
    const start = Date.now()
    while (workerPids().length === 0 && Date.now() - start < 120_000)
      await new Promise((r) => setTimeout(r, 200))
    expect(workerPids().length).toBe(1)
    await Effect.runPromise(Fiber.interrupt(fiber))
    const t = Date.now()
    while (workerPids().length > 0 && Date.now() - t < 30_000) await new Promise((r) => setTimeout(r, 200))
    expect(workerPids()).toEqual([])
    // its CPU is free again
    const u = Date.now()
    while (freeCpus(python, ray.address) !== 2 && Date.now() - u < 60_000)
      await new Promise((r) => setTimeout(r, 1000))
    expect(freeCpus(python, ray.address)).toBe(2)
  }, 300_000)

  it("a job that asks for more than the cluster has fails at once, naming what is missing", async () => {
    const exit = await Effect.runPromiseExit(
      on(
        { ray: { address: ray.address } },
        Bridge.use((b) => b.run({ ...job("echo", {}), resources: { gpus: 1 } }))
      )
    )
    expect(Exit.isFailure(exit)).toBe(true)
    expect(String(exit)).toContain("1 GPU (the cluster has 0)")
  }, 300_000)
})
