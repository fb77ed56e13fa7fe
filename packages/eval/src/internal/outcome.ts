/** Turning what a plugin call ended with into a value or a one-line reason (host and child share it). */
import { Cause, Effect, Exit, Result } from "effect"

const preview = (u: unknown): string => {
  let s: string
  try {
    s = typeof u === "string" ? JSON.stringify(u) : (JSON.stringify(u) ?? String(u))
  } catch {
    s = Object.prototype.toString.call(u)
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s
}

/** A short description of a thrown or failed value. */
export const describeError = (e: unknown): string => {
  if (e instanceof Error)
    return e.message === "" ? e.name : `${e.name === "Error" ? "" : `${e.name}: `}${e.message}`
  if (typeof e === "object" && e !== null) {
    const o = e as { _tag?: unknown; message?: unknown }
    const msg = typeof o.message === "string" ? o.message : undefined
    if (typeof o._tag === "string") return msg ? `${o._tag}: ${msg}` : o._tag
    if (msg) return msg
  }
  return preview(e)
}

/** The reason an Exit failed, in words: "failed: ...", "threw: ...", "was interrupted". */
export const exitReason = (exit: Exit.Exit<unknown, unknown>): string | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const cause = exit.cause
  const error = Cause.findError(cause)
  if (Result.isSuccess(error)) return `failed: ${describeError(error.success)}`
  const defect = Cause.findDefect(cause)
  if (Result.isSuccess(defect)) return `threw: ${describeError(defect.success)}`
  return "was interrupted"
}

/** A decoded sample score. */
export interface DecodedScore {
  readonly score: number | null
  readonly details?: Readonly<Record<string, unknown>>
}

const isJson = (u: unknown): boolean => {
  try {
    return JSON.stringify(u) !== undefined
  } catch {
    return false
  }
}

/** Check what a `sample` call returned: a finite number, null, or `{ score, ...details }`. */
export const decodeSampleScore = (u: unknown): Result.Result<DecodedScore, string> => {
  if (u === null) return Result.succeed({ score: null })
  if (typeof u === "number") {
    return Number.isFinite(u)
      ? Result.succeed({ score: u })
      : Result.fail(`returned ${u}, not a finite number`)
  }
  if (typeof u === "object" && !Array.isArray(u) && "score" in u) {
    const { score, ...details } = u as { score: unknown }
    if (typeof score !== "number" || !Number.isFinite(score)) {
      return Result.fail(`returned { score: ${preview(score)} }, not a finite number`)
    }
    if (!isJson(details)) return Result.fail("returned details that are not JSON")
    return Result.succeed(Object.keys(details).length === 0 ? { score } : { score, details })
  }
  return Result.fail(`returned ${preview(u)}; expected a finite number, null or { score, ...details }`)
}

/** A decoded corpus score. */
export interface DecodedCorpus {
  readonly score: number
  readonly ci?: readonly [number, number]
  readonly [detail: string]: unknown
}

/** Check what a `corpus` call returned: `{ score, ci?, ...details }`. */
export const decodeCorpusScore = (u: unknown): Result.Result<DecodedCorpus, string> => {
  if (typeof u !== "object" || u === null || Array.isArray(u) || !("score" in u)) {
    return Result.fail(`corpus returned ${preview(u)}; expected { score, ci?, ...details }`)
  }
  const o = u as { score: unknown; ci?: unknown }
  if (typeof o.score !== "number" || !Number.isFinite(o.score)) {
    return Result.fail(`corpus returned { score: ${preview(o.score)} }, not a finite number`)
  }
  if (
    o.ci !== undefined &&
    !(
      Array.isArray(o.ci) &&
      o.ci.length === 2 &&
      o.ci.every((x) => typeof x === "number" && Number.isFinite(x))
    )
  ) {
    return Result.fail(`corpus returned ci ${preview(o.ci)}; expected [low, high]`)
  }
  if (!isJson(u)) return Result.fail("corpus returned details that are not JSON")
  return Result.succeed(u as DecodedCorpus)
}

/** Call a plugin function that should return an Effect; a throw or a non-Effect becomes a defect. */
export const callPlugin = (f: () => unknown): Effect.Effect<unknown, unknown> =>
  Effect.suspend(() => {
    const r = f()
    if (Effect.isEffect(r)) return r as Effect.Effect<unknown, unknown>
    const what = r instanceof Promise ? "a Promise" : preview(r)
    return Effect.die(
      new Error(`returned ${what} instead of an Effect (wrap it: Effect.succeed / Effect.promise)`)
    )
  })
