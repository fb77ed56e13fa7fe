/** Moved to `@hyperwords/models/Stopwords` (plugins reach it through `@hyperwords/eval/Sdk`); re-exported here so corpus code keeps working. */
export * from "@hyperwords/models/Stopwords"
