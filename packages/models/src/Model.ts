/**
 * A model loaded from its directory, offline: tokenizer, generation, embeddings and the probe.
 * Plain async functions for callers outside Effect; `Models` wraps them as a service. Graphs are
 * opened on first use (one onnxruntime session per file per process) and models are cached per
 * directory and dtype, so loading the same model twice is free.
 */
import { existsSync } from "node:fs"
import { basename, join } from "node:path"
import { type Embeddings, type EmbedOptions, embedIds } from "./Embed.ts"
import { ModelInputError } from "./Errors.ts"
import {
  type GeneratedToken,
  type GenerateOptions,
  type Generation,
  type GenerationGraph,
  generateIds
} from "./Generate.ts"
import { getSession, releaseSessionsUnder } from "./internal/sessions.ts"
import { type LastLens, type LensGraph, lensAtLast } from "./Lens.ts"
import {
  checkModelDir,
  type Dtype,
  embedCutFile,
  embedCuts,
  type ModelConfig,
  resolveModelDir
} from "./ModelDir.ts"
import { type ProbeGraph, type ProbeInput, type ProbeResult, readProbeSpec, runProbe } from "./Probe.ts"
import {
  checkProbeLayers,
  type LayerProbeResult,
  type ProbeLayersCut,
  type ProbeLayersSource,
  pickProbeLayersCut,
  probeLayersCuts,
  runProbeLayers
} from "./ProbeLayers.ts"
import { loadTokenizer, type Tokenizer } from "./Tokenizer.ts"

/** How to load a model. */
export interface LoadOptions {
  /** The generation graph: `fp32` (`onnx/model.onnx`, default) or `q8` (`onnx/model_quantized.onnx`). */
  readonly dtype?: Dtype
}

/** A prompt as text (tokenized with the model's tokenizer, special tokens added) or as token ids. */
export type Prompt = string | ReadonlyArray<number>

/** What to probe: texts, or token-id rows, with optional tracked ids and patch. */
export type ProbeRequest = Omit<ProbeInput, "ids"> &
  ({ readonly texts: ReadonlyArray<string> } | { readonly ids: ReadonlyArray<ReadonlyArray<number>> })

/** A probe of some layers: hidden-states entries 0..L (0 = the embedding output, j = after decoder layer j-1). */
export type LayersProbeRequest = ProbeRequest & { readonly layers: ReadonlyArray<number> }

/** A loaded model. */
export class Model {
  private generation: Promise<GenerationGraph> | undefined
  private probeGraph: Promise<ProbeGraph> | undefined
  private readonly statesGraphs = new Map<string, Promise<ProbeGraph>>()
  private readonly layerGraphs = new Map<string, Promise<ProbeGraph>>()
  private layerCuts: ReadonlyArray<ProbeLayersCut> | undefined
  private lens: Promise<LensGraph | undefined> | undefined
  private cuts: ReadonlyArray<number> | undefined

  /** The model directory. */
  readonly dir: string
  /** Its name (the directory's name). */
  readonly name: string
  readonly dtype: Dtype
  readonly config: ModelConfig
  readonly tokenizer: Tokenizer
  private readonly generationPath: string

  constructor(fields: {
    readonly dir: string
    readonly dtype: Dtype
    readonly config: ModelConfig
    readonly tokenizer: Tokenizer
    readonly generationPath: string
  }) {
    this.dir = fields.dir
    this.name = basename(fields.dir)
    this.dtype = fields.dtype
    this.config = fields.config
    this.tokenizer = fields.tokenizer
    this.generationPath = fields.generationPath
  }

  /** Token ids of a text (special tokens added, as the model saw them in training). */
  encode(text: string, options?: { readonly addSpecialTokens?: boolean }): Array<number> {
    return this.tokenizer.encode(text, options)
  }

  /** Text of token ids (special tokens skipped unless asked). */
  decode(ids: ReadonlyArray<number>, options?: { readonly skipSpecialTokens?: boolean }): string {
    return this.tokenizer.decode(ids, options)
  }

  private ids(prompt: Prompt): ReadonlyArray<number> {
    const ids = typeof prompt === "string" ? this.encode(prompt) : prompt
    if (ids.length === 0) throw new ModelInputError({ path: this.dir, detail: "the prompt has no tokens" })
    return ids
  }

  /** The generation graph's session, opened on first use. */
  generationGraph(): Promise<GenerationGraph> {
    this.generation ??= getSession(this.dir, this.generationPath).then((session) => ({
      path: this.generationPath,
      session,
      config: this.config
    }))
    this.generation.catch(() => {
      this.generation = undefined
    })
    return this.generation
  }

  /** The probe graph's session and contract, opened on first use. */
  probeGraphSession(): Promise<ProbeGraph> {
    this.probeGraph ??= (async () => {
      const { path, spec } = readProbeSpec(this.dir)
      const session = await getSession(this.dir, path, { arena: false })
      return { dir: this.dir, path, session, spec, padTokenId: this.config.padTokenId ?? 0 }
    })()
    this.probeGraph.catch(() => {
      this.probeGraph = undefined
    })
    return this.probeGraph
  }

  /**
   * The graph to read hidden states from: the smallest embedding graph cut that reaches layer
   * `upto` (`onnx/embed-upto-N.onnx`, N ≥ upto: it computes N layers, not all of them), else
   * `onnx/embed.onnx` (the probe graph cut to its `hidden_states` output, ~8x faster than the probe
   * graph), else the probe graph itself. Only `hidden_states` can be fetched from it, and only its
   * entries 0..N from a cut.
   */
  hiddenStatesGraph(upto?: number): Promise<ProbeGraph> {
    // the folder's cuts are listed once (this runs per batch of a reader)
    this.cuts ??= embedCuts(this.dir)
    const cut = upto === undefined ? undefined : this.cuts.find((n) => n >= upto)
    const file = cut === undefined ? "embed.onnx" : embedCutFile(cut)
    let graph = this.statesGraphs.get(file)
    if (graph === undefined) {
      graph = (async () => {
        const path = join(this.dir, "onnx", file)
        if (!existsSync(path)) return this.probeGraphSession()
        const { spec } = readProbeSpec(this.dir)
        const session = await getSession(this.dir, path, { arena: false })
        return { dir: this.dir, path, session, spec, padTokenId: this.config.padTokenId ?? 0 }
      })()
      graph.catch(() => this.statesGraphs.delete(file))
      this.statesGraphs.set(file, graph)
    }
    return graph
  }

  /**
   * The graph a probe of `layers` reads: the probe graph cut to hidden-states entries covering
   * them (`onnx/probe-layers-A-B-C.onnx`, listed by its `.json`; the one stopping lowest, then the
   * one with fewest entries), else the whole probe graph. The whole graph is not opened when a cut
   * serves, which is the point on a bigger model.
   */
  async probeLayersSource(layers: ReadonlyArray<number>): Promise<ProbeLayersSource> {
    const { spec } = readProbeSpec(this.dir)
    const asked = checkProbeLayers(this.dir, layers, spec.numLayers)
    // the folder's cuts are listed once per load (release lists them again)
    this.layerCuts ??= probeLayersCuts(this.dir)
    const cut = pickProbeLayersCut(this.layerCuts, asked)
    if (cut === undefined) return { graph: await this.probeGraphSession(), cut }
    let graph = this.layerGraphs.get(cut.file)
    if (graph === undefined) {
      graph = (async () => {
        const path = join(this.dir, "onnx", cut.file)
        const session = await getSession(this.dir, path, { arena: false })
        return { dir: this.dir, path, session, spec, padTokenId: this.config.padTokenId ?? 0 }
      })()
      graph.catch(() => this.layerGraphs.delete(cut.file))
      this.layerGraphs.set(cut.file, graph)
    }
    return { graph: await graph, cut }
  }

  /** The lens head (`onnx/lens.onnx`), or undefined when the folder has none. */
  lensGraph(): Promise<LensGraph | undefined> {
    this.lens ??= (async () => {
      const path = join(this.dir, "onnx", "lens.onnx")
      if (!existsSync(path)) return undefined
      return { path, session: await getSession(this.dir, path, { arena: false }) }
    })()
    this.lens.catch(() => {
      this.lens = undefined
    })
    return this.lens
  }

  /**
   * Lens log-probs of each row's tracked ids at the row's last token, every layer: through the
   * lens head on the embedding graph's states when the folder has it, else the probe graph.
   */
  async lensAtLast(
    ids: ReadonlyArray<ReadonlyArray<number>>,
    tracked: ReadonlyArray<ReadonlyArray<number>>
  ): Promise<LastLens> {
    return lensAtLast(
      {
        states: await this.hiddenStatesGraph(),
        lens: await this.lensGraph(),
        probe: () => this.probeGraphSession()
      },
      ids,
      tracked
    )
  }

  /**
   * Release this model's graph sessions and the memory onnxruntime grew them to; the next use
   * opens them again.
   */
  async release(): Promise<void> {
    this.generation = undefined
    this.probeGraph = undefined
    this.statesGraphs.clear()
    this.layerGraphs.clear()
    this.layerCuts = undefined
    this.lens = undefined
    this.cuts = undefined
    await releaseSessionsUnder(this.dir)
  }

  /** Generate a continuation of a prompt; `onToken` sees each token as it is produced. */
  async generate(
    prompt: Prompt,
    options: GenerateOptions = {},
    onToken?: (token: GeneratedToken) => void
  ): Promise<Generation> {
    const ids = this.ids(prompt)
    return generateIds(await this.generationGraph(), this.tokenizer, ids, options, onToken)
  }

  /** Stream the tokens of a generation; the iterator's return value is the finished generation. */
  async *stream(prompt: Prompt, options: GenerateOptions = {}): AsyncGenerator<GeneratedToken, Generation> {
    const queue: Array<GeneratedToken> = []
    let wake: (() => void) | undefined
    let finished: { value: Generation } | { error: unknown } | undefined
    // a consumer that stops early (break, interruption) stops the generation too
    const stop = new AbortController()
    const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal
    this.generate(prompt, { ...options, signal }, (t) => {
      queue.push(t)
      wake?.()
    }).then(
      (value) => {
        finished = { value }
        wake?.()
      },
      (error: unknown) => {
        finished = { error }
        wake?.()
      }
    )
    try {
      for (;;) {
        const next = queue.shift()
        if (next) {
          yield next
          continue
        }
        if (finished) {
          if ("error" in finished) throw finished.error
          return finished.value
        }
        await new Promise<void>((resolve) => {
          wake = resolve
        })
        wake = undefined
      }
    } finally {
      stop.abort()
    }
  }

  /** Run the probe graph on texts or token ids (right-padded into one batch). */
  async probe(request: ProbeRequest): Promise<ProbeResult> {
    const ids = "texts" in request ? request.texts.map((t) => this.ids(t)) : request.ids
    return runProbe(await this.probeGraphSession(), { ...request, ids })
  }

  /**
   * Probe some layers only: through a probe-layers cut covering them when the folder has one
   * (`probeLayersSource`), else the whole probe graph; either way each output holds the asked
   * layers' entries, ascending (`layers`, `attentionLayers`; `layerView` reads them by layer).
   */
  async probeLayers(request: LayersProbeRequest): Promise<LayerProbeResult> {
    const ids = "texts" in request ? request.texts.map((t) => this.ids(t)) : request.ids
    const { spec } = readProbeSpec(this.dir)
    const layers = checkProbeLayers(this.dir, request.layers, spec.numLayers)
    return runProbeLayers(await this.probeLayersSource(layers), { ...request, ids }, layers)
  }

  /** Mean-pooled hidden states of texts at one layer (`[N, H]`). */
  async embed(texts: ReadonlyArray<string>, options: EmbedOptions = {}): Promise<Embeddings> {
    return embedIds(
      await this.hiddenStatesGraph(options.layer),
      texts.map((t) => this.ids(t)),
      options
    )
  }
}

const models = new Map<string, Promise<Model>>()

/**
 * Load a model by registered name (`smollm2-135m`, under `<home>/models/`) or directory, offline.
 * A missing or broken directory rejects with `ModelDirError` naming the file and the command that
 * makes it. The same directory and dtype give the same `Model` for the life of the process.
 */
export const loadModel = (nameOrDir: string, options: LoadOptions = {}): Promise<Model> => {
  const dir = resolveModelDir(nameOrDir)
  const dtype = options.dtype ?? "fp32"
  const key = `${dir}\0${dtype}`
  const cached = models.get(key)
  if (cached) return cached
  const loading = (async () => {
    const files = checkModelDir(dir, dtype)
    const tokenizer = await loadTokenizer(dir)
    return new Model({ dir, dtype, config: files.config, tokenizer, generationPath: files.generation })
  })()
  models.set(key, loading)
  loading.catch(() => models.delete(key))
  return loading
}

/** Per model folder: how many users hold it (`holdModel`). */
const holds = new Map<string, number>()

/**
 * Hold a model folder's graphs while a stage uses them. Stages run side by side (`--parallel`): a
 * probe done with a version must not release the graphs its evaluation is still running.
 * `releaseModel` leaves a held folder alone; the returned function lets go of this hold, and the
 * last one to let go frees the folder's graphs. Letting go twice counts once.
 */
export const holdModel = (nameOrDir: string): (() => Promise<void>) => {
  const dir = resolveModelDir(nameOrDir)
  holds.set(dir, (holds.get(dir) ?? 0) + 1)
  let held = true
  return async () => {
    if (!held) return
    held = false
    const left = (holds.get(dir) ?? 1) - 1
    if (left > 0) {
      holds.set(dir, left)
      return
    }
    holds.delete(dir)
    await releaseModel(dir)
  }
}

/** Forget cached models (their sessions stay cached until `releaseSessions`). */
export const forgetModels = (): void => models.clear()

/**
 * Free a model's memory: forget it and release its graphs' sessions (onnxruntime keeps the memory
 * a session has grown to until it is released). The next `loadModel` of the folder starts afresh;
 * a `Model` still held elsewhere opens its sessions again when used. A folder some user holds
 * (`holdModel`) is left alone.
 */
export const releaseModel = async (nameOrDir: string): Promise<void> => {
  const dir = resolveModelDir(nameOrDir)
  // held by a stage still using it: the last hold to let go frees it
  if ((holds.get(dir) ?? 0) > 0) return
  for (const [key, loading] of [...models.entries()]) {
    if (!key.startsWith(`${dir}\0`)) continue
    models.delete(key)
    await loading.then((m) => m.release()).catch(() => undefined)
  }
  await releaseSessionsUnder(dir)
}
