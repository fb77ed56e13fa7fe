/**
 * The expected failures of hyperwords. Each carries a `message` a user can act on; the CLI prints
 * it as one line and exits non-zero, never with a stack trace.
 */
import { Schema } from "effect"

/** A file (or one line of a JSONL file) did not match its schema. */
export class DecodeError extends Schema.TaggedError<DecodeError>()("DecodeError", {
  file: Schema.String,
  line: Schema.optionalKey(Schema.Number),
  field: Schema.optionalKey(Schema.String),
  detail: Schema.String
}) {
  override get message(): string {
    const at = this.line === undefined ? this.file : `${this.file}:${this.line}`
    const field = this.field === undefined || this.field === "" ? "" : ` field ${this.field}:`
    return `${at}:${field} ${this.detail}`
  }
}

/** `pipeline.config.ts` could not be loaded or is inconsistent. */
export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  file: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.detail}`
  }
}

/**
 * Another process holds the store's lock. `where` says what is known of it: `here` (this host, the
 * pid and its start time match), `unverified` (this host, a lock without a start time), `elsewhere`.
 */
export class StoreLockedError extends Schema.TaggedError<StoreLockedError>()("StoreLockedError", {
  store: Schema.String,
  pid: Schema.Number,
  start: Schema.optionalKey(Schema.String),
  host: Schema.String,
  command: Schema.String,
  since: Schema.String,
  where: Schema.Literals(["here", "unverified", "elsewhere"])
}) {
  override get message(): string {
    const holder =
      `the store ${this.store} is in use by another pipeline: pid ${this.pid} on ${this.host}` +
      ` (${this.command}, since ${this.since}).`
    if (this.where === "here") return `${holder} Wait for it to finish or stop it (kill ${this.pid}).`
    if (this.where === "unverified")
      return (
        `${holder} Wait for it to finish; its lock does not record when it started, so check that pid ` +
        `${this.pid} is that command (ps -p ${this.pid} -o args) before stopping it.`
      )
    return (
      `${holder} It runs on another machine: wait for it, or stop it there. If nothing runs there any ` +
      `more, remove ${this.store}/LOCK.`
    )
  }
}

/** Reading or writing the store failed. */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  path: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.path}: ${this.detail}`
  }
}

/** A stage failed while running; `stage` names it. */
export class StageError extends Schema.TaggedError<StageError>()("StageError", {
  stage: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `stage ${this.stage} failed: ${this.detail}`
  }
}

/** The command line asked for something that cannot be done. */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", {
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
}

/** Every expected error of hyperwords core. */
export type HyperwordsError =
  | DecodeError
  | ConfigError
  | StoreLockedError
  | StoreError
  | StageError
  | UsageError

const tags = new Set([
  "DecodeError",
  "ConfigError",
  "StoreLockedError",
  "StoreError",
  "StageError",
  "UsageError"
])

/** Whether a value is one of the expected errors (shown to users as one line). */
export const isExpected = (u: unknown): u is HyperwordsError =>
  typeof u === "object" && u !== null && "_tag" in u && tags.has(String((u as { _tag: unknown })._tag))
