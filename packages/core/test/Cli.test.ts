import { execFileSync } from "node:child_process"
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { basename, join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { makeProject, removeProjects, runCli, startCli, waitFor, writeConfig } from "./fixtures/project.ts"

const stagingFiles = (dir: string): number => {
  const tmp = join(dir, ".hyperwords", "tmp")
  if (!existsSync(tmp)) return 0
  let n = 0
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name))
      else n++
    }
  }
  walk(tmp)
  return n
}

const bigFileBytes = (dir: string): number => {
  const tmp = join(dir, ".hyperwords", "tmp")
  if (!existsSync(tmp)) return 0
  for (const d of readdirSync(tmp)) {
    const f = join(tmp, d, "set", "big.bin")
    if (existsSync(f)) return statSync(f).size
  }
  return 0
}

describe("hyperwords CLI", () => {
  afterAll(removeProjects)

  it("a run whose later stage fails keeps the stages it restored in the lock", async () => {
    const dir = makeProject()
    expect((await runCli(dir, ["pipeline"])).code).toBe(0)
    const lockOf = () =>
      JSON.parse(readFileSync(join(dir, "pipeline.lock.json"), "utf8")) as {
        stages: Record<string, { status: string; at: string }>
      }
    const first = lockOf()
    expect(first.stages.write!.status).toBe("ran")
    process.env.HYPERWORDS_TEST_FAIL_COUNT = "1"
    try {
      const failed = await runCli(dir, ["pipeline", "--force", "count"])
      expect(failed.code).not.toBe(0)
      expect(failed.stderr + failed.stdout).toContain("count failed on purpose")
    } finally {
      delete process.env.HYPERWORDS_TEST_FAIL_COUNT
    }
    const after = lockOf()
    expect(after.stages.write!.status).toBe("restored")
    expect(after.stages.write!.at > first.stages.write!.at).toBe(true)
  })

  it("runs, then restores every stage from the store on a rerun", async () => {
    const dir = makeProject()
    const first = await runCli(dir, ["pipeline"])
    expect(first.code, first.stderr).toBe(0)
    expect(first.stdout).toMatch(/write\s+RAN/)
    expect(readFileSync(join(dir, "reports", "poem_hyperwords.jsonl"), "utf8")).toContain("moonlight")
    const report = join(dir, "reports", "poem_hyperwords.jsonl")
    const exported = statSync(report)
    const second = await runCli(dir, ["pipeline", "--explain"])
    expect(second.code, second.stderr).toBe(0)
    expect(second.stdout).toMatch(/write\s+HIT/)
    expect(second.stdout).toMatch(/count\s+HIT/)
    // a report that already holds the stored bytes is not written again (the same file, untouched)
    expect(statSync(report).ino).toBe(exported.ino)
    expect(statSync(report).mtimeMs).toBe(exported.mtimeMs)
    // one that does not is restored from the store
    const original = readFileSync(report, "utf8")
    writeFileSync(report, original.replace("moonlight", "moonshine"))
    expect((await runCli(dir, ["pipeline"])).code).toBe(0)
    expect(readFileSync(report, "utf8")).toBe(original)
    const lock = JSON.parse(readFileSync(join(dir, "pipeline.lock.json"), "utf8"))
    expect(Object.keys(lock.stages).sort()).toEqual(["count", "write"])
    // the stage times of the last pipeline: a restored stage keeps the time of the run that made it
    const times = await runCli(dir, ["store", "times"])
    expect(times.code, times.stderr).toBe(0)
    expect(times.stdout).toMatch(/\| write \| \d+s \| restored \d{4}-/)
    expect(times.stdout).toMatch(/\| count \| \d+s \| restored/)
    expect(times.stdout).toMatch(/\| \*\*total\*\* \| \*\*\d+s\*\* \| 2 of 2 stages \|/)
    // --write puts the same table into a README's generated block, and refuses a file without one
    writeFileSync(
      join(dir, "README.md"),
      "# p\n\n<!-- generated:stage-times -->\n<!-- /generated:stage-times -->\n"
    )
    const written = await runCli(dir, ["store", "times", "--write", "README.md"])
    expect(written.code, written.stderr).toBe(0)
    const table = times.stdout.trim()
    expect(readFileSync(join(dir, "README.md"), "utf8")).toContain(
      `<!-- generated:stage-times -->\n\n${table}\n\n<!--`
    )
    writeFileSync(join(dir, "NOTES.md"), "# notes\n")
    const refused = await runCli(dir, ["store", "times", "--write", "NOTES.md"])
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toMatch(/NOTES\.md: no generated block "stage-times"/)
    expect(readFileSync(join(dir, "NOTES.md"), "utf8")).toBe("# notes\n")
  })

  it("explains a MISS by the param, input and plugin that changed", async () => {
    const dir = makeProject()
    expect((await runCli(dir, ["pipeline"])).code).toBe(0)

    writeConfig(dir, { label: "b" })
    let plan = await runCli(dir, ["pipeline", "--dry", "--explain"])
    expect(plan.stdout).toMatch(/write\s+MISS/)
    expect(plan.stdout).toContain("param label changed: a → b")

    writeConfig(dir, {})
    writeFileSync(join(dir, "corpus.txt"), "moonlight\nrainfall\nfirefly\nthunder\n")
    plan = await runCli(dir, ["pipeline", "--dry", "--explain"])
    expect(plan.stdout).toMatch(/source corpus\.txt changed/)
    const ran = await runCli(dir, ["pipeline", "--explain"])
    expect(ran.stdout).toMatch(/count\s+RAN/)
    expect(ran.stdout).toMatch(/input set changed/)

    writeConfig(dir, { pluginVersion: "1.1.0" })
    plan = await runCli(dir, ["pipeline", "--dry", "--explain"])
    expect(plan.stdout).toMatch(/write\s+HIT/)
    expect(plan.stdout).toContain("plugins changed: metric-demo@1.0.0 → metric-demo@1.1.0")
  })

  it("--force reruns a stage, --only and --from select stages", async () => {
    const dir = makeProject()
    expect((await runCli(dir, ["pipeline"])).code).toBe(0)
    const forced = await runCli(dir, ["pipeline", "--force", "write", "--explain"])
    expect(forced.stdout).toMatch(/write\s+RAN/)
    expect(forced.stdout).toContain("forced (--force)")
    expect(forced.stdout).toMatch(/count\s+HIT/) // same content upstream: the downstream key is unchanged

    writeConfig(dir, { label: "c" })
    const only = await runCli(dir, ["pipeline", "--only", "count"])
    expect(only.code).toBe(1)
    expect(only.stderr).toContain(
      "error: stage count needs write (input set), which is not in the store; run it too (--only write,count)"
    )
    const both = await runCli(dir, ["pipeline", "--only", "write,count", "--explain"])
    expect(both.stdout).toMatch(/write\s+RAN/)
    expect(both.stdout).toMatch(/count\s+RAN/)
    writeConfig(dir, { label: "d" })
    const from = await runCli(dir, ["pipeline", "--from", "count"])
    expect(from.code).toBe(1)
    const fromWrite = await runCli(dir, ["pipeline", "--from", "write"])
    expect(fromWrite.stdout).toMatch(/write\s+RAN/)
    expect(fromWrite.stdout).toMatch(/count\s+RAN/)
    const bad = await runCli(dir, ["pipeline", "--only", "nope"])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('there is no stage "nope"')
  })

  it("a profile changes params", async () => {
    const dir = makeProject()
    expect((await runCli(dir, ["pipeline"])).code).toBe(0)
    const quick = await runCli(dir, ["pipeline", "--profile", "quick", "--dry", "--explain"])
    expect(quick.stdout).toContain("param label changed: a → quick")
  })

  it("kill -9 in the middle of writing a large artifact leaves a store that verifies and a rerun that succeeds", async () => {
    const dir = makeProject({ bytes: 256 << 20, chunkDelayMs: 5 })
    expect((await runCli(dir, ["pipeline", "--only", "write", "--force", "write"])).code).not.toBe(null)
    const run = startCli(dir, ["pipeline", "--force", "write"])
    await waitFor("the large artifact to be half written", () => bigFileBytes(dir) > 64 << 20, 60_000)
    run.child.kill("SIGKILL")
    const killed = await run.done
    expect(killed.signal).toBe("SIGKILL")
    expect(existsSync(join(dir, ".hyperwords", "LOCK"))).toBe(true)

    const verify = await runCli(dir, ["store", "verify"])
    expect(verify.code, verify.stderr).toBe(0)
    expect(verify.stdout).toContain("store verify: ok")

    writeConfig(dir, { bytes: 4 << 20 })
    const rerun = await runCli(dir, ["pipeline"])
    expect(rerun.code, rerun.stderr).toBe(0)
    expect(rerun.stdout).toMatch(/write\s+RAN/)
    const gc = await runCli(dir, ["store", "gc"])
    expect(gc.code, gc.stderr).toBe(0)
    expect(stagingFiles(dir)).toBe(0)
    expect((await runCli(dir, ["store", "verify"])).stdout).toContain("store verify: ok")
  }, 180_000)

  it("a second pipeline on the same store is refused with the holder's pid", async () => {
    const dir = makeProject({ bytes: 64 << 20, chunkDelayMs: 50 })
    const first = startCli(dir, ["pipeline"])
    await waitFor("the first pipeline to take the lock", () => existsSync(join(dir, ".hyperwords", "LOCK")))
    const second = await runCli(dir, ["pipeline"])
    expect(second.code).toBe(1)
    expect(second.stderr).toContain(`pid ${first.child.pid}`)
    expect(second.stderr).toMatch(/^error: the store .* is in use by another pipeline/m)
    expect(second.stderr).not.toMatch(/\n\s+at /) // one line, no stack trace
    const r = await first.done
    expect(r.code, r.stderr).toBe(0)
  }, 120_000)

  it("Ctrl-C cancels cleanly: no partial artifact, the lock released, the rerun continues", async () => {
    const dir = makeProject({ bytes: 128 << 20, chunkDelayMs: 20 })
    const run = startCli(dir, ["pipeline"])
    await waitFor("writing to start", () => bigFileBytes(dir) > 8 << 20, 60_000)
    run.child.kill("SIGINT")
    const r = await run.done
    expect(r.code).not.toBe(0)
    expect(r.stdout + r.stderr).toMatch(/■ write: stopped; nothing partial was kept — rerun to continue/)
    expect(existsSync(join(dir, ".hyperwords", "LOCK"))).toBe(false)
    expect(stagingFiles(dir)).toBe(0)
    const artifacts = join(dir, ".hyperwords", "artifacts")
    expect(existsSync(artifacts) ? readdirSync(artifacts) : []).toEqual([])
    writeConfig(dir, { bytes: 1 << 20 })
    const rerun = await runCli(dir, ["pipeline"])
    expect(rerun.code, rerun.stderr).toBe(0)
  }, 120_000)

  it("a bad config gives one clear error naming the file and field", async () => {
    const dir = makeProject()
    writeFileSync(
      join(dir, "pipeline.config.ts"),
      readFileSync(join(dir, "pipeline.config.ts"), "utf8").replace("bytes: 1024", 'bytes: "lots"')
    )
    const r = await runCli(dir, ["pipeline"])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(
      /error: .*pipeline\.config\.ts: field params\.write\.bytes \(profile default\): Expected .*"lots"/
    )
    writeFileSync(join(dir, "pipeline.config.ts"), "export default { stages: 3 }\n")
    const r2 = await runCli(dir, ["pipeline"])
    expect(r2.code).toBe(1)
    expect(r2.stderr).toContain("must `export default defineConfig({ stages: [...] })`")
    writeFileSync(join(dir, "pipeline.config.ts"), "export default {{\n")
    const r3 = await runCli(dir, ["pipeline"])
    expect(r3.code).toBe(1)
    expect(r3.stderr).toMatch(/pipeline\.config\.ts: cannot be loaded/)
  })

  it("a corrupt object or manifest is reported by store verify", async () => {
    const dir = makeProject()
    expect((await runCli(dir, ["pipeline"])).code).toBe(0)
    const artifacts = join(dir, ".hyperwords", "artifacts")
    const manifest = join(artifacts, readdirSync(artifacts)[0]!)
    const m = JSON.parse(readFileSync(manifest, "utf8"))
    m.lineage.stage = 42
    writeFileSync(manifest, JSON.stringify(m))
    const v = await runCli(dir, ["store", "verify"])
    expect(v.code).toBe(1)
    expect(v.stderr).toMatch(/problem: .*\.json: field lineage\.stage: Expected string, got 42/)
  })

  it("a source that is a FIFO or a device is refused before the lock is taken, at once", async () => {
    const dir = makeProject()
    const corpus = join(dir, "corpus.txt")
    rmSync(corpus)
    execFileSync("mkfifo", [corpus])
    const started = Date.now()
    const run = startCli(dir, ["pipeline"])
    const timer = setTimeout(() => run.child.kill("SIGKILL"), 20_000)
    const r = await run.done
    clearTimeout(timer)
    expect(r.signal, "the pipeline hung on the FIFO").toBe(null)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/error: stage write: source .*corpus\.txt is not a regular file/)
    expect(Date.now() - started).toBeLessThan(20_000)
    expect(existsSync(join(dir, ".hyperwords", "LOCK"))).toBe(false)

    rmSync(corpus)
    symlinkSync("/dev/zero", corpus)
    const zero = startCli(dir, ["pipeline"])
    const zeroTimer = setTimeout(() => zero.child.kill("SIGKILL"), 20_000)
    const z = await zero.done
    clearTimeout(zeroTimer)
    expect(z.signal, "the pipeline hung on /dev/zero").toBe(null)
    expect(z.stderr).toMatch(/corpus\.txt is not a regular file/)
  }, 60_000)

  it("a moved project keeps its hits: sources outside it are keyed by content, not by a path relative to it", async () => {
    const outside = mkdtempSync(join(tmpdir(), "hw-outside-"))
    const extra = join(outside, "extra.txt")
    writeFileSync(extra, "outside words\n")
    const dir = makeProject()
    writeFileSync(
      join(dir, "pipeline.config.ts"),
      readFileSync(join(dir, "pipeline.config.ts"), "utf8").replace(
        'sources: () => ["corpus.txt"]',
        `sources: () => ["corpus.txt", ${JSON.stringify(extra)}]`
      )
    )
    expect((await runCli(dir, ["pipeline"])).code).toBe(0)
    const moved = join(dir, "..", "moved", "one-level-deeper", basename(dir))
    cpSync(dir, moved, { recursive: true })
    try {
      const r = await runCli(moved, ["pipeline", "--explain"])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toMatch(/write\s+HIT/)
      expect(r.stdout).toMatch(/count\s+HIT/)
    } finally {
      rmSync(join(dir, "..", "moved"), { recursive: true, force: true })
      rmSync(outside, { recursive: true, force: true })
    }
  })
})
