/** @hyperwords/eval: the metric plugin contract, the scoring harness, statistics and the leaderboard. */
export * as Commands from "./Commands.ts"
export { evalCommands } from "./Commands.ts"
export * as Degenerate from "./Degenerate.ts"
export * as Errors from "./Errors.ts"
export * as Harness from "./Harness.ts"
export * as Leaderboard from "./Leaderboard.ts"
export * as Metric from "./Metric.ts"
export {
  apiVersion,
  type CorpusScore,
  defineMetric,
  type MetricCard,
  type MetricContext,
  type SampleInput,
  type SampleScore
} from "./Metric.ts"
export * as Publish from "./Publish.ts"
export * as Scoring from "./Scoring.ts"
export * as Stats from "./Stats.ts"
