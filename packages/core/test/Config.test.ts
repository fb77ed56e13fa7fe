import { Effect, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { type LoadedConfig, resolveParams } from "../src/Config.ts"
import { defineStage } from "../src/Stage.ts"

const reader = defineStage({
  id: "read",
  description: "reads corpora",
  codeVersion: "1",
  params: Schema.Struct({
    corpus: Schema.Array(Schema.String),
    encodings: Schema.optionalKey(Schema.Record(Schema.String, Schema.String))
  }),
  inputs: {},
  outputs: { set: "HyperwordSet" },
  commandLine: (o) =>
    o.encoding === undefined ? {} : { encodings: Object.fromEntries(o.corpus.map((c) => [c, o.encoding!])) }
})

const loaded: LoadedConfig = {
  file: "/project/pipeline.config.ts",
  projectDir: "/project",
  storeDir: "/project/.hyperwords",
  reportsDir: "/project/reports",
  config: { stages: [reader], params: ({ corpus }) => ({ read: { corpus: ["base.txt", ...corpus] } }) }
}

describe("resolveParams", () => {
  it("--encoding reaches the params of the stage that reads the --corpus paths", async () => {
    const params = await Effect.runPromise(
      resolveParams(loaded, { profile: "default", corpus: ["mine.txt"], encoding: "windows-1251" })
    )
    expect(params.get("read")).toEqual({
      corpus: ["base.txt", "mine.txt"],
      encodings: { "mine.txt": "windows-1251" }
    })
    const plain = await Effect.runPromise(resolveParams(loaded, { profile: "default", corpus: ["mine.txt"] }))
    expect(plain.get("read")).toEqual({ corpus: ["base.txt", "mine.txt"] })
  })
})
