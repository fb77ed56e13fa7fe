/**
 * The finetune stage end to end on a tiny randomly initialised llama (built offline by the models
 * package's fixture script): the real `hyperwords` bin runs a pipeline whose base model and
 * hyperword set are fixtures, the real Python worker trains, merges and exports, and the tuned
 * version is a complete model folder with the hyperwords in its vocabulary. A rerun restores it.
 */
import { execFileSync, spawn } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { embedCuts } from "@hyperwords/models/ModelDir"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { missingFiles, tunedFiles } from "../src/ModelDir.ts"
import { venvPython } from "../src/Paths.ts"

const packageDir = resolve(import.meta.dirname, "..")
const makeTiny = resolve(packageDir, "..", "models", "test", "fixtures", "make_tiny.py")
const missing = existsSync(venvPython) ? undefined : `no bridge venv at ${venvPython}`
const root = join(packageDir, "test", ".tmp")
const binPath = resolve(packageDir, "..", "core", "bin", "hyperwords.ts")

/** Run the real `hyperwords` bin in a project folder to the end. */
const runCli = (dir: string, args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; output: string }>((res) => {
    const child = spawn(process.execPath, [binPath, ...args], { cwd: dir, env: { ...process.env, CI: "1" } })
    let output = ""
    child.stdout.on("data", (d) => (output += d))
    child.stderr.on("data", (d) => (output += d))
    child.on("close", (code) => res({ code, output }))
  })

const records = [
  { surface: "moonlight", parts: ["moon", "light"], doc: "a", text: "the moon light on the water" },
  { surface: "rainfall", parts: ["rain", "fall"], doc: "b", text: "soft rain fall at night" },
  { surface: "firefly", parts: ["fire", "fly"], doc: "c", text: "a fire fly in the dark" }
]

const config = (tiny: string, maxBpbRatio = 100) => `
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect, Schema } from "effect"
import { defineConfig, defineStage } from ${JSON.stringify(resolve(packageDir, "..", "core", "src", "index.ts"))}
import { finetuneStage } from ${JSON.stringify(join(packageDir, "src", "FinetuneStage.ts"))}

const models = defineStage({
  id: "models", description: "the tiny base", codeVersion: "1", params: Schema.Struct({}), inputs: {},
  outputs: { model: "ModelVersion" },
  run: () => Effect.succeed({ model: { data: { schemaVersion: 1, name: "tiny", model: { id: "tiny-llama", revision: "r1" },
    architecture: "llama", source: { kind: "local", detail: ${JSON.stringify(tiny)} }, dir: ${JSON.stringify(tiny)}, files: {} } } })
})
const generate = defineStage({
  id: "generate", description: "a fixture set", codeVersion: "1", params: Schema.Struct({}), inputs: {},
  outputs: { hyperwords: "HyperwordSet", poetry: "PoetrySplit" },
  run: (ctx) => Effect.sync(() => {
    const heldout = [
      { doc: "held#1", lang: "en", lines: [{ line: 1, text: "the grey sea and the long black land" }, { line: 2, text: "and the yellow half moon large and low" }] },
      { doc: "held#2", lang: "en", lines: [{ line: 1, text: "the startled little waves that leap" }] }
    ]
    const poetry = ctx.outputDir("poetry")
    writeFileSync(join(poetry, "train.jsonl"), "")
    writeFileSync(join(poetry, "heldout.jsonl"), heldout.map((d) => JSON.stringify(d)).join("\\n") + "\\n")
    const rows = ${JSON.stringify(records)}.flatMap((r, i) => [
      { id: "en:" + r.surface, surface: r.surface, lang: "en", parts: r.parts, lemmas: r.parts, origin: "mined",
        evidence: Array.from({ length: 12 }, (_, k) => ({ doc: r.doc + k, line: k + 1, text: r.text + " " + k })) },
      { id: "en:gen:" + r.surface, surface: r.surface + "s", parts: [...r.parts.slice(0, -1), r.parts.at(-1) + "s"], lang: "en",
        lemmas: r.parts, origin: "generated", gloss: "the " + r.parts.join(" ") + " glows " + i, seed: 1 }
    ])
    writeFileSync(join(ctx.outputDir("hyperwords"), "poem_hyperwords.jsonl"), rows.map((r) => JSON.stringify(r)).join("\\n") + "\\n")
    return { hyperwords: { data: { schemaVersion: 1, file: "poem_hyperwords.jsonl", count: rows.length, byLang: { en: rows.length },
      byOrigin: { mined: 3, generated: 3 }, sources: [] } },
      poetry: { data: { schemaVersion: 1, train: "train.jsonl", heldout: "heldout.jsonl", fraction: 0.1, seed: 1,
        counts: { docs: 2, groups: 2, trainDocs: 0, heldoutDocs: 2, trainLines: 0, heldoutLines: 3, duplicateLines: 0,
          droppedHeldoutLines: 0, pinnedDocs: 0 }, byLang: { en: { trainDocs: 0, heldoutDocs: 2 } } } } }
  })
})
export default defineConfig({
  store: ".hyperwords",
  stages: [models, generate, finetuneStage(), finetuneStage({ id: "control" }), finetuneStage({ id: "superwords", arm: "superwords", experiment: "finetune" })],
  params: {
    finetune: { steps: 4, batchSize: 2, seqLen: 16, checkpointEvery: 2, warmupSteps: 0, maxBpbRatio: ${maxBpbRatio} },
    control: { steps: 4, batchSize: 2, seqLen: 16, checkpointEvery: 2, warmupSteps: 0, maxBpbRatio: ${maxBpbRatio}, arm: "control", experiment: "finetune" },
    superwords: { steps: 4, batchSize: 2, seqLen: 16, checkpointEvery: 2, warmupSteps: 0, maxBpbRatio: ${maxBpbRatio}, superwords: { k: 4, criterion: "saving", maxWords: 3 } }
  }
})
`

describe.skipIf(missing !== undefined)(
  `finetune stage on a tiny model (${missing ?? "bridge present"})`,
  () => {
    let project: string
    beforeAll(() => {
      mkdirSync(root, { recursive: true })
      const tiny = join(root, "tiny-llama-base")
      if (!existsSync(join(tiny, "onnx", "embed.onnx")))
        execFileSync(venvPython, [makeTiny, tiny, "--arch", "llama"], {
          cwd: resolve(packageDir, "python"),
          stdio: ["ignore", "ignore", "pipe"],
          timeout: 600_000
        })
      project = mkdtempSync(join(root, "project-"))
      writeFileSync(join(project, "pipeline.config.ts"), config(tiny))
    }, 600_000)
    afterAll(() => rmSync(project, { recursive: true, force: true }))

    it("trains, merges and exports a tuned version with hyperwords as tokens; a rerun restores it", async () => {
      expect(existsSync(binPath)).toBe(true)
      const first = await runCli(project, ["pipeline"])
      expect(first.code, first.output).toBe(0)
      const models = join(project, ".hyperwords", "models")
      const [name] = readdirSync(models).filter((d) => d.startsWith("finetune-") && !d.endsWith(".tmp"))
      const dir = join(models, name!)
      expect(missingFiles(dir, tunedFiles)).toEqual([])
      // no q8 graph for a tuned version: it would not keep the tuned model's top-1 token
      expect(existsSync(join(dir, "onnx", "model_quantized.onnx"))).toBe(false)
      // no lens head nor embedding cuts either: nothing reads them on a tuned version by default
      expect(existsSync(join(dir, "onnx", "lens.onnx"))).toBe(false)
      expect(embedCuts(dir)).toEqual([])
      const tokenizer = JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")) as {
        added_tokens: Array<{ content: string; special: boolean }>
      }
      const added = tokenizer.added_tokens.filter((t) => !t.special).map((t) => t.content)
      for (const r of records) expect(added).toContain(r.surface)
      const manifest = JSON.parse(readFileSync(join(dir, "hyperwords-model.json"), "utf8")) as {
        safetensors_sha256: string
      }
      expect(manifest.safetensors_sha256).toMatch(/^[0-9a-f]{64}$/)
      // the checkpoints are kept under the stage key, for a resume
      const work = join(project, ".hyperwords", "work", "finetune")
      expect(readdirSync(work)).toHaveLength(1)
      expect(first.output).toMatch(/bpb base [\d.]+ → tuned [\d.]+/)
      expect(first.output).toMatch(/3 held-out poetry lines in 2 documents/)
      // the control arm: the same lines, no added tokens
      expect(first.output).toMatch(/control \(control arm\): .* 0 added tokens/)
      const [controlName] = readdirSync(models).filter((d) => d.startsWith("control-") && !d.endsWith(".tmp"))
      const controlTokens = JSON.parse(
        readFileSync(join(models, controlName!, "tokenizer.json"), "utf8")
      ) as {
        added_tokens: Array<{ content: string; special: boolean }>
      }
      for (const r of records)
        expect(controlTokens.added_tokens.map((t) => t.content)).not.toContain(r.surface)

      // the superwords arm: the control's plain lines, spans of them as added tokens, the same ids
      // from the TS tokenizer (the runtime's) as from the Python one (the trainer's)
      expect(first.output).toMatch(/superwords: 4 superwords of 4 asked \(criterion saving\)/)
      const [superName] = readdirSync(models).filter(
        (d) => d.startsWith("superwords-") && !d.endsWith(".tmp")
      )
      const superDir = join(models, superName!)
      const superAdded = (
        JSON.parse(readFileSync(join(superDir, "tokenizer.json"), "utf8")) as {
          added_tokens: Array<{ id: number; content: string; special: boolean }>
        }
      ).added_tokens.filter((t) => !t.special)
      const superTokens = superAdded.map((t) => t.content)
      expect(superTokens).toHaveLength(4)
      for (const s of superTokens) expect(s.trim()).toMatch(/\S \S/)
      const texts = [
        ...records.map((r) => `${r.text} 7`),
        "the grey sea and the long black land",
        "Лунный свет — the moon light"
      ]
      const python = JSON.parse(
        execFileSync(
          venvPython,
          [
            "-c",
            "import json,sys; from transformers import AutoTokenizer; t=AutoTokenizer.from_pretrained(sys.argv[1]); " +
              "print(json.dumps([t.encode(x, add_special_tokens=False) for x in json.loads(sys.argv[2])]))",
            superDir,
            JSON.stringify(texts)
          ],
          { encoding: "utf8", env: { ...process.env, HF_HUB_OFFLINE: "1" } }
        )
      ) as Array<Array<number>>
      const { loadTokenizer } = await import("@hyperwords/models/Tokenizer")
      const ts = await loadTokenizer(superDir)
      const superIds = new Set(superAdded.map((t) => t.id))
      texts.forEach((text, i) => {
        const ids = ts.encode(text, { addSpecialTokens: false })
        expect(ids).toEqual(python[i])
        expect(ts.decode(ids, { skipSpecialTokens: false })).toBe(text)
      })
      expect(
        python
          .slice(0, 3)
          .flat()
          .some((id) => superIds.has(id))
      ).toBe(true)

      const again = await runCli(project, ["pipeline"])
      expect(again.code, again.output).toBe(0)
      expect(again.output).toMatch(/finetune\s+HIT/)
    }, 900_000)

    it("fails a version whose held-out bits per byte grew past maxBpbRatio, naming both figures", async () => {
      writeFileSync(join(project, "pipeline.config.ts"), config(join(root, "tiny-llama-base"), 0.01))
      const run = await runCli(project, ["pipeline", "--only", "finetune"])
      expect(run.code).not.toBe(0)
      expect(run.output).toMatch(
        /base [\d.]+ → tuned [\d.]+, ratio [\d.]+ \[[\d.]+, [\d.]+\] over 2 documents exceeds maxBpbRatio 0\.01/
      )
    }, 900_000)

    it("refuses a control that does not name the version it controls", async () => {
      writeFileSync(
        join(project, "pipeline.config.ts"),
        config(join(root, "tiny-llama-base")).replace(
          'arm: "control", experiment: "finetune" }',
          'arm: "control" }'
        )
      )
      const run = await runCli(project, ["pipeline", "--only", "control"])
      expect(run.code).not.toBe(0)
      expect(run.output).toMatch(/control: a control arm names the hyperwords version it controls/)
    }, 900_000)
  }
)
