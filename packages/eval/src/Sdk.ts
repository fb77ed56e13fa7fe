/**
 * The plugin SDK: everything a metric plugin needs from the rest of hyperwords, in one module.
 * A plugin depends on `@hyperwords/eval` alone and imports from here (`@hyperwords/eval/Sdk`) and
 * from `@hyperwords/eval`; it never imports `@hyperwords/core`, `@hyperwords/models` or a stage
 * package (corpus, train-bridge, probe), whose internals may change under it. The names below are
 * the stable surface, versioned with the plugin API (`apiVersion` in `Metric.ts`).
 *
 * Kept a separate entry point (not re-exported from `@hyperwords/eval`'s index) so a plugin that
 * needs no model does not load the model runtime.
 */

// ---- The judge model --------------------------------------------------------------------------
// `ctx.model` (the judge: in the evaluate stage the pipeline's base model, the same for every
// version) is a model name or folder; load it once per worker and keep it.

export { loadModel, type Model } from "@hyperwords/models/Model"
export { embedCutLayers, resolveModelDir } from "@hyperwords/models/ModelDir"
/** The judge's vectors of words at a layer (`defaultLayer`: a third of the way up, by default). */
export { cosine, defaultLayer, modelShape, wordVectors } from "@hyperwords/models/Senses"

import type { Model } from "@hyperwords/models/Model"
import type { wordVectors } from "@hyperwords/models/Senses"

/** The judge's vectors at one layer: `await v.vectors(words)` gives one `Float32Array` a word. */
export type WordVectors = ReturnType<typeof wordVectors>

/** The judge's token ids of a text (its own tokenizer, no special tokens). */
export const tokenize = (model: Model, text: string): Array<number> =>
  model.encode(text, { addSpecialTokens: false })

/** The text of token ids (special tokens skipped). */
export const detokenize = (model: Model, ids: ReadonlyArray<number>): string =>
  model.decode(ids, { skipSpecialTokens: true })

// ---- Words per language -----------------------------------------------------------------------

/** The content words of a text (letters only, lower case, ё folded, stopwords left out). */
export { contentWords } from "@hyperwords/models/ContentWords"
export {
  type Channel,
  foldYo,
  type Lang,
  seedChannels,
  sensationSeeds
} from "@hyperwords/models/SensationSeeds"
export { detectLang } from "@hyperwords/models/Senses"
export { isStopword, stopwords } from "@hyperwords/models/Stopwords"

// ---- Sensory profiles -------------------------------------------------------------------------

export {
  abstractAnchors,
  channels,
  type Estimator,
  type Profile,
  readSupervised,
  roundProfile,
  supervised,
  zeroShot
} from "@hyperwords/models/Senses"
/** The shipped estimator of a model: supervised where it has weights that beat zero-shot. */
export { defaultEstimator, defaultEstimatorOf } from "@hyperwords/models/SensesDefault"

// ---- Norms and validation ---------------------------------------------------------------------
// Human norms a plugin validates against live in `../shared/data` (`sharedData`); a validation
// names the files it `requires` and is skipped without them.

export {
  formatValidations,
  runValidations,
  type Validation,
  type ValidationResult
} from "@hyperwords/core/Validation"
/** A CSV/TSV file with a header row (delimiter sniffed, BOM dropped); columns found case-insensitively. */
export { type CsvTable, readTable } from "@hyperwords/models/CsvTable"
export { type Norms, pearson, readNorms, ridge } from "@hyperwords/models/Senses"
export {
  anchorWords,
  hasSharedData,
  inTestHalf,
  lancasterFiles,
  lancasterNorms,
  mergeNorms,
  miklashevskyFile,
  miklashevskyNorms,
  sharedData
} from "@hyperwords/models/SensesValidation"

// ---- Files ------------------------------------------------------------------------------------

/** Read a JSONL file, each line decoded with a schema (errors name the file and line). */
export { decodeJsonlFile } from "@hyperwords/core/Decode"
