/** Moved to `@hyperwords/models/SensationSeeds` (plugins reach it through `@hyperwords/eval/Sdk`); re-exported here so corpus code keeps working. */
export * from "@hyperwords/models/SensationSeeds"
