/**
 * @hyperwords/models: the model runtime in TypeScript. Load a model directory offline, tokenize,
 * generate (greedy or seeded sampling), embed, and run the probe graph for per-layer tensors.
 */

export { generateCommand } from "./Commands.ts"
export * as Embed from "./Embed.ts"
export * as Errors from "./Errors.ts"
export { ModelDirError, ModelInputError, ModelRunError } from "./Errors.ts"
export * as Generate from "./Generate.ts"
export { releaseSessions } from "./internal/sessions.ts"
export * as Model from "./Model.ts"
export { forgetModels, loadModel } from "./Model.ts"
export * as ModelDir from "./ModelDir.ts"
export { Models } from "./Models.ts"
export * as Probe from "./Probe.ts"
export { view } from "./Probe.ts"
export * as ProbeLayers from "./ProbeLayers.ts"
export { layerView } from "./ProbeLayers.ts"
export * as Sampling from "./Sampling.ts"
export * as Tokenizer from "./Tokenizer.ts"
