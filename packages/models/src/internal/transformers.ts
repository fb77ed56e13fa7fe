/** transformers.js, loaded at first use: a start-up that reads no tokenizer does not load it. */
import type * as Transformers from "@huggingface/transformers"
import { lazyModule } from "@hyperwords/core/Lazy"

export const transformersJs = lazyModule<typeof Transformers>(() =>
  import.meta.resolve("@huggingface/transformers")
)
