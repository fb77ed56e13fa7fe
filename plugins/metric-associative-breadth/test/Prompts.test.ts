/**
 * The built-in prompt set gives breadth enough answers to score: ten-words prompts in both
 * languages, enough of them that three samples each make twenty answers or more per language, and
 * example lists made of nouns the task's own dictionaries take (so a copied example is a given
 * word, left out, and the prompt shows what a valid answer is).
 */
import { readFileSync } from "node:fs"
import { builtinPromptSet } from "@hyperwords/eval/PromptSet"
import { describe, expect, it } from "vitest"
import { answerEntries, firstValidWords } from "../src/Dat.ts"
import { dictionaryOf } from "../src/Sample.ts"

const prompts = (
  JSON.parse(readFileSync(builtinPromptSet, "utf8")) as {
    prompts: ReadonlyArray<{ id: string; lang: "en" | "ru"; task: string; prompt: string }>
  }
).prompts.filter((p) => p.task === "ten-words")

describe("the prompt set's ten-words prompts", () => {
  it("number at least seven per language (twenty-one answers at three samples a prompt)", () => {
    for (const lang of ["en", "ru"] as const)
      expect(prompts.filter((p) => p.lang === lang).length, lang).toBeGreaterThanOrEqual(7)
  })

  it("each show an example list of ten distinct nouns of its language's dictionary (nine in ru-ten-words)", () => {
    const lists = new Set<string>()
    for (const p of prompts) {
      const example = p.prompt.split("\n\n")[0]!.split("\n").slice(1).join("\n")
      const words = firstValidWords(answerEntries(example), dictionaryOf({}, p.lang), 10)
      // ru-ten-words (version 2) lists колыбельная, which OpenCorpora has as an adjective only
      expect(words.length, p.id).toBeGreaterThanOrEqual(p.id === "ru-ten-words" ? 9 : 10)
      lists.add(words.join(","))
    }
    expect(lists.size).toBe(prompts.length)
  })
})
