import { describe, expect, it } from "vitest"
import { barsWanted, makeProgress } from "../src/Progress.ts"

describe("Progress", () => {
  it("logs plain lines every 10% when not on a terminal", () => {
    const lines: Array<string> = []
    let t = 0
    const p = makeProgress({ isTTY: false, columns: 80, write: (s) => lines.push(s) }, () => t)
    const task = p.task("hash", { total: 100, unit: "MB" })
    for (let i = 0; i < 100; i++) {
      t += 10
      task.advance()
    }
    task.finish()
    expect(lines.length).toBeGreaterThanOrEqual(10)
    expect(lines.length).toBeLessThanOrEqual(12)
    expect(lines.at(-2)).toMatch(/hash .*100% 100 MB\/100 MB/)
    expect(lines.at(-1)).toBe("hash done (1s)\n")
  })
  it("redraws bars in place on a terminal", () => {
    let out = ""
    let t = 0
    const p = makeProgress({ isTTY: true, columns: 80, write: (s) => (out += s) }, () => t)
    const task = p.task("train", { total: 4, unit: "steps" })
    t = 200
    task.advance(2)
    expect(out).toContain(" 50% 2 steps/4 steps")
    p.log("a line above the bar")
    expect(out).toContain("\x1b[1A\x1b[0J")
    task.finish()
  })
})

describe("formatSeconds", () => {
  it("rounds before splitting minutes, so no 2m60s", async () => {
    const { formatSeconds } = await import("../src/Progress.ts")
    expect(formatSeconds(179.6)).toBe("3m00s")
    expect(formatSeconds(59.6)).toBe("1m00s")
    expect(formatSeconds(125)).toBe("2m05s")
    expect(formatSeconds(3725)).toBe("1h02m")
    expect(formatSeconds(Number.NaN)).toBe("?")
  })
})

describe("barsWanted", () => {
  it("draws bars only on a terminal without CI, NO_COLOR or TERM=dumb", () => {
    expect(barsWanted(true, {})).toBe(true)
    expect(barsWanted(false, {})).toBe(false)
    expect(barsWanted(true, { CI: "true" })).toBe(false)
    expect(barsWanted(true, { NO_COLOR: "1" })).toBe(false)
    expect(barsWanted(true, { NO_COLOR: "" })).toBe(true)
    expect(barsWanted(true, { TERM: "dumb" })).toBe(false)
  })
})
