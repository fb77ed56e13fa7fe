import { describe, expect, it } from "@effect/vitest"
import { choleskySolve } from "../src/LinearAlgebra.ts"

describe("choleskySolve", () => {
  it("solves a symmetric positive-definite system for several right-hand sides", () => {
    const a = Float64Array.from([4, 2, 0.6, 2, 5, 1, 0.6, 1, 3])
    const xs = [Float64Array.from([1, -2, 0.5]), Float64Array.from([0, 3, -1])]
    const bs = xs.map((x) =>
      Float64Array.from([0, 1, 2], (i) => a[i * 3]! * x[0]! + a[i * 3 + 1]! * x[1]! + a[i * 3 + 2]! * x[2]!)
    )
    const solved = choleskySolve(a, 3, bs)
    for (const [k, x] of solved.entries()) {
      for (const [i, v] of x.entries()) expect(v).toBeCloseTo(xs[k]![i]!, 10)
    }
  })
})
