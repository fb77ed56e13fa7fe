import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { Models } from "../src/Models.ts"
import { bridgeMissing, tinyModel } from "./fixtures/bridge.ts"

const missing = bridgeMissing()

describe("Models", () => {
  it.effect("a missing model directory fails with ModelDirError, caught by tag", () =>
    Effect.gen(function* () {
      const models = yield* Models
      const message = yield* models.load("/nonexistent/models/gemma-3-270m").pipe(
        Effect.as("loaded"),
        Effect.catchTag("ModelDirError", (e) => Effect.succeed(e.message))
      )
      assert.include(message, "pnpm hyperwords models pull gemma-3-270m")
    }).pipe(Effect.provide(Models.layer))
  )
})

describe.skipIf(missing !== undefined)(`Models on a tiny model (${missing ?? "bridge present"})`, () => {
  it.effect("loads, generates, streams, embeds and probes", () =>
    Effect.gen(function* () {
      const dir = yield* Effect.promise(() => tinyModel("llama"))
      const models = yield* Models
      const model = yield* models.load(dir)
      const ids = yield* models.encode(model, "The cat")
      assert.deepStrictEqual(yield* models.decode(model, ids), "The cat")
      const g = yield* models.generate(model, "The cat", { maxNewTokens: 5, stopAtEos: false })
      assert.strictEqual(g.ids.length, 5)
      const streamed = yield* Stream.runCollect(
        models.stream(model, "The cat", { maxNewTokens: 5, stopAtEos: false })
      )
      assert.deepStrictEqual(
        Array.from(streamed, (t) => t.id),
        [...g.ids]
      )
      const e = yield* models.embed(model, ["The cat", "a dog"], { layer: 1 })
      assert.deepStrictEqual(e.dims, [2, model.config.hiddenSize])
      const p = yield* models.probe(model, { texts: ["The cat"] })
      assert.strictEqual(p.hiddenStates.dims[0], model.config.numLayers + 1)
      const refused = yield* models.embed(model, ["x"], { layer: -1 }).pipe(
        Effect.as("embedded"),
        Effect.catchTag("ModelInputError", (err) => Effect.succeed(err._tag))
      )
      assert.strictEqual(refused, "ModelInputError")
    }).pipe(Effect.provide(Models.layerScoped))
  )
})
