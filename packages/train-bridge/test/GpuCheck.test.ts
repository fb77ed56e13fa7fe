import { spawnSync } from "node:child_process"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"

const script = join(import.meta.dirname, "..", "..", "..", "benchmarks", "gpu-check.sh")
const hasGpu = spawnSync("nvidia-smi", ["-L"]).status === 0

// the script's GPU run is for a machine with a GPU; here, its refusal
describe.skipIf(hasGpu)("benchmarks/gpu-check.sh on a machine without a GPU", () => {
  it("says so and exits 2 before installing or running anything", () => {
    const r = spawnSync("bash", [script], { encoding: "utf8", timeout: 30_000 })
    expect(r.status).toBe(2)
    expect(r.stderr).toContain("no NVIDIA GPU here")
    expect(r.stdout).toBe("")
  })
})
