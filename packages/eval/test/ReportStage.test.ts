import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Leaderboard } from "@hyperwords/core/Artifacts"
import { Progress } from "@hyperwords/core/Progress"
import type { LoadedArtifact, StageContext } from "@hyperwords/core/Stage"
import { Effect, Schema } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import type { LeaderboardData } from "../src/Leaderboard.ts"
import { entriesOf, type ReportParams, reportStage } from "../src/ReportStage.ts"
import { good } from "./fixtures/metrics.ts"

const tmp = join(import.meta.dirname, ".tmp", "report")

/** A stored evaluate run: its scores and generations in a folder, as the store would hold them. */
const evaluated = (
  name: string,
  opts: { base?: string; heldOut?: { bitsPerByte: number; baseBitsPerByte?: number }; shift: number }
) => {
  const dir = join(tmp, name)
  mkdirSync(dir, { recursive: true })
  const prompts = ["en-a", "en-b", "ru-a", "ru-b", "en-c", "ru-c"]
  const generations = prompts.flatMap((p, i) =>
    [0, 1].map((k) => ({
      id: `${p}#${k}`,
      promptId: p,
      prompt: `prompt <b>${p}</b>`,
      text: k === 0 && p === "en-a" ? `warmsoft <script>alert(1)</script> ${name}` : `answer ${i} ${k}`,
      task: p === "en-a" ? "invent-words" : "describe-image",
      sample: k
    }))
  )
  const rows = generations.map((g, i) => ({
    id: g.id,
    promptId: g.promptId,
    words: 3,
    scores: { chars: 10 + (i % 4) + opts.shift },
    ...(g.id === "en-a#0" ? { details: { "hyperword-usage": { used: ["warmsoft"] } } } : {})
  }))
  writeFileSync(join(dir, "generations.jsonl"), generations.map((g) => `${JSON.stringify(g)}\n`).join(""))
  writeFileSync(join(dir, "scores.jsonl"), rows.map((r) => `${JSON.stringify(r)}\n`).join(""))
  const files = (p: string) => join(dir, p)
  const scores: LoadedArtifact = {
    hash: "0".repeat(64),
    manifest: {} as LoadedArtifact["manifest"],
    data: {
      schemaVersion: 1,
      model: { id: name, revision: "r" },
      name,
      ...(opts.base === undefined ? {} : { base: { id: opts.base, revision: "r" } }),
      generations: "0".repeat(64),
      metrics: [
        {
          name: "chars",
          version: "1.0.0",
          id: "chars@1.0.0#x",
          status: "ok",
          mean: 11.5 + opts.shift,
          ci: [11, 12],
          n: 12,
          higherIsBetter: true
        }
      ],
      ...(opts.heldOut === undefined ? {} : { heldOut: opts.heldOut }),
      file: "scores.jsonl"
    },
    file: files
  }
  const gens: LoadedArtifact = {
    hash: "1".repeat(64),
    manifest: {} as LoadedArtifact["manifest"],
    data: {
      schemaVersion: 1,
      model: { id: name, revision: "r" },
      promptSet: { id: "t", version: "1", sha256: "x" },
      samples: 12,
      file: "generations.jsonl"
    },
    file: files
  }
  return { scores, gens }
}

describe("the report stage", () => {
  afterAll(() => rmSync(tmp, { recursive: true, force: true }))

  it("makes a row per version, pairs the tuned one with its base, carries bits per byte, links the probe report", async () => {
    const base = evaluated("base-model", { shift: 0 })
    const tuned = evaluated("tuned-model", {
      base: "base-model",
      heldOut: { bitsPerByte: 1.4, baseBitsPerByte: 3.5 },
      shift: 2
    })
    const out = join(tmp, "out")
    const stage = reportStage({ evaluations: ["evaluate-base", "evaluate"], probe: "probe", metrics: [good] })
    expect(Object.keys(stage.inputs)).toEqual([
      "scores:evaluate-base",
      "generations:evaluate-base",
      "scores:evaluate",
      "generations:evaluate",
      "probe"
    ])
    const context: StageContext<ReportParams> = {
      stage: "report",
      params: { resamples: 500 },
      inputs: {
        "scores:evaluate-base": base.scores,
        "generations:evaluate-base": base.gens,
        "scores:evaluate": tuned.scores,
        "generations:evaluate": tuned.gens,
        probe: { hash: "2".repeat(64), manifest: {} as LoadedArtifact["manifest"], data: {}, file: (p) => p }
      },
      outputDir: (o) => {
        const d = join(out, o)
        mkdirSync(d, { recursive: true })
        return d
      },
      runId: "test",
      key: "k",
      reportsDir: join(tmp, "reports"),
      projectDir: tmp
    }
    const result = await Effect.runPromise(
      stage.run!(context).pipe(Effect.provide(Progress.silent)) as Effect.Effect<
        Record<string, { data: unknown }>
      >
    )
    const index = Schema.decodeUnknownSync(Leaderboard)(result.leaderboard!.data)
    expect(index.rows.map((r) => r.name)).toEqual(["base-model", "tuned-model"])
    const dir = join(out, "leaderboard")
    for (const f of [index.html, index.markdown, index.json]) expect(existsSync(join(dir, f))).toBe(true)
    const data = JSON.parse(readFileSync(join(dir, "leaderboard.json"), "utf8")) as LeaderboardData
    const [b, t] = data.rows
    expect(t!.base).toBe("base-model")
    expect(b!.base).toBeUndefined()
    const delta = (t!.cells.chars as { delta?: { delta: number; vs: string } }).delta
    expect(delta?.vs).toBe("base-model")
    expect(delta?.delta).toBeCloseTo(2, 6)
    expect((t!.cells["held-out-bpb"] as { mean: number }).mean).toBe(1.4)
    expect((b!.cells["held-out-bpb"] as { mean: number }).mean).toBe(3.5)
    expect(t!.probeReport).toBe("../probe/index.html")
    expect(data.metrics.find((m) => m.name === "held-out-bpb")?.higherIsBetter).toBe(false)
    const ex = data.examples.find((x) => x.model === "tuned-model" && x.hyperwords)
    expect(ex?.hyperwords).toEqual(["warmsoft"])
    const html = readFileSync(join(dir, "index.html"), "utf8")
    expect(html).not.toContain("<script>alert(1)</script>")
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;")
    expect(stage.exports?.map((e) => e.to)).toEqual([
      "leaderboard/index.html",
      "leaderboard/leaderboard.md",
      "leaderboard/leaderboard.json",
      "leaderboard/compare-evaluate-base.html",
      "leaderboard/compare-evaluate.html",
      "leaderboard/samples/",
      "leaderboard/compare/"
    ])
    // the tuned row's comparison with its base, beside the board and linked from its row; none for the base
    expect(html).toContain(`<a href="compare-evaluate.html">compare with base-model</a>`)
    expect(existsSync(join(dir, "compare-evaluate-base.html"))).toBe(false)
    const compare = readFileSync(join(dir, "compare-evaluate.html"), "utf8")
    expect(compare).toContain("base-model vs tuned-model")
    expect(compare).toContain(`href="../probe/index.html"`)
    expect(compare).not.toContain("<script>alert(1)</script>")
    expect(compare.match(/<section class="sample"/g)).toHaveLength(12)
  })

  it("gives each row its arm and experiment, and the base the held-out bits per byte its hyperwords version measured", () => {
    type Runs = Parameters<typeof entriesOf>[0]
    const run = (name: string, extra: Record<string, unknown>) =>
      ({
        stage: `evaluate-${name}`,
        run: {
          schemaVersion: 1,
          model: { id: name, revision: "r" },
          name,
          generations: "0".repeat(64),
          metrics: [],
          file: "scores.jsonl",
          ...extra
        },
        rows: [],
        generations: []
      }) as unknown as Runs[number]
    const base = { id: "base", revision: "r" }
    const poetry = (bpb: number, baseBpb: number, ratio?: number) => ({
      bitsPerByte: bpb,
      baseBitsPerByte: baseBpb,
      bitsPerByteCi: [bpb - 0.1, bpb + 0.1],
      baseBitsPerByteCi: [baseBpb - 0.1, baseBpb + 0.1],
      ...(ratio === undefined ? {} : { ratio, ratioCi: [ratio - 0.02, ratio + 0.02] }),
      docs: 18,
      lines: 400,
      bytes: 12000,
      source: "poetry"
    })
    const entries = entriesOf(
      [
        run("base", { arm: "base" }),
        run("ctl", { base, arm: "control", experiment: "ft", heldOut: poetry(2.1, 2.05) }),
        run("ft", { base, arm: "hyperwords", experiment: "ft", heldOut: poetry(2.2, 2.0, 1.1) }),
        run("old", { base: { id: "other", revision: "r" } })
      ],
      { examples: 0 }
    )
    expect(entries.map((e) => [e.name, e.arm, e.experiment, e.base])).toEqual([
      ["base", "base", undefined, undefined],
      ["ctl", "control", "ft", "base"],
      ["ft", "hyperwords", "ft", "base"],
      ["old", "hyperwords", undefined, undefined] // a tuned run from before arms, its base not on the board
    ])
    // the base's bits per byte come from the hyperwords version (listed after the control)
    expect(entries[0]!.heldOut).toEqual({
      bitsPerByte: 2.0,
      ci: [1.9, 2.1],
      docs: 18,
      lines: 400,
      bytes: 12000,
      source: "poetry"
    })
    expect(entries[2]!.heldOut).toMatchObject({ bitsPerByte: 2.2, ratio: 1.1, ratioCi: [1.08, 1.12] })
    // a ratio not stored is computed, without an interval
    expect(entries[1]!.heldOut?.ratio).toBeCloseTo(2.1 / 2.05, 12)
    expect(entries[1]!.heldOut?.ratioCi).toBeUndefined()
    expect(entries[3]!.heldOut).toBeUndefined()

    // each version links to its own probe report; the base to the first
    const linked = entriesOf(
      [
        run("base", { arm: "base" }),
        run("ctl", { base, arm: "control", experiment: "ft" }),
        run("ft", { base, arm: "hyperwords" })
      ],
      {
        examples: 0,
        probeReports: { "evaluate-ft": "../probe/ft/index.html", "evaluate-ctl": "../probe/ctl/index.html" }
      }
    )
    expect(linked.map((e) => e.probeReport)).toEqual([
      "../probe/ft/index.html",
      "../probe/ctl/index.html",
      "../probe/ft/index.html"
    ])
  })

  it("takes a probe report per version as an input", () => {
    const stage = reportStage({
      evaluations: ["evaluate-base", "evaluate-finetune"],
      probes: { "evaluate-finetune": { stage: "probe-finetune", link: "../probe/finetune/index.html" } },
      metrics: []
    })
    expect(stage.inputs["probe:evaluate-finetune"]).toEqual({ stage: "probe-finetune", output: "report" })
  })
})
