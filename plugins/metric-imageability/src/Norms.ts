/**
 * Word norms for fitting: one value per word from a CSV/TSV column (Glasgow `IMAG_M`, Brysbaert
 * `Conc.M`, Miklashevsky `IMAGEABILITY_MEAN`, ...), and the fit/test split every check uses.
 */
import { foldYo, inTestHalf, readTable } from "@hyperwords/eval/Sdk"

/** One norm: a word and its mean rating. */
export interface NormRow {
  readonly word: string
  readonly value: number
}

/** What to read from a norms file. */
export interface NormsSpec {
  readonly path: string
  /** The word column (case-insensitive; default: the first of word, russian, term). */
  readonly wordColumn?: string
  /** The value column (case-insensitive), e.g. `IMAG_M`. */
  readonly valueColumn: string
  /** Keep a row only when this column is `0` (Brysbaert's `Bigram`). */
  readonly zeroColumn?: string
}

/** Read single-word norms; repeated words keep their first row, rows without a number are left out. */
export const readNorms = (spec: NormsSpec): Array<NormRow> => {
  const { records, column: find } = readTable(spec.path)
  const wordKey =
    spec.wordColumn === undefined
      ? ["word", "russian", "term"].map(find).find((k) => k)
      : find(spec.wordColumn)
  const valueKey = find(spec.valueColumn)
  const zeroKey = spec.zeroColumn === undefined ? undefined : find(spec.zeroColumn)
  if (wordKey === undefined || valueKey === undefined) {
    throw new Error(`${spec.path}: no word column or no column ${spec.valueColumn}`)
  }
  const seen = new Set<string>()
  const out: Array<NormRow> = []
  for (const r of records) {
    const word = foldYo((r[wordKey] ?? "").trim().toLowerCase())
    const value = Number(r[valueKey])
    if (word === "" || /\s/.test(word) || seen.has(word) || !Number.isFinite(value) || r[valueKey] === "")
      continue
    if (zeroKey !== undefined && Number(r[zeroKey]) !== 0) continue
    seen.add(word)
    out.push({ word, value })
  }
  return out
}

/** The half a word belongs to, by a hash of the word (shared with the sensory estimator's checks). */
export const isTestWord = (word: string): boolean => inTestHalf(word)

/** At most `n` rows, a fixed pseudo-random subset (by the same hash order) when there are more. */
export const capRows = <R extends NormRow>(rows: ReadonlyArray<R>, n: number): Array<R> =>
  rows.length <= n
    ? [...rows]
    : [...rows]
        .map((r) => ({ r, k: hashKey(r.word) }))
        .sort((a, b) => a.k - b.k)
        .slice(0, n)
        .map((x) => x.r)

const hashKey = (word: string): number => {
  let h = 2166136261
  for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 16777619) >>> 0
  return h
}
