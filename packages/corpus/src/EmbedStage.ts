/**
 * The `embed` stage: embeds every hyperword (its fused surface) and each distinct part with the
 * model, stores the vectors as an Arrow IPC table (`embeddings.arrow`), builds the associative
 * field (`field.json`), writes the hyperword set again with each record's `field` (cloud,
 * cohesion, composition) and renders the field explorer (`index.html`). The enriched
 * `poem_hyperwords.jsonl` is exported over the generate stage's plain one.
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { lazyModule } from "@hyperwords/core/Lazy"
import { Progress } from "@hyperwords/core/Progress"
import { defineStage, readHyperwords, readModelVersion } from "@hyperwords/core/Stage"
import { loadModel } from "@hyperwords/models/Model"
import type * as Arrow from "apache-arrow"
import { Effect, Schema } from "effect"
import { applyTemplate, meaningTemplate, type Pooling, poolTexts } from "./Embedding.ts"
import { explorerData, renderExplorer } from "./Explorer.ts"
import { buildField, defaultFieldOptions, type Field, fieldTexts } from "./Field.ts"
import { hyperwordsFile } from "./GenerateStage.ts"

/** Apache Arrow, loaded when a table is written (a start-up that writes none does not load it). */
const arrow = lazyModule<typeof Arrow>(() => import.meta.resolve("apache-arrow"))

/** Params of the `embed` stage. */
export const EmbedParams = Schema.Struct({
  /** `hidden_states` index to embed at (0 = embeddings, L = last layer); default: `layerFraction` of the depth. */
  layer: Schema.optionalKey(Schema.Int),
  /** Where in the depth to embed when `layer` is absent, 0–1. */
  layerFraction: Schema.optionalKey(Schema.Finite),
  /** How a text's token states become one vector. */
  pooling: Schema.optionalKey(Schema.Literals(["mean", "last"])),
  /** The prompt a word is embedded in, `{}` standing for the word (`"{}"`: the bare word). */
  template: Schema.optionalKey(Schema.String),
  /** Texts per forward pass. */
  batchSize: Schema.optionalKey(Schema.Int),
  /** Similarity neighbours per node. */
  k: Schema.optionalKey(Schema.Int),
  /** Lowest cosine for a similarity edge. */
  minSimilarity: Schema.optionalKey(Schema.Finite),
  /** Louvain resolution. */
  resolution: Schema.optionalKey(Schema.Finite),
  /** Seed of the clouds and the layout. */
  seed: Schema.optionalKey(Schema.Int),
  layoutIterations: Schema.optionalKey(Schema.Int),
  /** Embed only the first N records (quick runs). */
  maxRecords: Schema.optionalKey(Schema.Int)
})
export type EmbedParams = typeof EmbedParams.Type

/**
 * Defaults of the stage, chosen on Farahmand et al. 2015 (never on Reddy et al. 2011, which
 * reports the figure): a word is read in a prompt that asks what it means in one word, and the
 * state at the prompt's last token at the top of the model is its vector (see `Compositionality.ts`).
 */
export const embedDefaults = {
  layerFraction: 1,
  pooling: "last" as Pooling,
  template: meaningTemplate,
  batchSize: 16
}

/** The files the stage writes. */
export const embedFiles = {
  embeddings: "embeddings.arrow",
  field: "field.json",
  explorer: "index.html",
  hyperwords: hyperwordsFile
} as const

/** The layer a run embeds at for a model of `numLayers` layers. */
export const embedLayer = (p: EmbedParams, numLayers: number): number =>
  p.layer ?? Math.round((p.layerFraction ?? embedDefaults.layerFraction) * numLayers)

/** The vectors as an Arrow IPC file: one row per node (id, kind, lang, text, vector). */
export const embeddingsTable = (
  nodes: ReadonlyArray<{ id: string; kind: string; lang: string; text: string }>,
  vectors: Float32Array,
  dim: number,
  metadata: Readonly<Record<string, string>>
): Uint8Array => {
  const {
    Field: ArrowField,
    FixedSizeList,
    Float32,
    makeData,
    makeVector,
    Table,
    tableToIPC,
    Utf8,
    vectorFromArray
  } = arrow()
  const child = makeData({ type: new Float32(), length: vectors.length, data: vectors })
  const type = new FixedSizeList(dim, new ArrowField("item", new Float32(), false))
  const table = new Table({
    id: vectorFromArray(
      nodes.map((n) => n.id),
      new Utf8()
    ),
    kind: vectorFromArray(
      nodes.map((n) => n.kind),
      new Utf8()
    ),
    lang: vectorFromArray(
      nodes.map((n) => n.lang),
      new Utf8()
    ),
    text: vectorFromArray(
      nodes.map((n) => n.text),
      new Utf8()
    ),
    vector: makeVector(makeData({ type, length: nodes.length, nullCount: 0, child }))
  })
  for (const [k, v] of Object.entries(metadata)) table.schema.metadata.set(k, v)
  return tableToIPC(table, "file")
}

/** `field.json`: the graph as the explorer and later stages read it. */
const fieldDocument = (field: Field, meta: Record<string, unknown>) => ({
  schemaVersion: 1,
  ...meta,
  modularity: field.modularity,
  clouds: field.clouds,
  nodes: field.nodes,
  edges: field.edges.map((e) => [e.source, e.target, e.kind, e.weight]),
  neighbours: field.neighbours
})

/** Clouds listed in the index document (all are in `field.json`). */
const listedClouds = 200

/** The `embed` stage. */
export const embedStage = defineStage<EmbedParams>({
  id: "embed",
  description: "embed hyperwords and their parts; build the associative field and its explorer",
  codeVersion: "1",
  params: EmbedParams,
  inputs: {
    hyperwords: { stage: "generate", output: "hyperwords" },
    model: { stage: "models", output: "model" }
  },
  outputs: { embeddings: "EmbeddingSet", field: "AssociativeField" },
  exports: [
    { output: "field", file: embedFiles.hyperwords, to: hyperwordsFile },
    { output: "field", file: embedFiles.explorer, to: "field/index.html" }
  ],
  run: (ctx) =>
    Effect.gen(function* () {
      const progress = yield* Progress
      const p = ctx.params
      const { dir, model: modelRef, name } = yield* readModelVersion(ctx.inputs.model, "model")

      const all = yield* readHyperwords(ctx.inputs.hyperwords!)
      const records = p.maxRecords === undefined ? all : all.slice(0, p.maxRecords)

      const model = yield* Effect.tryPromise({ try: () => loadModel(dir), catch: (e) => e })
      const layer = embedLayer(p, model.config.numLayers)
      const pooling = p.pooling ?? embedDefaults.pooling
      const template = p.template ?? embedDefaults.template
      const { nodes } = fieldTexts(records)
      const embedding = progress.task("embed: embedding", { total: nodes.length, unit: "texts" })
      const started = Date.now()
      const [vectors] = yield* Effect.tryPromise({
        try: () =>
          poolTexts(
            model,
            nodes.map((n) => applyTemplate(template, n.text)),
            {
              layers: [layer],
              poolings: [pooling],
              batchSize: p.batchSize ?? embedDefaults.batchSize,
              onProgress: (done) => embedding.update(done)
            }
          ),
        catch: (e) => e
      }).pipe(
        Effect.onExit((exit) =>
          Effect.sync(() => embedding.finish(exit._tag === "Success" ? "done" : "stopped"))
        )
      )
      const seconds = (Date.now() - started) / 1000
      const dim = vectors!.dim

      const fieldOptions = {
        k: p.k ?? defaultFieldOptions.k,
        minSimilarity: p.minSimilarity ?? defaultFieldOptions.minSimilarity,
        seed: p.seed ?? defaultFieldOptions.seed,
        resolution: p.resolution ?? defaultFieldOptions.resolution,
        layoutIterations: p.layoutIterations ?? defaultFieldOptions.layoutIterations
      }
      const building = progress.task("embed: field", { total: nodes.length, unit: "nodes" })
      const field = buildField(records, vectors!.data, dim, fieldOptions, (step, done) => {
        if (step === "neighbours") building.update(done)
      })
      building.finish()

      const meta = { model: modelRef, modelName: name, layer, pooling, template, dim, ...fieldOptions }
      const embeddingsDir = ctx.outputDir("embeddings")
      writeFileSync(
        join(embeddingsDir, embedFiles.embeddings),
        embeddingsTable(nodes, vectors!.data, dim, {
          model: `${modelRef.id}@${modelRef.revision}`,
          layer: String(layer),
          pooling,
          template
        })
      )
      const fieldDir = ctx.outputDir("field")
      writeFileSync(join(fieldDir, embedFiles.field), JSON.stringify(fieldDocument(field, meta)))
      const enriched = records.map((r, i) => ({ ...r, field: field.hyperwords[i]! }))
      writeFileSync(
        join(fieldDir, embedFiles.hyperwords),
        enriched.map((r) => `${JSON.stringify(r)}\n`).join("")
      )
      writeFileSync(
        join(fieldDir, embedFiles.explorer),
        renderExplorer(
          explorerData(field, records, { title: "hyperwords: the associative field", model: name, layer })
        )
      )

      const sizes = field.clouds.map((c) => c.size)
      const big = field.clouds.filter((c) => c.size >= 5)
      progress.log(
        `embed: ${nodes.length} texts in ${seconds.toFixed(1)}s (${(nodes.length / Math.max(seconds, 1e-3)).toFixed(1)}/s) ` +
          `at layer ${layer} of ${name}; ${field.nodes.length} nodes, ${field.edges.length} edges, ` +
          `${field.clouds.length} clouds (${big.length} of ≥ 5; largest ${sizes.slice(0, 3).join(", ")}), ` +
          `modularity ${field.modularity.toFixed(3)}`
      )
      return {
        embeddings: {
          data: {
            schemaVersion: 1,
            model: modelRef,
            layer,
            dim,
            count: nodes.length,
            file: embedFiles.embeddings
          }
        },
        field: {
          data: {
            schemaVersion: 1,
            model: modelRef,
            nodes: field.nodes.length,
            edges: field.edges.length,
            clouds: field.clouds.slice(0, listedClouds).map((c) => ({
              id: c.id,
              size: c.size,
              cohesion: c.cohesion,
              label: c.label
            })),
            file: embedFiles.field,
            explorer: embedFiles.explorer
          }
        }
      }
    })
})
