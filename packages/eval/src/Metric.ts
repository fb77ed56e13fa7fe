/**
 * The metric plugin contract. A plugin is a value made by `defineMetric` and registered
 * explicitly (imported in `pipeline.config.ts`); the host checks its API version at load,
 * decodes its config with its schema, and names it `name@version#confighash` in stage keys.
 */
import { isAbsolute } from "node:path"
import { pathToFileURL } from "node:url"
import { Hash } from "@hyperwords/core"
import { decodeValue } from "@hyperwords/core/Decode"
import { Effect, Result, Schema } from "effect"
import { PluginLoadError } from "./Errors.ts"

/**
 * The plugin API version this host speaks. 2: the plugin SDK (`@hyperwords/eval/Sdk`); a plugin
 * depends on `@hyperwords/eval` alone. 1: plugins imported `@hyperwords/corpus`, `models`, `core`.
 */
export const apiVersion = 2 as const

/** One text a metric scores: a generation, or a line of a user's file. */
export interface SampleInput {
  /** Unique within the scored set. */
  readonly id: string
  readonly text: string
  /** The prompt the text answers; samples of one prompt are paired across model versions. */
  readonly promptId?: string
  readonly prompt?: string
  readonly lang?: "ru" | "en"
  /** The prompt-set task (e.g. `describe-image`, `continue-line`, `ten-words`). */
  readonly task?: string
  /** The sensations the prompt asked for, as words (e.g. "warm soft purring dusk"). */
  readonly request?: string
}

/** What the host gives every call of a plugin. */
export interface MetricContext {
  /** The model version name being evaluated or asked for (`--model`), if any. */
  readonly model?: string
  /** A `poem_hyperwords.jsonl` to use, when the caller has one. */
  readonly hyperwordsFile?: string
  /** Seed for any randomness of the metric (controls, sampling). */
  readonly seed: number
}

/**
 * A sample's score: a finite number, `null` when the metric does not apply to this text (it is
 * left out of the mean), or `{ score, ...details }` where details are JSON values kept per sample.
 */
export type SampleScore = number | null | { readonly score: number; readonly [detail: string]: unknown }

/** A corpus-level result: one number for the whole set, with optional interval and details. */
export interface CorpusScore {
  readonly score: number
  readonly ci?: readonly [number, number]
  readonly [detail: string]: unknown
}

/** The validation card of a metric: the human data it was checked against and how well it agrees. */
export const MetricCard = Schema.Struct({
  /** The human data, e.g. "Brysbaert et al. 2014 concreteness norms (English)". */
  humanData: Schema.String,
  /** Where the data comes from (a citation or a link). */
  source: Schema.optionalKey(Schema.String),
  /** The statistic, e.g. "Spearman ρ" or "AUC". */
  statistic: Schema.String,
  value: Schema.Finite,
  ci: Schema.Tuple([Schema.Finite, Schema.Finite]),
  n: Schema.Int,
  /** The value the statistic must reach for the metric to be trusted. */
  floor: Schema.optionalKey(Schema.Finite),
  notes: Schema.optionalKey(Schema.String)
})
export type MetricCard = typeof MetricCard.Type

/**
 * Where a plugin runs: a worker thread (the default), a forked Node process (native or heavy
 * code: a crash or an out-of-memory there cannot take the host down), or the host itself
 * (`in-process`: no isolation at all — a plugin that spins or calls `process.exit` stops the
 * host; for tests and trivial plugins only).
 */
export type Isolation = "worker-thread" | "child-process" | "in-process"

const isolations: ReadonlyArray<Isolation> = ["worker-thread", "child-process", "in-process"]

/** What a plugin author writes. */
export interface MetricSpec<C, CE = C> {
  /** Lowercase, dash-separated, e.g. `hyperword-usage`. */
  readonly name: string
  /** The plugin's version; bump it when scores change. */
  readonly version: string
  /** The plugin API version the plugin was written for. */
  readonly apiVersion: typeof apiVersion
  /** One line: what the number means. */
  readonly description: string
  /** The schema of the config; the host decodes what the user gives with it. */
  readonly config: Schema.Codec<C, CE>
  /** Whether higher scores are better (default true); decides the direction of deltas. */
  readonly higherIsBetter?: boolean
  /** The validation card, shown on the leaderboard. */
  readonly card?: MetricCard
  /** Whether the metric needs a model (`--model` for `hyperwords score`). */
  readonly requiresModel?: boolean
  /** Score one sample. */
  readonly sample?: (input: SampleInput, config: C, ctx: MetricContext) => Effect.Effect<SampleScore, unknown>
  /** Score the whole set at once. */
  readonly corpus?: (
    inputs: ReadonlyArray<SampleInput>,
    config: C,
    ctx: MetricContext
  ) => Effect.Effect<CorpusScore, unknown>
  /** Default `worker-thread`. */
  readonly isolation?: Isolation
  /**
   * The module that exports this plugin (`import.meta.url`): the worker imports it. Default: the
   * module that called `defineMetric`, which must then export the plugin.
   */
  readonly module?: string
  /** Time allowed for one call (a sample or the corpus), in ms (default 30 000). */
  readonly timeoutMs?: number
}

/** A defined metric plugin. */
export interface Metric<C = unknown, CE = C> extends MetricSpec<C, CE> {
  readonly _tag: "Metric"
  /** The plugin with a config (encoded form, as a user writes it). */
  readonly with: (config: CE) => MetricUse
}

/** A plugin with the config a user gave it. */
export interface MetricUse {
  readonly _tag: "MetricUse"
  // biome-ignore lint/suspicious/noExplicitAny: a use holds a plugin of any config type
  readonly metric: Metric<any, any>
  readonly config: unknown
}

/** What `pipeline.config.ts` lists: a plugin (default config) or a plugin with a config. */
// biome-ignore lint/suspicious/noExplicitAny: plugins have configs of different types
export type MetricEntry = Metric<any, any> | MetricUse

/** The URL of the module that called `defineMetric`, from the call stack; undefined when unknown. */
const callerModule = (): string | undefined => {
  const original = Error.prepareStackTrace
  try {
    Error.prepareStackTrace = (_, sites) => sites
    const holder: { stack?: unknown } = {}
    Error.captureStackTrace(holder, defineMetric)
    const sites = holder.stack as ReadonlyArray<NodeJS.CallSite> | undefined
    const file = sites?.[0]?.getFileName() ?? undefined
    if (file === undefined) return undefined
    if (file.startsWith("file:")) return file
    return isAbsolute(file) ? pathToFileURL(file).href : undefined
  } catch {
    return undefined
  } finally {
    Error.prepareStackTrace = original
  }
}

/** Define a metric plugin. */
export const defineMetric = <C, CE = C>(spec: MetricSpec<C, CE>): Metric<C, CE> => {
  const module = spec.module ?? callerModule()
  const metric: Metric<C, CE> = {
    ...spec,
    ...(module === undefined ? {} : { module }),
    _tag: "Metric",
    with: (config) => ({ _tag: "MetricUse", metric, config })
  }
  return metric
}

/** A plugin ready to run: config decoded, identity computed. */
export interface LoadedMetric {
  // biome-ignore lint/suspicious/noExplicitAny: the host runs plugins of any config type
  readonly metric: Metric<any, any>
  readonly config: unknown
  /** The config in its encoded, canonical form (what goes to a child process and into the key). */
  readonly encodedConfig: unknown
  /** `name@version#confighash`: the plugin's contribution to a stage key. */
  readonly id: string
  readonly isolation: Isolation
  readonly timeoutMs: number
}

const DEFAULT_TIMEOUT_MS = 30_000
const NAME = /^[a-z0-9][a-z0-9-]*$/

const describe = (u: unknown): string => {
  if (typeof u === "object" && u !== null && "name" in u) {
    const o = u as { name?: unknown; version?: unknown }
    return `${String(o.name)}@${String(o.version)}`
  }
  return String(u)
}

/** Decode a plugin's config and compute its identity; checks the contract at the same time. */
export const loadMetric = (entry: MetricEntry): Effect.Effect<LoadedMetric, PluginLoadError> =>
  Effect.suspend(() => {
    const isUse = (entry as { _tag?: unknown })?._tag === "MetricUse"
    const metric = isUse ? (entry as MetricUse).metric : (entry as Metric)
    const raw = isUse ? (entry as MetricUse).config : undefined
    const problem = checkShape(metric)
    if (problem) return Effect.fail(new PluginLoadError({ plugin: describe(metric), detail: problem }))
    const who = `${metric.name}@${metric.version}`
    const decoded = decodeValue(metric.config as Schema.Codec<unknown, unknown>, raw ?? {}, {
      file: `config of ${who}`
    })
    if (Result.isFailure(decoded)) {
      return Effect.fail(
        new PluginLoadError({ plugin: who, detail: `bad config: ${decoded.failure.message}` })
      )
    }
    const encoded = Schema.encodeUnknownResult(metric.config as Schema.Codec<unknown, unknown>)(
      decoded.success
    )
    const encodedConfig = Result.isSuccess(encoded) ? encoded.success : raw
    return Effect.succeed({
      metric,
      config: decoded.success,
      encodedConfig,
      id: `${who}#${Hash.hashValue(encodedConfig ?? null).slice(0, 12)}`,
      isolation: metric.isolation ?? "worker-thread",
      timeoutMs: metric.timeoutMs ?? DEFAULT_TIMEOUT_MS
    })
  })

const checkShape = (m: unknown): string | undefined => {
  if (typeof m !== "object" || m === null) return `is not a metric plugin (got ${typeof m})`
  const o = m as Partial<Metric>
  if (o._tag !== "Metric") return "is not a metric plugin: make it with defineMetric from @hyperwords/eval"
  if (typeof o.name !== "string" || !NAME.test(o.name)) {
    return `has an invalid name ${JSON.stringify(o.name)} (lowercase letters, digits and dashes)`
  }
  if (typeof o.version !== "string" || o.version === "") return "has no version"
  if (o.apiVersion !== apiVersion) {
    const upgrade =
      typeof o.apiVersion === "number" && o.apiVersion < apiVersion
        ? "; to port it, import what it takes from @hyperwords/corpus, @hyperwords/models or @hyperwords/core " +
          `from @hyperwords/eval/Sdk instead, depend on @hyperwords/eval alone, and set apiVersion: ${apiVersion}` +
          ' (packages/eval/README.md, "The plugin SDK")'
        : ""
    return (
      `was written for plugin API ${String(o.apiVersion)}, but this @hyperwords/eval speaks API ${apiVersion}; ` +
      `use a plugin version made for this API or upgrade @hyperwords/eval${upgrade}`
    )
  }
  if (!Schema.isSchema(o.config)) return "has no config schema (config: Schema.Struct({...}))"
  if (typeof o.sample !== "function" && typeof o.corpus !== "function") {
    return "has neither a sample nor a corpus function"
  }
  if (o.isolation !== undefined && !isolations.includes(o.isolation)) {
    return `has an unknown isolation ${JSON.stringify(o.isolation)} (${isolations.join(", ")})`
  }
  if (o.isolation !== "in-process" && typeof o.module !== "string") {
    return (
      `runs in a ${o.isolation === "child-process" ? "child process" : "worker thread"} but its module is not known: ` +
      "say it (module: import.meta.url)"
    )
  }
  if (o.timeoutMs !== undefined && !(Number.isFinite(o.timeoutMs) && o.timeoutMs > 0)) {
    return `has an invalid timeoutMs ${String(o.timeoutMs)}`
  }
  return undefined
}

/** Load every registered plugin; fails on the first bad one and on two plugins with one name. */
export const loadMetrics = (
  entries: ReadonlyArray<MetricEntry>
): Effect.Effect<Array<LoadedMetric>, PluginLoadError> =>
  Effect.gen(function* () {
    const out: Array<LoadedMetric> = []
    for (const entry of entries) {
      const loaded = yield* loadMetric(entry)
      const clash = out.find((o) => o.metric.name === loaded.metric.name)
      if (clash) {
        return yield* new PluginLoadError({
          plugin: loaded.id,
          detail: `has the same name as ${clash.id}; each registered metric needs its own name`
        })
      }
      out.push(loaded)
    }
    return out
  })

/** The `name@version#confighash` strings of loaded plugins. */
export const pluginIds = (loaded: ReadonlyArray<LoadedMetric>): Array<string> => loaded.map((l) => l.id)

/**
 * The `name@version#confighash` strings of registered plugins, for a stage's synchronous
 * `plugins(params)`; throws the PluginLoadError of the first bad plugin.
 */
export const metricIds = (entries: ReadonlyArray<MetricEntry>): Array<string> =>
  pluginIds(Effect.runSync(loadMetrics(entries)))

/**
 * Import a plugin module by path or URL and find its metric: the default export, or the named
 * export whose `name` is `name`, or the only metric it exports. Failures name the file.
 */
export const importMetric = (
  specifier: string,
  name?: string
): Effect.Effect<Metric<unknown, unknown>, PluginLoadError> =>
  Effect.gen(function* () {
    const url = /^[a-z]+:/.test(specifier) ? specifier : pathToFileURL(specifier).href
    const mod = yield* Effect.tryPromise({
      try: () => import(url) as Promise<Record<string, unknown>>,
      catch: (cause) =>
        new PluginLoadError({
          plugin: specifier,
          detail: `cannot be imported: ${(cause as Error)?.message ?? String(cause)}`,
          cause
        })
    })
    const metrics = Object.entries(mod).filter(([, v]) => (v as { _tag?: unknown })?._tag === "Metric")
    const pick =
      name === undefined
        ? (metrics.find(([k]) => k === "default") ?? (metrics.length === 1 ? metrics[0] : undefined))
        : metrics.find(([, v]) => (v as Metric).name === name)
    if (pick === undefined) {
      const found = metrics.map(([k, v]) => `${k} (${(v as Metric).name})`).join(", ") || "no metric"
      return yield* new PluginLoadError({
        plugin: specifier,
        detail:
          name === undefined
            ? `has no default export made with defineMetric (exports: ${found})`
            : `exports no metric named "${name}" (exports: ${found})`
      })
    }
    return pick[1] as Metric<unknown, unknown>
  })
