import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { Effect, Exit } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { makeStore, processStart } from "../src/Store.ts"

const racer = resolve(import.meta.dirname, "fixtures", "lockRacer.ts")
const roots: Array<string> = []
const children: Array<ChildProcess> = []
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL")
  for (const r of roots) rmSync(r, { recursive: true, force: true })
})

const freshRoot = (): string => {
  const root = mkdtempSync(join(tmpdir(), "hw-lock-"))
  roots.push(root)
  mkdirSync(join(root, "store"))
  return join(root, "store")
}

/** The pid of a process that has exited: a holder killed with -9 leaves such a pid behind. */
const deadPid = (): number => {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"])
  return Number(r.stdout.toString())
}

interface RacerResult {
  readonly pid: number
  readonly held: number
  readonly overlaps: number
  readonly errors: ReadonlyArray<string>
}

const runRacer = (root: string, goAt: number, forMs: number, dead: number) =>
  new Promise<RacerResult>((res, rej) => {
    const child = spawn(process.execPath, [racer, root, String(goAt), String(forMs), String(dead)])
    children.push(child)
    let out = ""
    let err = ""
    child.stdout.on("data", (d) => (out += d))
    child.stderr.on("data", (d) => (err += d))
    child.on("close", (code) => {
      try {
        res(JSON.parse(out))
      } catch {
        rej(new Error(`racer exited ${code}: ${out}${err}`))
      }
    })
  })

describe("Store lock", () => {
  it("racers taking over dead holders' locks never hold the lock at once", async () => {
    const root = freshRoot()
    const dead = deadPid()
    writeFileSync(
      join(root, "LOCK"),
      JSON.stringify({ pid: dead, host: hostname(), command: "crashed", since: "then" })
    )
    const goAt = Date.now() + 4000
    const results = await Promise.all(Array.from({ length: 4 }, () => runRacer(root, goAt, 3000, dead)))
    const held = results.reduce((n, r) => n + r.held, 0)
    const overlaps = results.reduce((n, r) => n + r.overlaps, 0)
    expect(held, JSON.stringify(results)).toBeGreaterThan(20)
    expect(overlaps, `${overlaps} of ${held} takeovers overlapped another holder`).toBe(0)
    expect(results.flatMap((r) => r.errors)).toEqual([])
  }, 60_000)

  it("a reused pid is not the holder: the lock is taken over, and nobody is told to kill it", async () => {
    const root = freshRoot()
    const unrelated = spawn("sleep", ["30"])
    children.push(unrelated)
    await new Promise((r) => unrelated.once("spawn", r))
    const start = processStart(unrelated.pid!)
    expect(start).toBeDefined()
    // the holder that wrote the lock had this pid but started at another time
    writeFileSync(
      join(root, "LOCK"),
      JSON.stringify({
        pid: unrelated.pid,
        start: `${start}0`,
        host: hostname(),
        command: "old",
        since: "then"
      })
    )
    const store = makeStore(root)
    const info = await Effect.runPromise(
      Effect.scoped(Effect.map(store.lock("after a crash"), () => readFileSync(join(root, "LOCK"), "utf8")))
    )
    expect(JSON.parse(info).pid).toBe(process.pid)
    expect(unrelated.exitCode).toBe(null)

    // the same pid with its real start time is the holder: refused, named by pid, start and host
    writeFileSync(
      join(root, "LOCK"),
      JSON.stringify({ pid: unrelated.pid, start, host: hostname(), command: "live", since: "then" })
    )
    const exit = await Effect.runPromiseExit(Effect.scoped(store.lock("second")))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(String(exit)).toContain(`pid ${unrelated.pid} on ${hostname()}`)
    unrelated.kill("SIGKILL")
  })

  it("a holder on another host is named with its host, and the message does not advise kill here", async () => {
    const root = freshRoot()
    writeFileSync(
      join(root, "LOCK"),
      JSON.stringify({
        pid: process.pid,
        start: "x",
        host: "elsewhere.example",
        command: "run",
        since: "then"
      })
    )
    const exit = await Effect.runPromiseExit(Effect.scoped(makeStore(root).lock("second")))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(String(exit)).toContain("on elsewhere.example")
    expect(String(exit)).not.toMatch(/kill/)
  })
})
