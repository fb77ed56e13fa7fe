import { describe, expect, it } from "@effect/vitest"
import { experimentOf } from "../src/FinetuneStage.ts"

describe("the experiment a fine-tune belongs to", () => {
  it("is the one its params name, else the version it is a sweep copy of, else its own stage", () => {
    expect(experimentOf("finetune", { stage: "control", sweepOf: "control" })).toBe("finetune")
    // the copies of a seed sweep are runs of one experiment: the controls pair with each
    expect(experimentOf(undefined, { stage: "finetune-seed2", sweepOf: "finetune" })).toBe("finetune")
    expect(experimentOf(undefined, { stage: "finetune" })).toBe("finetune")
  })
})
