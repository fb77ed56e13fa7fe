import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { type HyperwordRecord, ProbeReport } from "@hyperwords/core/Artifacts"
import { Progress } from "@hyperwords/core/Progress"
import { mulberry32 } from "@hyperwords/core/Random"
import type { LoadedArtifact, StageContext } from "@hyperwords/core/Stage"
import { loadModel } from "@hyperwords/models/Model"
import { Effect, Layer, Schema } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { spreadLayers } from "../src/Measure.ts"
import { type ProbeParams, probeStageFor } from "../src/ProbeStage.ts"
import { renderReport } from "../src/Report.ts"
import { superwordSection } from "../src/SuperwordReport.ts"
import {
  answerOf,
  drawSuperwords,
  measureSuperwords,
  readTuned,
  type SuperwordMeasure,
  superwordFindings,
  superwordsOf,
  wordShare
} from "../src/Superwords.ts"
import { bandLayers, bands, pairingBandTest, pairingTests } from "../src/Verdict.ts"
import { tinySuperwordModel } from "./fixtures/superword.ts"
import { tinyMissing } from "./fixtures/tiny.ts"

const gauss = (rand: () => number) => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand())
const cos = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => {
  let ab = 0
  let aa = 0
  let bb = 0
  a.forEach((x, i) => {
    ab += x * b[i]!
    aa += x * x
    bb += b[i]! * b[i]!
  })
  return ab / Math.sqrt(aa * bb)
}
const fast = { permutations: 499, resamples: 200 }
const numLayers = 12

/**
 * Cosine matrices `[layer][i][j]` of n tuned and n base vectors (dimension 16) that share one big
 * common direction (hidden states are anisotropic); at the layers in `planted` the tuned vector of
 * item i is its base vector plus noise of scale `noise`, elsewhere it is independent of it.
 */
const matrices = (seed: number, n: number, planted: ReadonlyArray<number>, noise = 1) => {
  const rand = mulberry32(seed)
  const common = Array.from({ length: 16 }, () => 3 * gauss(rand))
  const vec = () => common.map((c) => c + gauss(rand))
  return Array.from({ length: numLayers + 1 }, (_, l) => {
    const base = Array.from({ length: n }, vec)
    const tuned = base.map((b) => (planted.includes(l) ? b.map((x) => x + noise * gauss(rand)) : vec()))
    return tuned.map((t) => base.map((b) => cos(t, b)))
  })
}
const band = bandLayers(numLayers, bands.superword)

describe("the pairing test", () => {
  it("gives a uniform p to unrelated pairs despite the common direction: p < 0.01 about 1% of the time", () => {
    const ps = Array.from(
      { length: 60 },
      (_, s) => pairingTests(matrices(s + 1, 24, []), { seed: s, ...fast })[3]!.p
    )
    expect(ps.filter((p) => p < 0.01).length).toBeLessThanOrEqual(3)
    expect(ps.filter((p) => p < 0.5).length).toBeGreaterThan(15)
    expect(ps.filter((p) => p < 0.5).length).toBeLessThan(45)
  })

  it("claims nothing on noise and claims a planted pairing, at the planted layers", () => {
    for (const seed of [1, 2, 3]) {
      const noise = pairingBandTest(
        matrices(seed, 24, []),
        [...Array(numLayers + 1).keys()],
        bands.superword,
        {
          seed,
          ...fast,
          numLayers,
          statistic: "s"
        }
      )
      expect(noise.verdict).toBe("not reproduced")
      const planted = pairingBandTest(
        matrices(seed, 24, band),
        [...Array(numLayers + 1).keys()],
        bands.superword,
        {
          seed,
          ...fast,
          numLayers,
          statistic: "s"
        }
      )
      expect(planted.verdict).toBe("reproduced")
      expect(planted.estimate.lo).toBeGreaterThan(0)
      expect(planted.layers).toEqual(band)
      // the layers outside the band carry nothing
      expect(planted.perLayer[0]!.p).toBeGreaterThan(0.01)
      expect(planted.perLayer[band[0]!]!.p).toBeLessThan(0.01)
    }
  })

  it("is inconclusive with fewer than 20 items, and reads a band from the patched layers only", () => {
    const small = pairingBandTest(
      matrices(4, 8, band, 0.1),
      [...Array(numLayers + 1).keys()],
      bands.superword,
      {
        seed: 4,
        ...fast,
        numLayers,
        statistic: "s"
      }
    )
    expect(small.verdict).toBe("inconclusive")
    expect(small.rule).toMatch(/n = 8 < 20/)
    const all = matrices(5, 24, band)
    const patched = [0, 4, 8, 12]
    const t = pairingBandTest(
      patched.map((l) => all[l]!),
      patched,
      bands.superword,
      { seed: 5, ...fast, numLayers, statistic: "s" }
    )
    expect(t.layers).toEqual([4])
    expect(t.verdict).toBe("reproduced")
    expect(t.perLayer).toHaveLength(numLayers + 1)
    expect(t.perLayer[1]!.p).toBe(1)
    expect(Number.isNaN(t.perLayer[1]!.mean)).toBe(true)
  })
})

describe("the superword findings", () => {
  const share = (seed: number, n: number, planted: boolean) => {
    const rand = mulberry32(seed)
    return [0, 6, 12].map(() =>
      Array.from({ length: n }, (_, i) =>
        Array.from({ length: n }, (_, j) =>
          planted && i === j ? (rand() < 0.7 ? 1 : 0.5) : rand() < 0.1 ? 0.5 : 0
        )
      )
    )
  }
  const run = (seed: number, n: number, planted: boolean, reference = 1) =>
    superwordFindings(
      {
        cosine: matrices(seed, n, planted ? band : []),
        pieces: Array.from({ length: n }, (_, i) => 2 + (i % 3)),
        patchscope: {
          layers: [0, 6, 12],
          share: share(seed, n, planted),
          baseShare: [0, 6, 12].map(() => Array.from({ length: n }, () => reference))
        }
      },
      numLayers,
      { seed, ...fast }
    )

  it("says in a sentence, with its figures, that the one token carries the span when it was planted", () => {
    const { findings, sentence } = run(1, 24, true)
    expect(findings.map((f) => [f.id, f.verdict])).toEqual([
      ["superword-state", "reproduced"],
      ["superword-patchscope", "reproduced"]
    ])
    expect(sentence).toMatch(
      new RegExp(
        `^The tuned model's single token carries what the base assembled over the span's 2–4 \\(mean 3\\.0\\) tokens at layers ${band[0]}–${band[band.length - 1]}: cos [\\d.]+ vs null [\\d.]+ .*p = [\\d.e-]+, n = 24\\.`
      )
    )
    expect(sentence).toMatch(
      /Patchscope: the base decodes \d+% of the span's words .* vs \d+% of another span's/
    )
    expect(findings[0]!.figure).toMatch(/pairing permutations\), n = 24, band layers/)
    expect(findings[0]!.curves.own).toHaveLength(numLayers + 1)
  })

  it("leaves the Patchscope inconclusive when the base cannot decode its own assembled state", () => {
    const { findings, sentence } = run(1, 24, true, 0.05)
    expect(findings[0]!.verdict).toBe("reproduced")
    expect(findings[1]!.verdict).toBe("inconclusive")
    expect(findings[1]!.test.rule).toMatch(
      /the base decodes 5% of the span's words from its own assembled state \(< 10%\)/
    )
    expect(sentence).toMatch(/inconclusive\), and 5% from its own assembled state\.$/)
  })

  it("claims nothing on noise, and is inconclusive on a handful", () => {
    const noise = run(2, 24, false)
    expect(noise.findings.map((f) => f.verdict)).toEqual(["not reproduced", "not reproduced"])
    expect(noise.sentence).toMatch(/^The tuned model's single token does not carry measurably more/)
    const few = run(3, 6, true)
    expect(few.findings.map((f) => f.verdict)).toEqual(["inconclusive", "inconclusive"])
    expect(few.sentence).toMatch(/^Too few superwords to say .*\(n = 6 < 20 items\)/)
  })
})

describe("the superwords on the report", () => {
  it("shows the sentence, the figures and the decodings as text, never as markup", () => {
    const n = 24
    const { findings, sentence } = superwordFindings(
      {
        cosine: matrices(1, n, band),
        pieces: Array.from({ length: n }, () => 3),
        patchscope: {
          layers: [0, 6, 12],
          share: [0, 6, 12].map(() => matrices(2, n, [])[0]!),
          baseShare: [[1], [1], [1]]
        }
      },
      numLayers,
      { seed: 1, ...fast }
    )
    const hostile = ' <img src=x onerror="alert(1)"> lap'
    const m: SuperwordMeasure = {
      tuned: "tuned<b>",
      base: "base",
      numLayers,
      items: Array.from({ length: n }, (_, i) => ({
        surface: i === 0 ? hostile : ` w${i} x`,
        parts: ["w", "x"],
        basePieces: [" <i>", "x"]
      })),
      leftOut: [{ surface: " <script>x</script>", why: "the tuned tokenizer reads it as 3 tokens" }],
      cosine: matrices(1, n, band),
      patchscope: {
        prompt: "cat -> cat; ? ->",
        layers: [0, 6, 12],
        maxNewTokens: 5,
        tuned: [0, 6, 12].map(() => Array.from({ length: n }, () => " </td><script>alert(2)</script>")),
        base: [0, 6, 12].map(() => Array.from({ length: n }, () => " x & y")),
        share: [0, 6, 12].map(() => matrices(2, n, [])[0]!)
      },
      findings,
      sentence
    }
    const section = superwordSection(m)
    expect(section).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt; lap")
    expect(section).toContain("&lt;/td&gt;&lt;script&gt;alert(2)&lt;/script&gt;")
    expect(section).toContain("&lt;script&gt;x&lt;/script&gt;")
    expect(section).toContain("x &amp; y")
    expect(section).toContain("tuned&lt;b&gt;")
    expect(section).not.toMatch(/<img|<script|<b>|<i>/)
    const page = renderReport({ title: "t", runs: [], superwords: m })
    expect(page).not.toMatch(/<img|<script|<b>/)
    expect(page).toContain(sentence.replace(/'/g, "&#39;"))
    // the two findings are rows of the findings table, with their figures
    expect(page.match(/<tr><td>tuned vs base<\/td>/g)).toHaveLength(2)
    expect(page).toContain('id="chart-superword-state"')
  })
})

describe("superword helpers", () => {
  it("reads a version's superwords only for the superwords arm", () => {
    const list = [{ surface: " warm purring lap", parts: ["warm", "purring", "lap"], count: 3, pieces: 4 }]
    expect(superwordsOf({ arm: "control" }, () => list)).toBeUndefined()
    expect(superwordsOf(undefined, () => list)).toBeUndefined()
    expect(superwordsOf({ arm: "superwords" }, () => list)).toEqual(list)
    // without superwords.json: the first ones the version records, words split from the surface
    expect(
      superwordsOf(
        { arm: "superwords", superwords: { first: [{ surface: " Of the Night", count: 2 }] } },
        () => undefined
      )
    ).toEqual([{ surface: " Of the Night", parts: ["of", "the", "night"], count: 2 }])
  })

  it("draws a seeded sample, and scores decoded words against a span", () => {
    const list = Array.from({ length: 30 }, (_, i) => ({ surface: ` w${i} x`, parts: [`w${i}`, "x"] }))
    const a = drawSuperwords(list, 10, 1)
    expect(a).toHaveLength(10)
    expect(drawSuperwords(list, 10, 1)).toEqual(a)
    expect(drawSuperwords(list, 10, 2)).not.toEqual(a)
    expect(answerOf(" warm purring cat; dog -> dog")).toBe("warm purring cat")
    expect(answerOf(" тёплое мурчит\nх")).toBe("тёплое мурчит")
    expect(wordShare(["warm", "purring", "lap"], "Warm purring cat")).toBeCloseTo(2 / 3)
    expect(wordShare(["кошка", "шла"], "кошка")).toBe(0.5)
    expect(wordShare([], "x")).toBe(0)
  })
})

describe("on a tiny superwords version", async () => {
  const missing = await tinyMissing()
  it("reads each superword as one token, its base as several, and measures both end to end", async (ctx) => {
    if (missing) return ctx.skip(missing)
    const dir = await tinySuperwordModel()
    const { tinyModel } = await import("./fixtures/tiny.ts")
    const list = JSON.parse(readFileSync(join(dir, "superwords.json"), "utf8"))
    const superwords = superwordsOf({ arm: "superwords" }, () => list)!
    expect(superwords.length).toBeGreaterThanOrEqual(20)
    const tuned = await loadModel(dir)
    const base = await loadModel(await tinyModel("llama"))
    // a span that is not a token of the tuned model is left out, and said why
    const reading = await readTuned(tuned, [...superwords, { surface: " cold stones, a bell", parts: [] }])
    expect(reading.items).toHaveLength(superwords.length)
    expect(reading.leftOut[0]!.why).toMatch(/reads it as \d+ tokens/)
    const m = await measureSuperwords(base, reading, {
      seed: 1,
      ...fast,
      patchscopeLayers: spreadLayers(base.config.numLayers, 4)
    })
    expect(m.numLayers).toBe(3)
    expect(m.items).toHaveLength(superwords.length)
    for (const it of m.items) {
      expect(it.basePieces).toHaveLength(base.encode(it.surface, { addSpecialTokens: false }).length)
      expect(it.basePieces.length).toBeGreaterThanOrEqual(2)
      // pieces of Latin text are whole characters: they spell the span
      if (/^[ a-z]+$/i.test(it.surface)) expect(it.basePieces.join("")).toBe(it.surface)
    }
    expect(m.cosine).toHaveLength(4)
    expect(m.cosine[0]).toHaveLength(superwords.length)
    // layer 0: the superword's row starts as the mean of its pieces' rows, so it is closer to its
    // own span's last piece than to another span's — a real pairing the test must find
    expect(m.findings[0]!.test.perLayer[0]!.p).toBeLessThan(0.01)
    expect(m.findings[0]!.test.perLayer[0]!.mean).toBeGreaterThan(0)
    // only the candidate layers in the band are patched (layer 1 of 3)
    expect(m.patchscope!.layers).toEqual([1])
    expect(m.patchscope!.tuned[0]).toHaveLength(superwords.length)
    expect(m.patchscope!.share[0]![0]).toHaveLength(superwords.length)
    expect(m.findings[1]!.test.layers).toEqual([1])
    expect(Number.isNaN(m.findings[1]!.test.perLayer[0]!.mean)).toBe(true)
    expect(m.findings.map((f) => f.id)).toEqual(["superword-state", "superword-patchscope"])
    expect(m.sentence).toMatch(/the span's \d+–\d+ \(mean [\d.]+\) tokens at layers 1–1: cos [-\d.]+ vs null/)
  }, 180_000)
})

describe("the probe stage on a superwords version", async () => {
  const missing = await tinyMissing()
  const tmp = join(import.meta.dirname, ".tmp", "superword-stage")
  afterAll(() => rmSync(tmp, { recursive: true, force: true }))
  const record: HyperwordRecord = {
    id: "en:warm+lap",
    surface: "warmlap",
    lang: "en",
    parts: ["warm", "lap"],
    lemmas: ["warm", "lap"],
    origin: "mined"
  }
  const artifact = (data: unknown, files: Record<string, string> = {}): LoadedArtifact => ({
    hash: "0".repeat(64),
    manifest: {} as LoadedArtifact["manifest"],
    data,
    file: (p) => files[p] ?? join(tmp, "absent", p)
  })
  const version = (name: string, dir: string, training?: Record<string, unknown>) => ({
    schemaVersion: 1,
    name,
    model: { id: name, revision: "test" },
    architecture: "llama",
    source: { kind: "local", detail: dir },
    dir,
    files: {},
    ...(training === undefined ? {} : { training })
  })
  const run = async (tunedVersion: unknown, files: Record<string, string>, lines: Array<string>) => {
    const { tinyModel } = await import("./fixtures/tiny.ts")
    const jsonl = join(tmp, "hyperwords.jsonl")
    mkdirSync(tmp, { recursive: true })
    writeFileSync(jsonl, `${JSON.stringify(record)}\n`)
    const out = join(tmp, "out", String(lines.length))
    const context: StageContext<ProbeParams> = {
      stage: "probe-superwords",
      params: { items: 24, patchscopeLayers: 2, findings: false, png: false },
      inputs: {
        hyperwords: artifact({ file: "hyperwords.jsonl" }, { "hyperwords.jsonl": jsonl }),
        model: artifact(tunedVersion, files),
        base: artifact(version("tiny-base", await tinyModel("llama")))
      },
      outputDir: (o) => {
        const d = join(out, o)
        mkdirSync(d, { recursive: true })
        return d
      },
      runId: "test",
      key: "test",
      reportsDir: join(tmp, "reports"),
      projectDir: tmp
    }
    const logged: Array<string> = []
    const progress = Layer.succeed(Progress, {
      task: () => ({ advance: () => {}, update: () => {}, finish: () => {} }),
      log: (m: string) => logged.push(m)
    })
    const stage = probeStageFor({ model: { stage: "superwords", output: "model" } })
    const result = await Effect.runPromise(
      stage.run!(context).pipe(Effect.provide(progress)) as Effect.Effect<Record<string, { data: unknown }>>
    )
    const report = Schema.decodeUnknownSync(ProbeReport)(result.report!.data)
    const dir = join(out, "report")
    return {
      report,
      logged,
      html: readFileSync(join(dir, report.html), "utf8"),
      json: JSON.parse(readFileSync(join(dir, report.json), "utf8"))
    }
  }

  it("puts the one-token readings on the report, escaped, and nothing for another arm", async (ctx) => {
    if (missing) return ctx.skip(missing)
    const dir = await tinySuperwordModel()
    const sw = await run(
      version("superwords", dir, { arm: "superwords" }),
      { "superwords.json": join(dir, "superwords.json") },
      []
    )
    const n = JSON.parse(readFileSync(join(dir, "superwords.json"), "utf8")).length
    const claims = sw.report.findings.filter((f) => f.figure.startsWith("tuned vs base"))
    expect(claims).toHaveLength(2)
    expect(claims[0]!.figure).toMatch(/over the span's \d+–\d+ \(mean [\d.]+\) tokens at layers 1–1: cos/)
    expect(claims[0]!.figure).toContain(`n = ${Math.min(24, n)}`)
    expect(sw.json.superwords.items).toHaveLength(Math.min(24, n))
    expect(sw.json.superwords.findings[0].test.perLayer).toHaveLength(4)
    expect(sw.html).toContain("Superwords: one token against the span the base reads")
    expect(sw.html).toContain('id="chart-superword-state"')
    expect(sw.html).toContain('id="chart-superword-patchscope"')
    // the repeat-the-word prompt's arrows reach the page escaped
    expect(sw.html).toContain("cat -&gt; cat")
    expect(sw.html).not.toContain("cat -> cat")
    expect(sw.logged.some((l) => /superwords against tiny-base/.test(l))).toBe(true)

    const control = await run(version("control", dir, { arm: "control" }), {}, ["another"])
    expect(control.report.findings.filter((f) => f.figure.startsWith("tuned vs base"))).toHaveLength(0)
    expect(control.json.superwords).toBeUndefined()
    expect(control.html).not.toContain("Superwords: one token")
  }, 180_000)
})
