/**
 * Where the bridge's Python project, its venv and scripts live.
 * The worker speaks NDJSON on stdout (`python/hyperwords_bridge/events.py`).
 */
import { resolve } from "node:path"
import { fileURLToPath } from "node:url"

const here = (relative: string): string => fileURLToPath(new URL(relative, import.meta.url))

/** The Python project: pyproject.toml, constraints.txt, bootstrap.py, hyperwords_bridge/. */
export const pythonProjectDir: string = here("../python/")

/** Run with the system `python3`; creates `python/.venv` and prints the venv's python path on stdout. */
export const bootstrapScript: string = here("../python/bootstrap.py")

/** The venv's python once `bootstrapScript` has run (POSIX layout). */
export const venvPython: string = here("../python/.venv/bin/python")

/**
 * The environment variable naming a python to run the workers with instead of `venvPython`: an
 * environment the user made with the bridge's requirements (`python/constraints.txt`,
 * `python/pyproject.toml`). When it is set the bridge does not bootstrap a venv.
 */
export const pythonVariable = "HYPERWORDS_PYTHON"

/** The python `HYPERWORDS_PYTHON` names (made absolute from the current directory), if set. */
export const pythonOverride = (env: NodeJS.ProcessEnv = process.env): string | undefined => {
  const value = env[pythonVariable]?.trim()
  return value ? resolve(value) : undefined
}

/** `node llama-tokenize.mjs MODEL.gguf TEXT_FILE`: llama.cpp's token ids as JSON (node-llama-cpp). */
export const llamaTokenizeScript: string = here("../scripts/llama-tokenize.mjs")

/** Registered default models, pulled by `python -m hyperwords_bridge.weights pull NAME`. */
export const defaultModels = ["gemma-3-270m", "smollm2-135m"] as const

/** The Python lock: exact versions of everything in the venv (part of the runtime fingerprint). */
export const constraintsFile: string = here("../python/constraints.txt")
