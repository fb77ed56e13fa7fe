/**
 * The documents of a `PoetrySplit` artifact: `train.jsonl` and `heldout.jsonl`, one poetry
 * document a line. Stages that train on poetry or measure on held-out poetry read them here.
 */
import { Effect, Result, Schema } from "effect"
import { Lang, PoetrySplit } from "./Artifacts.ts"
import { decodeJsonlFile, decodeValue } from "./Decode.ts"
import type { LoadedArtifact } from "./Stage.ts"

/** One poetry document: its id (file#record, author, title), language and numbered lines. */
export const PoetryDoc = Schema.Struct({
  doc: Schema.String,
  lang: Lang,
  lines: Schema.Array(Schema.Struct({ line: Schema.Int, text: Schema.String }))
})
export type PoetryDoc = typeof PoetryDoc.Type

/** The split's index document and the documents of one side (a bad line fails naming the file and line). */
export const readPoetry = (split: LoadedArtifact, side: "train" | "heldout") =>
  Effect.gen(function* () {
    const decoded = decodeValue(PoetrySplit, split.data, { file: "poetry split" })
    if (Result.isFailure(decoded)) return yield* Effect.fail(decoded.failure)
    const data = decoded.success
    const docs = yield* decodeJsonlFile(PoetryDoc, split.file(side === "train" ? data.train : data.heldout))
    return { data, docs }
  })

/** A line as held-out checks compare it: lower case, ё as е, letters and digits only, single spaces. */
export const normalizeLine = (text: string): string =>
  text
    .normalize("NFKC")
    .toLowerCase()
    .replace(/ё/g, "е")
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim()
