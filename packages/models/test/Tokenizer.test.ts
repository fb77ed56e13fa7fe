/**
 * A tokenizer loads from any model folder: its name may hold spaces, quotes and URL characters
 * (`my model "v2" <a>=#?%`), as a researcher's folders do. The tokenizer files are written here:
 * a word-level vocabulary small enough to check by hand.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { loadTokenizer } from "../src/Tokenizer.ts"

const vocab = { "<unk>": 0, "<s>": 1, "</s>": 2, warm: 3, purring: 4, dusk: 5, "[PAD]": 6 }

/** A folder named `name` holding a WordLevel tokenizer of `vocab`. */
const made: Array<string> = []
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true })
})
const tokenizerFolder = (name: string, tokenizerClass = "PreTrainedTokenizerFast"): string => {
  const parent = mkdtempSync(join(tmpdir(), "tok-"))
  made.push(parent)
  const dir = join(parent, name)
  mkdirSync(dir, { recursive: true })
  writeFileSync(
    join(dir, "tokenizer.json"),
    JSON.stringify({
      version: "1.0",
      added_tokens: ["<unk>", "<s>", "</s>", "[PAD]"].map((content) => ({
        id: vocab[content as keyof typeof vocab],
        content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true
      })),
      normalizer: null,
      pre_tokenizer: { type: "WhitespaceSplit" },
      post_processor: null,
      decoder: null,
      model: { type: "WordLevel", vocab, unk_token: "<unk>" }
    })
  )
  writeFileSync(
    join(dir, "tokenizer_config.json"),
    JSON.stringify({
      tokenizer_class: tokenizerClass,
      bos_token: "<s>",
      eos_token: "</s>",
      unk_token: "<unk>",
      pad_token: "[PAD]"
    })
  )
  return dir
}

describe("loadTokenizer", () => {
  for (const name of ["plain", "my model", `my model "v2" <a>=#?% 'x'`, "модель стихов"])
    it(`reads a folder named ${JSON.stringify(name)}`, async () => {
      const tok = await loadTokenizer(tokenizerFolder(name))
      expect(tok.encode("warm purring dusk", { addSpecialTokens: false })).toEqual([3, 4, 5])
      expect(tok.encode("warm cold", { addSpecialTokens: false })).toEqual([3, 0])
      expect(tok.specialIds.has(2)).toBe(true)
    })

  it("uses the class the config names, and the base class for one it does not know", async () => {
    expect((await loadTokenizer(tokenizerFolder("llama", "LlamaTokenizerFast"))).hf.constructor.name).toBe(
      "LlamaTokenizer"
    )
    const unknown = await loadTokenizer(tokenizerFolder("unknown", "NoSuchTokenizer"))
    expect(unknown.encode("dusk", { addSpecialTokens: false })).toEqual([5])
  })

  it("fails naming the folder when a file is not JSON", async () => {
    const dir = tokenizerFolder("broken")
    writeFileSync(join(dir, "tokenizer.json"), "{ not json")
    await expect(loadTokenizer(dir)).rejects.toThrow(/broken.*tokenizer/)
  })
})
