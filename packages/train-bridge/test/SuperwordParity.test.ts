/**
 * Superwords on real poetry, in both languages: chosen from half of the shared Russian and English
 * poems with each pulled default model's tokenizer (SmolLM2's byte-level BPE, Gemma's SentencePiece), added by the Python trainer's own code
 * (`add_hyperword_tokens(..., superwords=True)`), then every line of the other half is encoded by
 * the Python tokenizer and by the TypeScript runtime's (transformers.js): the same ids, and the
 * decoded text byte for byte. Skipped without the shared data, the bridge venv or the model.
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { loadTokenizer } from "@hyperwords/models/Tokenizer"
import { afterAll, describe, expect, it } from "vitest"
import { venvPython } from "../src/Paths.ts"
import { selectSuperwords, superwordCandidates } from "../src/Superwords.ts"

const repo = resolve(import.meta.dirname, "..", "..", "..")
const data = resolve(process.env.HYPERWORDS_SHARED_DATA ?? resolve(repo, "..", "shared", "data"))
const ruFile = join(data, "ru_poetry_classic", "classic_ai_sberbank_classic_poems.json")
const enFile = join(data, "en_poetry_shakespeare_sonnets", "shakespeare_sonnets.jsonl")
const models = ["smollm2-135m", "gemma-3-270m"].filter((m) =>
  existsSync(join(repo, ".hyperwords", "models", m, "tokenizer.json"))
)
const missing =
  [ruFile, enFile, venvPython].find((p) => !existsSync(p)) ?? (models.length === 0 ? "no model" : undefined)

/** The lines of each poem: Russian from the JSON array (`content`), English from JSONL (`text`). */
const poems = (): Array<Array<string>> => {
  const ru = (JSON.parse(readFileSync(ruFile, "utf8")) as Array<{ content: string }>).slice(0, 400)
  const en = readFileSync(enFile, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => (JSON.parse(l) as { text: string }).text)
  return [...ru.map((p) => p.content), ...en].map((t) =>
    t
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "")
  )
}

describe.skipIf(missing !== undefined)(`superwords on the shared poetry (${missing ?? "present"})`, () => {
  const dir = mkdtempSync(join(tmpdir(), "superword-parity-"))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it.each(models)(
    "%s: the TS and Python tokenizers give the same ids on other poems, and decode them byte for byte",
    async (model) => {
      const base = join(repo, ".hyperwords", "models", model)
      const all = poems()
      const chosenFrom = all.filter((_, i) => i % 2 === 0).flat()
      const checked = all.filter((_, i) => i % 2 === 1).flat()
      const baseTok = await loadTokenizer(base)
      const superwords = selectSuperwords(superwordCandidates(chosenFrom, { maxWords: 4, minCount: 2 }), {
        k: 2000,
        criterion: "saving",
        pieces: (s) => baseTok.encode(s, { addSpecialTokens: false }).length
      })
      expect(superwords.length).toBe(2000)
      expect(superwords.some((s) => /[а-яё]/i.test(s.surface))).toBe(true)
      expect(superwords.some((s) => /[a-z]/i.test(s.surface))).toBe(true)
      const jobFile = join(dir, "job.json")
      const out = join(dir, `tok-${model}`)
      writeFileSync(
        jobFile,
        JSON.stringify({ base, out, superwords: superwords.map((s) => s.surface), texts: checked })
      )
      const python = JSON.parse(
        execFileSync(
          venvPython,
          [
            "-c",
            [
              "import json, sys",
              "from transformers import AutoTokenizer",
              "from hyperwords_bridge.training.job import Hyperword",
              "from hyperwords_bridge.training.vocab import add_hyperword_tokens",
              "from hyperwords_bridge.training.data import encode",
              "job = json.load(open(sys.argv[1]))",
              "tok = AutoTokenizer.from_pretrained(job['base'], local_files_only=True)",
              "vocab = add_hyperword_tokens(tok, [Hyperword(s, tuple(s.split())) for s in job['superwords']], superwords=True)",
              "tok.save_pretrained(job['out'])",
              "ids = [encode(tok, t) for t in job['texts']]",
              "back = [tok.decode(i, skip_special_tokens=False, clean_up_tokenization_spaces=False) for i in ids]",
              "print(json.dumps({'ids': ids, 'back': back, 'added': len(vocab.ids)}))"
            ].join("\n"),
            jobFile
          ],
          {
            cwd: resolve(import.meta.dirname, "..", "python"),
            encoding: "utf8",
            maxBuffer: 1 << 28,
            env: { ...process.env, HF_HUB_OFFLINE: "1" }
          }
        )
      ) as { ids: Array<Array<number>>; back: Array<string>; added: number }
      expect(python.added).toBe(2000)
      const ts = await loadTokenizer(out)
      const firstAdded = Math.min(
        ...superwords.map((s) => ts.hf.encode(s.surface, { add_special_tokens: false })[0]!)
      )
      let withSuperwords = 0
      let savedTokens = 0
      checked.forEach((text, i) => {
        const ids = ts.encode(text, { addSpecialTokens: false })
        expect(ids, text).toEqual(python.ids[i])
        expect(python.back[i]).toBe(text)
        expect(ts.decode(ids, { skipSpecialTokens: false })).toBe(text)
        if (ids.some((id) => id >= firstAdded)) withSuperwords++
        savedTokens += baseTok.encode(text, { addSpecialTokens: false }).length - ids.length
      })
      // the superwords are used on poems they were not chosen from
      expect(withSuperwords).toBeGreaterThan(checked.length / 10)
      expect(savedTokens).toBeGreaterThan(0)
    },
    300_000
  )
})
