import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { EvalRun, Generations } from "@hyperwords/core/Artifacts"
import { Progress } from "@hyperwords/core/Progress"
import type { LoadedArtifact, StageContext } from "@hyperwords/core/Stage"
import { Store } from "@hyperwords/core/Store"
import { Effect, Layer, Schema } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import {
  batchesOf,
  cleanAnswer,
  type EvaluateParams,
  evaluateStage,
  experimentFields,
  jobsOf,
  readDone,
  sampleSeed
} from "../src/EvaluateStage.ts"
import {
  builtinPromptSet,
  loadPromptSet,
  PromptSet,
  quotedInTraining,
  quotedLines,
  tasks
} from "../src/PromptSet.ts"
import { failing, good } from "./fixtures/metrics.ts"

const tmp = join(import.meta.dirname, ".tmp", "evaluate")
const repoDir = join(import.meta.dirname, "..", "..", "..")
const bridgeFixture = join(repoDir, "packages", "models", "test", "fixtures", "bridge.ts")

interface BridgeFixture {
  readonly bridgeMissing: () => string | undefined
  readonly tinyModel: (arch: "llama" | "gemma3_text") => Promise<string>
}
const fixture = () => import(pathToFileURL(bridgeFixture).href) as Promise<BridgeFixture>

const artifact = (data: unknown, files: Record<string, string> = {}): LoadedArtifact => ({
  hash: "0".repeat(64),
  manifest: {} as LoadedArtifact["manifest"],
  data,
  file: (p) => files[p] ?? join(tmp, p)
})

const version = (name: string, dir: string, extra: Record<string, unknown> = {}) => ({
  schemaVersion: 1,
  name,
  model: { id: name, revision: "test" },
  architecture: "llama",
  source: { kind: "local", detail: dir },
  dir,
  files: {},
  ...extra
})

const promptSet = {
  id: "test",
  version: "1",
  prompts: [
    {
      id: "en-a",
      lang: "en",
      task: "describe-image",
      request: "warm soft",
      prompt: "Sensations: warm, soft.\n"
    },
    { id: "ru-a", lang: "ru", task: "continue-line", prompt: "Люблю грозу в начале мая,\n" },
    { id: "en-b", lang: "en", task: "ten-words", prompt: "Ten nouns:\n1." }
  ]
}

describe("the prompt set", () => {
  it("ships a versioned set in Russian and English covering every task", async () => {
    const set = await Effect.runPromise(loadPromptSet())
    expect(set.file).toBe(builtinPromptSet)
    expect(set.sha256).toMatch(/^[0-9a-f]{64}$/)
    for (const task of tasks) {
      for (const lang of ["ru", "en"]) {
        expect(
          set.set.prompts.some((p) => p.task === task && p.lang === lang),
          `${task} ${lang}`
        ).toBe(true)
      }
    }
    expect(set.set.prompts.filter((p) => p.task === "describe-image").every((p) => p.request)).toBe(true)
  })

  it("names the file on a bad set and on a duplicate id", async () => {
    mkdirSync(tmp, { recursive: true })
    const dup = join(tmp, "dup.json")
    writeFileSync(
      dup,
      JSON.stringify({ ...promptSet, prompts: [promptSet.prompts[0], promptSet.prompts[0]] })
    )
    const e1 = await Effect.runPromise(Effect.flip(loadPromptSet(dup)))
    expect(e1.message).toContain(dup)
    expect(e1.message).toContain('"en-a" appears twice')
    const bad = join(tmp, "bad.json")
    writeFileSync(bad, '{"id": "x", "version": "1", "prompts": [{"id": "a"}]}')
    const e2 = await Effect.runPromise(Effect.flip(loadPromptSet(bad)))
    expect(e2.message).toContain(bad)
    writeFileSync(bad, "{not json")
    expect((await Effect.runPromise(Effect.flip(loadPromptSet(bad)))).message).toContain("not valid JSON")
  })
})

describe("the evaluate stage's prompt set", () => {
  it("takes an absolute promptSet path as it is, and a relative one from the project", () => {
    const stage = evaluateStage({
      id: "evaluate-x",
      model: { stage: "models", output: "model" },
      metrics: []
    })
    expect(stage.sources?.({ promptSet: "/elsewhere/prompts.json" } as never, "/project")).toEqual([
      "/elsewhere/prompts.json"
    ])
    expect(stage.sources?.({ promptSet: "sets/prompts.json" } as never, "/project")).toEqual([
      "/project/sets/prompts.json"
    ])
  })
})

describe("evaluate helpers", () => {
  it("gives every prompt × sample its own seed, the same for every version", async () => {
    mkdirSync(tmp, { recursive: true })
    const file = join(tmp, "set.json")
    writeFileSync(file, JSON.stringify(promptSet))
    const set = await Effect.runPromise(loadPromptSet(file))
    const jobs = jobsOf(set, { samples: 2, seed: 1 })
    expect(jobs.map((j) => j.id)).toEqual(["en-a#0", "en-a#1", "ru-a#0", "ru-a#1", "en-b#0", "en-b#1"])
    expect(new Set(jobs.map((j) => j.seed)).size).toBe(6)
    expect(jobsOf(set, { samples: 2, seed: 1 })).toEqual(jobs)
    expect(sampleSeed(2, "en-a", 0)).not.toBe(sampleSeed(1, "en-a", 0))
    expect(jobsOf(set, { samples: 1, seed: 1, tasks: ["ten-words"] }).map((j) => j.id)).toEqual(["en-b#0"])
    // more samples for one task: its first samples are the same jobs (same seeds), the others unchanged
    const more = jobsOf(set, { samples: 2, seed: 1, taskSamples: { "ten-words": 4 } })
    expect(more.filter((j) => j.prompt.task === "ten-words").map((j) => j.id)).toEqual([
      "en-b#0",
      "en-b#1",
      "en-b#2",
      "en-b#3"
    ])
    for (const j of jobs) expect(more).toContainEqual(j)
    expect(more.filter((j) => j.prompt.task !== "ten-words")).toEqual(
      jobs.filter((j) => j.prompt.task !== "ten-words")
    )
  })

  it("gives a task its own token budget, and batches only jobs of one budget together", async () => {
    mkdirSync(tmp, { recursive: true })
    const file = join(tmp, "set.json")
    writeFileSync(file, JSON.stringify(promptSet))
    const set = await Effect.runPromise(loadPromptSet(file))
    const plain = jobsOf(set, { samples: 2, seed: 1, maxNewTokens: 32 })
    expect(new Set(plain.map((j) => j.maxNewTokens))).toEqual(new Set([32]))
    expect(jobsOf(set, { samples: 1, seed: 1 })[0]!.maxNewTokens).toBe(48)
    const jobs = jobsOf(set, { samples: 2, seed: 1, maxNewTokens: 32, taskMaxNewTokens: { "ten-words": 72 } })
    expect(jobs.filter((j) => j.maxNewTokens === 72).map((j) => j.id)).toEqual(["en-b#0", "en-b#1"])
    // the same jobs otherwise: ids and seeds do not depend on the budget
    expect(jobs.map((j) => [j.id, j.seed])).toEqual(plain.map((j) => [j.id, j.seed]))
    const batches = batchesOf(jobs, 3)
    // four jobs of budget 32 need two batches of at most 3: two and two, the shorter prompt's first;
    // the budget of 72 (2 × 72 tokens against 2 × 32) goes first
    expect(batches.map((b) => b.map((j) => j.id))).toEqual([
      ["en-b#0", "en-b#1"],
      ["en-a#0", "en-a#1"],
      ["ru-a#0", "ru-a#1"]
    ])
    for (const b of batches) expect(new Set(b.map((j) => j.maxNewTokens)).size).toBe(1)
  })

  it("cuts each budget into batches for the workers, prompts of like length together, longest first", () => {
    const job = (id: string, chars: number, maxNewTokens: number) => ({
      id,
      maxNewTokens,
      prompt: { prompt: "x".repeat(chars) }
    })
    // interleaved lengths; two samples of one prompt (b#0, b#1) must stay side by side
    const jobs = [
      job("a", 90, 72),
      job("b#0", 10, 72),
      job("b#1", 10, 72),
      job("c", 80, 72),
      job("d", 20, 72),
      job("e", 50, 32),
      job("f", 5, 32),
      job("g", 40, 32)
    ]
    const ids = (bs: ReadonlyArray<ReadonlyArray<{ id: string }>>) => bs.map((b) => b.map((j) => j.id))
    // one worker: one batch per budget when it fits, its jobs by prompt length
    expect(ids(batchesOf(jobs, 16))).toEqual([
      ["b#0", "b#1", "d", "c", "a"],
      ["f", "g", "e"]
    ])
    // two workers: each budget in two batches, sizes within one, the 72-token ones first
    expect(ids(batchesOf(jobs, 16, 2))).toEqual([["d", "c", "a"], ["b#0", "b#1"], ["g", "e"], ["f"]])
    // a size cap still holds, and each job is in exactly one batch
    const capped = batchesOf(jobs, 2, 2)
    expect(capped.every((b) => b.length <= 2)).toBe(true)
    expect(
      capped
        .flat()
        .map((j) => j.id)
        .sort()
    ).toEqual(jobs.map((j) => j.id).sort())
    // three batches of at most 2 become four for two workers: none is left a batch more at the end
    const five = batchesOf(jobs.slice(0, 5), 2, 2)
    expect(five.map((b) => b.length).sort()).toEqual([1, 1, 1, 2])
    // more workers than jobs: a batch per job, never an empty one
    expect(batchesOf([job("z", 1, 8)], 16, 4)).toEqual([[job("z", 1, 8)]])
  })

  it("keeps the answers of a stopped run and drops a torn last line", () => {
    mkdirSync(tmp, { recursive: true })
    const file = join(tmp, "partial.jsonl")
    writeFileSync(
      file,
      `${JSON.stringify({ id: "en-a#0", promptId: "en-a", text: "warm fur" })}\n{"id": "en-a#1", "promp`
    )
    expect(readDone(file).map((r) => r.id)).toEqual(["en-a#0"])
    expect(readDone(join(tmp, "absent.jsonl"))).toEqual([])
  })

  it("cuts an answer at a run of blank lines", () => {
    expect(cleanAnswer("  warm fur\nsoft paw\n\n\n\nunrelated page text")).toBe("warm fur\nsoft paw")
    expect(cleanAnswer("one\n\ntwo")).toBe("one\n\ntwo")
  })
})

describe("the experiment fields of an EvalRun", () => {
  it("take arm, experiment and the held-out poetry from the training record", () => {
    const fields = experimentFields(
      {
        arm: "control",
        experiment: "finetune",
        bpb_base: 9,
        bpb_tuned: 9,
        heldout_poetry: {
          bpb_base: 2.0,
          bpb_tuned: 2.08,
          bpb_base_ci: [1.95, 2.05],
          bpb_tuned_ci: [2.03, 2.13],
          ratio: 1.04,
          ratio_ci: [1.01, 1.07],
          docs: 18,
          lines: 412,
          bytes: 15873
        }
      },
      true
    )
    expect(fields).toEqual({
      arm: "control",
      experiment: "finetune",
      heldOut: {
        bitsPerByte: 2.08,
        baseBitsPerByte: 2.0,
        bitsPerByteCi: [2.03, 2.13],
        baseBitsPerByteCi: [1.95, 2.05],
        ratio: 1.04,
        ratioCi: [1.01, 1.07],
        docs: 18,
        lines: 412,
        bytes: 15873,
        source: "poetry"
      }
    })
    expect(
      Schema.decodeUnknownSync(EvalRun)({
        schemaVersion: 1,
        model: { id: "m", revision: "r" },
        generations: "x",
        metrics: [],
        file: "scores.jsonl",
        ...fields
      }).heldOut?.ratioCi
    ).toEqual([1.01, 1.07])
  })

  it("take a superwords arm and the held-out tokens per byte, base and tuned", () => {
    const fields = experimentFields(
      {
        arm: "superwords",
        experiment: "finetune",
        heldout_poetry: { bpb_base: 2.0, bpb_tuned: 2.02, docs: 18 },
        tokens_per_byte: { base: 0.3, tuned: 0.27, saved: 0.1, added_token_targets: 40 }
      },
      true
    )
    expect(fields).toEqual({
      arm: "superwords",
      experiment: "finetune",
      heldOut: {
        bitsPerByte: 2.02,
        baseBitsPerByte: 2.0,
        docs: 18,
        tokensPerByte: 0.27,
        baseTokensPerByte: 0.3,
        source: "poetry"
      }
    })
    expect(
      Schema.decodeUnknownSync(EvalRun)({
        schemaVersion: 1,
        model: { id: "m", revision: "r" },
        generations: "x",
        metrics: [],
        file: "scores.jsonl",
        ...fields
      }).heldOut?.tokensPerByte
    ).toBe(0.27)
  })

  it("keep the older bpb fields, call a version with no training and no base the base, and leave out what is malformed", () => {
    expect(experimentFields({ bpb_base: 3.2, bpb_tuned: 3.1 }, true)).toEqual({
      heldOut: { bitsPerByte: 3.1, baseBitsPerByte: 3.2 }
    })
    expect(experimentFields(undefined, false)).toEqual({ arm: "base" })
    expect(experimentFields(undefined, true)).toEqual({})
    expect(
      experimentFields(
        {
          arm: "sham",
          experiment: 3,
          heldout_poetry: { bpb_tuned: 2, bpb_tuned_ci: [1, "x"], ratio: Number.NaN, docs: 1.5, lines: -1 }
        },
        true
      )
    ).toEqual({ heldOut: { bitsPerByte: 2, source: "poetry" } })
  })
})

describe("quoted lines and the poetry split", () => {
  const trainDocs = [
    { doc: "ru#tyutchev", lang: "ru" as const, lines: [{ line: 1, text: "Люблю грозу в начале мая," }] },
    { doc: "en#other", lang: "en" as const, lines: [{ line: 1, text: "a line of another poem" }] }
  ]

  it("quotedLines gives the built-in set's continue-the-line lines; quotedInTraining finds those in a training document", () => {
    const lines = quotedLines()
    expect(lines).toContain("I wandered lonely as a cloud")
    expect(lines).toContain("Люблю грозу в начале мая,")
    const set = Schema.decodeUnknownSync(PromptSet)(promptSet)
    expect(quotedInTraining(set, trainDocs)).toEqual([
      { prompt: "ru-a", line: "Люблю грозу в начале мая,", doc: "ru#tyutchev" }
    ])
    expect(quotedInTraining(set, trainDocs.slice(1))).toEqual([])
  })

  it("the stage refuses to ask a prompt that continues a training document, naming the prompt and the document", async () => {
    mkdirSync(tmp, { recursive: true })
    writeFileSync(join(tmp, "set-quoted.json"), JSON.stringify(promptSet))
    writeFileSync(join(tmp, "train.jsonl"), trainDocs.map((d) => JSON.stringify(d)).join("\n"))
    writeFileSync(join(tmp, "heldout.jsonl"), "")
    const split = {
      schemaVersion: 1,
      train: "train.jsonl",
      heldout: "heldout.jsonl",
      fraction: 0.1,
      seed: 1,
      counts: {
        docs: 2,
        groups: 2,
        trainDocs: 2,
        heldoutDocs: 0,
        trainLines: 2,
        heldoutLines: 0,
        duplicateLines: 0,
        droppedHeldoutLines: 0,
        pinnedDocs: 0
      },
      byLang: {}
    }
    const context: StageContext<EvaluateParams> = {
      stage: "evaluate",
      params: { promptSet: "set-quoted.json" },
      inputs: {
        model: artifact(version("tuned", join(tmp, "none"))),
        judge: artifact(version("judge", join(tmp, "none"))),
        hyperwords: artifact({ file: "poem_hyperwords.jsonl" }),
        poetry: artifact(split)
      },
      outputDir: (name: string) => join(tmp, "out-quoted", name),
      projectDir: tmp,
      key: "k".repeat(64)
    } as unknown as StageContext<EvaluateParams>
    const got = await Effect.runPromise(
      Effect.flip(
        evaluateStage({ metrics: [good] }).run!(context).pipe(
          Effect.provide(Layer.mergeAll(Progress.silent, Store.layer(join(tmp, "store"))))
        ) as Effect.Effect<unknown, Error>
      )
    )
    expect(String(got.message)).toMatch(
      /prompt ru-a quotes "Люблю грозу в начале мая," from ru#tyutchev, a training document/
    )
  })
})

describe("the evaluate stage", async () => {
  const missing = existsSync(bridgeFixture)
    ? (await fixture()).bridgeMissing()
    : `no fixture at ${bridgeFixture}`
  afterAll(() => rmSync(tmp, { recursive: true, force: true }))

  const run = (context: StageContext<EvaluateParams>, metrics = [good, failing]) =>
    Effect.runPromise(
      evaluateStage({ metrics }).run!(context).pipe(
        Effect.provide(Layer.mergeAll(Progress.silent, Store.layer(join(tmp, "store"))))
      ) as Effect.Effect<Record<string, { data: unknown }>>
    )

  it("answers every prompt, scores every answer, keeps a failed metric's reason, and resumes a stopped run", async (ctx) => {
    if (missing) return ctx.skip(missing)
    const { tinyModel } = await fixture()
    const [tuned, judge] = [await tinyModel("llama"), await tinyModel("gemma3_text")]
    mkdirSync(tmp, { recursive: true })
    const setFile = join(tmp, "set.json")
    writeFileSync(setFile, JSON.stringify(promptSet))
    const jsonl = join(tmp, "poem_hyperwords.jsonl")
    writeFileSync(jsonl, `${JSON.stringify({ surface: "warmsoft" })}\n`)
    const out = join(tmp, "out")
    const context: StageContext<EvaluateParams> = {
      stage: "evaluate",
      params: { promptSet: "set.json", samples: 2, maxNewTokens: 6, batchSize: 4 },
      inputs: {
        model: artifact(
          version("tiny-tuned", tuned, {
            base: { id: "tiny-base", revision: "test" },
            training: { bpb_base: 3.2, bpb_tuned: 3.1 }
          })
        ),
        judge: artifact(version("tiny-judge", judge)),
        hyperwords: artifact({ file: "poem_hyperwords.jsonl" }, { "poem_hyperwords.jsonl": jsonl })
      },
      outputDir: (o) => {
        const d = join(out, o)
        mkdirSync(d, { recursive: true })
        return d
      },
      runId: "test",
      key: "a".repeat(64),
      reportsDir: join(tmp, "reports"),
      projectDir: tmp
    }
    // A stopped run left one answer behind: it is kept, not asked again.
    const work = join(tmp, "store", "work", "evaluate", "a".repeat(32))
    mkdirSync(work, { recursive: true })
    const kept = {
      id: "ru-a#1",
      promptId: "ru-a",
      prompt: "x",
      text: "kept from before",
      lang: "ru",
      task: "continue-line"
    }
    appendFileSync(join(work, "generations.jsonl"), `${JSON.stringify(kept)}\n`)

    const result = await run(context)
    const generations = Schema.decodeUnknownSync(Generations)(result.generations!.data)
    expect(generations.samples).toBe(6)
    expect(generations.promptSet.id).toBe("test")
    const lines = readFileSync(join(out, "generations", "generations.jsonl"), "utf8")
      .trim()
      .split("\n")
    const records = lines.map((l) => JSON.parse(l))
    expect(records.map((r) => r.id)).toEqual(["en-a#0", "en-a#1", "ru-a#0", "ru-a#1", "en-b#0", "en-b#1"])
    expect(records.find((r) => r.id === "ru-a#1").text).toBe("kept from before")
    expect(records[0].request).toBe("warm soft")
    expect(records[0].seed).not.toBe(records[1].seed)

    const evalRun = Schema.decodeUnknownSync(EvalRun)(result.scores!.data)
    expect(evalRun.name).toBe("tiny-tuned")
    expect(evalRun.judge?.id).toBe("tiny-judge")
    expect(evalRun.heldOut).toEqual({ bitsPerByte: 3.1, baseBitsPerByte: 3.2 })
    const byName = new Map(evalRun.metrics.map((m) => [m.name, m]))
    expect(byName.get("chars")?.status).toBe("ok")
    expect(byName.get("chars")?.n).toBe(6)
    expect(byName.get("fails")?.status).toBe("failed")
    expect(byName.get("fails")?.reason).toBeTruthy()
    const rows = readFileSync(join(out, "scores", "scores.jsonl"), "utf8")
      .trim()
      .split("\n")
    expect(rows).toHaveLength(6)
    expect(JSON.parse(rows[3]!).scores.chars).toBe("kept from before".length)
  })
})
