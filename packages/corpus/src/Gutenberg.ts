/**
 * Reading Project Gutenberg plain texts as poetry: the licence header and footer are stripped,
 * and a text becomes documents by its shape — a sequence of numbered poems (the Sonnets, The
 * Passionate Pilgrim) gives one document per roman numeral (`shakespeare/sonnets#XVIII`), a play
 * one document per scene (`shakespeare/hamlet#1.2`) holding only the verse of its speeches, and
 * any other text is one poem. Title lines, dedications, arguments, speaker labels, stage
 * directions and prose (paragraphs whose lines run to the wrap width) are left out. A line's
 * number is its verse-line number in the document, as editions count it: 1–14 in a sonnet; in a
 * play's scene the spoken lines (prose included, though prose is not kept).
 */
import { basename, extname } from "node:path"

/** A document read from a Gutenberg text: its id and its numbered lines. */
export interface GutenbergDoc {
  readonly doc: string
  readonly lines: ReadonlyArray<{ readonly line: number; readonly text: string }>
}

/** What a Gutenberg text was read as. */
export type GutenbergShape = "sequence" | "poem" | "play"

/** Lines at least this long, in most of a paragraph, are wrapped prose, not verse. */
export const proseWidth = 55

/** A one-line speech or paragraph at least this long is prose. */
const proseLineWidth = 60

const startMarker = /^\s*\*{3}\s*START OF (?:THE|THIS) PROJECT GUTENBERG/i
const endMarker =
  /^\s*(?:\*{3}\s*END OF (?:THE|THIS) PROJECT GUTENBERG|End of (?:the )?Project Gutenberg(?:'s)?\b|End of this Project Gutenberg)/i
/** The end of the small print of 1990s texts, which have no START marker. */
const oldHeaderEnd = /^\s*\*END\*?\s*THE SMALL PRINT/i
/** The opening shape of a Gutenberg text without its boilerplate: a capitalised title, then "by Author". */
const byLine = /^\s*by\s+\p{Lu}[\p{L}.' -]+$/u

/** Whether a text is a Project Gutenberg text: its boilerplate, or a capitalised title over a "by …" line. */
export const isGutenbergText = (text: string): boolean => {
  const head = text.slice(0, 30000)
  if (/\*{3}\s*START OF (?:THE|THIS) PROJECT GUTENBERG/i.test(head)) return true
  if (/Project Gutenberg/i.test(head) && /\*END\*?\s*THE SMALL PRINT/i.test(head)) return true
  const first = head
    .split(/\r\n|\r|\n/, 12)
    .map((l) => l.trim())
    .filter((l) => l !== "")
  return first.length >= 2 && isCapitalised(first[0]!) && first.slice(1, 4).some((l) => byLine.test(l))
}

/**
 * The text between Project Gutenberg's header and footer, as lines; the lines before it are
 * counted in `offset`. Texts without the boilerplate come back whole. The 1990s notices
 * (`<<THIS ELECTRONIC VERSION … >>`) that World Library texts repeat are blanked.
 */
export const stripBoilerplate = (
  text: string
): { readonly lines: Array<string>; readonly offset: number } => {
  const all = text.split(/\r\n|\r|\n/)
  let from = 0
  let to = all.length
  const start = all.findIndex((l) => startMarker.test(l))
  if (start >= 0) from = start + 1
  else {
    const old = all.findIndex((l) => oldHeaderEnd.test(l))
    if (old >= 0 && old < 2000) from = old + 1
  }
  for (let i = from; i < all.length; i++) {
    if (endMarker.test(all[i]!)) {
      to = i
      break
    }
  }
  const lines = all.slice(from, to)
  // the producer's credit right after the START marker
  if (start >= 0) {
    let i = 0
    while (i < lines.length && lines[i]!.trim() === "") i++
    if (/^(?:Produced by|E-text prepared by|Transcribed from|This etext was)/i.test(lines[i]?.trim() ?? "")) {
      while (i < lines.length && lines[i]!.trim() !== "") lines[i++] = ""
    }
  }
  // World Library's notices: from a line starting "<<" to the line ending ">>"
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.trimStart().startsWith("<<")) continue
    let j = i
    while (j < lines.length && j - i < 20 && !lines[j]!.includes(">>")) j++
    if (j < lines.length && lines[j]!.includes(">>")) for (let k = i; k <= j; k++) lines[k] = ""
    i = j
  }
  return { lines, offset: from }
}

// ---------------------------------------------------------------------------------------------
// line shapes

const letters = (s: string): number => s.match(/\p{L}/gu)?.length ?? 0

/** Two or more letters, none of them lowercase: a title or heading line. */
const isCapitalised = (s: string): boolean => letters(s) >= 2 && !/\p{Ll}/u.test(s)

const romanHeading = /^\s*([IVXLC]+)\.?\s*$/
const arabicOrRoman = "([IVXLC]+|\\d+|FIRST|SECOND|THIRD|FOURTH|FIFTH)"
const actHeading = new RegExp(`^\\s*ACT\\s+${arabicOrRoman}\\b\\.?(.*)$`, "i")
const sceneHeading = new RegExp(`^\\s*SCENE\\s+${arabicOrRoman}\\b`, "i")
const namedHeading = /^\s*(PROLOGUE|EPILOGUE|INDUCTION)\b\.?\s*$/i
const theEnd = /^\s*(?:THE END|FINIS)\.?\s*$/
/** `Enter …`, `Exeunt.`, and the older `Thunder and Lightning. Enter three Witches.` */
const bareDirection =
  /^\s*(?:\p{Lu}\p{Ll}+(?: and \p{L}+)?\.\s+)?(?:Enter|Exit|Exeunt|Re-enter|Reenter|Manet|Manent)\b/u
/** A word of a speaker label: a capitalised name (`Hor.`, `KING`, `1`, `P.`) or a joining word. */
const labelWord = /^(?:\p{Lu}[\p{L}'’-]*\.?,?|\d+\.?|and|of|the|de|du|la|le|&)$/u

const ordinals: Record<string, number> = { FIRST: 1, SECOND: 2, THIRD: 3, FOURTH: 4, FIFTH: 5 }

/** The number of a roman, arabic or spelt-out act or scene number. */
export const headingNumber = (s: string): number => {
  const up = s.toUpperCase()
  if (ordinals[up] !== undefined) return ordinals[up]
  if (/^\d+$/.test(up)) return Number(up)
  const value: Record<string, number> = { I: 1, V: 5, X: 10, L: 50, C: 100 }
  let n = 0
  for (let i = 0; i < up.length; i++) {
    const v = value[up[i]!]!
    const next = value[up[i + 1] ?? ""] ?? 0
    n += v < next ? -v : v
  }
  return n
}

/** A line with its bracketed stage directions (`[Aside.]`, `{Aside.]`) taken out. */
const withoutDirections = (s: string): string =>
  s
    .replace(/\s*[[{][^\]}]*[\]}]\s*/g, " ")
    .replace(/\s*[[{][^\]}]*$/, "")
    .trimEnd()

/** A speaker label standing on its own line: `Hor.`, `FIRST CITIZEN.`, `EGEUS`, `Ros. and Guil.`. */
export const isSpeakerLabel = (line: string): boolean => {
  const s = withoutDirections(line).trim()
  if (s === "" || s.length > 40 || /[?!;:]/.test(s)) return false
  const words = s.split(/\s+/)
  if (!words.every((w) => labelWord.test(w))) return false
  if (!/\p{Lu}/u.test(s)) return false
  if (s.endsWith(".") || !/\p{Ll}/u.test(s)) return true
  // "Lady Capulet": a few capitalised words without any punctuation
  return words.length <= 3 && !/[,.]/.test(s)
}

/** A label that starts a speech on the same line, as older Gutenberg plays print it (`  Ham. Who's there?`). */
const inlineLabel = /^\s*((?:\d+\.?\s+)?(?:\p{Lu}[\p{L}'’-]*\.?\s){0,2}?\p{Lu}[\p{L}'’-]*)\.\s+(\S.*)$/u

/** Whether a run of lines reads as prose: its lines run to the wrap width, or continue in lowercase. */
export const isProse = (block: ReadonlyArray<string>): boolean => {
  const texts = block.map((l) => l.trim())
  if (texts.length === 0) return false
  if (texts.length === 1) return texts[0]!.length >= proseLineWidth
  const nonLast = texts.slice(0, -1)
  const long = nonLast.filter((t) => t.length >= proseWidth).length
  const lower = texts.slice(1).filter((t) => /^[^\p{L}]*\p{Ll}/u.test(t)).length
  return long / nonLast.length >= 0.5 || lower / (texts.length - 1) >= 0.25
}

// ---------------------------------------------------------------------------------------------
// shapes

/** The id prefix of a text: `author/stem` when it names its author ("by William Shakespeare"). */
export const docPrefix = (name: string, lines: ReadonlyArray<string>): string => {
  const stem = basename(name, extname(name)).replace(/_gut$/, "")
  const by = lines
    .slice(0, 40)
    .map((l) => l.trim())
    .find((l) => byLine.test(l))
  const author = by
    ?.replace(/^by\s+/i, "")
    .split(/\s+/)
    .at(-1)
    ?.toLowerCase()
    .replace(/[^\p{L}-]/gu, "")
  return author ? `${author}/${stem}` : stem
}

/** Which shape a text has: a play (act and scene headings), a numbered sequence, or one poem. */
export const shapeOf = (lines: ReadonlyArray<string>): GutenbergShape => {
  let scenes = 0
  let acts = 0
  let numerals = 0
  for (const l of lines) {
    const act = l.trim().length < 60 ? actHeading.exec(l) : null
    if (act) {
      acts++
      if (/^[\s.:,-]*SCENE\b/i.test(act[2]!)) scenes++
    } else if (sceneHeading.test(l)) scenes++
    else if (romanHeading.test(l)) numerals++
  }
  if (scenes >= 2 || (acts >= 1 && scenes >= 1)) return "play"
  return numerals >= 3 ? "sequence" : "poem"
}

interface Builder {
  readonly docs: Array<{ doc: string; lines: Array<{ line: number; text: string }> }>
  readonly used: Set<string>
}

const openDoc = (b: Builder, id: string): Array<{ line: number; text: string }> => {
  let doc = id
  for (let k = 2; b.used.has(doc); k++) doc = `${id}~${k}`
  b.used.add(doc)
  const lines: Array<{ line: number; text: string }> = []
  b.docs.push({ doc, lines })
  return lines
}

/** Sequences and single poems: paragraphs of verse; title lines, centred lines and prose dropped. */
const readPoems = (b: Builder, lines: ReadonlyArray<string>, prefix: string, sequence: boolean): void => {
  let current: Array<{ line: number; text: string }> | undefined
  let number = 0
  let paragraph: Array<string> = []
  const flush = () => {
    if (paragraph.length > 0 && !isProse(paragraph)) {
      current ??= openDoc(b, prefix)
      for (const t of paragraph) current.push({ line: ++number, text: t.trim() })
    }
    paragraph = []
  }
  let seenBy = false
  for (const raw of lines) {
    const t = raw.trim()
    const heading = sequence ? romanHeading.exec(raw) : null
    if (heading) {
      flush()
      current = openDoc(b, `${prefix}#${heading[1]}`)
      number = 0
      continue
    }
    if (t === "" || letters(t) === 0) {
      flush()
      continue
    }
    if (!seenBy && byLine.test(t)) {
      seenBy = true
      flush()
      continue
    }
    // titles, headings ("THE ARGUMENT.", "THRENOS."), and centred front matter and signatures
    if (isCapitalised(t) || /^ {8}/.test(raw.replace(/\t/g, "        "))) {
      flush()
      continue
    }
    paragraph.push(raw)
  }
  flush()
}

/** A play: one document per scene, holding the verse lines of its speeches. */
const readPlay = (b: Builder, lines: ReadonlyArray<string>, prefix: string): void => {
  const ownLineLabels = lines.filter((l, i) => (i === 0 || lines[i - 1]!.trim() === "") && isSpeakerLabel(l))
  const inline = ownLineLabels.length < 10
  // the names a play gives its speakers, to know "ALL. Amen." for a label in a play that sets them apart
  const names = new Set(ownLineLabels.map((l) => withoutDirections(l).trim().replace(/\.$/, "")))
  let started = false
  let act: string | undefined
  let section: string | undefined
  let current: Array<{ line: number; text: string }> | undefined
  let number = 0
  // the spoken lines of a speech: as printed with its label (for the prose test), and as spoken
  let block: Array<{ readonly raw: string; readonly text: string }> = []
  let direction = 0 // lines left of an open bracketed direction
  let afterBreak = true

  const flush = () => {
    if (block.length === 0) return
    const start = number
    number += block.length
    if (isProse(block.map((l) => l.raw))) {
      block = []
      return
    }
    current ??= openDoc(b, `${prefix}#${section ?? `${act ?? "0"}.0`}`)
    for (const [k, l] of block.entries()) current.push({ line: start + k + 1, text: l.text.trim() })
    block = []
  }
  const enter = (next: string) => {
    flush()
    section = next
    current = undefined
    number = 0
  }

  for (const raw of lines) {
    const t = raw.trim()
    if (direction > 0) {
      if (/[\]}]/.test(t) || --direction === 0) direction = 0
      continue
    }
    if (t === "") {
      flush()
      afterBreak = true
      continue
    }
    if (theEnd.test(t)) {
      flush()
      break
    }
    const actMatch = t.length < 60 ? actHeading.exec(t) : null
    const sceneMatch = sceneHeading.exec(t)
    const named = namedHeading.exec(t)
    if (actMatch) {
      started = true
      act = String(headingNumber(actMatch[1]!))
      const scene = sceneHeading.exec(actMatch[2]!.replace(/^[\s.:,-]+/, ""))
      enter(scene ? `${act}.${headingNumber(scene[1]!)}` : `${act}.0`)
      afterBreak = true
      continue
    }
    if (sceneMatch) {
      started = true
      enter(`${act ?? "0"}.${headingNumber(sceneMatch[1]!)}`)
      afterBreak = true
      continue
    }
    if (named) {
      started = true
      const kind = named[1]!.toLowerCase()
      if (kind === "induction") act = "induction"
      enter(kind === "prologue" && act !== undefined ? `${act}.prologue` : kind)
      afterBreak = true
      continue
    }
    if (!started) continue
    // a direction on its own line (perhaps running on), or leading a spoken line: `[Aside.] Though this…`
    if (/^[[{]/.test(t) && withoutDirections(t).trim() === "") {
      flush()
      if (!/[\]}]/.test(t)) direction = 8
      afterBreak = true
      continue
    }
    if (bareDirection.test(t)) {
      flush()
      continue
    }
    const printed = withoutDirections(raw)
    let text = printed
    if (text.trim() === "" || letters(text) === 0) continue
    if (afterBreak && !inline && isSpeakerLabel(text)) {
      flush()
      afterBreak = false
      continue
    }
    // older texts indent each speech's first line, label and all: `  Mac. So foule and faire a day`
    if (afterBreak || (inline && /^\s/.test(raw))) {
      const m = inlineLabel.exec(text)
      if (m && (inline || names.has(m[1]!))) {
        flush()
        text = m[2]!
      }
    }
    afterBreak = false
    block.push({ raw: printed, text })
  }
  flush()
}

/** Read one Gutenberg text as documents; `name` is its file name, for ids. */
export const readGutenberg = (
  text: string,
  name: string
): { readonly shape: GutenbergShape; readonly docs: ReadonlyArray<GutenbergDoc> } => {
  const { lines } = stripBoilerplate(text)
  const prefix = docPrefix(name, lines)
  const shape = shapeOf(lines)
  const b: Builder = { docs: [], used: new Set() }
  if (shape === "play") readPlay(b, lines, prefix)
  else readPoems(b, lines, prefix, shape === "sequence")
  return { shape, docs: b.docs.filter((d) => d.lines.length > 0) }
}
