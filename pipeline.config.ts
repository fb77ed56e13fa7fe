/**
 * The default pipeline: the embedded default model (Gemma 3 270M), the built-in sensation seeds,
 * and the metric plugins.
 * More tuned versions: add `FinetuneStage.finetuneStage({ id: "finetune-r16" })` with its params.
 */
import { readFileSync } from "node:fs"
import { defineConfig, Hash } from "@hyperwords/core"
import { corpusCommands, generateStage } from "@hyperwords/corpus"
import { embedStage } from "@hyperwords/corpus/EmbedStage"
import { evalCommands } from "@hyperwords/eval"
import { evaluateStage } from "@hyperwords/eval/EvaluateStage"
import { reportStage } from "@hyperwords/eval/ReportStage"
import associativeBreadth from "@hyperwords/metric-associative-breadth"
import coherence from "@hyperwords/metric-coherence"
import hyperwordUsage from "@hyperwords/metric-hyperword-usage"
import imageability from "@hyperwords/metric-imageability"
import resonance from "@hyperwords/metric-resonance"
import { generateCommand } from "@hyperwords/models"
import { probeCommands, probeStage } from "@hyperwords/probe"
import { Commands, FinetuneStage, ModelsStage, Paths } from "@hyperwords/train-bridge"

/** The metric plugins, registered explicitly. */
const metrics = [associativeBreadth, imageability, resonance, coherence, hyperwordUsage]

/** The tuned version: hyperwords as added tokens from their parts, LoRA rank 8. */
const finetune = FinetuneStage.finetuneStage()

/** The probe report: every layer of the base and the tuned version on hyperwords, phrases and controls. */
const probe = probeStage

/** Each version answers the prompt set, scored by the metrics; the base is evaluated once, the tuned version beside it. */
const evaluateBase = evaluateStage({
  id: "evaluate-base",
  model: { stage: "models", output: "model" },
  metrics
})
const evaluate = evaluateStage({ id: "evaluate", model: { stage: "finetune", output: "model" }, metrics })

/** The leaderboard: a row per evaluated version, linked to the probe report. */
const report = reportStage({ evaluations: ["evaluate-base", "evaluate"], probe: "probe", metrics })

export default defineConfig({
  store: ".hyperwords",
  reports: "reports",
  stages: [
    ModelsStage.modelsStage,
    generateStage,
    embedStage,
    finetune,
    probe,
    evaluateBase,
    evaluate,
    report
  ],
  params: ({ corpus }) => ({
    models: { model: "gemma-3-270m" },
    generate: {
      corpus: [...corpus],
      minCount: 2,
      minNpmi: 0.3,
      minLlr: 10.83,
      maxWords: 4,
      window: 6,
      maxEvidence: 3,
      generated: 500,
      seed: 1
    },
    finetune: { steps: 60, batchSize: 4, seqLen: 64, checkpointEvery: 20 }
  }),
  profiles: {
    quick: {
      models: { model: "smollm2-135m" },
      generate: { maxWords: 3, generated: 60 },
      embed: { maxRecords: 60, layoutIterations: 60 },
      finetune: { steps: 30, checkpointEvery: 10 },
      probe: { items: 8, patchscopeLayers: 4 },
      "evaluate-base": { samples: 1, maxNewTokens: 32 },
      evaluate: { samples: 1, maxNewTokens: 32 }
    },
    full: { embed: { batchSize: 32 } }
  },
  runtime: () => ({ pythonLock: Hash.sha256(readFileSync(Paths.constraintsFile)) }),
  commands: [
    Commands.modelsCommand,
    generateCommand,
    ...corpusCommands,
    ...probeCommands,
    ...evalCommands({ metrics })
  ]
})
