/**
 * One onnxruntime InferenceSession per graph file per process. Sessions are created on first
 * use and shared by every caller; a file that onnxruntime cannot load becomes a ModelDirError.
 */
import { relative, sep } from "node:path"
import * as ort from "onnxruntime-node"
import { ModelDirError, ModelRunError } from "../Errors.ts"
import { pullCommand } from "../ModelDir.ts"

const sessions = new Map<string, Promise<ort.InferenceSession>>()

/** How a graph is run. */
export interface GraphOptions {
  /**
   * Keep onnxruntime's CPU memory arena (default true). The probe and embedding graphs are run
   * with rows of many shapes and full-vocabulary temporaries; an arena keeps the largest it ever
   * needed for each, which grew one Gemma probe run past 20 GB, so they run without it.
   */
  readonly arena?: boolean
}

/** Session options shared by every graph: all graph optimisations, threads from HYPERWORDS_THREADS. */
const sessionOptions = (options: GraphOptions): ort.InferenceSession.SessionOptions => {
  const threads = Number(process.env.HYPERWORDS_THREADS ?? 0)
  return {
    graphOptimizationLevel: "all",
    executionMode: "sequential",
    ...(options.arena === false ? { enableCpuMemArena: false } : {}),
    ...(threads > 0 ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {})
  }
}

/** The process's session for `path` (inside model directory `dir`), created on first use. */
export const getSession = (
  dir: string,
  path: string,
  options: GraphOptions = {}
): Promise<ort.InferenceSession> => {
  const cached = sessions.get(path)
  if (cached) return cached
  const created = ort.InferenceSession.create(path, sessionOptions(options)).catch((e: unknown) => {
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

/** Take the cached sessions whose path passes `keep` out of the cache and release them. */
const releaseWhere = async (keep: (path: string) => boolean): Promise<void> => {
  const taken = [...sessions.entries()].filter(([path]) => keep(path))
  for (const [path] of taken) sessions.delete(path)
  for (const [, s] of taken) {
    try {
      await (await s).release()
    } catch {
      // a session that failed to load has nothing to release
    }
  }
}

/** Release every cached session (their memory is freed once no run is using them). */
export const releaseSessions = (): Promise<void> => releaseWhere(() => true)

/** Release the cached sessions of the graphs under `dir` (a model folder). */
export const releaseSessionsUnder = (dir: string): Promise<void> => {
  const prefix = dir.endsWith(sep) ? dir : `${dir}${sep}`
  return releaseWhere((path) => path.startsWith(prefix))
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
