/** Moved to `@hyperwords/models/SensesDefault` (plugins reach it through `@hyperwords/eval/Sdk`); re-exported here so corpus code keeps working. */
export * from "@hyperwords/models/SensesDefault"
