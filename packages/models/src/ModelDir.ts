/**
 * Model directories: where a model name lives on disk, and whether a directory holds what the
 * runtime needs (the transformers.js layout plus the probe graph), checked before anything is
 * loaded so that a missing or broken file is reported by name with the command that makes it.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs"
import { basename, dirname, isAbsolute, join, resolve } from "node:path"
import { ModelDirError } from "./Errors.ts"

/**
 * The numeric precision of the generation graph: `fp32` is `onnx/model.onnx`, `q8`
 * `onnx/model_quantized.onnx` (dynamic int8), `w8` and `w4` `onnx/model_w8.onnx` and
 * `onnx/model_w4.onnx` (weight-only blocks, `python -m hyperwords_bridge.weight_quant`).
 */
export type Dtype = "fp32" | "q8" | "w8" | "w4"

/**
 * The layers the project's word readers ask the embedding graph for: layer 1 (associative
 * breadth) and a third of the depth (the sensory estimator, `layerFraction` in corpus `Senses`).
 * A model folder gets an embedding graph cut after each (`onnx/embed-upto-N.onnx`, see
 * `hyperwords_bridge.graph_cuts`), so a reader of layer N pays for N layers, not all of them.
 */
export const embedCutLayers = (numLayers: number): Array<number> =>
  [...new Set([1, Math.round(numLayers / 3)])].filter((n) => n >= 1 && n < numLayers).sort((a, b) => a - b)

/** The file of the embedding graph cut after layer `upto`. */
export const embedCutFile = (upto: number): string => `embed-upto-${upto}.onnx`

/** The embedding graph cuts a folder has, by their deepest layer, ascending. */
export const embedCuts = (dir: string): Array<number> => {
  const onnx = join(dir, "onnx")
  if (!existsSync(onnx)) return []
  return readdirSync(onnx)
    .map((f) => /^embed-upto-(\d+)\.onnx$/.exec(f)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b)
}

/** The generation graph file of each dtype (transformers.js suffixes). */
export const generationFile: Record<Dtype, string> = {
  fp32: "onnx/model.onnx",
  q8: "onnx/model_quantized.onnx",
  w8: "onnx/model_w8.onnx",
  w4: "onnx/model_w4.onnx"
}

/** What the runtime reads from `config.json`. */
export interface ModelConfig {
  readonly modelType: string
  readonly numLayers: number
  readonly hiddenSize: number
  readonly numHeads: number
  readonly numKeyValueHeads: number
  readonly headDim: number
  readonly vocabSize: number
  /** End-of-sequence ids from `generation_config.json` and `config.json`. */
  readonly eosTokenIds: ReadonlyArray<number>
  readonly bosTokenId: number | undefined
  readonly padTokenId: number | undefined
  /** The raw `config.json`. */
  readonly raw: Readonly<Record<string, unknown>>
}

/** `$HYPERWORDS_HOME`, else `<repo>/.hyperwords` (the folder holding pnpm-workspace.yaml), else `./.hyperwords`. */
export const hyperwordsHome = (): string => {
  const env = process.env.HYPERWORDS_HOME
  if (env !== undefined && env !== "") return resolve(env)
  for (const start of [process.cwd(), import.meta.dirname]) {
    let dir = resolve(start)
    for (;;) {
      if (existsSync(join(dir, "pnpm-workspace.yaml"))) return join(dir, ".hyperwords")
      const up = dirname(dir)
      if (up === dir) break
      dir = up
    }
  }
  return resolve(".hyperwords")
}

/** A registered name (`gemma-3-270m`) resolves under `<home>/models/`; anything path-like is a directory. */
export const resolveModelDir = (nameOrPath: string): string => {
  const pathLike =
    isAbsolute(nameOrPath) ||
    nameOrPath.startsWith(".") ||
    nameOrPath.includes("/") ||
    nameOrPath.includes("\\")
  return pathLike ? resolve(nameOrPath) : join(hyperwordsHome(), "models", nameOrPath)
}

/** The command that (re)makes a model directory. */
export const pullCommand = (dir: string): string => `pnpm hyperwords models pull ${basename(dir)}`

const dirError = (dir: string, missing: string, detail: string) =>
  new ModelDirError({ path: dir, missing, detail, fix: pullCommand(dir) })

/** Read and parse a JSON file of a model directory, or throw a `ModelDirError` naming it. */
export const readJsonFile = (dir: string, file: string): Record<string, unknown> => {
  const path = join(dir, file)
  if (!existsSync(path)) throw dirError(dir, file, "is missing")
  let value: unknown
  try {
    value = JSON.parse(readFileSync(path, "utf8"))
  } catch (e) {
    throw dirError(dir, file, `is not valid JSON (${e instanceof Error ? e.message : String(e)})`)
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw dirError(dir, file, "is not a JSON object")
  }
  return value as Record<string, unknown>
}

/**
 * Check that an ONNX file exists and starts like an ONNX model: a protobuf `ModelProto`, whose
 * first field is `ir_version` (tag 0x08). Truncated or foreign files fail here cheaply; deeper
 * damage is reported when onnxruntime parses the file.
 */
export const checkOnnxFile = (dir: string, file: string): string => {
  const path = join(dir, file)
  if (!existsSync(path)) throw dirError(dir, file, "is missing")
  const size = statSync(path).size
  if (size < 16) throw dirError(dir, file, `is truncated (${size} bytes)`)
  const head = Buffer.alloc(1)
  const fd = openSync(path, "r")
  try {
    readSync(fd, head, 0, 1, 0)
  } finally {
    closeSync(fd)
  }
  if (head[0] !== 0x08) throw dirError(dir, file, "is not an ONNX model (bad header)")
  return path
}

const positiveInt = (dir: string, raw: Record<string, unknown>, key: string): number => {
  const v = raw[key]
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
    throw dirError(dir, "config.json", `has no positive integer "${key}"`)
  }
  return v
}

const ids = (v: unknown): Array<number> =>
  typeof v === "number" ? [v] : Array.isArray(v) ? v.filter((x): x is number => typeof x === "number") : []

/** Read `config.json` (and `generation_config.json` when present) of a model directory. */
export const readModelConfig = (dir: string): ModelConfig => {
  const raw = readJsonFile(dir, "config.json")
  const modelType = raw.model_type
  if (typeof modelType !== "string") throw dirError(dir, "config.json", 'has no "model_type"')
  const numHeads = positiveInt(dir, raw, "num_attention_heads")
  const hiddenSize = positiveInt(dir, raw, "hidden_size")
  const gen = existsSync(join(dir, "generation_config.json"))
    ? readJsonFile(dir, "generation_config.json")
    : {}
  const eos = [...new Set([...ids(gen.eos_token_id), ...ids(raw.eos_token_id)])]
  const optionalId = (v: unknown) => (typeof v === "number" ? v : undefined)
  return {
    modelType,
    numLayers: positiveInt(dir, raw, "num_hidden_layers"),
    hiddenSize,
    numHeads,
    numKeyValueHeads: typeof raw.num_key_value_heads === "number" ? raw.num_key_value_heads : numHeads,
    headDim: typeof raw.head_dim === "number" ? raw.head_dim : hiddenSize / numHeads,
    vocabSize: positiveInt(dir, raw, "vocab_size"),
    eosTokenIds: eos,
    bosTokenId: optionalId(gen.bos_token_id) ?? optionalId(raw.bos_token_id),
    padTokenId: optionalId(gen.pad_token_id) ?? optionalId(raw.pad_token_id),
    raw
  }
}

/** The files of a checked model directory. */
export interface ModelFiles {
  readonly dir: string
  readonly config: ModelConfig
  /** The generation graph of the requested dtype. */
  readonly generation: string
}

/**
 * Check a model directory for generation: `config.json`, `tokenizer.json`,
 * `tokenizer_config.json` and the generation graph of `dtype`. Throws `ModelDirError`.
 */
export const checkModelDir = (dir: string, dtype: Dtype = "fp32"): ModelFiles => {
  if (!existsSync(dir)) throw dirError(dir, "the directory", "does not exist")
  if (!statSync(dir).isDirectory()) throw dirError(dir, "the path", "is not a directory")
  const config = readModelConfig(dir)
  // tokenizer.json is parsed once, by the tokenizer (Gemma's is 33 MB); here it only has to exist
  if (!existsSync(join(dir, "tokenizer.json"))) throw dirError(dir, "tokenizer.json", "is missing")
  readJsonFile(dir, "tokenizer_config.json")
  const generation = checkOnnxFile(dir, generationFile[dtype])
  return { dir, config, generation }
}
