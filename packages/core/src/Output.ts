/**
 * `--json` on every command that prints results: the same results as one JSON document on stdout,
 * nothing else there (progress, logs and warnings go to stderr). An error with `--json` is printed
 * as `{ "error": { "message", "code" } }` on stdout, and as today's `error:` line on stderr; the
 * exit codes stay those of the README (0, 1, 130).
 */
import { Cause, Console, Effect, type Layer } from "effect"
import { CliOutput, Flag } from "effect/cli"

/** The `--json` flag every result-printing command takes. */
export const jsonFlag = Flag.Boolean("json").pipe(
  Flag.withDescription(
    "print the results as one JSON document on stdout (progress, logs and warnings stay on stderr)"
  ),
  Flag.withDefault(false)
)

// shared through globalThis: a package that loads this module by another path sees the same flag
const printedKey = Symbol.for("hyperwords/output/jsonPrinted")
const state = globalThis as { [printedKey]?: boolean }

/** Whether this process already printed its JSON document (an error after it is not printed again). */
export const jsonPrinted = (): boolean => state[printedKey] === true

/**
 * Print a command's results: `human` as today, or with `--json` `data` as one JSON document.
 * `human` may be a function, so a text that costs something is only made when it is printed.
 */
export const printResult = (
  json: boolean,
  human: string | (() => string),
  data: unknown
): Effect.Effect<void> =>
  json
    ? Effect.suspend(() => {
        state[printedKey] = true
        return Console.log(JSON.stringify(data, null, 2))
      })
    : Effect.suspend(() => Console.log(typeof human === "function" ? human() : human))

/** A line of the human output only (with `--json` the document carries it). */
export const say = (json: boolean, line: string): Effect.Effect<void> =>
  json ? Effect.void : Console.log(line)

/** The JSON form of an error: its message, and a code (the error's `code`, else its tag). */
export const errorJson = (e: unknown): { readonly message: string; readonly code?: string } => {
  const o = (typeof e === "object" && e !== null ? e : {}) as {
    readonly message?: unknown
    readonly code?: unknown
    readonly _tag?: unknown
    readonly errors?: ReadonlyArray<{ readonly message?: unknown }>
  }
  // a command line the parser refused (an unknown flag, a missing argument): its own messages
  const parse =
    o._tag === "ShowHelp" && Array.isArray(o.errors) && o.errors.length > 0
      ? o.errors.map((x) => String(x.message)).join("; ")
      : undefined
  const message = parse ?? (o.message !== undefined ? String(o.message) : String(e))
  const tag = parse === undefined ? o._tag : (o.errors?.[0] as { readonly _tag?: unknown } | undefined)?._tag
  const code = typeof o.code === "string" ? o.code : typeof tag === "string" ? tag : undefined
  return code === undefined ? { message } : { message, code }
}

/** Print an error as the JSON document, unless a command already printed its document. */
export const printErrorJson = (e: unknown): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (jsonPrinted()) return Effect.void
    state[printedKey] = true
    return Console.log(JSON.stringify({ error: errorJson(e) }))
  })

/** Whether a command line asks for `--json` (before a `--` that ends the flags). */
export const jsonRequested = (argv: ReadonlyArray<string>): boolean => {
  const end = argv.indexOf("--")
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === "--json" || a === "--json=true")
}

/**
 * With `--json`: a crash (a defect, not an interruption) is printed as the error document too;
 * expected errors are printed by `reportErrors`.
 */
export const crashAsJson = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  self.pipe(
    Effect.tapCause((cause) =>
      Cause.hasInterruptsOnly(cause) || Cause.hasFails(cause)
        ? Effect.void
        : printErrorJson(Cause.squash(cause))
    )
  )

/**
 * With `--json`, help the command line did not ask for (a refused or incomplete command line) goes
 * to stderr, so stdout holds only the error document; `--help` and `--version` print as always.
 */
export const jsonPresenter: Layer.Layer<never> = CliOutput.layerPresenter({
  present: (event) =>
    event._tag === "Version" || (event._tag === "Help" && event.reason === "Requested")
      ? CliOutput.defaultPresenter.present(event)
      : Effect.gen(function* () {
          const formatter = yield* CliOutput.Formatter
          yield* Console.error(formatter.formatHelpDoc(event.helpDoc))
          if (event._tag === "InvalidInvocation") yield* Console.error(formatter.formatErrors(event.errors))
        })
})
