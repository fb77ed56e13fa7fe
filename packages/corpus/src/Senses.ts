/** Moved to `@hyperwords/models/Senses` (plugins reach it through `@hyperwords/eval/Sdk`); re-exported here so corpus code keeps working. */
export * from "@hyperwords/models/Senses"
