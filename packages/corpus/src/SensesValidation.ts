/** Moved to `@hyperwords/models/SensesValidation` (plugins reach it through `@hyperwords/eval/Sdk`); re-exported here so corpus code keeps working. */
export * from "@hyperwords/models/SensesValidation"
