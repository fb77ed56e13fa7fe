/**
 * Blocks of a Markdown file that a command writes, never a person: the figures the README shows
 * (the leaderboard's summary, the stage times) are computed from a run's artifacts and put
 * between a pair of markers, each on a line of its own,
 *
 *     <!-- generated:NAME -->
 *     …
 *     <!-- /generated:NAME -->
 *
 * replacing what was there. Text outside the markers is kept byte for byte. A file without the
 * markers, or with them twice or out of order, is an error naming the file and line, so that no
 * figure is appended where nobody reads it.
 */
import { readFileSync } from "node:fs"
import { Effect } from "effect"
import { UsageError } from "./Errors.ts"
import { writeFileAtomic } from "./internal/fsAtomic.ts"

/** The opening and closing markers of a block. */
export const blockMarkers = (name: string) => ({
  open: `<!-- generated:${name} -->`,
  close: `<!-- /generated:${name} -->`
})

const lineOf = (text: string, index: number): number => text.slice(0, index).split("\n").length

/** The indices where a marker starts a line of its own (a marker quoted inside a sentence is not one). */
const occurrences = (text: string, marker: string): Array<number> => {
  const out: Array<number> = []
  for (let i = text.indexOf(marker); i >= 0; i = text.indexOf(marker, i + marker.length)) {
    const end = i + marker.length
    if (
      (i === 0 || text[i - 1] === "\n") &&
      (end === text.length || text[end] === "\n" || text[end] === "\r")
    )
      out.push(i)
  }
  return out
}

/**
 * `text` with block `name`'s content replaced by `body` (a blank line either side), or a
 * `UsageError` naming `file` and the line of a marker that is missing, repeated or misplaced.
 */
export const replaceBlock = (
  text: string,
  file: string,
  name: string,
  body: string
): Effect.Effect<string, UsageError> => {
  const { open, close } = blockMarkers(name)
  const opens = occurrences(text, open)
  const closes = occurrences(text, close)
  const fail = (detail: string) => Effect.fail(new UsageError({ detail: `${file}: ${detail}` }))
  if (opens.length === 0 || closes.length === 0)
    return fail(`no generated block "${name}": put the lines ${open} and ${close} where its figures belong`)
  if (opens.length > 1 || closes.length > 1) {
    const at = (opens.length > 1 ? opens : closes).map((i) => lineOf(text, i))
    return fail(`block "${name}" is marked more than once (lines ${at.join(", ")})`)
  }
  const start = opens[0]!
  const end = closes[0]!
  if (end < start)
    return fail(
      `block "${name}" closes (line ${lineOf(text, end)}) before it opens (line ${lineOf(text, start)})`
    )
  return Effect.succeed(`${text.slice(0, start + open.length)}\n\n${body.trim()}\n\n${text.slice(end)}`)
}

/** Replace block `name` of a file with `body`, atomically; the file is otherwise unchanged. */
export const writeBlock = (file: string, name: string, body: string): Effect.Effect<void, UsageError> =>
  Effect.gen(function* () {
    const text = yield* Effect.try({
      try: () => readFileSync(file, "utf8"),
      catch: (e) => new UsageError({ detail: `${file}: ${e instanceof Error ? e.message : String(e)}` })
    })
    const next = yield* replaceBlock(text, file, name, body)
    if (next !== text) writeFileAtomic(file, next)
  })
