/**
 * The `finetune` stage: the model learns hyperwords as words of its own. The Python worker
 * (`hyperwords_bridge.finetune`) adds each hyperword as a token whose embedding starts from its
 * parts, trains LoRA together with the new rows, checkpoints as it goes and merges; then the
 * merged model is exported to ONNX like a pulled one (generation graph, probe graph, embedding
 * graph), so probe and evaluate load it as they load the base.
 *
 * Long-job behaviour: checkpoints live under `<store>/work/<stage>/<key>/` (the stage key: same
 * base, set, params and code give the same folder). Ctrl-C gives the worker time to write a
 * checkpoint; a rerun with the same key resumes from the newest one. The tuned model's folder is
 * `<store>/models/<stage>-<key12>/`, named in the `ModelVersion`.
 *
 * Several versions: `finetuneStage({ id: "finetune-r16" })` declares another stage with its own
 * params (rank, tokens on or off, ...); each is trained and each yields its `ModelVersion`.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { escapeHtml } from "@hyperwords/core/Html"
import { readPoetry } from "@hyperwords/core/Poetry"
import { Progress } from "@hyperwords/core/Progress"
import { defineStage, readHyperwords, readModelVersion, type Stage } from "@hyperwords/core/Stage"
import { Store } from "@hyperwords/core/Store"
import { Effect, Schema } from "effect"
import { Bridge, BridgeError } from "./Bridge.ts"
import { dirBytes, diskShortfall, missingFiles, readModelDir, tunedFiles } from "./ModelDir.ts"
import { chooseSuperwords } from "./SuperwordChoice.ts"
import { type Superword, type SuperwordCriterion, superwordCriteria } from "./Superwords.ts"
import { type Arm, arms, trainingTexts } from "./Training.ts"

/** Params of a fine-tune. */
export const FinetuneParams = Schema.Struct({
  /** Optimiser steps. */
  steps: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
  batchSize: Schema.optionalKey(Schema.Int),
  /** Tokens per training sequence. */
  seqLen: Schema.optionalKey(Schema.Int),
  /** Hyperwords as added tokens (false: LoRA on the fused text only). */
  addTokens: Schema.optionalKey(Schema.Boolean),
  /** New rows start from the mean of the parts' embeddings, or transformers' mean-resizing. */
  init: Schema.optionalKey(Schema.Literals(["parts-mean", "default"])),
  /** LoRA's settings; a field left out keeps its default (a sweep may set `lora.rank` alone). */
  lora: Schema.optionalKey(
    Schema.Struct({
      rank: Schema.optionalKey(Schema.Int),
      alpha: Schema.optionalKey(Schema.Finite),
      dropout: Schema.optionalKey(Schema.Finite),
      targetModules: Schema.optionalKey(Schema.Array(Schema.String))
    })
  ),
  /** 4-bit base weights (bitsandbytes); off by default, it does not pay under 1B parameters. */
  qlora: Schema.optionalKey(Schema.Boolean),
  lr: Schema.optionalKey(Schema.Finite),
  weightDecay: Schema.optionalKey(Schema.Finite),
  schedule: Schema.optionalKey(Schema.Literals(["linear", "cosine", "constant"])),
  warmupSteps: Schema.optionalKey(Schema.Int),
  checkpointEvery: Schema.optionalKey(Schema.Int),
  heldoutFraction: Schema.optionalKey(Schema.Finite),
  /**
   * The arm of the experiment: `hyperwords` (the version under test), `control` (the same lines,
   * spans as plain words, no added tokens) or `placebo` (as many added tokens from random
   * non-image n-grams).
   */
  arm: Schema.optionalKey(Schema.Literals(arms)),
  /**
   * The superwords arm's vocabulary: `k` superword tokens chosen by `criterion` (`hyperwords`: the
   * mined image spans; `saving`: expected tokens saved; `association`: frequency × NPMI) from the
   * word n-grams of up to `maxWords` words seen at least `minCount` times in the training lines.
   */
  superwords: Schema.optionalKey(
    Schema.Struct({
      k: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
      criterion: Schema.Literals(superwordCriteria),
      maxWords: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(2))),
      minCount: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)))
    })
  ),
  /** The hyperwords version whose experiment this version belongs to (a control or placebo must name it; default for the hyperwords arm: its own id). */
  experiment: Schema.optionalKey(Schema.String),
  /** Fail the stage when tuned/base held-out bits per byte exceeds this (default 1.02). */
  maxBpbRatio: Schema.optionalKey(Schema.Finite),
  /** Score the held-out poetry every N steps: the learning curve (default 0: only before and after). */
  curveEvery: Schema.optionalKey(Schema.Int),
  /** At most this many held-out lines are scored: each held-out document's opening passage (default 500). */
  maxHeldoutLines: Schema.optionalKey(Schema.Int),
  /** Train on the first N records only (quick runs). */
  maxRecords: Schema.optionalKey(Schema.Int),
  seed: Schema.optionalKey(Schema.Int),
  /**
   * GPUs the fine-tune asks a Ray cluster for (`executor: { ray }`; default `HYPERWORDS_GPUS`, else 0). The trainer uses
   * CUDA wherever torch sees a GPU, locally as on a node. More than 1: the node runs a process per
   * GPU under `accelerate launch --multi_gpu` (DDP, each step's batch shared). Locally the job
   * stays one process; run `accelerate launch` by hand for several (see the README).
   */
  gpus: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)))
})
export type FinetuneParams = typeof FinetuneParams.Type

/** Defaults of the optional params. */
export const finetuneDefaults = {
  batchSize: 4,
  seqLen: 64,
  addTokens: true,
  init: "parts-mean" as const,
  lora: { rank: 8, alpha: 16, dropout: 0.05, targetModules: ["q_proj", "k_proj", "v_proj", "o_proj"] },
  qlora: false,
  lr: 5e-4,
  weightDecay: 0,
  schedule: "cosine" as const,
  warmupSteps: 10,
  checkpointEvery: 25,
  heldoutFraction: 0.1,
  arm: "hyperwords" as const,
  superwords: { k: 500, criterion: "hyperwords" as SuperwordCriterion, maxWords: 4, minCount: 2 },
  maxBpbRatio: 1.02,
  maxHeldoutLines: 500,
  seed: 1
}

/** The held-out learning curve as an SVG (step on x, bits per byte on y). */
export const heldoutCurveSvg = (curve: ReadonlyArray<{ step: number; bpb: number }>, title: string): string =>
  lossCurveSvg(
    curve.map((c) => ({ step: c.step, loss: c.bpb })),
    title,
    "held-out poetry bits per byte"
  )

/** Prompts the tuned model answers to measure how often it uses hyperword tokens. */
export const imagePrompts = [
  "Опиши образ: тёплый вечер, кошка на подоконнике.",
  "Одно слово для образа: холодная река под луной —",
  "Describe an image: warm dusk, a cat on the windowsill.",
  "One word for the image: cold river under the moon —"
]

/** A curve per step as a small standalone SVG (step on x, the value on y; by default the training loss). */
export const lossCurveSvg = (
  history: ReadonlyArray<{ step: number; loss: number }>,
  title: string,
  what = "training loss"
): string => {
  const w = 480
  const h = 240
  const pad = 36
  if (history.length === 0)
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><text x="${pad}" y="${h / 2}">${escapeHtml(title)}: no steps</text></svg>`
  const xs = history.map((p) => p.step)
  const ys = history.map((p) => p.loss)
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)]
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)]
  const sx = (x: number) => pad + ((x - x0) / Math.max(1e-9, x1 - x0)) * (w - 2 * pad)
  const sy = (y: number) => h - pad - ((y - y0) / Math.max(1e-9, y1 - y0)) * (h - 2 * pad)
  const points = history.map((p) => `${sx(p.step).toFixed(1)},${sy(p.loss).toFixed(1)}`).join(" ")
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="11">`,
    `<rect width="${w}" height="${h}" fill="white"/>`,
    `<text x="${pad}" y="16">${escapeHtml(title)}: ${escapeHtml(what)}</text>`,
    `<line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="#888"/>`,
    `<line x1="${pad}" y1="${pad}" x2="${pad}" y2="${h - pad}" stroke="#888"/>`,
    `<text x="${pad}" y="${h - 12}">step ${x0}</text><text x="${w - pad}" y="${h - 12}" text-anchor="end">${x1}</text>`,
    `<text x="4" y="${sy(y1) + 4}">${y1.toFixed(2)}</text><text x="4" y="${sy(y0) + 4}">${y0.toFixed(2)}</text>`,
    `<polyline fill="none" stroke="#3366cc" stroke-width="1.5" points="${points}"/>`,
    "</svg>"
  ].join("")
}

/** What the worker measured on the held-out texts, by document. */
interface HeldoutResult {
  readonly bpb_base: number
  readonly bpb_tuned: number
  readonly bpb_base_ci: readonly [number, number]
  readonly bpb_tuned_ci: readonly [number, number]
  readonly ratio: number
  readonly ratio_ci: readonly [number, number]
  readonly docs: number
  readonly bytes: number
}

/**
 * The experiment a run belongs to: the one its params name (a control's), else the version it is
 * a sweep copy of (a sweep's copies are runs of one experiment, and its controls compare with each
 * of them), else its own stage.
 */
export const experimentOf = (
  named: string | undefined,
  ctx: { readonly stage: string; readonly sweepOf?: string }
) => named ?? ctx.sweepOf ?? ctx.stage

/**
 * The GPUs a fine-tune asks a Ray cluster for: its `gpus` param, else `HYPERWORDS_GPUS` (what a
 * machine offers, like `HYPERWORDS_THREADS`: not part of the stage's key), else 0.
 */
export const gpusOf = (param: number | undefined, env: NodeJS.ProcessEnv = process.env): number => {
  if (param !== undefined) return param
  const text = env.HYPERWORDS_GPUS?.trim()
  if (text === undefined || text === "") return 0
  const n = Number(text)
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`HYPERWORDS_GPUS=${text}: give a whole number of GPUs, 0 or more`)
  return n
}

const fmt = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? "n/a" : x.toFixed(4))

/**
 * Export steps run on the merged model. Not the lens head nor the embedding graph's cuts, which a
 * pulled base gets: with the defaults nothing reads them on a tuned version (the literature checks
 * run on the base, the base is the judge), and they cost a tuned Gemma version about 1.5 minutes.
 * A tuned version's readers use the whole graphs instead (the lens from the probe graph, the
 * embedding graph for every layer); `python -m hyperwords_bridge.lens_head DIR` and
 * `hyperwords_bridge.graph_cuts` make them for a version that is probed with findings or judges.
 */
const exportSteps = (dir: string) => [
  {
    label: "tuned model's graphs (patched from the base's)",
    module: "hyperwords_bridge.tuned_graphs",
    args: [dir],
    file: "onnx/model.onnx"
  },
  {
    label: "probe graph of tuned model",
    module: "hyperwords_bridge.probe_graph",
    args: [dir],
    file: "onnx/probe.onnx"
  },
  {
    label: "embedding graph of tuned model",
    module: "hyperwords_bridge.embed_graph",
    args: [dir],
    file: "onnx/embed.onnx"
  }
]

/** A fine-tune stage (`id` names the version; declare several with different ids and params). */
export const finetuneStage = (
  options: {
    readonly id?: string
    readonly description?: string
    /** The arm when the params do not say (default `hyperwords`). */
    readonly arm?: Arm
    /** The hyperwords version a control belongs to, when the params do not say. */
    readonly experiment?: string
  } = {}
): Stage<FinetuneParams> =>
  defineStage<FinetuneParams>({
    id: options.id ?? "finetune",
    description:
      options.description ??
      (options.arm === "control"
        ? "the control arm: the same training with the image spans as plain words and no added tokens"
        : options.arm === "placebo"
          ? "the placebo arm: as many added tokens, made from random non-image n-grams"
          : options.arm === "superwords"
            ? "superwords: the control's plain text read with spans of words as single added tokens"
            : "teach the model hyperwords as words of its own (added tokens from their parts + LoRA, through the Python bridge)"),
    // the options' arm and experiment decide the result as params do: they are part of the key
    // (5: held-out text read after the model's own start of a document, BOS for Gemma)
    codeVersion: ["5", options.arm, options.experiment].filter((x) => x !== undefined).join("/"),
    params: FinetuneParams,
    inputs: {
      hyperwords: { stage: "generate", output: "hyperwords" },
      poetry: { stage: "generate", output: "poetry" },
      base: { stage: "models", output: "model" }
    },
    outputs: { model: "ModelVersion" },
    restorable: (outputs) => {
      const dir = (outputs.model?.data as { dir?: string } | undefined)?.dir
      return dir !== undefined && missingFiles(dir, tunedFiles).length === 0
    },
    run: (ctx) =>
      Effect.gen(function* () {
        const store = yield* Store
        const progress = yield* Progress
        const bridge = yield* Bridge
        const p = {
          ...finetuneDefaults,
          ...(options.arm === undefined ? {} : { arm: options.arm }),
          ...(options.experiment === undefined ? {} : { experiment: options.experiment }),
          ...ctx.params,
          lora: { ...finetuneDefaults.lora, ...ctx.params.lora }
        }
        const base = yield* readModelVersion(ctx.inputs.base, "base model")
        const baseDir = base.dir

        const records = yield* readHyperwords(ctx.inputs.hyperwords!)
        const used = p.maxRecords === undefined ? records : records.slice(0, p.maxRecords)
        const heldoutPoetry =
          ctx.inputs.poetry === undefined ? undefined : (yield* readPoetry(ctx.inputs.poetry, "heldout")).docs
        const trainPoetry =
          ctx.inputs.poetry === undefined ? undefined : (yield* readPoetry(ctx.inputs.poetry, "train")).docs
        const texts = trainingTexts(used, {
          ...(trainPoetry === undefined ? {} : { trainPoetry }),
          heldoutFraction: p.heldoutFraction,
          seed: p.seed,
          arm: p.arm,
          maxHeldoutLines: p.maxHeldoutLines,
          // with a split, its held-out side is the only held-out text (none: the stage fails below)
          ...(heldoutPoetry !== undefined ? { heldoutPoetry } : {})
        })
        if (p.arm !== "hyperwords" && p.experiment === undefined)
          return yield* Effect.fail(
            new Error(
              `${ctx.stage}: a ${p.arm} arm names the hyperwords version it controls: finetuneStage({ id: "${ctx.stage}", arm: "${p.arm}", experiment: "<its stage id>" }) in pipeline.config.ts`
            )
          )
        const experiment = experimentOf(p.experiment, ctx)
        if (texts.heldout.length === 0)
          return yield* Effect.fail(
            new Error(
              `${ctx.stage}: no held-out text to measure bits per byte on (the poetry split held out no document; raise generate.heldoutFraction or add poetry with --corpus)`
            )
          )
        // the superwords arm: spans of its (plain) training lines, chosen with the base tokenizer
        let superwords: ReadonlyArray<Superword> | undefined
        if (p.arm === "superwords") {
          const choice = { ...finetuneDefaults.superwords, ...p.superwords }
          superwords = yield* Effect.promise(() =>
            chooseSuperwords(
              texts.train,
              baseDir,
              choice,
              used.filter((r) => r.origin === "mined").map((r) => r.parts)
            )
          )
          const occurrences = superwords.reduce((n, s) => n + s.count, 0)
          progress.log(
            `  ${ctx.stage}: ${superwords.length} superwords of ${choice.k} asked (criterion ${choice.criterion}), ` +
              `${occurrences} occurrences in the training lines; first: ${superwords
                .slice(0, 5)
                .map((s) => JSON.stringify(s.surface))
                .join(", ")}`
          )
        }
        const tokenWords =
          superwords?.map((s) => ({ surface: s.surface, parts: s.parts })) ?? texts.hyperwords
        if (texts.train.length === 0)
          return yield* Effect.fail(
            new Error(
              `the hyperword set: no text to train on (${used.length} records, no evidence lines or scenes)`
            )
          )
        progress.log(
          `  ${ctx.stage} (${p.arm} arm): ${texts.train.length} training texts (${texts.counts.fusedLines} poetry lines fused, ` +
            `${texts.counts.appendedLines} with the word appended, ${texts.counts.scenes} scenes), ` +
            `${texts.heldout.length} held-out ${texts.heldoutSource} lines in ${texts.counts.heldoutDocs} documents, ` +
            (p.arm === "superwords"
              ? "superword tokens chosen below"
              : `${texts.hyperwords.length} added tokens in ${texts.counts.linesWithTokens} training lines`)
        )

        const work = join(store.root, "work", ctx.stage, ctx.key.slice(0, 32))
        const out = join(store.root, "models", `${ctx.stage}-${ctx.key.slice(0, 12)}`)
        if (missingFiles(out, tunedFiles).length > 0) {
          // the merged weights (in the work folder and the model's), its graphs and the exporter's copies
          const need = dirBytes(baseDir) * 1.3 - dirBytes(out)
          const short = diskShortfall(store.root, need, `fine-tune ${base.name}`)
          if (short) return yield* new BridgeError({ job: ctx.stage, detail: short })
        }
        mkdirSync(work, { recursive: true })
        const resume = existsSync(join(work, "checkpoints"))
        // the trainer's threads, and the CPUs it asks a Ray cluster for
        const threads = process.env.HYPERWORDS_THREADS ? Number(process.env.HYPERWORDS_THREADS) : undefined
        const gpus = yield* Effect.try({
          try: () => gpusOf(p.gpus),
          catch: (e) => new BridgeError({ job: ctx.stage, detail: (e as Error).message })
        })
        if (resume) progress.log(`  ${ctx.stage}: resuming from the checkpoints in ${work}`)
        const job = {
          base_dir: baseDir,
          out_dir: work,
          hyperwords: p.addTokens ? tokenWords : [],
          superwords: superwords !== undefined,
          train_texts: texts.train,
          heldout_texts: texts.heldout,
          heldout_docs: texts.heldoutDocs,
          curve_every: p.curveEvery ?? 0,
          add_tokens: p.addTokens && tokenWords.length > 0,
          init: p.init,
          lora: {
            rank: p.lora.rank,
            alpha: p.lora.alpha,
            dropout: p.lora.dropout,
            target_modules: p.lora.targetModules
          },
          qlora: p.qlora,
          optimizer: { name: "adamw", lr: p.lr, weight_decay: p.weightDecay },
          schedule: { name: p.schedule, warmup_steps: p.warmupSteps },
          steps: p.steps,
          batch_size: p.batchSize,
          seq_len: p.seqLen,
          seed: p.seed,
          checkpoint_every: p.checkpointEvery,
          resume,
          image_prompts: imagePrompts,
          name: `${ctx.stage}-${ctx.key.slice(0, 12)}`,
          ...(threads === undefined ? {} : { threads })
        }
        const trained = yield* bridge
          .run({
            label: ctx.stage,
            module: "hyperwords_bridge.finetune",
            args: [],
            input: job,
            graceSeconds: 120,
            // on a Ray cluster: a dead worker's retry resumes from the checkpoints in `work`,
            // after the dead attempt's trainer has written its last one and ended
            // several GPUs: a process on each, under accelerate (DDP; Ray executor only)
            resources: {
              cpus: threads ?? 1,
              gpus,
              ...(gpus > 1 ? { processes: gpus } : {})
            },
            resumable: true,
            lock: join(work, "attempt.lock")
          })
          .pipe(
            Effect.onInterrupt(() =>
              Effect.sync(() =>
                progress.log(
                  `  ${ctx.stage}: stopped; the worker writes a checkpoint under ${work} — rerun the pipeline to resume from it`
                )
              )
            )
          )
        const r = trained.result as Record<string, unknown>
        const merged = String(r.merged_dir ?? join(work, "merged"))
        const held = r.heldout as HeldoutResult | undefined
        const ratio = held?.ratio ?? (r.bpb_ratio as number)
        if (!(ratio <= p.maxBpbRatio))
          return yield* Effect.fail(
            new Error(
              `${ctx.stage}: held-out ${texts.heldoutSource} bits per byte got worse: base ${fmt(held?.bpb_base ?? (r.bpb_base as number))} → ` +
                `tuned ${fmt(held?.bpb_tuned ?? (r.bpb_tuned as number))}, ratio ${fmt(ratio)}${held ? ` [${fmt(held.ratio_ci[0])}, ${fmt(held.ratio_ci[1])}]` : ""} ` +
                `over ${held?.docs ?? "?"} documents exceeds maxBpbRatio ${p.maxBpbRatio}. ` +
                `Lower finetune.lr or steps, or raise maxBpbRatio in pipeline.config.ts (the tuned weights stay in ${work})`
            )
          )

        // the tuned model's folder: the merged weights, then its ONNX exports
        mkdirSync(join(store.root, "models"), { recursive: true })
        if (!existsSync(join(out, "model.safetensors"))) {
          const tmp = `${out}.tmp`
          rmSync(tmp, { recursive: true, force: true })
          cpSync(merged, tmp, { recursive: true })
          rmSync(out, { recursive: true, force: true })
          renameSync(tmp, out)
        }
        for (const step of exportSteps(out)) {
          if (existsSync(join(out, step.file))) continue
          yield* bridge.run({ label: step.label, module: step.module, args: step.args })
        }
        const { manifest } = readModelDir(out)
        const revision = manifest.safetensors_sha256
        const files: Record<string, string> = {}
        for (const [f, info] of Object.entries(manifest.files)) files[f] = info.sha256
        // the training record and its curve travel with the artifact
        const outDir = ctx.outputDir("model")
        const trainingFile = String(r.training_json ?? join(work, "training.json"))
        const history: Array<{ step: number; loss: number }> = existsSync(trainingFile)
          ? ((
              JSON.parse(readFileSync(trainingFile, "utf8")) as {
                history?: Array<{ step: number; loss: number }>
              }
            ).history ?? [])
          : []
        if (existsSync(trainingFile)) writeFileSync(join(outDir, "training.json"), readFileSync(trainingFile))
        if (superwords !== undefined)
          writeFileSync(join(outDir, "superwords.json"), `${JSON.stringify(superwords, null, 1)}\n`)
        writeFileSync(join(outDir, "training-curve.svg"), lossCurveSvg(history, ctx.stage))
        const curve = (r.curve as Array<{ step: number; bpb: number }> | undefined) ?? []
        if (curve.length > 0)
          writeFileSync(join(outDir, "heldout-curve.svg"), heldoutCurveSvg(curve, ctx.stage))
        const training = {
          arm: p.arm,
          experiment,
          steps: p.steps,
          final_loss: r.final_loss,
          loss_curve: history.map((h) => [h.step, h.loss]),
          bpb_base: r.bpb_base,
          bpb_tuned: r.bpb_tuned,
          bpb_ratio: r.bpb_ratio,
          ...(held === undefined
            ? {}
            : {
                heldout_poetry: {
                  source: texts.heldoutSource,
                  bpb_base: held.bpb_base,
                  bpb_tuned: held.bpb_tuned,
                  bpb_base_ci: held.bpb_base_ci,
                  bpb_tuned_ci: held.bpb_tuned_ci,
                  ratio: held.ratio,
                  ratio_ci: held.ratio_ci,
                  docs: held.docs,
                  lines: texts.heldout.length,
                  bytes: held.bytes
                }
              }),
          heldout_curve: curve,
          ...(texts.placebo === undefined ? {} : { placebo: texts.placebo }),
          ...(superwords === undefined
            ? {}
            : {
                superwords: {
                  ...finetuneDefaults.superwords,
                  ...p.superwords,
                  chosen: superwords.length,
                  first: superwords
                    .slice(0, 20)
                    .map((s) => ({ surface: s.surface, count: s.count, score: s.score }))
                }
              }),
          tokens_per_byte: r.tokens_per_byte,
          emission_rate: r.emission_rate,
          emission_any: r.emission_any,
          tokens_per_s: r.tokens_per_s,
          init_comparison: r.init_comparison,
          roundtrip: r.roundtrip,
          added_tokens: r.added_tokens,
          peak_rss_mb: r.peak_rss_mb,
          texts: { train: texts.train.length, heldout: texts.heldout.length, ...texts.counts },
          params: p,
          work
        }
        return {
          model: {
            data: {
              schemaVersion: 1,
              name: ctx.stage,
              model: { id: `${base.model.id}+${ctx.stage}`, revision },
              architecture: base.architecture,
              base: base.model,
              source: {
                kind: "finetune",
                detail: `${ctx.stage} of ${base.model.id}@${base.model.revision.slice(0, 12)}`
              },
              dir: out,
              files,
              training
            }
          }
        }
      }).pipe(Effect.provide(Bridge.layer))
  })
