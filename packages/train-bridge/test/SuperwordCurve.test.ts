import { describe, expect, it } from "vitest"
import { curveSvg, pairedDocRatio, paretoFront } from "../src/SuperwordCurve.ts"

describe("paretoFront", () => {
  it("keeps the points no other point beats on both tokens saved and ratio, by tokens saved", () => {
    const points = [
      { saved: 0, ratio: 1.0 },
      { saved: 0.05, ratio: 1.01 },
      { saved: 0.05, ratio: 1.03 }, // dominated by the one above
      { saved: 0.12, ratio: 1.02 },
      { saved: 0.1, ratio: 1.05 }, // dominated by 0.12 / 1.02
      { saved: 0.2, ratio: 1.1 }
    ]
    expect(paretoFront(points)).toEqual([0, 1, 3, 5])
  })

  it("leaves out points that are not numbers", () => {
    expect(
      paretoFront([
        { saved: Number.NaN, ratio: 1 },
        { saved: 0.1, ratio: 1 }
      ])
    ).toEqual([1])
  })
})

describe("pairedDocRatio", () => {
  it("is total bits over total bits, with an interval from resampling documents", () => {
    const docs = [0, 0, 1, 2, 3, 3]
    const bytes = [10, 10, 10, 10, 10, 10]
    const a = { nats: [1, 1, 2, 2, 1, 1], bytes }
    const b = { nats: [1.1, 1.1, 2.2, 2.2, 1.1, 1.1], bytes }
    const r = pairedDocRatio(a, b, docs)
    expect(r.ratio).toBeCloseTo(1.1, 12)
    expect(r.docs).toBe(4)
    // every document has the same ratio: the interval is that ratio
    expect(r.ci[0]).toBeCloseTo(1.1, 12)
    expect(r.ci[1]).toBeCloseTo(1.1, 12)
  })

  it("gives a wider interval when documents disagree, and holds the point estimate", () => {
    const docs = Array.from({ length: 40 }, (_, i) => i)
    const bytes = docs.map(() => 50)
    const a = { nats: docs.map(() => 10), bytes }
    const b = { nats: docs.map((i) => (i % 2 === 0 ? 8 : 12.4)), bytes }
    const r = pairedDocRatio(a, b, docs, { seed: 3 })
    expect(r.ratio).toBeCloseTo(1.02, 12)
    expect(r.ci[0]).toBeLessThan(1.02)
    expect(r.ci[1]).toBeGreaterThan(1.02)
    expect(r.ci[1] - r.ci[0]).toBeGreaterThan(0.05)
  })

  it("refuses sides of different lengths", () => {
    expect(() => pairedDocRatio({ nats: [1], bytes: [1] }, { nats: [1, 2], bytes: [1, 1] }, [0])).toThrow(
      /1 documents/
    )
  })
})

describe("curveSvg", () => {
  it("draws each series, the front, the targets, and escapes every text", () => {
    const svg = curveSvg(
      [
        { series: "m / saving", k: 0, saved: 0, ratio: 1.0 },
        { series: "m / saving", k: 500, saved: 0.08, ratio: 1.01, ratioCi: [1.0, 1.02] },
        { series: '<script>alert("x")</script>', k: 500, saved: 0.04, ratio: 1.03 }
      ],
      "curve & <title>"
    )
    expect(svg).toContain("curve &amp; &lt;title&gt;")
    expect(svg).not.toContain("<script>")
    expect(svg).toContain("&lt;script&gt;")
    expect(svg.match(/<circle [^>]*r="6"/g)).toHaveLength(2) // the front: K 0 and K 500 of the first series
    expect(svg).toContain("ratio 1.02")
    expect(svg).toContain("10% saved")
  })

  it("says so when there are no points", () => {
    expect(curveSvg([], "empty")).toContain("empty: no points")
  })
})
