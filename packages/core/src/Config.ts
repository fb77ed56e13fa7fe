/**
 * `pipeline.config.ts`: the stages, their params per profile, where the store and reports go.
 * Loaded with a dynamic import; a failure names the file and the reason.
 */
import { existsSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { Effect, Result, type Schema } from "effect"
import type { Command } from "effect/cli"
import { decodeValue } from "./Decode.ts"
import { ConfigError, DecodeError } from "./Errors.ts"
import type { ExecutorSetting } from "./Executor.ts"
import { expandStagesWithOrigin, type StageEntry } from "./Families.ts"
import { AXIS_PARAM, AXIS_STAGE, type Base, basesOf, expandMatrix } from "./Matrix.ts"
import type { Stage } from "./Stage.ts"
import { applyPoint, expandSweep, mergeSweeps, type SweepSpec } from "./Sweep.ts"

/** The profiles every config knows. */
export const Profiles = ["quick", "default", "full"] as const
export type Profile = (typeof Profiles)[number]

/** Options from the command line that the config may use to shape params. */
export interface RunOptions {
  readonly profile: Profile
  readonly corpus: ReadonlyArray<string>
  /** The encoding of the `--corpus` files (`--encoding`); strict UTF-8 when absent. */
  readonly encoding?: string | undefined
  /** Grids given on the command line (`--sweep`), over the config's `sweep` param by param. */
  readonly sweep?: SweepSpec | undefined
}

/**
 * Params per stage id. A key ending in `*` applies to every stage whose id starts with what comes
 * before it (`"evaluate-*"`, or `"*"` for all); within one layer (the params, then the profile's)
 * the shorter prefix applies first and the exact id last, and a later layer wins over an earlier.
 */
export type StageParams = Readonly<Record<string, Readonly<Record<string, unknown>>>>

/** A pipeline configuration, as written in `pipeline.config.ts`. */
export interface PipelineConfig {
  /** The store directory, relative to the config file (default `.hyperwords`). */
  readonly store?: string
  /** Where exports and reports go, relative to the config file (default `reports`). */
  readonly reports?: string
  /**
   * The stages, and families of stages (`forEachOutput`, `collectOutputs` from `Families.ts`) that
   * `loadConfig` expands in order: each family sees every stage before it.
   */
  readonly stages: ReadonlyArray<StageEntry>
  /** Params per stage for every profile, or a function of the command-line options. */
  readonly params?: StageParams | ((options: RunOptions) => StageParams)
  /** Params per stage that a profile changes. */
  readonly profiles?: Partial<Record<Profile, StageParams>>
  /**
   * A grid of params per stage (`Sweep.ts`): `{ finetune: { "lora.rank": [8, 16], seed: [1, 2] } }`
   * replaces `finetune` with a copy per point, each a version on the board.
   */
  readonly sweep?: SweepSpec
  /**
   * Where the bridge's jobs run (`Executor.ts`): `"local"` (default) or `{ ray: { address } }`; the
   * `--executor` flag wins. Not part of any stage's key.
   */
  readonly executor?: ExecutorSetting | string
  /** Extra runtime fingerprint entries (onnxruntime version, Python lock hash, ...). */
  readonly runtime?: () => Readonly<Record<string, string>>
  /** Commands other packages add to the `hyperwords` CLI. */
  // biome-ignore lint/suspicious/noExplicitAny: commands of other packages have their own inputs
  readonly commands?: ReadonlyArray<Command.Command<any, any, any, any, any>>
}

/** Declare a pipeline configuration. */
export const defineConfig = (config: PipelineConfig): PipelineConfig => config

/** A config whose families are expanded: `stages` holds stages only. */
export interface ExpandedConfig extends Omit<PipelineConfig, "stages"> {
  // biome-ignore lint/suspicious/noExplicitAny: stages have params of different types
  readonly stages: ReadonlyArray<Stage<any>>
}

/** A loaded config with resolved paths; `config.stages` is the expanded list the runner sees. */
export interface LoadedConfig {
  readonly file: string
  readonly projectDir: string
  readonly storeDir: string
  readonly reportsDir: string
  readonly config: ExpandedConfig
}

/**
 * The base models the params list for a profile (`models: { model: [...] }`, see `Matrix.ts`), or
 * none for one model. Params that cannot be computed (a corpus not pulled) give none here: the
 * run reports them when it resolves the params.
 */
export const matrixBases = (config: PipelineConfig, options: RunOptions): ReadonlyArray<Base> | undefined => {
  let base: StageParams | undefined
  try {
    base = typeof config.params === "function" ? config.params(options) : config.params
  } catch {
    return undefined
  }
  return basesOf(paramsFor(AXIS_STAGE, [base, config.profiles?.[options.profile]])[AXIS_PARAM])
}

/**
 * Expand the matrix of base models for `options`' profile (`Matrix.ts`; the default profile
 * without options) and the families of a config (see `Families.ts`), and check its graph; errors
 * name `file`.
 */
export const expandConfig = (
  file: string,
  config: PipelineConfig,
  options: RunOptions = { profile: "default", corpus: [] }
): Effect.Effect<ExpandedConfig, ConfigError> =>
  Effect.gen(function* () {
    let entries: ReadonlyArray<unknown> = config.stages
    try {
      entries = expandMatrix(
        expandSweep(config.stages, mergeSweeps(config.sweep, options.sweep)),
        matrixBases(config, options)
      )
    } catch (e) {
      return yield* new ConfigError({ file, detail: e instanceof Error ? e.message : String(e) })
    }
    const expanded = expandStagesWithOrigin(entries)
    if (Result.isFailure(expanded)) return yield* new ConfigError({ file, detail: expanded.failure })
    const out: ExpandedConfig = { ...config, stages: expanded.success.map((e) => e.stage) }
    const made = new Map(expanded.success.filter((e) => e.made).map((e) => [e.stage.id, e.origin]))
    yield* checkGraph(file, out, made)
    return out
  })

/** Load `pipeline.config.ts` (or another file); `options` choose the profile whose base models make the matrix. */
export const loadConfig = (file: string, options?: RunOptions): Effect.Effect<LoadedConfig, ConfigError> =>
  Effect.gen(function* () {
    const abs = resolve(file)
    if (!existsSync(abs)) {
      return yield* new ConfigError({
        file: abs,
        detail: "no such file; run from the project folder or pass --config"
      })
    }
    const mod = yield* Effect.tryPromise({
      try: () => import(pathToFileURL(abs).href) as Promise<{ default?: unknown }>,
      catch: (e) => new ConfigError({ file: abs, detail: `cannot be loaded: ${(e as Error).message ?? e}` })
    })
    const config = mod.default as PipelineConfig | undefined
    if (config === undefined || typeof config !== "object" || !Array.isArray(config.stages)) {
      return yield* new ConfigError({
        file: abs,
        detail: "must `export default defineConfig({ stages: [...] })`"
      })
    }
    const projectDir = dirname(abs)
    const expanded = yield* expandConfig(abs, config, options)
    return {
      file: abs,
      projectDir,
      storeDir: resolve(projectDir, process.env.HYPERWORDS_STORE ?? config.store ?? ".hyperwords"),
      reportsDir: resolve(projectDir, config.reports ?? "reports"),
      config: expanded
    }
  })

const checkGraph = (
  file: string,
  config: ExpandedConfig,
  made: ReadonlyMap<string, string> = new Map()
): Effect.Effect<void, ConfigError> =>
  Effect.suspend(() => {
    const named = (id: string) => {
      const origin = made.get(id)
      return origin === undefined ? `stage "${id}"` : `stage "${id}" (made by ${origin})`
    }
    const ids = new Map<string, Stage<unknown>>()
    for (const [i, stage] of config.stages.entries()) {
      if (typeof stage?.id !== "string") {
        return Effect.fail(new ConfigError({ file, detail: `stages[${i}] is not a stage (no id)` }))
      }
      if (ids.has(stage.id))
        return Effect.fail(new ConfigError({ file, detail: `two stages are named "${stage.id}"` }))
      ids.set(stage.id, stage)
    }
    for (const stage of config.stages) {
      for (const [name, ref] of Object.entries(stage.inputs)) {
        const up = ids.get(ref.stage)
        if (!up) {
          return Effect.fail(
            new ConfigError({
              file,
              detail: `${named(stage.id)} input "${name}" names unknown stage "${ref.stage}"`
            })
          )
        }
        if (!(ref.output in up.outputs)) {
          return Effect.fail(
            new ConfigError({
              file,
              detail: `${named(stage.id)} input "${name}" names output "${ref.output}" that "${ref.stage}" does not produce (it produces: ${Object.keys(up.outputs).join(", ")})`
            })
          )
        }
      }
    }
    return topoOrder(config.stages).pipe(
      Effect.mapError((detail) => new ConfigError({ file, detail })),
      Effect.asVoid
    )
  })

/** Stages in dependency order (stable: ties keep config order); fails on a cycle. */
export const topoOrder = <S extends Stage<unknown>>(
  stages: ReadonlyArray<S>
): Effect.Effect<Array<S>, string> =>
  Effect.suspend(() => {
    const out: Array<S> = []
    const state = new Map<string, "visiting" | "done">()
    const byId = new Map(stages.map((s) => [s.id, s]))
    const visit = (s: S, path: Array<string>): string | undefined => {
      const st = state.get(s.id)
      if (st === "done") return undefined
      if (st === "visiting") return `stages form a cycle: ${[...path, s.id].join(" -> ")}`
      state.set(s.id, "visiting")
      for (const ref of Object.values(s.inputs)) {
        const up = byId.get(ref.stage)
        if (up) {
          const err = visit(up, [...path, s.id])
          if (err) return err
        }
      }
      state.set(s.id, "done")
      out.push(s)
      return undefined
    }
    for (const s of stages) {
      const err = visit(s, [])
      if (err) return Effect.fail(err)
    }
    return Effect.succeed(out)
  })

/**
 * The raw params of stage `id` from layers of `StageParams`, later layers winning; within a layer,
 * `prefix*` keys apply shortest prefix first, then the exact id.
 */
export const paramsFor = (
  id: string,
  layers: ReadonlyArray<StageParams | undefined>
): Record<string, unknown> => {
  let out: Record<string, unknown> = {}
  for (const layer of layers) {
    if (!layer) continue
    const wildcards = Object.entries(layer)
      .filter(([key]) => key.endsWith("*") && id.startsWith(key.slice(0, -1)))
      .sort(([a], [b]) => a.length - b.length)
    for (const [, p] of wildcards) out = { ...out, ...p }
    const exact = Object.hasOwn(layer, id) ? layer[id] : undefined
    if (exact) out = { ...out, ...exact }
  }
  return out
}

const exactParams = (id: string, layers: ReadonlyArray<StageParams | undefined>): Record<string, unknown> => {
  let out: Record<string, unknown> = {}
  for (const layer of layers)
    if (layer !== undefined && Object.hasOwn(layer, id)) out = { ...out, ...layer[id] }
  return out
}

/** Decode every stage's params for a profile; an error names the config file and the field. */
export const resolveParams = (
  loaded: LoadedConfig,
  options: RunOptions
): Effect.Effect<ReadonlyMap<string, unknown>, DecodeError> =>
  Effect.suspend(() => {
    const { config } = loaded
    let base: StageParams | undefined
    try {
      base = typeof config.params === "function" ? config.params(options) : config.params
    } catch (e) {
      // e.g. a corpus the params name that is not pulled yet: its message says what to run
      return Effect.fail(
        new DecodeError({
          file: loaded.file,
          field: `params (profile ${options.profile})`,
          detail: e instanceof Error ? e.message : String(e)
        })
      )
    }
    const layers = [base, config.profiles?.[options.profile]]
    const out = new Map<string, unknown>()
    for (const stage of config.stages) {
      // what the command line sets (e.g. `--encoding`) wins over the config
      // a base's copy (`Matrix.ts`): the plain id's params, then those of its own id (`finetune@smollm2-135m`)
      // a sweep's copy (`Sweep.ts`): the swept stage's params, then those of the copy's id, its point over them
      const plain = stage.matrix?.id ?? stage.id
      const own = stage.matrix === undefined ? {} : exactParams(stage.id, layers)
      const merged = {
        ...paramsFor(stage.sweep?.id ?? plain, layers),
        ...(stage.sweep === undefined ? {} : exactParams(plain, layers)),
        ...own,
        ...(stage.commandLine?.(options) ?? {}),
        ...(stage.fixedParams ?? {})
      }
      const raw = stage.sweep === undefined ? merged : applyPoint(merged, stage.sweep.point)
      const r = decodeValue(stage.params as Schema.Codec<unknown, unknown>, raw, { file: loaded.file })
      if (Result.isFailure(r)) {
        const e = r.failure
        return Effect.fail(
          new DecodeError({
            file: e.file,
            field: `params.${stage.id}${e.field ? `.${e.field}` : ""} (profile ${options.profile})`,
            detail: e.detail
          })
        )
      }
      out.set(stage.id, r.success)
    }
    return Effect.succeed(out)
  })
