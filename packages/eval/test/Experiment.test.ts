import { escapeHtml, escapeMarkdown } from "@hyperwords/core/Html"
import { describe, expect, it } from "vitest"
import { comparisonTargets } from "../src/Comparisons.ts"
import { comparisonSentence, heldOutSentence } from "../src/Findings.ts"
import {
  buildLeaderboard,
  type Cell,
  type Comparison,
  type LeaderboardData,
  renderHtml,
  renderMarkdown
} from "../src/Leaderboard.ts"
import type { SampleScores } from "../src/Scoring.ts"
import { holm } from "../src/Stats.ts"
import { arms, experimentInput, PROMPTS } from "./fixtures/experiment.ts"
import { hostileInput, payloads } from "./fixtures/leaderboard.ts"

const ok = (c: Cell | undefined) => {
  if (c?.status !== "ok") throw new Error(`not an ok cell: ${JSON.stringify(c)}`)
  return c
}
const row = (data: LeaderboardData, name: string) => data.rows.find((r) => r.name === name)!
const vs = (c: Cell | undefined, name: string): Comparison => {
  const found = ok(c).comparisons?.find((x) => x.vs === name)
  if (found === undefined) throw new Error(`no comparison with ${name}`)
  return found
}

describe("the leaderboard of a controlled experiment", () => {
  const data = buildLeaderboard(experimentInput())

  it("carries each row's arm and experiment", () => {
    expect(data.rows.map((r) => [r.name, r.arm, r.experiment])).toEqual([
      ["gemma-3-270m", "base", undefined],
      ["finetune", "hyperwords", "finetune"],
      ["finetune-control", "control", "finetune"],
      ["finetune-placebo", "placebo", "finetune"]
    ])
  })

  it("compares the hyperwords version with its base, control and placebo; the others with their base only", () => {
    const ft = row(data, "finetune")
    expect(ok(ft.cells.imageability).comparisons?.map((c) => [c.vs, c.vsArm])).toEqual([
      ["gemma-3-270m", "base"],
      ["finetune-control", "control"],
      ["finetune-placebo", "placebo"]
    ])
    expect(vs(ft.cells.imageability, "gemma-3-270m").delta).toBeCloseTo(0.2, 12)
    expect(vs(ft.cells.imageability, "finetune-control").delta).toBeCloseTo(0.1, 12)
    expect(vs(ft.cells.imageability, "finetune-placebo").delta).toBeCloseTo(0.18, 12)
    for (const c of ok(ft.cells.imageability).comparisons!) {
      expect(c.n).toBe(PROMPTS)
      expect(c.mark).toBe("***")
      expect(c.better).toBe(true)
    }
    // the compatibility field is the comparison with the base
    expect(ok(ft.cells.imageability).delta).toEqual(vs(ft.cells.imageability, "gemma-3-270m"))
    for (const name of ["finetune-control", "finetune-placebo"]) {
      expect(ok(row(data, name).cells.imageability).comparisons?.map((c) => c.vs)).toEqual(["gemma-3-270m"])
    }
    expect(ok(row(data, "gemma-3-270m").cells.imageability).comparisons).toBeUndefined()
    expect(ok(row(data, "gemma-3-270m").cells.imageability).delta).toBeUndefined()
  })

  it("Holm-adjusts the p-values of each comparison over its metrics, and marks by the adjusted one", () => {
    for (const r of data.rows) {
      const targets = new Set(
        Object.values(r.cells)
          .flatMap((c) => (c.status === "ok" ? (c.comparisons ?? []) : []))
          .map((c) => c.vs)
      )
      for (const target of targets) {
        const family = Object.values(r.cells).flatMap((c) =>
          c.status === "ok" ? (c.comparisons ?? []).filter((x) => x.vs === target) : []
        )
        expect(family.map((c) => c.pHolm)).toEqual(holm(family.map((c) => c.p)))
        for (const c of family) expect(c.pHolm).toBeGreaterThanOrEqual(c.p)
      }
    }
    const image = vs(row(data, "finetune").cells.imageability, "gemma-3-270m")
    expect(image.p).toBeCloseTo(2 / 2 ** PROMPTS, 12) // every prompt the same sign: exact sign-flip p
    // two such p-values among three metrics: the first × 3, the second × 2 raised to the first's
    expect(image.pHolm).toBeCloseTo((3 * 2) / 2 ** PROMPTS, 12)
    const coherence = vs(row(data, "finetune").cells.coherence, "finetune-placebo")
    expect(coherence.p).toBe(1)
    expect(coherence.mark).toBe("")
    expect(coherence.better).toBeNull()
  })

  it("a raw p below 0.05 that Holm lifts above it is not marked and not claimed", () => {
    // six prompts with the same sign: sign-flip p = 2/64 ≈ 0.031; with two null metrics beside it, Holm p ≈ 0.094
    const [base, tuned] = arms({})
    const firstSix = (rows: ReadonlyArray<SampleScores>) =>
      rows.filter((r) => Number(r.promptId!.slice(1)) < 6)
    const baseRows = firstSix(base!.rows!)
    const six = experimentInput([
      { ...base!, rows: baseRows },
      {
        ...tuned!,
        // imageability up on every prompt; coherence and surprise exactly the base's
        rows: baseRows.map((r) => ({
          ...r,
          scores: { ...r.scores, imageability: r.scores.imageability! + 0.2 }
        }))
      }
    ])
    const ft = row(buildLeaderboard(six), "finetune")
    const image = vs(ft.cells.imageability, "gemma-3-270m")
    expect(image.p).toBeCloseTo(2 / 64, 12)
    expect(image.pHolm).toBeGreaterThanOrEqual(0.05)
    expect(image.mark).toBe("")
    expect(image.better).toBeNull()
    expect(image.tied).toBe(true)
    // with six prompts the smallest sign-flip p (2/64) is above 0.05/3: no effect size is detectable
    expect(image.mde).toBeNull()
    const finding = buildLeaderboard(six).findings.find((f) => f.metric === "imageability")!
    expect(finding.supported).toBe(false)
    expect(finding.text).toBe(
      "finetune and gemma-3-270m (base) tied on imageability (Δ +0.2 [0.2, 0.2], Holm p = 0.094, n = 6 prompts; " +
        "no MDE: 6 prompts are too few for the test to reach its level)"
    )
    expect(finding.text).not.toMatch(/[<>]|better|worse/)
  })

  it("says in a sentence per metric and comparison what the experiment supports", () => {
    const texts = data.findings.filter((f) => f.metric !== "held-out-bpb")
    expect(texts.map((f) => [f.experiment, f.row, f.vs, f.metric])).toEqual(
      ["gemma-3-270m", "finetune-control", "finetune-placebo"].flatMap((v) =>
        ["imageability", "coherence", "surprise"].map((m) => ["finetune", "finetune", v, m])
      )
    )
    const text = (v: string, m: string) => texts.find((f) => f.vs === v && f.metric === m)!
    expect(text("finetune-control", "imageability").text).toMatch(
      /^finetune > finetune-control on imageability \(better\): Δ \+0\.1 \[0\.1, 0\.1\], Holm p < 0\.001, n = 17 prompts; MDE 0 at 80% power$/
    )
    expect(text("finetune-control", "imageability").supported).toBe(true)
    expect(text("gemma-3-270m", "imageability").text).toMatch(
      /^finetune > gemma-3-270m \(base\) on imageability/
    )
    // paired differences −0.02 on nine prompts, +0.02 on eight: mean −0.02/17
    // their SD is 0.0206, so with 17 prompts and three metrics (α 0.05/3, t16 quantiles 2.673 and
    // 0.865): MDE = 3.538 · 0.0206 / √17 = 0.0177
    expect(text("finetune-placebo", "coherence").text).toMatch(
      /^finetune and finetune-placebo tied on coherence \(Δ −0\.00118 \[−0\.\d+, 0\.\d+\], Holm p = 1, n = 17 prompts; MDE 0\.0177 at 80% power\)$/
    )
    expect(text("finetune-placebo", "coherence").supported).toBe(false)
    expect(text("finetune-placebo", "coherence").better).toBeNull()
    // lower is better: a lower score is named better
    expect(text("finetune-control", "surprise").text).toMatch(
      /^finetune < finetune-control on surprise \(better, lower is better\): Δ −0\.3 /
    )
    expect(text("finetune-control", "surprise").better).toBe(true)
  })

  it("says per tuned row what held-out poetry's bits per byte show, and labels the column", () => {
    const bpb = data.findings.filter((f) => f.metric === "held-out-bpb")
    expect(bpb.map((f) => [f.experiment, f.row, f.vs, f.text])).toEqual([
      [
        "finetune",
        "finetune",
        "gemma-3-270m",
        "held-out poetry: finetune/gemma-3-270m bpb ratio 1.04 [1.01, 1.07] (n 18 documents): higher than the base (worse)"
      ],
      [
        "finetune",
        "finetune-control",
        "gemma-3-270m",
        "held-out poetry: finetune-control/gemma-3-270m bpb ratio 1 [0.98, 1.02] (n 18 documents): no difference detected"
      ],
      [
        "finetune",
        "finetune-placebo",
        "gemma-3-270m",
        "held-out poetry: finetune-placebo/gemma-3-270m bpb ratio 0.95 [0.93, 0.97] (n 18 documents): lower than the base (better)"
      ]
    ])
    expect(bpb.map((f) => [f.supported, f.better])).toEqual([
      [true, false],
      [false, null],
      [true, true]
    ])
    expect(data.metrics.find((m) => m.name === "held-out-bpb")).toMatchObject({
      label: "held-out poetry bpb",
      higherIsBetter: false
    })
    const cell = ok(row(data, "finetune").cells["held-out-bpb"])
    expect(cell).toMatchObject({
      mean: 2.08,
      ci: [2.03, 2.13],
      ratio: { value: 1.04, ci: [1.01, 1.07] },
      docs: 18,
      source: "poetry"
    })
    expect(ok(row(data, "gemma-3-270m").cells["held-out-bpb"])).toMatchObject({ mean: 2, ci: [1.95, 2.05] })
    expect(ok(row(data, "gemma-3-270m").cells["held-out-bpb"]).ratio).toBeUndefined()
    const html = renderHtml(data)
    expect(html).toContain("held-out poetry bpb")
    expect(html).toContain("ratio to base 1.04 [1.01, 1.07]")
    const md = renderMarkdown(data)
    expect(md).toContain("| held-out poetry bpb ↓ |")
    expect(md).toMatch(/2\.08 \[2\.03, 2\.13\] ratio to base 1\.04 \[1\.01, 1\.07\]/)
  })

  it("puts the sentences above the table in the page and in the Markdown", () => {
    const html = renderHtml(data)
    const section = html.indexOf("What the experiment supports")
    expect(section).toBeGreaterThan(0)
    expect(section).toBeLessThan(html.indexOf('<table id="board">'))
    for (const f of data.findings) expect(html).toContain(`${escapeHtml(f.text)}</li>`)
    expect(html).toContain("vs control Δ +0.1***")
    const md = renderMarkdown(data)
    expect(md.indexOf("## What the experiment supports")).toBeLessThan(md.indexOf("| model version |"))
    for (const f of data.findings) expect(md).toContain(`- ${escapeMarkdown(f.text)}`)
    expect(md).toMatch(
      /\] vs base Δ \+0\.2\\\*\\\*\\\* \(MDE 0\) vs control Δ \+0\.1\\\*\\\*\\\* \(MDE 0\) vs placebo Δ \+0\.18\\\*\\\*\\\* \(MDE 0\)/
    )
    // coherence: every comparison within noise, said as "tied" with its MDE, in the page and the Markdown
    expect(md).toMatch(/vs base Δ [+−-]?[\d.]+ tied \(MDE [\d.]+\)/)
    expect(html).toMatch(
      /Δ [+−-]?[\d.]+ <span class="verdict">tied<\/span> <span class="mde">MDE [\d.]+<\/span>/
    )
  })

  it("escapes a malicious version name in the sentences", () => {
    const evil = arms({ finetune: `ft ${payloads[0]}`, control: `ctl ${payloads[1]}` })
    const board = buildLeaderboard(experimentInput(evil))
    expect(board.findings.length).toBeGreaterThan(0)
    expect(board.findings.some((f) => f.text.includes(payloads[0]) && f.text.includes(payloads[1]))).toBe(
      true
    )
    const html = renderHtml(board)
    for (const p of payloads.slice(0, 2)) expect(html).not.toContain(p)
    expect(html).not.toMatch(/<img/i) // the text "onerror=" stays, as text
    expect(html.match(/<script/g)?.length).toBe(3) // the page's own: the data, the sort, the filter
    for (const f of board.findings) expect(html).toContain(escapeHtml(f.text))
    const md = renderMarkdown(board)
    expect(md).not.toMatch(/<script|<img/)
  })
})

describe("boards from before arms", () => {
  it("treat a tuned row with no arm as the hyperwords version, compared with its base only", () => {
    const data = buildLeaderboard(hostileInput)
    const tuned = data.rows[1]!
    expect(tuned.arm).toBe("hyperwords")
    expect(tuned.experiment).toBe(tuned.name)
    expect(data.rows[0]!.arm).toBe("base")
    const cell = ok(tuned.cells.imageability)
    expect(cell.comparisons).toEqual([cell.delta])
    expect(cell.delta?.pHolm).toBe(cell.delta?.p) // one metric in the family: nothing to adjust
    expect(data.findings).toHaveLength(1)
    expect(data.findings[0]).toMatchObject({
      experiment: tuned.name,
      vs: "base",
      metric: "imageability",
      supported: true
    })
    expect(data.findings[0]!.text).toMatch(/^tuned .* > base on imageability \(better\): Δ \+0\.1 /)
    // the page escapes the sentence, which carries the hostile version name
    const html = renderHtml(data)
    expect(html).toContain(`<li class="finding better">${escapeHtml(data.findings[0]!.text)}</li>`)
    expect(html).not.toContain(payloads[1])
  })

  it("a control whose experiment is not on the board is compared with its base, and no hyperwords row takes it", () => {
    const [base, , control] = arms({})
    const entries = [base!, { ...control!, experiment: "elsewhere" }]
    expect(comparisonTargets(entries[1]!, entries).map((e) => e.name)).toEqual(["gemma-3-270m"])
    const data = buildLeaderboard(experimentInput(entries))
    expect(data.findings.map((f) => [f.experiment, f.metric])).toEqual([["elsewhere", "held-out-bpb"]])
  })
})

describe("the sentences", () => {
  const c = (delta: number, pHolm: number): Comparison => ({
    vs: "ctl",
    vsArm: "control",
    delta,
    ci: [delta - 0.1, delta + 0.1],
    p: pHolm / 3,
    pHolm,
    n: 1,
    mark: "",
    better: null,
    tied: !(pHolm < 0.05),
    sd: 0.3,
    mde: 0.25
  })
  const up = { name: "m", higherIsBetter: true }
  const down = { name: "m", higherIsBetter: false }

  it("name the direction only below 0.05 and flip the wording where lower is better", () => {
    expect(comparisonSentence("ft", up, c(-0.2, 0.012))).toBe(
      "ft < ctl (control) on m (worse): Δ −0.2 [−0.3, −0.1], Holm p = 0.012, n = 1 prompt; MDE 0.25 at 80% power"
    )
    expect(comparisonSentence("ft", down, c(-0.2, 0.012))).toBe(
      "ft < ctl (control) on m (better, lower is better): Δ −0.2 [−0.3, −0.1], Holm p = 0.012, n = 1 prompt; MDE 0.25 at 80% power"
    )
    expect(comparisonSentence("ft", down, c(0.2, 0.0004))).toMatch(
      /^ft > ctl \(control\) on m \(worse, lower is better\): .*Holm p < 0\.001/
    )
    // Holm p ≥ 0.05: tied, whatever the sign of Δ, and no ">" or "<" that would imply one
    expect(comparisonSentence("ft", up, c(0.2, 0.05))).toBe(
      "ft and ctl (control) tied on m (Δ +0.2 [0.1, 0.3], Holm p = 0.05, n = 1 prompt; MDE 0.25 at 80% power)"
    )
    expect(comparisonSentence("ft", down, c(-0.2, 0.3))).toBe(
      "ft and ctl (control) tied on m (Δ −0.2 [−0.3, −0.1], Holm p = 0.3, n = 1 prompt; MDE 0.25 at 80% power)"
    )
    expect(comparisonSentence("ft", { ...up, label: "nice m" }, c(0.2, 0.81))).toContain("tied on nice m (")
    expect(comparisonSentence("ft", up, { ...c(0.2, 0.5), n: 4, mde: null })).toContain(
      "no MDE: 4 prompts are too few for the test to reach its level"
    )
  })

  it("say a held-out ratio without an interval claims nothing", () => {
    expect(heldOutSentence("ft", "base", { ratio: { value: 1.0412 } }, {})).toEqual({
      text: "held-out text: ft/base bpb ratio 1.04: no interval, so no difference claimed",
      supported: false,
      better: null
    })
  })
})

describe("a superwords version", () => {
  const entries = arms({})
  const control = entries.find((e) => e.arm === "control")!
  const superwords = {
    ...control,
    name: "superwords",
    model: { id: "gemma-3-270m+superwords", revision: "0123456789abcdef" },
    arm: "superwords" as const,
    experiment: "finetune",
    heldOut: {
      bitsPerByte: 2.01,
      ci: [1.96, 2.06] as const,
      ratio: 1.005,
      ratioCi: [0.99, 1.02] as const,
      docs: 18,
      source: "poetry",
      tokensPerByte: 0.27,
      baseTokensPerByte: 0.3
    }
  }
  const all = [...entries, superwords]

  it("is compared with its base and the controls of its experiment, never the placebo", () => {
    expect(comparisonTargets(superwords, all).map((e) => [e.name, e.arm])).toEqual([
      ["gemma-3-270m", "base"],
      ["finetune-control", "control"]
    ])
    // the hyperwords version's own comparisons do not take the superwords row in
    const ft = all.find((e) => e.name === "finetune")!
    expect(comparisonTargets(ft, all).map((e) => e.name)).not.toContain("superwords")
  })

  it("gets sentences of its own and shows tokens per byte beside bits per byte", () => {
    const data = buildLeaderboard({ ...experimentInput(), entries: all })
    expect(data.findings.some((f) => f.row === "superwords" && f.vs === "finetune-control")).toBe(true)
    const cell = ok(row(data, "superwords").cells["held-out-bpb"])
    expect(cell.tokensPerByte).toEqual({ value: 0.27, base: 0.3 })
    const html = renderHtml(data)
    expect(html).toContain("0.27 tokens/byte (base 0.3, -10%)")
    expect(renderMarkdown(data)).toContain("0.27 tokens/byte")
  })
})
