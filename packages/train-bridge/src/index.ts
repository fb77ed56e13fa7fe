/** @hyperwords/train-bridge: the Python bridge (environment, workers, events), model folders and the models stage. */
export * as Bridge from "./Bridge.ts"
export * as Commands from "./Commands.ts"
export * as FinetuneStage from "./FinetuneStage.ts"
export * as ImportModel from "./ImportModel.ts"
export * as ModelDir from "./ModelDir.ts"
export * as ModelsStage from "./ModelsStage.ts"
export * as Paths from "./Paths.ts"
export * as Training from "./Training.ts"
