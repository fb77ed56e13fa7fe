/**
 * The expected failures of the evaluation host. Each names the plugin (or file) and says what to
 * do; the CLI prints the `message` as one line.
 */
import { Schema } from "effect"

/** A metric plugin could not be loaded: bad module, wrong API version, bad config, name clash. */
export class PluginLoadError extends Schema.TaggedError<PluginLoadError>()("PluginLoadError", {
  /** `name@version`, or the module path when the name is not known yet. */
  plugin: Schema.String,
  detail: Schema.String,
  cause: Schema.optionalKey(Schema.Unknown)
}) {
  override get message(): string {
    return `metric plugin ${this.plugin}: ${this.detail}`
  }
}

/** A metric asked for by name is not registered. */
export class UnknownMetricError extends Schema.TaggedError<UnknownMetricError>()("UnknownMetricError", {
  name: Schema.String,
  registered: Schema.Array(Schema.String)
}) {
  override get message(): string {
    const known = this.registered.length > 0 ? this.registered.join(", ") : "none"
    return (
      `no metric "${this.name}" is registered (registered: ${known}); ` +
      "register it in pipeline.config.ts or pass the path of its module"
    )
  }
}

/** A metric column failed where the caller needs it (e.g. `hyperwords score`). */
export class MetricFailedError extends Schema.TaggedError<MetricFailedError>()("MetricFailedError", {
  metric: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `metric ${this.metric} failed: ${this.reason}`
  }
}

/** Publishing the report site failed. */
export class PublishError extends Schema.TaggedError<PublishError>()("PublishError", {
  target: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `publish to ${this.target}: ${this.detail}`
  }
}
