/** @hyperwords/eval: the metric plugin contract, the scoring harness, statistics and the leaderboard. */
export * as Stats from "./Stats.ts"
