/**
 * The prompt sets every model version answers in the `evaluate` stage: versioned JSON files
 * (id, version, prompts with a language and a task). The built-in `imagery` set ships with this
 * package; a user names their own file in the stage's params. Its sha256 goes into the
 * `Generations` artifact, so scores always say exactly what was asked.
 */
import { resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { Hash } from "@hyperwords/core"
import { decodeTextBytes, decodeValue, readFileBytesSync, readText } from "@hyperwords/core/Decode"
import { DecodeError } from "@hyperwords/core/Errors"
import { normalizeLine, type PoetryDoc } from "@hyperwords/core/Poetry"
import { Effect, Result, Schema } from "effect"

/** The tasks the metric plugins know; a prompt set may add its own. */
export const tasks = ["describe-image", "continue-line", "ten-words", "invent-words"] as const

/** One prompt of a set. */
export const Prompt = Schema.Struct({
  /** Unique within the set; samples of one prompt are paired across model versions. */
  id: Schema.NonEmptyString,
  lang: Schema.Literals(["ru", "en"]),
  task: Schema.NonEmptyString,
  prompt: Schema.NonEmptyString,
  /** The sensations asked for, as words (the `resonance` metric compares the answer with them). */
  request: Schema.optionalKey(Schema.NonEmptyString),
  /** Where a quoted line comes from. */
  source: Schema.optionalKey(Schema.String)
})
export type Prompt = typeof Prompt.Type

/** A versioned prompt set. */
export const PromptSet = Schema.Struct({
  id: Schema.NonEmptyString,
  version: Schema.NonEmptyString,
  description: Schema.optionalKey(Schema.String),
  prompts: Schema.Array(Prompt)
})
export type PromptSet = typeof PromptSet.Type

/** A prompt set as read from its file, with the hash of the file's bytes. */
export interface LoadedPromptSet {
  readonly file: string
  readonly sha256: string
  readonly set: PromptSet
}

/** The file of the built-in `imagery` set. */
export const builtinPromptSet: string = fileURLToPath(new URL("../prompts/imagery-v2.json", import.meta.url))

/**
 * The file of a stage's `promptSet` param: the built-in set when absent, else the path resolved
 * against the project folder (an absolute path stays as it is).
 */
export const promptSetFile = (projectDir: string, promptSet: string | undefined): string =>
  promptSet === undefined ? builtinPromptSet : resolve(projectDir, promptSet)

/** Read and check a prompt set; errors name the file (and the duplicate id). */
export const loadPromptSet = (file: string = builtinPromptSet): Effect.Effect<LoadedPromptSet, DecodeError> =>
  Effect.gen(function* () {
    const text = yield* readText(file)
    let raw: unknown
    try {
      raw = JSON.parse(text)
    } catch (e) {
      return yield* new DecodeError({ file, detail: `not valid JSON (${(e as Error).message})` })
    }
    const set = yield* Effect.fromResult(decodeValue(PromptSet, raw, { file }))
    if (set.prompts.length === 0)
      return yield* new DecodeError({ file, detail: "the prompt set has no prompts" })
    const seen = new Set<string>()
    for (const p of set.prompts) {
      if (seen.has(p.id)) return yield* new DecodeError({ file, detail: `prompt id "${p.id}" appears twice` })
      seen.add(p.id)
    }
    return { file, sha256: Hash.sha256(text), set }
  })

/**
 * The poetry lines a prompt set quotes (its `continue-line` prompts, a line each), read at once:
 * `pipeline.config.ts` pins them to the held-out side of the poetry split, so no prompt continues
 * a poem the model was trained on.
 */
export const quotedLines = (file: string = builtinPromptSet): Array<string> => {
  const text = Result.flatMap(readFileBytesSync(file), (bytes) => decodeTextBytes(bytes, file))
  if (Result.isFailure(text)) throw new Error(text.failure.message)
  const raw = JSON.parse(text.success) as { prompts?: ReadonlyArray<Partial<Prompt>> }
  return (raw.prompts ?? [])
    .filter((p) => p.task === "continue-line" && typeof p.prompt === "string")
    .flatMap((p) => p.prompt!.split("\n").filter((l) => l.trim() !== ""))
}

/**
 * The quoted lines of a prompt set that occur (normalised) in a training document: each with its
 * prompt and the document. A continue-the-line prompt must quote held-out poetry, never trained on.
 */
export const quotedInTraining = (
  set: PromptSet,
  trainDocs: ReadonlyArray<PoetryDoc>
): Array<{ readonly prompt: string; readonly line: string; readonly doc: string }> => {
  const where = new Map<string, string>()
  for (const d of trainDocs)
    for (const l of d.lines) if (!where.has(normalizeLine(l.text))) where.set(normalizeLine(l.text), d.doc)
  return set.prompts
    .filter((p) => p.task === "continue-line")
    .flatMap((p) =>
      p.prompt
        .split("\n")
        .filter((line) => normalizeLine(line) !== "" && where.has(normalizeLine(line)))
        .map((line) => ({ prompt: p.id, line, doc: where.get(normalizeLine(line))! }))
    )
}
