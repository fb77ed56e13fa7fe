/**
 * Tokenizers of model directories, read offline by transformers.js from the directory's
 * `tokenizer.json` and `tokenizer_config.json`. One tokenizer per directory per process.
 */
import { basename, dirname } from "node:path"
import { AutoTokenizer, env, type PreTrainedTokenizer } from "@huggingface/transformers"
import { ModelDirError } from "./Errors.ts"
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
// transformers.js resolves local models through the process-wide `env.localModelPath`, so loads
// run one at a time, each with its own directory's parent set.
let loading: Promise<unknown> = Promise.resolve()

const wrap = (hf: PreTrainedTokenizer): Tokenizer => ({
  encode: (text, options) => hf.encode(text, { add_special_tokens: options?.addSpecialTokens ?? true }),
  decode: (ids, options) => hf.decode([...ids], { skip_special_tokens: options?.skipSpecialTokens ?? true }),
  specialIds: new Set(hf.all_special_ids),
  hf
})

const load = async (dir: string): Promise<Tokenizer> => {
  env.allowRemoteModels = false
  env.allowLocalModels = true
  env.localModelPath = `${dirname(dir)}/`
  try {
    const hf = await AutoTokenizer.from_pretrained(basename(dir), { local_files_only: true })
    return wrap(hf)
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
  const next = loading.then(() => load(dir))
  loading = next.catch(() => undefined)
  const entry = next.catch((e: unknown) => {
    tokenizers.delete(dir)
    throw e
  })
  tokenizers.set(dir, entry)
  return entry
}
