import { readFileSync } from "node:fs"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { readCorpus } from "../src/Corpus.ts"
import {
  isGutenbergText,
  isProse,
  isSpeakerLabel,
  readGutenberg,
  stripBoilerplate
} from "../src/Gutenberg.ts"
import { fixture } from "./fixtures/paths.ts"

const text = (name: string) => readFileSync(fixture("gutenberg", name), "utf8")
const read = (name: string) => readGutenberg(text(name), name)
const allText = (docs: ReadonlyArray<{ lines: ReadonlyArray<{ text: string }> }>) =>
  docs.flatMap((d) => d.lines.map((l) => l.text)).join("\n")

describe("stripBoilerplate", () => {
  it("drops the header up to START, the producer's credit, and everything from the END line", () => {
    const { lines } = stripBoilerplate(text("sonnets.txt"))
    const body = lines.join("\n")
    expect(body).not.toMatch(/Project Gutenberg|gutenberg\.org|Produced by|should be named/)
    expect(body).toContain("THE SONNETS")
    expect(body).toContain("So long lives this, and this gives life to thee.")
  })

  it("drops the older 'End of the Project Gutenberg EBook' footer without *** lines", () => {
    const { lines } = stripBoilerplate(text("inline_play.txt"))
    expect(lines.join("\n")).not.toMatch(/Project Gutenberg|should be named/)
    expect(lines.at(-2)).toBe("Exeunt.")
  })

  it("drops the 1990s small print and World Library's notices", () => {
    const old = [
      "The Project Gutenberg Etext of Sonnets",
      "*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*",
      "",
      "<<THIS ELECTRONIC VERSION OF THE COMPLETE WORKS OF WILLIAM",
      "SHAKESPEARE IS COPYRIGHT 1990-1993 BY WORLD LIBRARY, INC.>>",
      "",
      "From fairest creatures we desire increase,"
    ].join("\n")
    expect(isGutenbergText(old)).toBe(true)
    expect(stripBoilerplate(old).lines.filter((l) => l !== "")).toEqual([
      "From fairest creatures we desire increase,"
    ])
  })

  it("leaves a text without boilerplate whole", () => {
    expect(stripBoilerplate("a\nb").lines).toEqual(["a", "b"])
  })
})

describe("isGutenbergText", () => {
  it("knows Gutenberg texts by their boilerplate or their 'TITLE / by Author' opening", () => {
    expect(isGutenbergText(text("sonnets.txt"))).toBe(true)
    expect(isGutenbergText(text("lucrece.txt"))).toBe(true)
    expect(isGutenbergText(text("hamlet.txt"))).toBe(true)
    expect(isGutenbergText(readFileSync(fixture("folder", "garden.txt"), "utf8"))).toBe(false)
    expect(isGutenbergText("SNOW\n\nwhite on white,\nby the window")).toBe(false)
  })
})

describe("readGutenberg: poems", () => {
  it("splits a sequence into one document per roman numeral, numbering its lines from 1", () => {
    const r = read("sonnets.txt")
    expect(r.shape).toBe("sequence")
    expect(r.docs.map((d) => d.doc)).toEqual([
      "shakespeare/sonnets#I",
      "shakespeare/sonnets#II",
      "shakespeare/sonnets#XVIII"
    ])
    const xviii = r.docs[2]!
    expect(xviii.lines).toHaveLength(14)
    expect(xviii.lines[0]).toEqual({ line: 1, text: "Shall I compare thee to a summer's day?" })
    expect(xviii.lines[13]).toEqual({ line: 14, text: "So long lives this, and this gives life to thee." })
    expect(allText(r.docs)).not.toMatch(/SONNETS|William Shakespeare|Gutenberg/)
  })

  it("reads another poem as one document and drops its title, dedication and argument", () => {
    const r = read("lucrece.txt")
    expect(r.shape).toBe("poem")
    expect(r.docs).toHaveLength(1)
    const poem = r.docs[0]!
    expect(poem.doc).toBe("shakespeare/lucrece")
    expect(poem.lines).toHaveLength(14)
    expect(poem.lines[0]).toEqual({ line: 1, text: "From the besieged Ardea all in post," })
    expect(poem.lines[13]).toEqual({ line: 14, text: "With pure aspects did him peculiar duties." })
    expect(allText(r.docs)).not.toMatch(/LUCRECE|Lordship|ARGUMENT|TARQUINIUS|Superbus|____/)
  })

  it("takes prose to be paragraphs whose lines run to the wrap width or go on in lowercase", () => {
    expect(
      isProse([
        "THE love I dedicate to your Lordship is without end; whereof this",
        "pamphlet, without beginning, is but a superfluous moiety.  The"
      ])
    ).toBe(true)
    expect(isProse(["Dear, wait for me,", "and I will come."])).toBe(true)
    expect(
      isProse(["Shall I compare thee to a summer's day?", "Thou art more lovely and more temperate:"])
    ).toBe(false)
  })
})

describe("readGutenberg: plays", () => {
  it("makes one document per scene, with act.scene ids", () => {
    const r = read("hamlet.txt")
    expect(r.shape).toBe("play")
    expect(r.docs.map((d) => d.doc)).toEqual([
      "shakespeare/hamlet#1.1",
      "shakespeare/hamlet#1.2",
      "shakespeare/hamlet#2.1"
    ])
  })

  it("keeps the verse of speeches and drops speaker labels, stage directions, headings and front matter", () => {
    const r = read("hamlet.txt")
    expect(r.docs[0]!.lines.map((l) => l.text)).toEqual([
      "Who's there?",
      "Nay, answer me: stand, and unfold yourself.",
      "Long live the king!",
      "Friends to this ground.",
      "Horatio says 'tis but our fantasy,",
      "And will not let belief take hold of him",
      "Touching this dreaded sight, twice seen of us."
    ])
    const all = allText(r.docs)
    expect(all).not.toMatch(/^(Ber|Fran|Hor|Mar|Ham|King|Pol|Rey)\.$/m)
    expect(all).not.toMatch(/Enter|Exit|Exeunt|Aside|Gives them|Scene|ACT|PERSONS|Claudius, King|THE END/)
    // a direction leading a line goes; the line stays
    expect(r.docs[1]!.lines.map((l) => l.text)).toContain("A little more than kin, and less than kind!")
    expect(r.docs[2]!.lines[0]!.text).toBe("Give him this money and these notes, Reynaldo.")
  })

  it("drops prose speeches but counts their lines in the scene's numbering", () => {
    const scene = read("hamlet.txt").docs[1]!
    expect(allText([scene])).not.toMatch(/Slanders|grey beards/)
    expect(scene.lines.map((l) => [l.line, l.text])).toEqual([
      [1, "Though yet of Hamlet our dear brother's death"],
      [2, "The memory be green, and that it us befitted"],
      [3, "To bear our hearts in grief, and our whole kingdom"],
      [4, "To be contracted in one brow of woe,--"],
      [5, "A little more than kin, and less than kind!"],
      [10, "We'll wait upon you."]
    ])
  })

  it("knows speaker labels", () => {
    for (const label of [
      "Hor.",
      "FIRST CITIZEN.",
      "EGEUS",
      "Ros. and Guil.",
      "1 Clown.",
      "PERICLES. [Aside.]"
    ])
      expect(isSpeakerLabel(label), label).toBe(true)
    for (const line of [
      "He may approve our eyes and speak to it.",
      "Bernardo?",
      "Come hither, sir.",
      "What news?"
    ])
      expect(isSpeakerLabel(line), line).toBe(false)
  })

  it("reads older texts whose speeches start with the label on the line", () => {
    const r = read("inline_play.txt")
    expect(r.shape).toBe("play")
    expect(r.docs.map((d) => d.doc)).toEqual(["shakespeare/inline_play#1.1"])
    const lines = r.docs[0]!.lines.map((l) => l.text)
    expect(lines.slice(0, 5)).toEqual([
      "When shall we three meet againe?",
      "In Thunder, Lightning, or in Raine?",
      "When the Hurley-burley's done,",
      "When the Battaile's lost, and wonne",
      "So foule and faire a day I have not seene."
    ])
    expect(lines).toContain("Come you Spirits,")
    expect(lines).toContain("Not a whit.")
    const all = lines.join("\n")
    expect(all).not.toMatch(/Witch\.|Mac\.|Ban\.|Lady\.|Porter|Thunder and lightning|Exeunt|Actus|Gutenberg/)
  })
})

describe("readCorpus with Gutenberg texts", () => {
  it("splits Gutenberg .txt files into documents in English and keeps other .txt files whole", async () => {
    const c = await Effect.runPromise(
      readCorpus([fixture("gutenberg", "sonnets.txt"), fixture("gutenberg", "hamlet.txt"), fixture("folder")])
    )
    expect(c.poems.map((p) => p.doc)).toEqual([
      "shakespeare/sonnets#I",
      "shakespeare/sonnets#II",
      "shakespeare/sonnets#XVIII",
      "shakespeare/hamlet#1.1",
      "shakespeare/hamlet#1.2",
      "shakespeare/hamlet#2.1",
      "garden.txt",
      "river.txt"
    ])
    expect(c.poems.slice(0, 6).every((p) => p.lang === "en")).toBe(true)
    expect(c.poems[2]!.lines[0]).toEqual({ line: 1, text: "Shall I compare thee to a summer's day?" })
  })
})
