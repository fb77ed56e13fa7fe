import { describe, expect, it } from "@effect/vitest"
import { ort } from "../src/internal/sessions.ts"
import { nextTokenLogits } from "../src/internal/tensors.ts"

// two rows, vocabulary 3: row r, position p, token v holds 100 r + 10 p + v
const logits = (positions: number) =>
  new ort.Tensor(
    "float32",
    Float32Array.from({ length: 2 * positions * 3 }, (_, i) => {
      const v = i % 3
      const p = Math.floor(i / 3) % positions
      const r = Math.floor(i / (3 * positions))
      return 100 * r + 10 * p + v
    }),
    [2, positions, 3]
  )

describe("nextTokenLogits", () => {
  it("takes each row's last position from a graph that gives every position", () => {
    expect([...nextTokenLogits(logits(4), 0)]).toEqual([30, 31, 32])
    expect([...nextTokenLogits(logits(4), 1)]).toEqual([130, 131, 132])
  })

  it("takes the one position of a graph cut to the last (hyperwords_bridge.last_logits)", () => {
    expect([...nextTokenLogits(logits(1), 0)]).toEqual([0, 1, 2])
    expect([...nextTokenLogits(logits(1), 1)]).toEqual([100, 101, 102])
  })
})
