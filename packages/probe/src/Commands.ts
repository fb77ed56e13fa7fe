/**
 * `hyperwords probe WORD --model NAME|DIR [--parts a,b] [--base NAME|DIR] [--out DIR] [--layers 0,6,12]`:
 * one hyperword, layer by layer; with `--layers`, those layers only, through the probe graph cut to
 * them when the folder has one.
 */
import { existsSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { UsageError } from "@hyperwords/core/Errors"
import { jsonFlag, printResult, say } from "@hyperwords/core/Output"
import { Models } from "@hyperwords/models"
import type { Model } from "@hyperwords/models/Model"
import { probeLayersCommand } from "@hyperwords/models/ProbeLayers"
import { Console, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { type ModelMeasure, measureItems, type ProbeItem } from "./Measure.ts"
import { type LayerMeasure, layersTextView, measureLayers } from "./MeasureLayers.ts"
import { chromiumPath, type ReportRun, writeReport } from "./Report.ts"

const modelFlag = (name: string, description: string) =>
  Flag.String(name).pipe(Flag.withDescription(description))

/** Parts of a word: given, else from the exported hyperword set when it lists the word, else the word itself. */
export const partsOf = (
  word: string,
  given: Option.Option<string>,
  hyperwordsFile: string
): Array<string> => {
  if (Option.isSome(given))
    return given.value
      .split(",")
      .map((p) => p.trim())
      .filter((p) => p !== "")
  if (existsSync(hyperwordsFile)) {
    for (const line of readFileSync(hyperwordsFile, "utf8").split("\n")) {
      if (!line.includes(word)) continue
      try {
        const r = JSON.parse(line) as { surface?: string; parts?: Array<string> }
        if (r.surface === word && Array.isArray(r.parts)) return r.parts
      } catch {}
    }
  }
  return [word]
}

/** The compact text view: per layer, the norm, the lens's top token at the last position and the assembly cosines. */
export const textView = (measure: ModelMeasure): string => {
  const it = measure.items[0]!
  const fused = it.conditions.fused
  const last = fused.tokens.length - 1
  const lines = [
    `${measure.model}: "${fused.text}" = ${fused.tokens
      .slice(fused.start)
      .map((t) => JSON.stringify(t))
      .join(" ")}`,
    `${"layer".padStart(5)} ${"norm".padStart(9)}  ${"top lens token".padEnd(18)} ${"p".padStart(5)}  ${"~phrase".padStart(7)} ${"~parts".padStart(7)}`
  ]
  for (let l = 0; l <= measure.numLayers; l++) {
    const top = JSON.stringify(fused.lensTop[l]![last]!)
    lines.push(
      `${String(l).padStart(5)} ${fused.norm[l]!.toFixed(1).padStart(9)}  ${top.padEnd(18)} ${Math.exp(fused.lensLogprobs[l]![last]![0]!).toFixed(2).padStart(5)}  ${it.assemblyPhrase[l]!.toFixed(3).padStart(7)} ${it.assemblyParts[l]!.toFixed(3).padStart(7)}`
    )
  }
  return lines.join("\n")
}

/** `--layers 0,6,12` as layer numbers, or a usage error. */
export const parseLayers = (text: string): Array<number> => {
  const fields = text
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x !== "")
  if (fields.length === 0 || fields.some((x) => !/^\d+$/.test(x)))
    throw new UsageError({ detail: `--layers takes comma-separated layer numbers (0,6,12), not "${text}"` })
  return [...new Set(fields.map(Number))].sort((a, b) => a - b)
}

const modelError = (model: Model, doing: string) => (e: unknown) =>
  new UsageError({ detail: `${doing} ${model.name}: ${e instanceof Error ? e.message : String(e)}` })

/**
 * `probe --layers`: per model, which graph serves the layers (a cut, else the whole graph and the
 * command that makes a cut), then the layers' rows. No HTML report: it draws every layer.
 */
const probeLayersRuns = (
  models: Models["Service"],
  names: ReadonlyArray<{ readonly label: string; readonly name: string }>,
  item: ProbeItem,
  layers: ReadonlyArray<number>,
  json = false
) =>
  Effect.gen(function* () {
    const runs: Array<{ label: string; seconds: number; measure: LayerMeasure }> = []
    for (const { label, name } of names) {
      const model = yield* models.load(name)
      // the graph opens once; what is timed is the probe of a loaded model
      const source = yield* Effect.tryPromise({
        try: () => model.probeLayersSource(layers),
        catch: modelError(model, "opening the probe graph of")
      })
      if (source.cut) {
        yield* say(
          json,
          `(${label}: reading onnx/${source.cut.file}, the probe graph cut to layers ${source.cut.layers.join(",")})`
        )
      } else {
        yield* say(json, `(${label}: reading onnx/probe.onnx, the whole probe graph)`)
        yield* Console.error(
          `note: ${model.dir} has no probe graph cut covering layers ${layers.join(",")}; a cut costs far less memory on a bigger model or a long prompt. Make one with (from the repository root):\n  ${probeLayersCommand(model.dir, layers)}`
        )
      }
      const started = Date.now()
      const measure = yield* Effect.tryPromise({
        try: () => measureLayers(model, item.surface, item.parts, layers),
        catch: modelError(model, "probing")
      })
      const seconds = (Date.now() - started) / 1000
      yield* say(json, layersTextView(measure))
      yield* say(json, `(${label}: probed in ${seconds.toFixed(2)}s)`)
      runs.push({ label, seconds, measure })
    }
    // --json: the same fields as without --layers, the rows of the layers asked for
    yield* printResult(
      json,
      "report: none with --layers (the report draws every layer; run without --layers for it)",
      {
        word: item.surface,
        parts: item.parts,
        lang: item.lang,
        runs: runs.map(({ label, seconds, measure: m }) => ({
          label,
          seconds,
          graph: m.graph,
          model: m.model,
          text: m.text,
          tokens: m.tokens,
          layers: m.rows.map((r) => ({
            layer: r.layer,
            norm: r.norm,
            lensTop: r.top,
            p: r.p,
            assemblyPhrase: r.phrase,
            assemblyParts: r.parts
          }))
        })),
        report: null,
        png: []
      }
    )
  })

/** What the text view shows, as data: a row per layer (the lens and the norm at the last position). */
export const layersJson = (measure: ModelMeasure) => {
  const it = measure.items[0]!
  const fused = it.conditions.fused
  const last = fused.tokens.length - 1
  return {
    model: measure.model,
    text: fused.text,
    tokens: fused.tokens.slice(fused.start),
    layers: Array.from({ length: measure.numLayers + 1 }, (_, l) => ({
      layer: l,
      norm: fused.norm[l]!,
      lensTop: fused.lensTop[l]![last]!,
      p: Math.exp(fused.lensLogprobs[l]![last]![0]!),
      assemblyPhrase: it.assemblyPhrase[l]!,
      assemblyParts: it.assemblyParts[l]!
    }))
  }
}

const measureOne = (model: Model, item: ProbeItem) =>
  Effect.tryPromise({
    try: () => measureItems(model, [item], { seed: 1, batchSize: 2, conditions: ["fused", "phrase"] }),
    catch: (e) =>
      new UsageError({ detail: `probing ${model.name}: ${e instanceof Error ? e.message : String(e)}` })
  })

/** The `probe` command. */
export const probeCommand = Command.make(
  "probe",
  {
    model: modelFlag(
      "model",
      "the model version: a registered model (gemma-3-270m, smollm2-135m) or a model directory"
    ).pipe(Flag.withDefault("gemma-3-270m")),
    base: modelFlag("base", "a base model to compare against (every chart shows both)").pipe(Flag.optional),
    parts: Flag.String("parts").pipe(
      Flag.withDescription("the word's parts, comma-separated (default: from reports/poem_hyperwords.jsonl)"),
      Flag.optional
    ),
    gloss: Flag.String("gloss").pipe(
      Flag.withDescription("an English gloss (tracked for Russian words)"),
      Flag.optional
    ),
    lang: Flag.Literals("lang", ["ru", "en"]).pipe(
      Flag.withDescription("language of the word (default: Cyrillic is Russian, else English)"),
      Flag.optional
    ),
    out: Flag.String("out").pipe(
      Flag.withDescription("where the report goes"),
      Flag.withDefault("reports/probe-word")
    ),
    layers: Flag.String("layers").pipe(
      Flag.withDescription(
        "only these layers, comma-separated (0,6,12): read through the probe graph cut to them when the model has one (graph_cuts --probe-layers), else the whole graph; text view only"
      ),
      Flag.optional
    ),
    png: Flag.Boolean("png").pipe(
      Flag.withDescription("also screenshot every chart as PNG (Chromium)"),
      Flag.withDefault(false)
    ),
    json: jsonFlag,
    word: Argument.String("word")
  },
  (args) =>
    Effect.gen(function* () {
      const word = args.word.trim()
      if (word === "") return yield* Effect.fail(new UsageError({ detail: "probe needs a word" }))
      const parts = partsOf(word, args.parts, resolve("reports", "poem_hyperwords.jsonl"))
      if (parts.join("") !== word && Option.isSome(args.parts))
        yield* Console.error(`note: the parts ${parts.join("+")} do not rebuild "${word}"`)
      const lang = Option.isSome(args.lang)
        ? args.lang.value
        : /\p{Script=Cyrillic}/u.test(word)
          ? "ru"
          : "en"
      const item: ProbeItem = {
        id: `${lang}:${parts.join("+")}`,
        surface: word,
        parts,
        lang,
        ...(Option.isSome(args.gloss) ? { gloss: args.gloss.value } : {})
      }
      const models = yield* Models
      const names = Option.isSome(args.base)
        ? [
            { label: "base", name: args.base.value },
            { label: "tuned", name: args.model }
          ]
        : [{ label: "model", name: args.model }]
      if (Option.isSome(args.layers)) {
        const text = args.layers.value
        const layers = yield* Effect.try({ try: () => parseLayers(text), catch: (e) => e as UsageError })
        return yield* probeLayersRuns(models, names, item, layers, args.json)
      }
      const runs: Array<ReportRun> = []
      const timed: Array<{ label: string; seconds: number }> = []
      for (const { label, name } of names) {
        const model = yield* models.load(name)
        // the graph opens once; what is timed is the probe of a loaded model
        yield* Effect.tryPromise({ try: () => model.probeGraphSession(), catch: (e) => e })
        yield* Effect.tryPromise({ try: () => model.hiddenStatesGraph(), catch: (e) => e })
        const started = Date.now()
        const measure = yield* measureOne(model, item)
        const seconds = (Date.now() - started) / 1000
        yield* say(args.json, textView(measure))
        yield* say(args.json, `(${label}: probed in ${seconds.toFixed(2)}s)`)
        timed.push({ label, seconds })
        runs.push({ label, measure, findings: [] })
      }
      const dir = resolve(args.out)
      const png = args.png && existsSync(chromiumPath())
      const written = yield* Effect.tryPromise({
        try: () => writeReport({ title: `hyperwords probe: ${word}`, runs }, dir, { png }),
        catch: (e) =>
          new UsageError({ detail: `writing the report: ${e instanceof Error ? e.message : String(e)}` })
      })
      yield* printResult(
        args.json,
        `report: ${join(dir, written.html)}${written.png.length > 0 ? ` (+ ${written.png.length} PNGs)` : ""}`,
        {
          word,
          parts,
          lang,
          runs: runs.map((r, i) => ({
            label: r.label,
            seconds: timed[i]!.seconds,
            numLayers: r.measure.numLayers,
            ...layersJson(r.measure)
          })),
          report: join(dir, written.html),
          png: written.png.map((p) => join(dir, p))
        }
      )
    }).pipe(Effect.provide(Models.layerScoped))
).pipe(
  Command.withDescription(
    "look inside a model at one hyperword: per-layer norm, logit lens, assembly; writes an HTML report"
  )
)

/** The package's commands, for a config's `commands` list. */
export const probeCommands = [probeCommand] as const
