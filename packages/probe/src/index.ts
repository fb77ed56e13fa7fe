/**
 * @hyperwords/probe: where a model assembles a hyperword. Per-layer measurements of hyperwords
 * against phrases and controls, the literature checks, the self-contained report, the `probe`
 * stage and the `hyperwords probe WORD` command.
 */

export { probeCommand, probeCommands } from "./Commands.ts"
export * as Findings from "./Findings.ts"
export * as Lexicon from "./Lexicon.ts"
export * as Measure from "./Measure.ts"
export * as Pivot from "./Pivot.ts"
export * as ProbeStage from "./ProbeStage.ts"
export { probeReportPath, probeStage, probeStageFor } from "./ProbeStage.ts"
export * as Report from "./Report.ts"
export * as Superwords from "./Superwords.ts"
export * as Verdict from "./Verdict.ts"
