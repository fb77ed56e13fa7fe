/**
 * Resonance: how well the sensations a text evokes match the sensations asked for. Both sides
 * become profiles over the seven channels of the sensory estimator — the request from channel
 * weights or from feeling words, the text as the mean profile of its content words — and the
 * score is their Pearson correlation over the channels (default: insensitive to how strongly
 * sensory the text is overall, only to which sensations it weighs) or their cosine.
 */

import { Stats } from "@hyperwords/eval"
import { type Channel, channels, type Estimator, type Lang, type Profile } from "@hyperwords/eval/Sdk"

/** How two profiles are compared. */
export type Agreement = "pearson" | "cosine"

/** A profile as a vector in channel order. */
export const vectorOf = (p: Partial<Record<Channel, number>>): Array<number> => channels.map((c) => p[c] ?? 0)

/** Agreement of two channel vectors (NaN when the request has no variance under `pearson`). */
export const agreement = (a: ReadonlyArray<number>, b: ReadonlyArray<number>, how: Agreement): number => {
  if (how === "pearson") return Stats.pearson(a, b)
  let ab = 0
  let aa = 0
  let bb = 0
  a.forEach((x, i) => {
    ab += x * b[i]!
    aa += x * x
    bb += b[i]! ** 2
  })
  return aa === 0 || bb === 0 ? Number.NaN : ab / Math.sqrt(aa * bb)
}

/** The mean profile of words (each word profiled alone, as the estimator was validated). */
export const meanProfile = async (
  estimator: Estimator,
  words: ReadonlyArray<string>,
  lang?: Lang
): Promise<Array<number>> => {
  const profiles: Array<Profile> = await estimator.profiles(words, lang)
  return channels.map((c) => Stats.mean(profiles.map((p) => p[c])))
}

/** The text after the last colon of a prompt ("Describe an image that feels: warm soft dusk"), else all of it. */
export const requestFromPrompt = (prompt: string): string => {
  const i = prompt.lastIndexOf(":")
  return (i >= 0 ? prompt.slice(i + 1) : prompt).trim()
}
