import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Harness, Metric } from "@hyperwords/eval"
import { Effect } from "effect"
import hyperwordUsage from "../src/index.ts"

const texts = [
  { id: "1", text: "The cat, кошкашлавкусноесть, sleeps", lang: "ru" as const },
  { id: "2", text: "Warmpurringlapatdusk warmpurringlapatdusk", lang: "en" as const },
  { id: "3", text: "no images here", lang: "en" as const },
  { id: "4", text: " … ", lang: "en" as const }
]

describe("metric hyperword-usage", () => {
  it.live("scores the share of fused hyperwords and the coverage of the set", () =>
    Effect.gen(function* () {
      const loaded = yield* Metric.loadMetric(
        hyperwordUsage.with({ hyperwords: ["кошкашлавкусноесть", "warmpurringlapatdusk", "rainonroof"] })
      )
      const col = yield* Harness.runMetric(loaded, texts, { seed: 1 })
      expect(col.status, col.reason).toBe("ok")
      expect(col.samples.map((s) => s.score)).toEqual([1 / 4, 1, 0, null])
      expect(col.samples[0]!.details).toEqual({ hyperwords: 1, words: 4, used: ["кошкашлавкусноесть"] })
      expect(col.corpus).toEqual({ score: 2 / 3, distinct: 2, set: 3, rate: 3 / 9 })
    })
  )

  it.live("reads the set from a poem_hyperwords.jsonl given by the caller", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "hw-usage-"))
      const file = join(dir, "poem_hyperwords.jsonl")
      writeFileSync(
        file,
        `${JSON.stringify({ id: "ru:x", surface: "кошкашлавкусноесть", lang: "ru", parts: ["кошка", "шла", "вкусно", "есть"] })}\n`
      )
      const loaded = yield* Metric.loadMetric(hyperwordUsage)
      const col = yield* Harness.runMetric(loaded, texts.slice(0, 1), { seed: 1, hyperwordsFile: file })
      rmSync(dir, { recursive: true })
      expect(col.samples[0]!.score).toBe(0.25)
    })
  )

  it.live("fails its column with a clear reason when there is no set", () =>
    Effect.gen(function* () {
      const loaded = yield* Metric.loadMetric(hyperwordUsage)
      const col = yield* Harness.runMetric(loaded, texts, { seed: 1 })
      expect(col.status).toBe("failed")
      expect(col.reason).toMatch(/NoHyperwordSet: no hyperword set/)
    })
  )

  it.live(
    "scores every degenerate answer 0, below a human answer, and leaves out hyperwords the prompt gave",
    () =>
      Effect.gen(function* () {
        const prompt =
          "A hyperword fuses a whole image into one word: catwenttastyeat, warmpurringlapatdusk, rainonhotstone.\nMore hyperwords:\n"
        const answer = { lang: "en" as const, task: "invent-words", prompt }
        // Written for this test: a person's answer, one new hyperword in a sentence.
        const human = "My grandmother's kitchen was all kettlesighbeforedawn and flour on the sill."
        const cases = {
          human,
          "echo of the prompt": prompt,
          "one line repeated": Array.from({ length: 6 }, () => "kettlesighbeforedawn in the kitchen").join(
            "\n"
          ),
          "example list copied": "catwenttastyeat, warmpurringlapatdusk, rainonhotstone",
          "random nouns": "anchor, fungus, spoon, violin, gravel, sermon, ladder",
          empty: "",
          "one word": "kettlesighbeforedawn",
          "other language": "Кошкашлавкусноесть и чайниквздыхаетдоутра на кухне у бабушки.",
          loop: Array.from({ length: 10 }, () => "kettlesighbeforedawn and the").join(" ")
        }
        const loaded = yield* Metric.loadMetric(
          hyperwordUsage.with({
            hyperwords: ["kettlesighbeforedawn", "catwenttastyeat", "warmpurringlapatdusk", "rainonhotstone"]
          })
        )
        const col = yield* Harness.runMetric(
          loaded,
          Object.entries(cases).map(([id, text]) => ({ id, text, ...answer })),
          { seed: 1 }
        )
        expect(col.status, col.reason).toBe("ok")
        const [humanScore, ...degenerate] = col.samples
        expect(humanScore!.score).toBeGreaterThan(0)
        for (const d of degenerate) {
          expect(d.score, d.id).toBe(0)
          expect(d.score!, d.id).toBeLessThan(humanScore!.score!)
        }
        expect(col.samples.find((s) => s.id === "loop")!.details!.degenerate).toBe("loop")
        expect(col.corpus).toMatchObject({ distinct: 1, set: 4 })
      })
  )
})
