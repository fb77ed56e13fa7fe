import { describe, expect, it } from "vitest"
import {
  degenerate,
  degenerateVariants,
  floorCheck,
  givenByPrompt,
  runFloorCheck,
  sameStem,
  withoutPromptWords
} from "../src/Degenerate.ts"
import { makeRng } from "../src/Stats.ts"

const dusk = {
  id: "dusk",
  lang: "en" as const,
  task: "describe-image",
  request: "warm soft purring dusk",
  prompt: "Sensations: warm, soft, purring, dusk.\nA short poem that paints this image:\n"
}

/** Written for these tests: a human answer to the dusk prompt. */
const human =
  "The kettle ticks as the light goes out,\nthe cat a loaf of heat against my knee,\n" +
  "and in the yard the lilac keeps its breath\nuntil the first star pins the evening down."

describe("prompt words", () => {
  it("matches a word to the request and prompt by stem, not by a shared beginning alone", () => {
    expect(sameStem("warm", "warmth")).toBe(true)
    expect(sameStem("purring", "purrs")).toBe(true)
    expect(sameStem("тёплое", "тёплый")).toBe(true)
    expect(sameStem("dusk", "dust")).toBe(false)
    expect(sameStem("whisker", "whisper")).toBe(false)
    const given = givenByPrompt(dusk)
    expect(["Warm", "warmth", "dusk", "poem", "cat"].map(given)).toEqual([true, true, true, true, false])
  })

  it("leaves out the words the request and prompt gave", () => {
    expect(withoutPromptWords(["warm", "cat", "purrs", "lilac", "image"], dusk)).toEqual(["cat", "lilac"])
    expect(withoutPromptWords(["warm", "cat"], { id: "x" } as never)).toEqual(["warm", "cat"])
  })
})

describe("degenerate answers", () => {
  const kind = (text: string, extra: object = {}) => degenerate({ ...dusk, ...extra, text })?.kind

  it("passes a real answer", () => {
    expect(degenerate({ ...dusk, text: human })).toBeUndefined()
  })

  it("flags each degenerate case", () => {
    expect(kind("")).toBe("empty")
    expect(kind(" … 42 ")).toBe("empty")
    expect(kind("Dusk.")).toBe("one-word")
    expect(kind("Тёплый вечер, мягкая кошка мурлычет у печки")).toBe("other-language")
    expect(kind("warm soft purring dusk")).toBe("echo")
    expect(kind(dusk.prompt)).toBe("echo")
    expect(kind("Warm, soft, purring dusk: a cat")).toBe("echo")
    expect(kind("the cat on the sill\nthe cat on the sill\nthe cat on the sill")).toBe("repeated-line")
    expect(kind("and the cat sleeps and the cat sleeps and the cat sleeps and the cat sleeps")).toBe("loop")
    expect(kind("anchor, fungus, spoon, violin, gravel, moss")).toBe("word-list")
  })

  it("takes a list for an answer where the task asks for one, and copies of the example list as echoes", () => {
    const tenWords = {
      id: "t",
      lang: "en" as const,
      task: "ten-words",
      prompt:
        "Ten nouns as different from each other as possible:\ncarpet, galaxy, whisker, democracy, spoon\n\nTen other nouns:\n"
    }
    expect(
      degenerate({ ...tenWords, text: "anchor, fungus, moss, violin, gravel, sermon, ladder" })
    ).toBeUndefined()
    expect(degenerate({ ...tenWords, text: "carpet, galaxy, whisker, democracy, spoon" })?.kind).toBe("echo")
  })

  it("does not flag a sample without a language, prompt or task for what only those would show", () => {
    expect(degenerate({ id: "x", text: "warm soft purring dusk" })).toBeUndefined()
    expect(degenerate({ id: "x", text: "anchor, fungus, spoon, violin, gravel" })).toBeUndefined()
    expect(degenerate({ id: "x", text: "Тёплый вечер, мягкая кошка" })).toBeUndefined()
    expect(degenerate({ id: "x", text: "warmpurringlapatdusk" })).toBeUndefined()
    expect(degenerate({ id: "x", text: " … " })).toBeUndefined()
  })
})

describe("floor check", () => {
  const variants = degenerateVariants(
    { ...dusk, text: human },
    {
      nouns: ["anchor", "fungus", "spoon", "violin", "gravel"],
      otherLanguage: "Тёплый вечер, мягкая кошка мурлычет у печки",
      examples: ["carpet", "galaxy", "whisker"],
      rng: makeRng(1)
    }
  )

  it("builds every case from a human sample, keeping its prompt, and the gate flags them all", () => {
    expect(variants.map((v) => v.kind)).toEqual([
      "echo-request",
      "echo-prompt",
      "repeated-line",
      "example-list",
      "random-nouns",
      "empty",
      "one-word",
      "other-language",
      "loop"
    ])
    for (const v of variants) {
      expect(v.input.request).toBe(dusk.request)
      expect(degenerate(v.input), v.kind).toBeDefined()
    }
    expect(variants.find((v) => v.kind === "example-list")!.input.prompt).toContain("carpet, galaxy, whisker")
  })

  it("reports the worst kind's share below the human median, a null counting as not below", () => {
    const humanScores = [0.2, 0.3, 0.4, null]
    const r = floorCheck(humanScores, [
      { kind: "echo", score: 0.1 },
      { kind: "echo", score: 0.29 },
      { kind: "loop", score: 0.1 },
      { kind: "loop", score: null }
    ])
    expect(r.humanMedian).toBe(0.3)
    expect(r.perKind.map((k) => [k.kind, k.below])).toEqual([
      ["echo", 1],
      ["loop", 0.5]
    ])
    expect(r.value).toBe(0.5)
    expect(r.n).toBe(4)
    expect(r.detail).toMatch(/loop 0\.500/)
  })

  it("runs the whole check with the plugin's scorer, counting the human answers the gate flags", async () => {
    const echoAnswer = { ...dusk, id: "echoing", text: "warm soft purring dusk" }
    const sources = () => ({
      nouns: ["anchor", "fungus", "spoon"],
      otherLanguage: "Тёплый вечер, мягкая кошка мурлычет у печки",
      examples: ["carpet", "galaxy", "whisker"],
      rng: makeRng(2)
    })
    // A scorer that gives the floor to what the gate flags and the length in words to the rest.
    const score = async (i: { text: string }) =>
      degenerate({ ...dusk, ...i }) ? -1 : i.text.split(/\s+/).length
    const length = async (i: { text: string }) => i.text.split(/\s+/).length
    const r = await runFloorCheck([{ ...dusk, text: human }, echoAnswer], sources, score, length)
    expect(r.ungated!.value).toBe(0)
    expect(r.detail).toMatch(/without the gate/)
    expect(r.humanFlagged).toBe(1)
    expect(r.detail).toMatch(/flags as degenerate: 1 of 2 \(echo 1\)/)
    expect(r.value).toBe(1)
    expect(r.n).toBe(18)
  })
})
