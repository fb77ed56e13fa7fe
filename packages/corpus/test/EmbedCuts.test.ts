import { embedCutLayers } from "@hyperwords/models/ModelDir"
import { describe, expect, it } from "vitest"
import { layerFraction } from "../src/Senses.ts"

describe("the embedding graph cuts", () => {
  it("include the sensory estimator's default layer at every depth", () => {
    for (let layers = 4; layers <= 64; layers++)
      expect(embedCutLayers(layers)).toContain(Math.round(layers * layerFraction))
  })
})
