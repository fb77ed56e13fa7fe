/**
 * The packages as a user gets them: build, `pnpm pack` every publishable package, install the
 * tarballs into a project outside the workspace (its own `pipeline.config.ts` and a metric plugin
 * of its own on `@hyperwords/eval/Sdk`), and run the published `hyperwords` bin on plain Node:
 * `--help`, `score` with the outside plugin, then `models import` of a tiny random Llama and a
 * quick pipeline (generate, a fine-tune, evaluate base and tuned, the leaderboard) whose board has
 * the outside plugin's column. The installed bridge runs the workspace's venv python
 * (`HYPERWORDS_PYTHON`); without that venv the pipeline part skips.
 * Third-party dependencies come from the local pnpm store (`--offline`; when the store has no
 * registry metadata for them, `--prefer-offline` reads it from the registry and still takes the
 * files from the store). `HYPERWORDS_SKIP_PACK=1` skips the test.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { delimiter, dirname, join, resolve } from "node:path"
import { afterAll, describe, expect, it } from "vitest"

const root = resolve(import.meta.dirname, "..", "..", "..")
const workspacePackages = ["packages", "plugins"].flatMap((d) =>
  readdirSync(join(root, d))
    .map((name) => join(root, d, name))
    .filter((dir) => existsSync(join(dir, "package.json")))
    .filter((dir) => JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).private !== true)
)

const run = (cmd: string, args: ReadonlyArray<string>, cwd: string, env: NodeJS.ProcessEnv = {}) => {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: "utf8",
    env: {
      ...process.env,
      PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}`,
      ...env
    },
    timeout: 600_000
  })
  return { code: r.status, out: r.stdout ?? "", err: `${r.stderr ?? ""}${r.error?.message ?? ""}` }
}

const plugin = `import { Degenerate, defineMetric } from "@hyperwords/eval"
import { contentWords, detectLang } from "@hyperwords/eval/Sdk"
import { Effect, Schema } from "effect"

/** The share of a text's words that are content words. */
export const contentShare = defineMetric({
  name: "content-share",
  version: "0.1.0",
  apiVersion: 2,
  description: "share of a text's words that are content words",
  config: Schema.Struct({}),
  module: import.meta.url,
  sample: (input) =>
    Effect.sync(() => {
      if (Degenerate.degenerate(input) !== undefined) return { score: 0, degenerate: true }
      const lang = input.lang ?? detectLang(input.text)
      // the words as contentWords segments them, so the share is at most 1
      const words = [...new Intl.Segmenter(lang, { granularity: "word" }).segment(input.text)].filter((s) => s.isWordLike)
      if (words.length === 0) return null
      return { score: contentWords(input.text, lang).length / words.length }
    })
})
export default contentShare
`

/**
 * The outside project's pipeline: its imported model, the poetry given with --corpus, one
 * fine-tune, the base and the tuned version evaluated with its own metric and a shipped one, the
 * leaderboard. Everything comes from the installed packages' public exports.
 */
const config = `import { defineConfig } from "@hyperwords/core"
import { generateStage } from "@hyperwords/corpus"
import { evalCommands } from "@hyperwords/eval"
import { evaluateStage } from "@hyperwords/eval/EvaluateStage"
import { quotedLines } from "@hyperwords/eval/PromptSet"
import { reportStage } from "@hyperwords/eval/ReportStage"
import hyperwordUsage from "@hyperwords/metric-hyperword-usage"
import { Commands, FinetuneStage, ModelsStage } from "@hyperwords/train-bridge"
import contentShare from "./metrics/content-share.ts"

const metrics = [contentShare, hyperwordUsage]

export default defineConfig({
  store: ".hyperwords",
  reports: "reports",
  stages: [
    ModelsStage.modelsStage,
    generateStage,
    FinetuneStage.finetuneStage(),
    evaluateStage({ id: "evaluate-base", model: { stage: "models", output: "model" }, metrics }),
    evaluateStage({ id: "evaluate-finetune", model: { stage: "finetune", output: "model" }, metrics }),
    reportStage({ evaluations: ["evaluate-base", "evaluate-finetune"], metrics })
  ],
  params: ({ corpus }) => ({
    // imported with: hyperwords models import DIR --name tiny
    models: { model: "tiny" },
    generate: { corpus: [...corpus], pinned: quotedLines(), generated: 20, seed: 1 },
    finetune: { steps: 30 }
  }),
  profiles: {
    quick: {
      generate: { generated: 4 },
      // a random two-layer model trained 4 steps reads held-out poetry worse than before: the gate
      // that fails a fine-tune which hurt its base (default 1.02) is relaxed, the run is about the path
      finetune: { steps: 4, batchSize: 2, seqLen: 32, warmupSteps: 0, checkpointEvery: 4, maxBpbRatio: 10 },
      "evaluate-*": { samples: 1, maxNewTokens: 16, tasks: ["describe-image", "continue-line"] }
    }
  },
  commands: [Commands.modelsCommand, ...evalCommands({ metrics })]
})
`

const skip = process.env.HYPERWORDS_SKIP_PACK === "1"
const work = mkdtempSync(join(tmpdir(), "hyperwords-pack-"))
afterAll(() => rmSync(work, { recursive: true, force: true }))
const project = join(work, "project")
const bin = join(project, "node_modules", ".bin", "hyperwords")
let installed = false

// the workspace's bridge venv: the outside project's workers run it (HYPERWORDS_PYTHON)
const bridgePython = join(root, "packages", "train-bridge", "python", ".venv", "bin", "python")
const fixtures = join(root, "packages", "corpus", "test", "fixtures")

/** A leaderboard row as `leaderboard.json` has it (the fields read here). */
interface BoardRow {
  readonly name: string
  readonly arm: string
  readonly provenance: { readonly stage: string }
  readonly cells: Readonly<
    Record<string, { readonly status: string; readonly mean?: number; readonly n?: number }>
  >
}

describe.skipIf(skip)("the packed packages outside the workspace", () => {
  it("install from their tarballs; the bin runs with an outside plugin", { timeout: 900_000 }, () => {
    const build = run("pnpm", ["build"], root)
    expect(build.code, build.out + build.err).toBe(0)

    const tarballs = join(work, "tarballs")
    mkdirSync(tarballs)
    const deps: Record<string, string> = {}
    for (const dir of workspacePackages) {
      const packed = run("pnpm", ["pack", "--pack-destination", tarballs], dir)
      expect(packed.code, packed.out + packed.err).toBe(0)
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        name: string
        version: string
      }
      const file = join(tarballs, `${pkg.name.replace("@", "").replace("/", "-")}-${pkg.version}.tgz`)
      expect(existsSync(file), file).toBe(true)
      deps[pkg.name] = `file:${file}`
    }

    // What ships: compiled JavaScript with types, no tests, no TypeScript sources.
    const listing = execFileSync("tar", ["tzf", deps["@hyperwords/core"]!.slice(5)], { encoding: "utf8" })
    expect(listing).toContain("package/dist/index.js")
    expect(listing).toContain("package/dist/index.d.ts")
    expect(listing).toContain("package/dist/internal/bin.js")
    expect(listing).not.toMatch(/\.test\.|package\/src\/|package\/test\//)

    mkdirSync(join(project, "metrics"), { recursive: true })
    const effect = JSON.parse(readFileSync(join(root, "packages", "core", "package.json"), "utf8"))
      .dependencies.effect as string
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify(
        {
          name: "outside-project",
          private: true,
          type: "module",
          dependencies: { ...deps, effect },
          // the tarballs depend on each other by version: point those at the tarballs too
          pnpm: {
            overrides: deps,
            ignoredBuiltDependencies: ["node-llama-cpp", "onnxruntime-node", "protobufjs"]
          }
        },
        null,
        2
      )
    )
    writeFileSync(join(project, "metrics", "content-share.ts"), plugin)
    writeFileSync(join(project, "pipeline.config.ts"), config)
    writeFileSync(
      join(project, "texts.jsonl"),
      `${JSON.stringify({ id: "a", text: "the warm cat purrs on my lap at dusk" })}\n${JSON.stringify({ id: "b", text: "cold rain falls over the silent grey harbour" })}\n`
    )

    let install = run("pnpm", ["install", "--offline"], project)
    if (install.code !== 0) install = run("pnpm", ["install", "--prefer-offline"], project)
    expect(install.code, install.out + install.err).toBe(0)

    const help = run(bin, ["--help"], project)
    expect(help.code, help.out + help.err).toBe(0)
    expect(help.out).toContain("pipeline")
    expect(help.out).toContain("score")

    const score = run(bin, ["score", "--metric", "content-share", "--input", "texts.jsonl"], project)
    expect(score.code, score.out + score.err).toBe(0)
    const rows = score.out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { id: string; scores: Record<string, number> })
    expect(rows.map((r) => r.id)).toEqual(["a", "b"])
    for (const r of rows) expect(r.scores["content-share"]).toBeGreaterThan(0)
    installed = true
  })

  it.skipIf(!existsSync(bridgePython))(
    "runs a quick pipeline of its own: an imported model, a fine-tune, its own metric on the leaderboard",
    { timeout: 900_000 },
    () => {
      expect(installed, "the install above failed").toBe(true)
      // a tiny random Llama folder, as a researcher would bring one
      const tiny = join(work, "tiny-llama")
      const made = run(
        bridgePython,
        ["-m", "tests.import_fixtures", tiny, "--family", "llama"],
        join(root, "packages", "train-bridge", "python"),
        { HF_HUB_OFFLINE: "1" }
      )
      expect(made.code, made.out + made.err).toBe(0)

      // the installed bridge runs the user's python, with its own Python sources, and makes no venv
      const env = {
        HYPERWORDS_PYTHON: bridgePython,
        HYPERWORDS_STORE: undefined,
        HYPERWORDS_HOME: undefined,
        CI: "1",
        OMP_NUM_THREADS: "1"
      }
      const imported = run(bin, ["models", "import", tiny, "--name", "tiny"], project, env)
      expect(imported.code, imported.out + imported.err).toBe(0)
      expect(imported.out).toContain("parity checked")
      expect(existsSync(join(project, ".hyperwords", "models", "tiny", "hyperwords-model.json"))).toBe(true)
      const installedBridge = join(project, "node_modules", "@hyperwords", "train-bridge", "python")
      expect(existsSync(join(installedBridge, "hyperwords_bridge"))).toBe(true)
      expect(existsSync(join(installedBridge, ".venv"))).toBe(false)

      const corpus = [join(fixtures, "gutenberg", "sonnets.txt"), join(fixtures, "ru_poems.jsonl")]
      const pipeline = run(
        bin,
        ["pipeline", "--profile", "quick", ...corpus.flatMap((c) => ["--corpus", c])],
        project,
        env
      )
      expect(pipeline.code, pipeline.out + pipeline.err).toBe(0)

      const board = JSON.parse(
        readFileSync(join(project, "reports", "leaderboard", "leaderboard.json"), "utf8")
      ) as { rows: ReadonlyArray<BoardRow> }
      const base = board.rows.find((r) => r.provenance.stage === "evaluate-base")
      const tuned = board.rows.find((r) => r.provenance.stage === "evaluate-finetune")
      expect(base?.arm).toBe("base")
      expect(tuned?.arm).toBe("hyperwords")
      for (const row of [base!, tuned!]) {
        expect(row.cells["content-share"]?.status).toBe("ok")
        expect(row.cells["content-share"]?.mean).toBeTypeOf("number")
        expect(row.cells["content-share"]?.mean).toBeGreaterThanOrEqual(0)
        expect(row.cells["content-share"]?.mean).toBeLessThanOrEqual(1)
        expect(row.cells["hyperword-usage"]?.status).toBe("ok")
      }
      // for a note: the outside project's leaderboard
      const cell = (r: BoardRow, m: string) => {
        const c = r.cells[m]
        return c?.mean === undefined ? (c?.status ?? "-") : `${c.mean.toFixed(4)} (n ${c.n})`
      }
      const metrics = ["content-share", "hyperword-usage", "held-out-bpb"]
      console.log(
        [
          "the outside project's leaderboard (reports/leaderboard/leaderboard.json):",
          `| row | arm | stage | ${metrics.join(" | ")} |`,
          `| --- | --- | --- | ${metrics.map(() => "---").join(" | ")} |`,
          ...board.rows.map(
            (r) =>
              `| ${r.name} | ${r.arm} | ${r.provenance.stage} | ${metrics.map((m) => cell(r, m)).join(" | ")} |`
          )
        ].join("\n")
      )
    }
  )
})
