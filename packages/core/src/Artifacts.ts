/**
 * The typed artifacts the stages exchange. Each kind has a schema for its index document (the
 * small JSON every manifest carries) with a `schemaVersion`; bulk data (JSONL, tables, ONNX,
 * HTML) travels as files beside it in the store.
 */
import { Schema } from "effect"

/** The sensory channels of a profile. */
export const SenseChannels = [
  "visual",
  "auditory",
  "haptic",
  "gustatory",
  "olfactory",
  "interoceptive",
  "motion"
] as const

/** A sensory profile: a number per channel. */
export const Senses = Schema.Struct({
  visual: Schema.Finite,
  auditory: Schema.Finite,
  haptic: Schema.Finite,
  gustatory: Schema.Finite,
  olfactory: Schema.Finite,
  interoceptive: Schema.Finite,
  motion: Schema.Finite
})

/** A language the corpus handles. */
export const Lang = Schema.Literals(["ru", "en"])

/** A line of a corpus that shows a hyperword in use. */
export const Evidence = Schema.Struct({
  doc: Schema.String,
  line: Schema.Int,
  text: Schema.String
})

/** One hyperword: an image fused into one word. `parts` always rebuild `surface`. */
export const HyperwordRecord = Schema.Struct({
  id: Schema.NonEmptyString,
  surface: Schema.NonEmptyString,
  lang: Lang,
  parts: Schema.NonEmptyArray(Schema.NonEmptyString),
  lemmas: Schema.Array(Schema.String),
  origin: Schema.Literals(["mined", "generated"]),
  gloss: Schema.optionalKey(Schema.String),
  senses: Schema.optionalKey(Senses),
  evidence: Schema.optionalKey(Schema.Array(Evidence)),
  stats: Schema.optionalKey(Schema.Struct({ count: Schema.Int, npmi: Schema.Finite, llr: Schema.Finite })),
  field: Schema.optionalKey(
    Schema.Struct({ cloud: Schema.String, cohesion: Schema.Finite, composition: Schema.Finite })
  ),
  seed: Schema.optionalKey(Schema.Int),
  scores: Schema.optionalKey(Schema.Record(Schema.String, Schema.Finite))
}).check(
  Schema.makeFilter(
    (r) => r.parts.join("") === r.surface || `parts ${JSON.stringify(r.parts)} do not rebuild "${r.surface}"`
  )
)
export type HyperwordRecord = typeof HyperwordRecord.Type

/** A model named by id and the exact revision of its weights. */
export const ModelRef = Schema.Struct({ id: Schema.String, revision: Schema.String })

const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/** The hyperword set: records in `poem_hyperwords.jsonl`. */
export const HyperwordSet = Schema.Struct({
  schemaVersion: Schema.Literal(1),
  file: Schema.String,
  count: Count,
  byLang: Schema.Record(Schema.String, Count),
  byOrigin: Schema.Record(Schema.String, Count),
  sources: Schema.Array(Schema.Struct({ path: Schema.String, sha256: Schema.String })),
  skipped: Schema.optionalKey(
    Schema.Array(
      Schema.Struct({ file: Schema.String, line: Schema.optionalKey(Schema.Int), reason: Schema.String })
    )
  )
})

/**
 * The poetry a run read, split into training and held-out documents after normalising and
 * deduplicating lines across every corpus: `train.jsonl` and `heldout.jsonl` hold one document a
 * line (`{doc, lang, lines: [{line, text}]}`). Hyperwords are mined from the training documents
 * only; no normalised held-out line occurs in a training document.
 */
export const PoetrySplit = Schema.Struct({
  schemaVersion: Schema.Literal(1),
  train: Schema.String,
  heldout: Schema.String,
  /** Share of document groups held out, and the salt of the split. */
  fraction: Schema.Finite,
  seed: Schema.Int,
  counts: Schema.Struct({
    docs: Count,
    groups: Count,
    trainDocs: Count,
    heldoutDocs: Count,
    trainLines: Count,
    heldoutLines: Count,
    /** Lines dropped as duplicates of a line read before (in any corpus). */
    duplicateLines: Count,
    /** Held-out lines dropped because their normalised form also occurs in training. */
    droppedHeldoutLines: Count,
    /** Documents held out because they hold a pinned line (a prompt's line). */
    pinnedDocs: Count
  }),
  byLang: Schema.Record(Schema.String, Schema.Struct({ trainDocs: Count, heldoutDocs: Count }))
})

/** Vectors of hyperwords and their parts at one layer of a model. */
export const EmbeddingSet = Schema.Struct({
  schemaVersion: Schema.Literal(1),
  model: ModelRef,
  layer: Schema.Int,
  dim: Count,
  count: Count,
  file: Schema.String
})

/** A cloud of images in the field. */
export const Cloud = Schema.Struct({
  id: Schema.String,
  size: Count,
  cohesion: Schema.Finite,
  label: Schema.optionalKey(Schema.String)
})

/** The associative field: graph of hyperwords and parts, clouds with their cohesion. */
export const AssociativeField = Schema.Struct({
  schemaVersion: Schema.Literal(1),
  model: ModelRef,
  nodes: Count,
  edges: Count,
  clouds: Schema.Array(Cloud),
  file: Schema.String,
  explorer: Schema.optionalKey(Schema.String)
})

/** A model version: base weights or a fine-tune, with its files and lineage. */
export const ModelVersion = Schema.Struct({
  schemaVersion: Schema.Literal(1),
  name: Schema.String,
  model: ModelRef,
  architecture: Schema.String,
  base: Schema.optionalKey(ModelRef),
  source: Schema.Struct({
    kind: Schema.Literals(["pypi", "hub", "local", "finetune"]),
    detail: Schema.String
  }),
  dir: Schema.optionalKey(Schema.String),
  files: Schema.Record(Schema.String, Schema.String),
  training: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown))
})

/** The probe report of one model version. */
export const ProbeReport = Schema.Struct({
  schemaVersion: Schema.Literal(1),
  model: ModelRef,
  items: Count,
  layers: Count,
  html: Schema.String,
  json: Schema.String,
  png: Schema.Array(Schema.String),
  findings: Schema.Array(
    Schema.Struct({ claim: Schema.String, reproduced: Schema.Boolean, figure: Schema.String })
  )
})

/** Answers of one model version to a versioned prompt set. */
export const Generations = Schema.Struct({
  schemaVersion: Schema.Literal(1),
  model: ModelRef,
  promptSet: Schema.Struct({ id: Schema.String, version: Schema.String, sha256: Schema.String }),
  samples: Count,
  file: Schema.String
})

/** A metric's aggregate with its confidence interval. */
export const MetricAggregate = Schema.Struct({
  name: Schema.String,
  version: Schema.String,
  status: Schema.Literals(["ok", "failed"]),
  reason: Schema.optionalKey(Schema.String),
  mean: Schema.optionalKey(Schema.Finite),
  ci: Schema.optionalKey(Schema.Tuple([Schema.Finite, Schema.Finite])),
  n: Count,
  id: Schema.optionalKey(Schema.String),
  higherIsBetter: Schema.optionalKey(Schema.Boolean),
  corpus: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown)),
  length: Schema.optionalKey(
    Schema.Struct({
      r: Schema.Finite,
      applied: Schema.Boolean,
      mean: Schema.optionalKey(Schema.Finite),
      ci: Schema.optionalKey(Schema.Tuple([Schema.Finite, Schema.Finite]))
    })
  )
})

/** A confidence interval: [low, high]. */
const Interval = Schema.Tuple([Schema.Finite, Schema.Finite])

/** The arms of the controlled experiment (see `EvalRun.arm`). */
export const EvalArm = Schema.Literals(["base", "hyperwords", "control", "placebo", "superwords"])

/** The scores of one model version's generations. */
export const EvalRun = Schema.Struct({
  schemaVersion: Schema.Literal(1),
  model: ModelRef,
  /** The model version's name (a leaderboard row). */
  name: Schema.optionalKey(Schema.String),
  /** The version this one was tuned from. */
  base: Schema.optionalKey(ModelRef),
  /** The model whose vectors the metrics read. */
  judge: Schema.optionalKey(ModelRef),
  /** sha256 of the generations scored. */
  generations: Schema.String,
  metrics: Schema.Array(MetricAggregate),
  /**
   * The arm of the experiment this version is: the untouched `base`, `hyperwords` (the version
   * under test), `control` (same texts, spans as plain words) or `placebo` (as many added tokens,
   * mapped to random n-grams) or `superwords` (the control's text read with spans as added
   * tokens). Runs written before arms existed have none.
   */
  arm: Schema.optionalKey(EvalArm),
  /** The hyperwords version (its name) whose experiment this row belongs to; its own name for that version. */
  experiment: Schema.optionalKey(Schema.String),
  /** Bits per byte on held-out text, as the fine-tune measured it (the version's and its base's). */
  heldOut: Schema.optionalKey(
    Schema.Struct({
      bitsPerByte: Schema.Finite,
      baseBitsPerByte: Schema.optionalKey(Schema.Finite),
      bitsPerByteCi: Schema.optionalKey(Interval),
      baseBitsPerByteCi: Schema.optionalKey(Interval),
      /** The version's bits per byte over its base's. */
      ratio: Schema.optionalKey(Schema.Finite),
      ratioCi: Schema.optionalKey(Interval),
      /** How much held-out text was measured. */
      docs: Schema.optionalKey(Count),
      lines: Schema.optionalKey(Count),
      bytes: Schema.optionalKey(Count),
      /** Tokens per byte of the held-out text under the version's tokenizer, and under its base's. */
      tokensPerByte: Schema.optionalKey(Schema.Finite),
      baseTokensPerByte: Schema.optionalKey(Schema.Finite),
      /** What the held-out text is, e.g. `poetry`. */
      source: Schema.optionalKey(Schema.String)
    })
  ),
  file: Schema.String
})

/** The leaderboard: a row per model version, a column per metric. */
export const Leaderboard = Schema.Struct({
  schemaVersion: Schema.Literal(1),
  rows: Schema.Array(
    Schema.Struct({
      model: ModelRef,
      name: Schema.String,
      metrics: Schema.Record(Schema.String, Schema.Unknown),
      probeReport: Schema.optionalKey(Schema.String)
    })
  ),
  html: Schema.String,
  markdown: Schema.String,
  json: Schema.String
})

/** Every artifact kind by name, with the schema of its index document. */
export const ArtifactKinds = {
  HyperwordSet,
  PoetrySplit,
  EmbeddingSet,
  AssociativeField,
  ModelVersion,
  ProbeReport,
  Generations,
  EvalRun,
  Leaderboard
} as const

/** The name of an artifact kind. */
export type ArtifactKind = keyof typeof ArtifactKinds
