import { describe, expect, it } from "@effect/vitest"
import { experimentOf, gpusOf } from "../src/FinetuneStage.ts"

describe("the experiment a fine-tune belongs to", () => {
  it("is the one its params name, else the version it is a sweep copy of, else its own stage", () => {
    expect(experimentOf("finetune", { stage: "control", sweepOf: "control" })).toBe("finetune")
    // the copies of a seed sweep are runs of one experiment: the controls pair with each
    expect(experimentOf(undefined, { stage: "finetune-seed2", sweepOf: "finetune" })).toBe("finetune")
    expect(experimentOf(undefined, { stage: "finetune" })).toBe("finetune")
  })
})

describe("the GPUs a fine-tune asks for", () => {
  it("are its param, else HYPERWORDS_GPUS, else none; a bad variable is refused by name", () => {
    expect(gpusOf(2, { HYPERWORDS_GPUS: "4" })).toBe(2)
    expect(gpusOf(undefined, { HYPERWORDS_GPUS: "4" })).toBe(4)
    expect(gpusOf(undefined, {})).toBe(0)
    expect(gpusOf(undefined, { HYPERWORDS_GPUS: " " })).toBe(0)
    for (const bad of ["1.5", "-1", "two"])
      expect(() => gpusOf(undefined, { HYPERWORDS_GPUS: bad })).toThrow(`HYPERWORDS_GPUS=${bad}`)
  })
})
