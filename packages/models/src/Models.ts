/**
 * The model runtime as an Effect service: load a model directory, then tokenize, generate,
 * stream, embed and probe, each an Effect failing with the runtime's tagged errors. The service
 * shares the process-wide caches of `Model.ts` (one session per graph file per process).
 */
import { Context, Effect, Layer, Stream } from "effect"
import type { Embeddings, EmbedOptions } from "./Embed.ts"
import { isModelError, type ModelDirError, type ModelError, ModelRunError } from "./Errors.ts"
import type { GeneratedToken, GenerateOptions, Generation } from "./Generate.ts"
import { releaseSessions } from "./internal/sessions.ts"
import {
  forgetModels,
  type LayersProbeRequest,
  type LoadOptions,
  loadModel,
  type Model,
  type ProbeRequest,
  type Prompt
} from "./Model.ts"
import type { ProbeResult } from "./Probe.ts"
import type { LayerProbeResult } from "./ProbeLayers.ts"

const asModelError = (model: Model) => (cause: unknown) =>
  isModelError(cause)
    ? cause
    : new ModelRunError({ path: model.dir, detail: cause instanceof Error ? cause.message : String(cause) })

/** The model runtime. */
export class Models extends Context.Service<
  Models,
  {
    /** Load a model by registered name or directory (cached per process). */
    readonly load: (nameOrDir: string, options?: LoadOptions) => Effect.Effect<Model, ModelDirError>
    /** Token ids of a text. */
    readonly encode: (model: Model, text: string) => Effect.Effect<Array<number>>
    /** Text of token ids. */
    readonly decode: (model: Model, ids: ReadonlyArray<number>) => Effect.Effect<string>
    /** Generate a continuation (greedy, or sampled with a seed). Interrupting stops between tokens. */
    readonly generate: (
      model: Model,
      prompt: Prompt,
      options?: Omit<GenerateOptions, "signal">
    ) => Effect.Effect<Generation, ModelError>
    /** The tokens of a generation as they are produced. */
    readonly stream: (
      model: Model,
      prompt: Prompt,
      options?: Omit<GenerateOptions, "signal">
    ) => Stream.Stream<GeneratedToken, ModelError>
    /** Mean-pooled hidden states at a layer, `[N, H]`. */
    readonly embed: (
      model: Model,
      texts: ReadonlyArray<string>,
      options?: EmbedOptions
    ) => Effect.Effect<Embeddings, ModelError>
    /** The probe graph's per-layer tensors for a batch. */
    readonly probe: (model: Model, request: ProbeRequest) => Effect.Effect<ProbeResult, ModelError>
    /** Some layers' tensors: through the probe graph cut to them when the folder has one, else the whole graph. */
    readonly probeLayers: (
      model: Model,
      request: LayersProbeRequest
    ) => Effect.Effect<LayerProbeResult, ModelError>
  }
>()("hyperwords/models/Models") {
  /** The runtime; onnxruntime sessions stay cached for the life of the process. */
  static readonly layer: Layer.Layer<Models> = Layer.sync(Models, () => makeModels())
  /**
   * The runtime, releasing every cached session when the layer's scope closes. The loaded models
   * are forgotten too: they hold their sessions, so a later scope in the same process loads afresh
   * rather than running a released session.
   */
  static readonly layerScoped: Layer.Layer<Models> = Layer.effect(
    Models,
    Effect.acquireRelease(
      Effect.sync(() => makeModels()),
      () =>
        Effect.promise(() => {
          forgetModels()
          return releaseSessions()
        })
    )
  )
}

/** Build the service. */
export const makeModels = (): Models["Service"] => ({
  load: Effect.fn("Models.load")(function* (nameOrDir: string, options?: LoadOptions) {
    return yield* Effect.tryPromise({
      try: () => loadModel(nameOrDir, options),
      catch: (cause) => {
        if (isModelError(cause) && cause._tag === "ModelDirError") return cause
        throw cause
      }
    })
  }),
  encode: (model, text) => Effect.sync(() => model.encode(text)),
  decode: (model, ids) => Effect.sync(() => model.decode(ids)),
  generate: Effect.fn("Models.generate")(function* (model: Model, prompt: Prompt, options?: GenerateOptions) {
    return yield* Effect.tryPromise({
      try: (signal) => model.generate(prompt, { ...options, signal }),
      catch: asModelError(model)
    })
  }),
  stream: (model, prompt, options) =>
    Stream.fromAsyncIterable(
      { [Symbol.asyncIterator]: () => model.stream(prompt, options) },
      asModelError(model)
    ),
  embed: Effect.fn("Models.embed")(function* (
    model: Model,
    texts: ReadonlyArray<string>,
    options?: EmbedOptions
  ) {
    return yield* Effect.tryPromise({ try: () => model.embed(texts, options), catch: asModelError(model) })
  }),
  probe: Effect.fn("Models.probe")(function* (model: Model, request: ProbeRequest) {
    return yield* Effect.tryPromise({ try: () => model.probe(request), catch: asModelError(model) })
  }),
  probeLayers: Effect.fn("Models.probeLayers")(function* (model: Model, request: LayersProbeRequest) {
    return yield* Effect.tryPromise({ try: () => model.probeLayers(request), catch: asModelError(model) })
  })
})
