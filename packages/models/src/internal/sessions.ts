/**
 * One onnxruntime InferenceSession per graph file per process. Sessions are created on first
 * use and shared by every caller; a file that onnxruntime cannot load becomes a ModelDirError.
 */
import { relative } from "node:path"
import * as ort from "onnxruntime-node"
import { ModelDirError, ModelRunError } from "../Errors.ts"
import { pullCommand } from "../ModelDir.ts"

const sessions = new Map<string, Promise<ort.InferenceSession>>()

/** Session options shared by every graph: all graph optimisations, threads from HYPERWORDS_THREADS. */
const sessionOptions = (): ort.InferenceSession.SessionOptions => {
  const threads = Number(process.env.HYPERWORDS_THREADS ?? 0)
  return {
    graphOptimizationLevel: "all",
    executionMode: "sequential",
    ...(threads > 0 ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {})
  }
}

/** The process's session for `path` (inside model directory `dir`), created on first use. */
export const getSession = (dir: string, path: string): Promise<ort.InferenceSession> => {
  const cached = sessions.get(path)
  if (cached) return cached
  const created = ort.InferenceSession.create(path, sessionOptions()).catch((e: unknown) => {
    sessions.delete(path)
    throw new ModelDirError({
      path: dir,
      missing: relative(dir, path),
      detail: `cannot be loaded by onnxruntime (corrupt or truncated?): ${e instanceof Error ? e.message : String(e)}`,
      fix: pullCommand(dir)
    })
  })
  sessions.set(path, created)
  return created
}

/** Release every cached session (their memory is freed once no run is using them). */
export const releaseSessions = async (): Promise<void> => {
  const all = [...sessions.values()]
  sessions.clear()
  for (const s of all) {
    try {
      await (await s).release()
    } catch {
      // a session that failed to load has nothing to release
    }
  }
}

/** Paths of the sessions currently cached (for tests). */
export const cachedSessionPaths = (): ReadonlyArray<string> => [...sessions.keys()]

/** Run a session, turning onnxruntime's failures into ModelRunError. */
export const runSession = async (
  session: ort.InferenceSession,
  path: string,
  feeds: ort.InferenceSession.FeedsType,
  fetches?: ReadonlyArray<string>
): Promise<ort.InferenceSession.ReturnType> => {
  try {
    return fetches ? await session.run(feeds, [...fetches]) : await session.run(feeds)
  } catch (e) {
    throw new ModelRunError({ path, detail: e instanceof Error ? e.message : String(e) })
  }
}

export { ort }
