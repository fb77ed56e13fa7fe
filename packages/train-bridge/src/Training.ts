/**
 * What the fine-tune learns from, built from the hyperword set: poetry lines with each mined
 * hyperword's span fused into its one word, and the generated scenes followed by their word. A
 * held-out part of the poetry (whole documents, chosen by a hash of the document's name, so the
 * split never changes with the set's order) is never trained on: its lines, as the poets wrote
 * them, are the text the bits-per-byte check reads.
 */
import { createHash } from "node:crypto"
import type { HyperwordRecord } from "@hyperwords/core/Artifacts"

/** The texts of one fine-tune. */
export interface TrainingTexts {
  /** Lines to train on, hyperword spans fused. */
  readonly train: ReadonlyArray<string>
  /** Held-out lines, unchanged (never trained on). */
  readonly heldout: ReadonlyArray<string>
  /** The hyperwords that become tokens: their surface and parts. */
  readonly hyperwords: ReadonlyArray<{ readonly surface: string; readonly parts: ReadonlyArray<string> }>
  /** How the train lines came about. */
  readonly counts: {
    readonly fusedLines: number
    readonly appendedLines: number
    readonly scenes: number
    readonly heldoutDocs: number
  }
}

/** Options of the split. */
export interface TrainingOptions {
  /** Share of documents (or, with no poetry, of generated scenes) held out, 0–0.5 (default 0.1). */
  readonly heldoutFraction?: number
  /** Salt of the split (default 0). */
  readonly seed?: number
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/**
 * A line with the hyperword's parts, found in order and separated only by spaces, hyphens, dashes
 * or commas, replaced by its surface; `undefined` when the parts are not adjacent in the line.
 */
export const fuseLine = (line: string, parts: ReadonlyArray<string>, surface: string): string | undefined => {
  const between = "[\\s,\\-\u2010-\u2014]+"
  const re = new RegExp(`(?<![\\p{L}\\p{N}])${parts.map(escapeRegExp).join(between)}(?![\\p{L}\\p{N}])`, "iu")
  const m = re.exec(line)
  if (m === null) return undefined
  return line.slice(0, m.index) + surface + line.slice(m.index + m[0].length)
}

/** Whether a key falls in the held-out share (a stable hash, independent of order). */
export const isHeldOut = (key: string, fraction: number, seed = 0): boolean => {
  const h = createHash("sha256").update(`${seed}\0${key}`).digest()
  return h.readUInt32BE(0) / 2 ** 32 < fraction
}

/** Build the training and held-out texts of a hyperword set. */
export const trainingTexts = (
  records: ReadonlyArray<HyperwordRecord>,
  options: TrainingOptions = {}
): TrainingTexts => {
  const fraction = options.heldoutFraction ?? 0.1
  if (!(fraction >= 0 && fraction <= 0.5))
    throw new RangeError(`heldoutFraction ${fraction} is outside 0..0.5`)
  const seed = options.seed ?? 0
  const hasPoetry = records.some((r) => (r.evidence ?? []).length > 0)
  const train = new Set<string>()
  const heldout = new Set<string>()
  const heldoutDocs = new Set<string>()
  let fusedLines = 0
  let appendedLines = 0
  let scenes = 0
  const words = new Map<string, ReadonlyArray<string>>()
  for (const r of records) {
    words.set(r.surface, r.parts)
    for (const e of r.evidence ?? []) {
      const line = e.text.trim()
      if (line === "") continue
      if (isHeldOut(e.doc, fraction, seed)) {
        heldoutDocs.add(e.doc)
        heldout.add(line)
        continue
      }
      const fused = fuseLine(line, r.parts, r.surface)
      if (fused !== undefined) {
        if (!train.has(fused)) fusedLines++
        train.add(fused)
      } else {
        const text = `${line} — ${r.surface}`
        if (!train.has(text)) appendedLines++
        train.add(text)
      }
    }
    if (r.origin === "generated" && r.gloss !== undefined && r.gloss.trim() !== "") {
      const scene = r.gloss.trim()
      // with no poetry, a share of the scenes is what the held-out check reads
      if (!hasPoetry && isHeldOut(`scene:${r.id}`, fraction, seed)) {
        heldout.add(scene)
        continue
      }
      train.add(`${scene} — ${r.surface}`)
      scenes++
    }
  }
  for (const h of heldout) train.delete(h)
  return {
    train: [...train],
    heldout: [...heldout],
    hyperwords: [...words].map(([surface, parts]) => ({ surface, parts })),
    counts: { fusedLines, appendedLines, scenes, heldoutDocs: heldoutDocs.size }
  }
}
