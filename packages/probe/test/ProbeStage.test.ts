import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { type HyperwordRecord, ProbeReport } from "@hyperwords/core/Artifacts"
import { Progress } from "@hyperwords/core/Progress"
import type { LoadedArtifact, StageContext } from "@hyperwords/core/Stage"
import { Store } from "@hyperwords/core/Store"
import { Effect, Layer, Schema } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { textView } from "../src/Commands.ts"
import { measureItems } from "../src/Measure.ts"
import { drawItems, type ProbeParams, probeStage, probeStageFor } from "../src/ProbeStage.ts"
import { chromiumPath } from "../src/Report.ts"
import { smollmDir, smollmMissing, tinyMissing, tinyModel } from "./fixtures/tiny.ts"

const tmp = join(import.meta.dirname, ".tmp", "stage")

const record = (parts: ReadonlyArray<string>, lang: "ru" | "en", gloss?: string): HyperwordRecord => ({
  id: `${lang}:${parts.join("+")}`,
  surface: parts.join(""),
  lang,
  parts: parts as [string, ...Array<string>],
  lemmas: [...parts],
  origin: "mined",
  ...(gloss === undefined ? {} : { gloss })
})

const records = [
  record(["кошка", "шла", "вкусно"], "ru", "a cat walking to eat"),
  record(["warm", "purring", "lap"], "en"),
  record(["moon"], "en"),
  record(["frost", "snow"], "en")
]

const artifact = (data: unknown, files: Record<string, string> = {}): LoadedArtifact => ({
  hash: "0".repeat(64),
  manifest: {} as LoadedArtifact["manifest"],
  data,
  file: (p) => files[p] ?? join(tmp, p)
})

const version = (name: string, dir: string) => ({
  schemaVersion: 1,
  name,
  model: { id: name, revision: "test" },
  architecture: "llama",
  source: { kind: "local", detail: dir },
  dir,
  files: {}
})

describe("drawItems", () => {
  it("draws multi-part hyperwords first, seeded, keeping the gloss", () => {
    const items = drawItems(records, 3, 1)
    expect(items).toHaveLength(3)
    expect(items.every((i) => i.parts.length > 1)).toBe(true)
    expect(drawItems(records, 3, 1)).toEqual(items)
    expect(items.find((i) => i.lang === "ru")?.gloss).toBe("a cat walking to eat")
    expect(drawItems(records, 10, 2)).toHaveLength(4)
  })

  it("tracks the word that follows the image in its line or scene", () => {
    const withLine: HyperwordRecord = {
      ...record(["frost", "snow"], "en"),
      evidence: [{ doc: "d", line: 1, text: "The frost and snow were falling on the hill" }]
    }
    const withScene: HyperwordRecord = {
      ...record(["warm", "lap"], "en"),
      origin: "generated",
      gloss: "a warm lap at dusk"
    }
    const items = drawItems([withLine, withScene, record(["moon", "tide"], "en")], 3, 1)
    const byId = new Map(items.map((i) => [i.id, i]))
    expect(byId.get(withLine.id)?.next).toBe("were")
    expect(byId.get(withScene.id)?.next).toBe("at")
    expect(byId.get("en:moon+tide")?.next).toBeUndefined()
  })
})

describe("the probe stage", async () => {
  const missing = await tinyMissing()
  afterAll(() => rmSync(tmp, { recursive: true, force: true }))

  it("measures base and tuned, and writes the report, its numbers and its PNGs", async (ctx) => {
    if (missing) return ctx.skip(missing)
    const [tuned, base] = [await tinyModel("llama"), await tinyModel("gemma3_text")]
    mkdirSync(tmp, { recursive: true })
    const jsonl = join(tmp, "poem_hyperwords.jsonl")
    writeFileSync(jsonl, records.map((r) => `${JSON.stringify(r)}\n`).join(""))
    const out = join(tmp, "out")
    const context: StageContext<ProbeParams> = {
      stage: "probe",
      params: { items: 3, patchscopeLayers: 2, findings: true, png: existsSync(chromiumPath()) },
      inputs: {
        hyperwords: artifact({ file: "poem_hyperwords.jsonl" }, { "poem_hyperwords.jsonl": jsonl }),
        model: artifact(version("tiny-tuned", tuned)),
        base: artifact(version("tiny-base", base))
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
    const result = await Effect.runPromise(
      probeStage.run!(context).pipe(Effect.provide(Progress.silent)) as Effect.Effect<
        Record<string, { data: unknown }>
      >
    )
    const report = Schema.decodeUnknownSync(ProbeReport)(result.report!.data)
    expect(report.items).toBe(3)
    expect(report.model.id).toBe("tiny-tuned")
    expect(report.findings).toHaveLength(8)
    expect(report.findings.filter((f) => f.figure.startsWith("base ("))).toHaveLength(4)
    for (const f of report.findings) expect(f.figure).toMatch(/p = [\d.e-]+ .*n = \d+, band layers \d+–\d+/)
    const dir = join(out, "report")
    expect(readFileSync(join(dir, report.html), "utf8")).toContain("<svg")
    const json = JSON.parse(readFileSync(join(dir, report.json), "utf8"))
    expect(json.runs.map((r: { label: string }) => r.label)).toEqual(["base", "tuned"])
    for (const png of report.png) expect(existsSync(join(dir, png))).toBe(true)
    if (existsSync(chromiumPath())) expect(report.png.length).toBeGreaterThanOrEqual(8)
    expect(probeStage.exports).toEqual([{ output: "report", file: "report.html", to: "probe/index.html" }])

    // with a store, a version's readings are kept: a second probe stage reads the base once, and
    // its report's numbers are the same to the letter (NaN included)
    const withStore = (ctx: StageContext<ProbeParams>, lines: Array<string>) =>
      Effect.runPromise(
        probeStage.run!(ctx).pipe(
          Effect.provide(
            Layer.mergeAll(
              Layer.succeed(Progress, {
                task: () => ({ advance: () => {}, update: () => {}, finish: () => {} }),
                log: (m: string) => lines.push(m)
              }),
              Store.layer(join(tmp, "store"))
            )
          )
        ) as Effect.Effect<Record<string, { data: unknown }>>
      )
    const again = (name: string) => ({
      ...context,
      // the default: the literature checks on the base only
      params: { items: 3, patchscopeLayers: 2, png: false },
      outputDir: (o: string) => {
        const d = join(tmp, name, o)
        mkdirSync(d, { recursive: true })
        return d
      }
    })
    const first: Array<string> = []
    const second: Array<string> = []
    const a = await withStore(again("first"), first)
    const b = await withStore(again("second"), second)
    expect(first.join("\n")).not.toMatch(/readings kept/)
    expect(second.filter((l) => /readings kept from an earlier probe stage/.test(l))).toHaveLength(2)
    const numbers = (r: Record<string, { data: unknown }>, name: string) =>
      readFileSync(join(tmp, name, "report", (r.report!.data as { json: string }).json), "utf8")
    expect(numbers(b, "second")).toBe(numbers(a, "first"))
    const onBase = Schema.decodeUnknownSync(ProbeReport)(a.report!.data).findings
    expect(onBase).toHaveLength(4)
    for (const f of onBase) expect(f.figure).toMatch(/^base \(/)

    // a stage stopped during the base's last literature check: its readings and the checks it
    // finished are kept beside the memo, and the next stage measures only what is missing
    const memos = join(tmp, "store", "work", "probe-readings")
    expect(readdirSync(memos).filter((f) => f.endsWith(".parts"))).toEqual([])
    const baseMemo = readdirSync(memos)
      .map((f) => join(memos, f))
      .find((f) => JSON.parse(readFileSync(f, "utf8")).findings.length > 0)!
    const kept = JSON.parse(readFileSync(baseMemo, "utf8"))
    const parts = baseMemo.replace(/\.json$/, ".parts")
    mkdirSync(parts)
    writeFileSync(join(parts, "measure.json"), JSON.stringify(kept.measure))
    writeFileSync(join(parts, "word-nonword.json"), JSON.stringify(kept.findings.slice(0, 2)))
    writeFileSync(join(parts, "english-pivot.json"), JSON.stringify(kept.findings.slice(2, 3)))
    rmSync(baseMemo)
    const third: Array<string> = []
    const c = await withStore(again("third"), third)
    expect(third.filter((l) => /from a stopped probe stage/.test(l))).toEqual([
      expect.stringMatching(/base .*readings kept from a stopped probe stage/),
      expect.stringMatching(/literature check word-nonword kept/),
      expect.stringMatching(/literature check english-pivot kept/)
    ])
    expect(numbers(c, "third")).toBe(numbers(a, "first"))
    expect(existsSync(parts)).toBe(false)
    expect(existsSync(baseMemo)).toBe(true)
  })

  it("a probe stage per version: its id, its inputs and a report folder of its own", () => {
    const s = probeStageFor({ model: { stage: "control", output: "model" } })
    expect(s.id).toBe("probe-control")
    expect(s.inputs.model).toEqual({ stage: "control", output: "model" })
    expect(s.inputs.base).toEqual({ stage: "models", output: "model" })
    expect(s.exports).toEqual([{ output: "report", file: "report.html", to: "probe/control/index.html" }])
  })
})

describe("on SmolLM2-135M", () => {
  const missing = smollmMissing()
  it("assembles the phrase's state: fused and phrase converge at the top, and the text view has a row per layer", async (ctx) => {
    if (missing) return ctx.skip(missing)
    const { loadModel } = await import("@hyperwords/models/Model")
    const model = await loadModel(smollmDir)
    const m = await measureItems(
      model,
      [
        {
          id: "en:warm+purring+lap",
          surface: "warmpurringlap",
          parts: ["warm", "purring", "lap"],
          lang: "en"
        }
      ],
      { seed: 1, conditions: ["fused", "phrase"], batchSize: 2 }
    )
    const it = m.items[0]!
    expect(m.numLayers).toBe(30)
    expect(it.assemblyPhrase[30]!).toBeGreaterThan(0.5)
    expect(it.conditions.fused.norm[30]!).toBeGreaterThan(it.conditions.fused.norm[1]!)
    const view = textView(m)
    expect(view.split("\n")).toHaveLength(2 + 31)
  })
})
