/**
 * Tokenizers of model directories: the directory's `tokenizer.json` and `tokenizer_config.json`
 * read here and handed to the transformers.js class the config names, as `AutoTokenizer` does —
 * without its path resolution, which takes the folder's name for a hub model id and refuses names
 * with spaces, quotes, Cyrillic or URL characters. One tokenizer per directory per process.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import type { PreTrainedTokenizer } from "@huggingface/transformers"
import { ModelDirError } from "./Errors.ts"
import { transformersJs } from "./internal/transformers.ts"
import { pullCommand } from "./ModelDir.ts"

/** Text to token ids and back, as the model's own tokenizer does it. */
export interface Tokenizer {
  /** Token ids of a text; `addSpecialTokens` (default true) adds what the tokenizer adds (e.g. Gemma's BOS). */
  readonly encode: (text: string, options?: { readonly addSpecialTokens?: boolean }) => Array<number>
  /** The text of token ids; `skipSpecialTokens` (default true) drops BOS/EOS and the like. */
  readonly decode: (ids: ReadonlyArray<number>, options?: { readonly skipSpecialTokens?: boolean }) => string
  /** Ids the tokenizer treats as special (BOS, EOS, PAD, ...). */
  readonly specialIds: ReadonlySet<number>
  /** The transformers.js tokenizer, for anything this interface does not cover. */
  readonly hf: PreTrainedTokenizer
}

const tokenizers = new Map<string, Promise<Tokenizer>>()

const wrap = (hf: PreTrainedTokenizer): Tokenizer => ({
  encode: (text, options) => hf.encode(text, { add_special_tokens: options?.addSpecialTokens ?? true }),
  decode: (ids, options) => hf.decode([...ids], { skip_special_tokens: options?.skipSpecialTokens ?? true }),
  specialIds: new Set(hf.all_special_ids),
  hf
})

type TokenizerClass = new (json: unknown, config: unknown) => PreTrainedTokenizer

/** The transformers.js class of a config's `tokenizer_class` (`GemmaTokenizerFast` → `GemmaTokenizer`). */
const classOf = (config: { readonly tokenizer_class?: unknown }): TokenizerClass => {
  const name = typeof config.tokenizer_class === "string" ? config.tokenizer_class.replace(/Fast$/, "") : ""
  const transformers = transformersJs()
  const base = transformers.PreTrainedTokenizer
  const found = (transformers as unknown as Record<string, unknown>)[name]
  return typeof found === "function" && (found === base || found.prototype instanceof base)
    ? (found as TokenizerClass)
    : (base as unknown as TokenizerClass)
}

const load = async (dir: string): Promise<Tokenizer> => {
  try {
    const json = JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8"))
    const config = JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8"))
    return wrap(new (classOf(config))(json, config))
  } catch (e) {
    throw new ModelDirError({
      path: dir,
      missing: "tokenizer.json",
      detail: `cannot be read by transformers.js: ${e instanceof Error ? e.message : String(e)}`,
      fix: pullCommand(dir)
    })
  }
}

/** The tokenizer of a model directory (checked to exist by `checkModelDir` first), loaded once. */
export const loadTokenizer = (dir: string): Promise<Tokenizer> => {
  const cached = tokenizers.get(dir)
  if (cached) return cached
  const entry = load(dir).catch((e: unknown) => {
    tokenizers.delete(dir)
    throw e
  })
  tokenizers.set(dir, entry)
  return entry
}
