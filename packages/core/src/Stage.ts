/**
 * What a stage is: typed inputs (outputs of other stages), typed outputs (artifact kinds),
 * params with a schema, a code version bumped by hand, and an Effect that produces the outputs.
 * The runner hashes all of these into the stage key.
 */

import { Effect, type FileSystem, type Path, Schema } from "effect"
import type { ChildProcessSpawner } from "effect/process"
import { type ArtifactKind, HyperwordRecord, ModelVersion } from "./Artifacts.ts"
import type { RunOptions } from "./Config.ts"
import { decodeJsonlText, decodeValue, readText } from "./Decode.ts"
import { DecodeError } from "./Errors.ts"
import type { Progress } from "./Progress.ts"
import type { Manifest, Store } from "./Store.ts"

/** An input: the named output of an upstream stage. */
export interface InputRef {
  readonly stage: string
  readonly output: string
  /**
   * With several base models (`Matrix.ts`): `"first"` reads the first base's copy from every
   * base's stage (e.g. the judge, fixed for the whole board); by default a stage reads its own base's.
   */
  readonly matrix?: "first"
}

/** An input artifact as a stage sees it. */
export interface LoadedArtifact {
  readonly hash: string
  readonly manifest: Manifest
  /** The index document, decoded by the kind's schema. */
  readonly data: unknown
  /** Absolute path of one of the artifact's files (read-only: it is a store object). */
  readonly file: (path: string) => string
}

/** What a stage's `run` gets. */
export interface StageContext<P> {
  readonly stage: string
  readonly params: P
  readonly inputs: Readonly<Record<string, LoadedArtifact>>
  /** The staging directory of an output: every file written under it becomes part of the artifact. */
  readonly outputDir: (output: string) => string
  readonly runId: string
  /** The stage key of this run: the same inputs, params and code give the same key (long jobs keep resumable work under it). */
  readonly key: string
  /** Where user-facing exports go (`reports/` by default). */
  readonly reportsDir: string
  /** Directory of `pipeline.config.ts`, against which relative paths in params resolve. */
  readonly projectDir: string
  /** The stage this one is a sweep copy of (`Sweep.ts`), when it is one. */
  readonly sweepOf?: string
}

/** A produced output: its index document. Its files are whatever the stage wrote into `outputDir`. */
export interface StageOutput {
  readonly data: unknown
}

/** A file of an output artifact copied to the reports directory after every run or cache hit. */
export interface ExportSpec {
  readonly output: string
  readonly file: string
  readonly to: string
}

/** Services every stage may use. */
export type StageServices =
  | Store
  | Progress
  | ChildProcessSpawner.ChildProcessSpawner
  | FileSystem.FileSystem
  | Path.Path

/** A stage of the pipeline. */
export interface Stage<P = unknown> {
  readonly id: string
  readonly description: string
  /** Bumped by hand when the stage's code changes what it produces. */
  readonly codeVersion: string
  readonly params: Schema.Codec<P, unknown>
  readonly inputs: Readonly<Record<string, InputRef>>
  readonly outputs: Readonly<Record<string, ArtifactKind>>
  /** Params the command line sets (e.g. `--encoding` for the `--corpus` paths), over the config's. */
  readonly commandLine?: (options: RunOptions) => Readonly<Record<string, unknown>>
  /** Files or folders outside the store that the stage reads (hashed into the key). */
  readonly sources?: (params: P, projectDir: string) => ReadonlyArray<string>
  /** The model the stage uses, by id and exact revision. */
  readonly model?: (params: P) => { readonly id: string; readonly revision: string } | undefined
  /** Plugins the stage runs, as `name@version` (config included where it matters). */
  readonly plugins?: (params: P) => ReadonlyArray<string>
  readonly exports?: ReadonlyArray<ExportSpec>
  /**
   * Whether restored outputs are still usable (e.g. files they point to outside the store exist).
   * `{ retry }`: usable, but incomplete (some of the work failed), so a run that selects the stage
   * runs it again, saying `retry` as the reason; a run that does not select it restores them.
   */
  readonly restorable?: (
    outputs: Readonly<Record<string, LoadedArtifact>>
  ) => boolean | { readonly retry: string }
  /**
   * More inputs found in the store once the declared ones are known (e.g. the report's earlier
   * evaluations): input name → artifact hash. They are hashed into the key like the declared
   * inputs (a new one remakes the stage), recorded in the lineage, and loaded into `ctx.inputs`.
   */
  readonly discover?: (ctx: {
    readonly params: P
    readonly inputs: Readonly<Record<string, string>>
  }) => Effect.Effect<Readonly<Record<string, string>>, unknown, Store>
  /** The work. A stage without `run` is planned: shown in the graph, skipped with a note. */
  readonly run?: (
    ctx: StageContext<P>
  ) => Effect.Effect<Readonly<Record<string, StageOutput>>, unknown, StageServices>
  /** Where a planned stage will come from (e.g. "issue #4"). */
  readonly plannedIn?: string
  /**
   * A copy of a stage for one base model of a matrix (`Matrix.ts`): its plain id (what its key,
   * `ctx.stage` and its base-agnostic params use) and the base's label (its exports go to
   * `reports/<base>/`).
   */
  readonly matrix?: { readonly id: string; readonly base: string }
  /** Params set by the pipeline itself (a matrix base's model), over the config's and the command line's. */
  readonly fixedParams?: Readonly<Record<string, unknown>>
  /**
   * A point of a sweep (`Sweep.ts`): this stage is a copy of stage `id` that reads `id`'s params,
   * then its own id's, with `point`'s values set over them (a dotted name reaches into an object:
   * `lora.rank`).
   */
  readonly sweep?: { readonly id: string; readonly point: Readonly<Record<string, unknown>> }
}

/** Define a stage (an identity function that fixes the params type). */
export const defineStage = <P>(stage: Stage<P>): Stage<P> => stage

/** A stage that is designed but not built yet: it appears in the graph and is skipped with a note. */
export const plannedStage = (stage: {
  readonly id: string
  readonly description: string
  readonly inputs: Readonly<Record<string, InputRef>>
  readonly outputs: Readonly<Record<string, ArtifactKind>>
  readonly plannedIn: string
}): Stage<Record<string, unknown>> => ({
  ...stage,
  codeVersion: "0",
  params: PlannedParams
})

const PlannedParams = Schema.Record(Schema.String, Schema.Unknown)

/** The data file an artifact's index names in its `file` field, or `fallback`. */
export const artifactFile = (artifact: LoadedArtifact, fallback: string): string =>
  (artifact.data as { file?: string }).file ?? fallback

/** The path of a `HyperwordSet` input's `poem_hyperwords.jsonl`. */
export const hyperwordsPath = (set: LoadedArtifact): string =>
  set.file(artifactFile(set, "poem_hyperwords.jsonl"))

/** The records of a `HyperwordSet` input, decoded line by line (a bad line fails naming the file and line). */
export const readHyperwords = (set: LoadedArtifact) => {
  const file = artifactFile(set, "poem_hyperwords.jsonl")
  return Effect.flatMap(readText(set.file(file)), (text) =>
    Effect.fromResult(decodeJsonlText(HyperwordRecord, text, file))
  )
}

/**
 * The `ModelVersion` of an input with the folder its model loads from; a missing input, a bad
 * document or a version without a folder fails naming `what` (e.g. "base").
 */
export const readModelVersion = (input: LoadedArtifact | undefined, what: string) =>
  Effect.gen(function* () {
    if (input === undefined)
      return yield* new DecodeError({ file: what, detail: "the stage has no such input" })
    const v = yield* Effect.fromResult(decodeValue(ModelVersion, input.data, { file: what }))
    if (v.dir === undefined)
      return yield* new DecodeError({
        file: what,
        detail: `model ${v.name} has no folder to load it from (its ModelVersion has no dir)`
      })
    return { ...v, dir: v.dir }
  })
