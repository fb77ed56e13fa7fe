/**
 * Where the bridge's Python project, its venv and scripts live.
 * The worker speaks NDJSON on stdout (`python/hyperwords_bridge/events.py`).
 */
import { fileURLToPath } from "node:url"

const here = (relative: string): string => fileURLToPath(new URL(relative, import.meta.url))

/** The Python project: pyproject.toml, constraints.txt, bootstrap.py, hyperwords_bridge/. */
export const pythonProjectDir: string = here("../python/")

/** Run with the system `python3`; creates `python/.venv` and prints the venv's python path on stdout. */
export const bootstrapScript: string = here("../python/bootstrap.py")

/** The venv's python once `bootstrapScript` has run (POSIX layout). */
export const venvPython: string = here("../python/.venv/bin/python")

/** `node llama-tokenize.mjs MODEL.gguf TEXT_FILE`: llama.cpp's token ids as JSON (node-llama-cpp). */
export const llamaTokenizeScript: string = here("../scripts/llama-tokenize.mjs")

/** Registered default models, pulled by `python -m hyperwords_bridge.weights pull NAME`. */
export const defaultModels = ["gemma-3-270m", "smollm2-135m"] as const

/** The Python lock: exact versions of everything in the venv (part of the runtime fingerprint). */
export const constraintsFile: string = here("../python/constraints.txt")
