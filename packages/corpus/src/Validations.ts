/**
 * The corpus package's checks for `pnpm validate`: the composition score against human
 * compositionality ratings (Reddy et al. 2011, Spearman ρ, floor 0.5; Farahmand et al. 2015, AUC
 * of the non-compositional label, reported), and the fusion round trip on every record mined from
 * the shared poetry (floor 100%). The score is computed exactly as the embed stage computes it:
 * the compound fused into one word (`snailmail`) against the mean of its parts, with the stage's
 * default prompt, pooling and layer.
 */
import { existsSync } from "node:fs"
import { join, resolve } from "node:path"
import { HyperwordRecord } from "@hyperwords/core/Artifacts"
import type { Validation } from "@hyperwords/core/Validation"
import { loadModel } from "@hyperwords/models/Model"
import { resolveModelDir } from "@hyperwords/models/ModelDir"
import { Effect, Schema } from "effect"
import {
  auc,
  bootstrapCi,
  type RatedCompound,
  readFarahmand,
  readReddy,
  spearman
} from "./Compositionality.ts"
import { readCorpus } from "./Corpus.ts"
import { applyTemplate, poolTexts } from "./Embedding.ts"
import { embedDefaults, embedLayer } from "./EmbedStage.ts"
import { centredUnitVectors, compositionScores, fieldTexts } from "./Field.ts"
import { mine } from "./Mining.ts"
import { englishLemmatizer, russianLemmatizer } from "./Segment.ts"

/** Where the checks find their data and model. */
export interface CorpusValidationOptions {
  /** The shared data folder (default: `HYPERWORDS_SHARED_DATA`, else `../shared/data` beside the repository). */
  readonly sharedData?: string
  /** A registered model name or a model folder (default: gemma-3-270m when its probe graph exists, else smollm2-135m). */
  readonly model?: string
}

/** The default model: Gemma 3 270M when exported, else SmolLM2. */
export const validationModel = (): string => {
  const gemma = resolveModelDir("gemma-3-270m")
  return existsSync(join(gemma, "onnx", "probe.onnx")) ? "gemma-3-270m" : "smollm2-135m"
}

/** Composition scores of rated compounds, computed as the embed stage computes them. */
export const scoreCompounds = async (
  modelName: string,
  compounds: ReadonlyArray<RatedCompound>
): Promise<{ scores: Array<number>; layer: number; model: string }> => {
  const model = await loadModel(modelName)
  const records: Array<HyperwordRecord> = compounds.map((c) => ({
    id: `en:${c.parts.join("+")}`,
    surface: c.parts.join(""),
    lang: "en",
    parts: [c.parts[0], c.parts[1]],
    lemmas: [...c.parts],
    origin: "mined"
  }))
  const { nodes } = fieldTexts(records)
  const layer = embedLayer({}, model.config.numLayers)
  const [v] = await poolTexts(
    model,
    nodes.map((n) => applyTemplate(embedDefaults.template, n.text)),
    { layers: [layer], poolings: [embedDefaults.pooling], batchSize: embedDefaults.batchSize }
  )
  const unit = centredUnitVectors(
    v!.data,
    v!.dim,
    nodes.map((n) => n.lang)
  )
  return { scores: compositionScores(records, unit, v!.dim), layer, model: model.name }
}

const describe = (model: string, layer: number) =>
  `${model}, layer ${layer}, ${embedDefaults.pooling} token of the prompt '${embedDefaults.template}', fused compound vs mean of parts`

/** The checks. */
export const corpusValidations = (o: CorpusValidationOptions = {}): ReadonlyArray<Validation> => {
  const shared =
    o.sharedData ??
    process.env.HYPERWORDS_SHARED_DATA ??
    resolve(import.meta.dirname, "..", "..", "..", "..", "shared", "data")
  const data = join(shared, "en_compound_compositionality")
  const reddy = join(data, "reddy2011_compositionality.tsv")
  const farahmand = join(data, "farahmand2015_noncomp_judgments.csv")
  const poetry = [
    "ru_poetry_classic/classic_ai_sberbank_classic_poems.json",
    "ru_poetry_ruslit/ruslit_poems.jsonl",
    "en_poetry_public_domain",
    "en_poetry_shakespeare_sonnets/shakespeare_sonnets.jsonl"
  ].map((p) => join(shared, p))
  return [
    {
      name: "composition score",
      data: "Reddy et al. 2011",
      statistic: "Spearman ρ",
      floor: 0.5,
      requires: [reddy],
      run: Effect.promise(async () => {
        const items = readReddy(reddy)
        const { scores, layer, model } = await scoreCompounds(o.model ?? validationModel(), items)
        const ratings = items.map((c) => c.rating)
        const pick = (idx: ReadonlyArray<number>, x: ReadonlyArray<number>) => idx.map((i) => x[i]!)
        return {
          value: spearman(scores, ratings),
          n: items.length,
          ci: bootstrapCi(items.length, (idx) => spearman(pick(idx, scores), pick(idx, ratings))),
          detail: describe(model, layer)
        }
      })
    },
    {
      name: "composition score",
      data: "Farahmand et al. 2015",
      statistic: "AUC (non-compositional)",
      requires: [farahmand],
      run: Effect.promise(async () => {
        const items = readFarahmand(farahmand)
        const { scores, layer, model } = await scoreCompounds(o.model ?? validationModel(), items)
        // non-compositional: at least half the judges say so; a low composition score predicts it
        const label = items.map((c) => c.rating <= 0.5)
        const neg = scores.map((s) => -s)
        const pick = <T>(idx: ReadonlyArray<number>, x: ReadonlyArray<T>) => idx.map((i) => x[i]!)
        return {
          value: auc(neg, label),
          n: items.length,
          ci: bootstrapCi(items.length, (idx) => auc(pick(idx, neg), pick(idx, label))),
          detail: `${describe(model, layer)}; ${label.filter(Boolean).length} non-compositional`
        }
      })
    },
    {
      name: "fusion round trip",
      data: "shared poetry, mined",
      statistic: "records whose parts rebuild the surface",
      floor: 1,
      requires: poetry,
      run: Effect.gen(function* () {
        const corpus = yield* readCorpus(poetry)
        const lemmatizers = { ru: yield* russianLemmatizer, en: yield* englishLemmatizer }
        const records = mine(corpus.poems, lemmatizers).records
        const decode = Schema.decodeUnknownOption(HyperwordRecord)
        const ok = records.filter((r) => decode(r)._tag === "Some" && r.parts.join("") === r.surface).length
        return {
          value: records.length === 0 ? 0 : ok / records.length,
          n: records.length,
          detail: `${ok} of ${records.length} records`
        }
      })
    }
  ]
}
