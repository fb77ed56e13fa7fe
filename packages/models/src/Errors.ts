/**
 * The expected failures of the model runtime. Each names the model directory it is about and,
 * where a command fixes it, says which; the CLI prints `message` as one line.
 */
import { Schema } from "effect"

/** A model directory is missing, incomplete or holds a file that cannot be read. */
export class ModelDirError extends Schema.TaggedError<ModelDirError>()("ModelDirError", {
  /** The model directory. */
  path: Schema.String,
  /** What is missing or broken, relative to the directory (`config.json`, `onnx/model.onnx`, ...). */
  missing: Schema.String,
  /** Why it is a problem. */
  detail: Schema.String,
  /** The command that makes it. */
  fix: Schema.String
}) {
  override get message(): string {
    return `model directory ${this.path}: ${this.missing} ${this.detail}. Make it with: ${this.fix}`
  }
}

/** onnxruntime failed while running a loaded graph. */
export class ModelRunError extends Schema.TaggedError<ModelRunError>()("ModelRunError", {
  path: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `running ${this.path} failed: ${this.detail}`
  }
}

/** A request the model cannot serve (a layer out of range, an empty prompt, ...). */
export class ModelInputError extends Schema.TaggedError<ModelInputError>()("ModelInputError", {
  path: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.path}: ${this.detail}`
  }
}

/** Every expected error of the model runtime. */
export type ModelError = ModelDirError | ModelRunError | ModelInputError

/** Whether a thrown value is one of the model runtime's expected errors. */
export const isModelError = (u: unknown): u is ModelError =>
  u instanceof ModelDirError || u instanceof ModelRunError || u instanceof ModelInputError
