/**
 * `hyperwords models import DIR`: a researcher's own Hugging Face causal-LM folder (Llama,
 * SmolLM, Mistral, Qwen2, Qwen3, Gemma 2, Gemma 3 text) made into a store model folder: its files
 * staged (hard links where possible, shards merged), the export steps a pull runs, then the parity
 * check against PyTorch and the model card (`hyperwords_bridge.import_model`).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { basename, join, resolve } from "node:path"
import { Effect } from "effect"
import { type Bridge, BridgeError } from "./Bridge.ts"
import {
  diskShortfall,
  exportSteps,
  isRegistered,
  missingFiles,
  modelDir,
  runSteps,
  type Step
} from "./ModelDir.ts"
import { defaultModels } from "./Paths.ts"

/** Where an imported model came from, as its card records it. */
export interface ImportSource {
  readonly kind: "import"
  readonly path: string
}

/** The card's fields `models list` shows for an imported model. */
export interface ImportedCard {
  readonly name: string
  readonly model_type?: string
  readonly safetensors_sha256: string
  readonly source?: ImportSource | { readonly kind: string }
}

/** A store name from a folder's name: letters, digits, `.`, `_` and `-`; the rest become `-`. */
export const importName = (folder: string): string =>
  basename(resolve(folder))
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/^[-.]+|-+$/g, "")

/** Bytes of the folder's safetensors files (what the graphs grow from). */
const weightBytes = (src: string): number =>
  readdirSync(src)
    .filter((f) => f.endsWith(".safetensors"))
    .reduce((n, f) => n + statSync(join(src, f)).size, 0)

/** The steps of an import: stage, the shared exports (their checks left to the card), the card. */
const importSteps = (src: string, dir: string, name: string, force: boolean): Array<Step> => [
  {
    label: `import ${name}`,
    module: "hyperwords_bridge.import_model",
    args: ["stage", src, "--out", dir, ...(force ? ["--force"] : [])],
    done: () => false
  },
  ...exportSteps(dir, name, false, { verify: false }),
  {
    label: `parity check of ${name}`,
    module: "hyperwords_bridge.import_model",
    args: ["card", dir, "--source", src, "--name", name],
    done: () => false
  }
]

/**
 * Import the Hugging Face folder `src` as `<storeDir>/models/<name>` (name: the folder's, made
 * safe). An unfinished import resumes; a finished one is replaced only with `force`. Fails with
 * the worker's message: the unsupported architecture and the supported list, the missing file, or
 * the parity figures.
 */
export const importModel = (
  src: string,
  storeDir: string,
  options: { readonly name?: string; readonly force?: boolean } = {}
) =>
  Effect.gen(function* () {
    const from = resolve(src)
    const name = options.name ?? importName(from)
    const job = `import ${src}`
    if (!existsSync(from) || !statSync(from).isDirectory()) {
      return yield* new BridgeError({ job, detail: `${from} is not a folder` })
    }
    if (name === "" || name !== importName(name) || name === "." || name === "..") {
      return yield* new BridgeError({
        job,
        detail: `"${name}" cannot name a model folder; use letters, digits, ".", "_" and "-" (--name)`
      })
    }
    if (isRegistered(name)) {
      return yield* new BridgeError({
        job,
        detail: `"${name}" is a registered model (${defaultModels.join(", ")}); choose another --name`
      })
    }
    const dir = modelDir(storeDir, name)
    if (!options.force && existsSync(dir) && missingFiles(dir).length === 0) {
      return yield* new BridgeError({
        job,
        detail: `${dir} already holds a complete model "${name}"; pass --force to replace it, or --name to import beside it`
      })
    }
    // weights (when they cannot be hard-linked), the fp32 and q8 graphs and the probe graph
    const short = diskShortfall(storeDir, weightBytes(from) * 5, `import ${name}`)
    if (short) return yield* new BridgeError({ job, detail: short })
    yield* runSteps(importSteps(from, dir, name, options.force ?? false))
    const missing = missingFiles(dir)
    if (missing.length > 0) {
      return yield* Effect.die(
        new Error(`model ${name} in ${dir} still lacks ${missing.join(", ")} after importing`)
      )
    }
    return { name, dir }
  }) as Effect.Effect<{ readonly name: string; readonly dir: string }, BridgeError, Bridge>

/** A model folder under `<storeDir>/models` that an import made or began. */
export interface ImportedModel {
  readonly name: string
  readonly dir: string
  /** The card, when the import finished. */
  readonly card: ImportedCard | undefined
  /** The folder it was imported from (the card's, or the unfinished import's record). */
  readonly source: string | undefined
}

/** Imported models of a store, finished or not, by name. */
export const importedModels = (storeDir: string): Array<ImportedModel> => {
  const root = join(storeDir, "models")
  if (!existsSync(root)) return []
  const out: Array<ImportedModel> = []
  for (const name of readdirSync(root).sort()) {
    const dir = join(root, name)
    const read = (file: string): Record<string, unknown> | undefined => {
      try {
        return JSON.parse(readFileSync(join(dir, file), "utf8")) as Record<string, unknown>
      } catch {
        return undefined
      }
    }
    const card = read("hyperwords-model.json") as ImportedCard | undefined
    if (card !== undefined) {
      if (card.source?.kind !== "import") continue
      out.push({ name, dir, card, source: (card.source as ImportSource).path })
      continue
    }
    const stamp = read(".import-source.json")
    if (stamp !== undefined) {
      out.push({
        name,
        dir,
        card: undefined,
        source: typeof stamp.source === "string" ? stamp.source : undefined
      })
    }
  }
  return out
}
