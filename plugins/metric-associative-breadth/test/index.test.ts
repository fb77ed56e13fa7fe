import { existsSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Harness, Metric, Stats } from "@hyperwords/eval"
import { embedCutLayers, resolveModelDir } from "@hyperwords/eval/Sdk"
import { auc, spearman } from "@hyperwords/eval/Stats"
import { Effect } from "effect"
import associativeBreadth, {
  answerWords,
  type BreadthScorer,
  Dat,
  Dictionary,
  defaultLayer,
  degenerateScore,
  scoreSample
} from "../src/index.ts"
import { answerAsSample, readHumanAnswers, tenWordsPrompt } from "../src/Validation.ts"

const nouns = Dictionary.dictionaryOf("fixture", [
  "cat",
  "dog",
  "thimble",
  "cul-de-sac",
  "hippo",
  "jumper",
  "machinery",
  "prickle",
  "tickets",
  "tomato",
  "violin",
  "arm"
])

describe("the judge's layer", () => {
  it("is one the model folders cut their embedding graph after, so it reads no deeper", () => {
    for (const layers of [18, 30]) expect(embedCutLayers(layers)).toContain(defaultLayer)
  })
})

describe("DAT word validation (reference dat.py)", () => {
  it("strips, lowercases, joins compounds and drops one-letter words", () => {
    expect(Dat.validateWord("  Cat! ", nouns)).toBe("cat")
    expect(Dat.validateWord("cul de sac", nouns)).toBe("cul-de-sac")
    expect(Dat.validateWord("x", nouns)).toBeUndefined()
    expect(Dat.validateWord("unicorn", nouns)).toBeUndefined()
  })

  it("takes the first seven unique valid words, reading through a model's preamble", () => {
    const text =
      "Here are ten words: hippo, jumper, Hippo, unicorn\n1. machinery 2. prickle 3. tickets\ntomato, violin, arm"
    expect(Dat.firstValidWords(Dat.answerEntries(text), nouns)).toEqual([
      "hippo",
      "jumper",
      "machinery",
      "prickle",
      "tickets",
      "tomato",
      "violin"
    ])
  })

  it("reads words inside markup tags as words, and the tags as nothing", () => {
    const text =
      "<em>hippo</em>, <strong>jumper</strong>\n2. <em>machinery</em> <b>prickle</b>, tickets<br/>tomato, violin"
    expect(Dat.firstValidWords(Dat.answerEntries(text), nouns)).toEqual([
      "hippo",
      "jumper",
      "machinery",
      "prickle",
      "tickets",
      "tomato",
      "violin"
    ])
    expect(Dat.firstValidWords(Dat.answerEntries("<em>my eye</em>"), Dictionary.wordnetNouns())).toEqual([
      "eye"
    ])
  })

  it("scores mean pairwise cosine distance × 100", () => {
    expect(
      Dat.datScore([
        [1, 0],
        [0, 1]
      ])
    ).toBeCloseTo(100)
    expect(
      Dat.datScore([
        [1, 0],
        [2, 0],
        [3, 0]
      ])
    ).toBeCloseTo(0)
    expect(
      Dat.datScore([
        [1, 0],
        [-1, 0]
      ])
    ).toBeCloseTo(200)
    expect(
      Dat.datScore([
        [1, 0],
        [1, 1]
      ])
    ).toBeCloseTo((1 - Math.SQRT1_2) * 100)
  })

  it("standardises over a reference so a shared offset does not hide differences", () => {
    const ref = [
      [100, 1],
      [100, -1],
      [101, 0],
      [99, 0]
    ]
    const z = Dat.standardiser(ref)
    expect(
      Dat.datScore([
        [100, 1],
        [100, -1]
      ])
    ).toBeLessThan(1)
    expect(Dat.datScore([z.apply([100, 1]), z.apply([100, -1])])).toBeCloseTo(200)
  })

  it("draws distinct control words with a seeded generator", () => {
    const a = Dat.drawWords(nouns.words, 7, Stats.makeRng(3))
    expect(new Set(a).size).toBe(7)
  })

  it("accepts regular plurals of WordNet nouns in the bundled dictionary", () => {
    const wn = Dictionary.wordnetNouns()
    expect(wn.has("thimble") && wn.has("tickets") && wn.has("berries")).toBe(true)
    expect(wn.has("quickly")).toBe(false)
  })
})

describe("breadth of degenerate answers", () => {
  const examples = [
    "carpet",
    "galaxy",
    "whisker",
    "democracy",
    "spoon",
    "volcano",
    "lullaby",
    "anchor",
    "fungus",
    "algebra"
  ]
  const dictionary = Dictionary.dictionaryOf("fixture", [
    ...nouns.words,
    ...examples,
    "moss",
    "sermon",
    "ladder"
  ])
  const prompt = `Ten nouns as different from each other as possible:\n${examples.join(", ")}\n\nTen other nouns as different from each other as possible:\n`
  const asked = { lang: "en" as const, task: "ten-words", prompt }
  // A fixture space: each word a fixed pseudo-random direction in 16 dimensions.
  const vector = (w: string) => {
    const rng = Stats.makeRng([...w].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7))
    return Array.from({ length: 16 }, () => rng() - 0.5)
  }
  const scorer: BreadthScorer = {
    layer: 0,
    pool: dictionary.words,
    scoreMany: async (lists) => lists.map((l) => Dat.datScore(l.map(vector))),
    score: async (words) => Dat.datScore(words.map(vector))
  }
  // Written for these tests: a person's answer.
  const human = "hippo, jumper, machinery, prickle, tickets, tomato, violin, moss, sermon, ladder"

  it("skips the words of the prompt's example list", () => {
    const copied = { id: "x", text: `carpet, galaxy, ${human}`, ...asked }
    expect(Dat.firstValidWords(Dat.answerEntries(copied.text), dictionary)).toContain("carpet")
    expect(answerWords(copied, dictionary)).toEqual([
      "hippo",
      "jumper",
      "machinery",
      "prickle",
      "tickets",
      "tomato",
      "violin"
    ])
  })

  it("puts every degenerate answer at 0, below a human answer", async () => {
    const run = (text: string) =>
      Effect.runPromise(scoreSample({ id: "x", text, ...asked }, {}, () => Effect.succeed(scorer), 1))
    const h = (await run(human)) as { score: number }
    expect(h.score).toBeGreaterThan(50)
    const cases = {
      "echo of the prompt": prompt,
      "one line repeated": Array.from({ length: 8 }, () => "hippo, jumper").join("\n"),
      "example list copied": examples.join(", "),
      empty: "",
      "one word": "hippo",
      "other language": "бегемот, джемпер, машина, колючка, билет, помидор, скрипка",
      loop: Array.from({ length: 12 }, () => "hippo jumper tomato").join(" ")
    }
    for (const [name, text] of Object.entries(cases)) {
      const s = (await run(text)) as { score: number; degenerate: string }
      expect(s.score, name).toBe(degenerateScore)
      expect(s.score, name).toBeLessThan(h.score)
    }
  })
})

describe("validation statistics", () => {
  it("computes Spearman with ties and AUC", () => {
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 40])).toBeCloseTo(1)
    expect(spearman([1, 2, 2, 3], [3, 2, 2, 1])).toBeCloseTo(-1)
    expect(auc([3, 4], [1, 2])).toBe(1)
    expect(auc([1, 2], [1, 2])).toBe(0.5)
  })

  it("takes a human answer as an answer to the prompt set's ten-words prompt", () => {
    const prompt = tenWordsPrompt()
    expect(prompt).toMatch(/^Ten nouns as different from each other as possible:\ncarpet, galaxy/)
    const a = answerAsSample({ id: "7", words: ["hippo", "jumper"], dat: 80 }, prompt)
    expect(a).toEqual({ id: "dat-7", text: "hippo, jumper", lang: "en", task: "ten-words", prompt })
  })

  it("reads human answers, leaving out those without a score", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs")
    const { tmpdir } = await import("node:os")
    const dir = mkdtempSync(join(tmpdir(), "dat-"))
    const file = join(dir, "answers.tsv")
    const words = (ws: string) => ws.split(" ").join("\t")
    writeFileSync(
      file,
      `id\tage\tdat\tword.1\tword.2\tword.3\tword.4\tword.5\tword.6\tword.7\tword.8\tword.9\tword.10\n` +
        `a\t30\t81.5\t${words("cat dog hippo jumper machinery prickle tickets tomato violin arm")}\n` +
        `b\t30\tNA\t${words("cat dog hippo jumper machinery prickle tickets tomato violin NA")}\n`
    )
    const rows = readHumanAnswers(file)
    expect(rows).toHaveLength(1)
    expect(rows[0]!.dat).toBe(81.5)
    expect(rows[0]!.words).toHaveLength(10)
    ;(await import("node:fs")).rmSync(dir, { recursive: true, force: true })
  })
})

describe("metric associative-breadth", () => {
  it.live(
    "fails its column with the reason when no answer has seven valid words, without loading a model",
    () =>
      Effect.gen(function* () {
        const loaded = yield* Metric.loadMetric(associativeBreadth.with({ model: "no-such-model" }))
        expect(loaded.isolation).toBe("child-process")
        const col = yield* Harness.runMetric(loaded, [{ id: "a", text: "cat, dog", task: "ten-words" }], {
          seed: 1
        })
        expect(col.status, col.reason).toBe("failed")
        expect(col.reason).toMatch(/TooFewWords/)
      })
  )

  const smol = join(resolveModelDir("smollm2-135m"), "onnx", "probe.json")
  it.live.skipIf(!existsSync(smol))(
    "scores an answer on smollm2-135m with a random-noun control beside it (skipped: no smollm2-135m model folder)",
    () =>
      Effect.gen(function* () {
        const loaded = yield* Metric.loadMetric(
          associativeBreadth.with({ model: "smollm2-135m", referenceSize: 200, controls: 2 })
        )
        const col = yield* Harness.runMetric(
          loaded,
          [
            { id: "low", text: "arm, eyes, foot, hand, head, leg, body", task: "ten-words" },
            {
              id: "high",
              text: "hippo, jumper, machinery, prickle, tickets, tomato, violin",
              task: "ten-words"
            },
            { id: "poem", text: "a poem, not a list", task: "continue-line" }
          ],
          { seed: 1 }
        )
        expect(col.status, col.reason).toBe("ok")
        const [low, high, poem] = col.samples
        expect(poem!.score).toBeNull()
        expect(high!.score!).toBeGreaterThan(low!.score!)
        expect(Number.isFinite(high!.details!.control)).toBe(true)
        expect(col.corpus!.scored).toBe(2)
      })
  )

  it.live.skipIf(!existsSync(smol))(
    "leaves out copied example words and scores a copied example list 0 on smollm2-135m (skipped: no smollm2-135m model folder)",
    () =>
      Effect.gen(function* () {
        const prompt =
          "Ten nouns as different from each other as possible:\ncarpet, galaxy, whisker, democracy, spoon, volcano, lullaby, anchor, fungus, algebra\n\nTen other nouns as different from each other as possible:\n"
        const asked = { lang: "en" as const, task: "ten-words", prompt }
        const loaded = yield* Metric.loadMetric(
          associativeBreadth.with({ model: "smollm2-135m", referenceSize: 200, controls: 2 })
        )
        const col = yield* Harness.runMetric(
          loaded,
          [
            {
              id: "mixed",
              text: "carpet, galaxy, hippo, jumper, machinery, prickle, tickets, tomato, violin",
              ...asked
            },
            {
              id: "copied",
              text: "carpet, galaxy, whisker, democracy, spoon, volcano, lullaby, anchor, fungus, algebra",
              ...asked
            }
          ],
          { seed: 1 }
        )
        expect(col.status, col.reason).toBe("ok")
        const [mixed, copied] = col.samples
        expect(mixed!.details!.words).toEqual([
          "hippo",
          "jumper",
          "machinery",
          "prickle",
          "tickets",
          "tomato",
          "violin"
        ])
        expect(copied!.score).toBe(0)
        expect(copied!.score!).toBeLessThan(mixed!.score!)
        expect(col.corpus).toMatchObject({ scored: 1, degenerate: 1 })
      })
  )
})
