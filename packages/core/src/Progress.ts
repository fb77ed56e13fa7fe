/**
 * Progress for long work: bars redrawn in place on a terminal, and plain log lines (every 10%
 * or 5 seconds) when stderr is not a TTY, so CI logs stay readable.
 */
import { Context, Effect, Layer } from "effect"

/** One unit of long work being tracked. */
export interface Task {
  /** Add `n` (default 1) to the work done. */
  readonly advance: (n?: number) => void
  /** Set the work done. */
  readonly update: (done: number, total?: number) => void
  /** Mark the task finished (or failed) and print its last line. */
  readonly finish: (note?: string) => void
}

/** Where progress and log lines go. */
export interface Output {
  readonly isTTY: boolean
  readonly columns: number
  readonly write: (text: string) => void
}

const formatAmount = (n: number, unit: string): string => {
  if (unit === "bytes") {
    if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`
    if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`
    if (n >= 1e3) return `${(n / 1e3).toFixed(0)} kB`
    return `${n} B`
  }
  return `${Number.isInteger(n) ? n : n.toFixed(1)}${unit ? ` ${unit}` : ""}`
}

/** A duration as `42s`, `3m05s` or `1h02m` (rounded to the second first, so 179.6 s is 3m00s). */
export const formatSeconds = (seconds: number): string => {
  if (!Number.isFinite(seconds)) return "?"
  const s = Math.round(seconds)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`
}

/**
 * Whether progress is drawn as bars: only on a terminal, and not in CI, with `NO_COLOR` set (to
 * anything but the empty string, as no-color.org says) or with `TERM=dumb`; otherwise progress
 * is plain log lines.
 */
export const barsWanted = (isTTY: boolean, env: Readonly<Record<string, string | undefined>>): boolean =>
  isTTY && env.CI === undefined && (env.NO_COLOR ?? "") === "" && env.TERM !== "dumb"

/** The progress service. */
export class Progress extends Context.Service<
  Progress,
  {
    /** Start tracking a task; `total` unknown shows a counter. */
    readonly task: (label: string, options?: { readonly total?: number; readonly unit?: string }) => Task
    /** Print a line above any bars. */
    readonly log: (line: string) => void
  }
>()("hyperwords/core/Progress") {
  /** Progress on the process's stderr. */
  static readonly layer: Layer.Layer<Progress> = Layer.sync(Progress, () =>
    makeProgress({
      isTTY: barsWanted(Boolean(process.stderr.isTTY), process.env),
      columns: process.stderr.columns ?? 100,
      write: (t) => process.stderr.write(t)
    })
  )
  /** Progress that prints nothing (for tests and `--json` output). */
  static readonly silent: Layer.Layer<Progress> = Layer.succeed(Progress, {
    task: () => ({ advance: () => {}, update: () => {}, finish: () => {} }),
    log: () => {}
  })
}

/** Progress writing to an output. */
export const makeProgress = (out: Output, now: () => number = Date.now): Progress["Service"] => {
  const active = new Set<{ render: () => string }>()
  let drawn = 0
  const clear = () => {
    if (!out.isTTY || drawn === 0) return
    out.write(`\x1b[${drawn}A\x1b[0J`)
    drawn = 0
  }
  const draw = () => {
    if (!out.isTTY) return
    clear()
    const lines = [...active].map((t) => t.render().slice(0, Math.max(20, out.columns - 1)))
    if (lines.length > 0) out.write(`${lines.join("\n")}\n`)
    drawn = lines.length
  }
  let lastDraw = 0
  const maybeDraw = () => {
    const t = now()
    if (t - lastDraw >= 100) {
      lastDraw = t
      draw()
    }
  }

  return {
    log: (line) => {
      clear()
      out.write(`${line}\n`)
      draw()
    },
    task: (label, options) => {
      const unit = options?.unit ?? ""
      let total = options?.total
      let done = 0
      const started = now()
      let lastPlain = started
      let lastPlainFraction = 0
      const line = (): string => {
        const elapsed = (now() - started) / 1000
        const rate = elapsed > 0 ? done / elapsed : 0
        if (total === undefined || total <= 0) {
          return `${label} ${formatAmount(done, unit)} (${formatSeconds(elapsed)})`
        }
        const f = Math.min(1, done / total)
        const eta = rate > 0 ? (total - done) / rate : Number.POSITIVE_INFINITY
        const width = 24
        const bar = "█".repeat(Math.round(f * width)).padEnd(width, "░")
        return `${label} ${bar} ${(f * 100).toFixed(0).padStart(3)}% ${formatAmount(done, unit)}/${formatAmount(total, unit)} eta ${formatSeconds(eta)}`
      }
      const entry = { render: line }
      active.add(entry)
      const tick = () => {
        if (out.isTTY) return maybeDraw()
        const t = now()
        const f = total ? done / total : 0
        const complete = total !== undefined && done >= total && lastPlainFraction < 1
        if (complete || f - lastPlainFraction >= 0.0999 || t - lastPlain >= 5000) {
          lastPlain = t
          lastPlainFraction = f
          out.write(`${line()}\n`)
        }
      }
      return {
        advance: (n = 1) => {
          done += n
          tick()
        },
        update: (d, t) => {
          done = d
          if (t !== undefined) total = t
          tick()
        },
        finish: (note) => {
          active.delete(entry)
          clear()
          const elapsed = (now() - started) / 1000
          out.write(`${label} ${note ?? "done"} (${formatSeconds(elapsed)})\n`)
          draw()
        }
      }
    }
  }
}

/** Track a task for the length of an effect, finishing it on success or failure. */
export const withTask = <A, E, R>(
  label: string,
  options: { readonly total?: number; readonly unit?: string },
  f: (task: Task) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R | Progress> =>
  Effect.gen(function* () {
    const progress = yield* Progress
    const task = progress.task(label, options)
    return yield* f(task).pipe(
      Effect.onExit((exit) => Effect.sync(() => task.finish(exit._tag === "Success" ? "done" : "stopped")))
    )
  })
