import { describe, expect, it } from "vitest"
import { heldoutCurveSvg, lossCurveSvg } from "../src/FinetuneStage.ts"

describe("curve SVGs", () => {
  it("label the value they plot and escape the title", () => {
    const loss = lossCurveSvg(
      [
        { step: 1, loss: 6 },
        { step: 2, loss: 4 }
      ],
      "<ft>"
    )
    expect(loss).toContain("&lt;ft&gt;: training loss")
    const held = heldoutCurveSvg(
      [
        { step: 0, bpb: 3.9 },
        { step: 20, bpb: 2.4 }
      ],
      "finetune"
    )
    expect(held).toContain("finetune: held-out poetry bits per byte")
    expect(held).not.toContain("training loss")
  })
})
