/**
 * `pnpm bench corpus`: mining throughput on all the shared poetry (Russian and English) against
 * gensim's `Phrases` on the same files, as a ratio (target ≥ 1.0), and the peak memory of both.
 * Each side runs in its own process, alternating, `runs` times; medians are reported. Ours reads,
 * segments (Intl.Segmenter), lemmatises (az, wink), counts 2–4-word units and scores them with
 * NPMI and G²; gensim reads, tokenises (simple_preprocess) and learns Phrases twice (units of up
 * to four words) with NPMI scoring.
 */
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { resolve } from "node:path"
import { median, table } from "./table.ts"

const root = resolve(import.meta.dirname, "..")
const repo = resolve(root, "..")
const worker = resolve(root, "src", "corpus-mine.ts")
const anchor = resolve(root, "python", "gensim_phrases.py")

/** The shared poetry, relative to the shared data folder. */
export const sharedPoetry = [
  "ru_poetry_classic/classic_ai_sberbank_classic_poems.json",
  "ru_poetry_ruslit/ruslit_poems.jsonl",
  "en_poetry_public_domain/poetry_eval_public_domain_poems.no_copyright_notice.csv",
  "en_poetry_shakespeare_sonnets/shakespeare_sonnets.jsonl"
]

interface Measure {
  readonly seconds: number
  readonly bytes: number
  readonly maxRssKb: number
  readonly found: number
}

const run = (command: string, args: ReadonlyArray<string>, what: string): Measure => {
  const r = spawnSync(command, args, { encoding: "utf8", maxBuffer: 1 << 26 })
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}): ${r.stderr.slice(-2000)}`)
  const out = JSON.parse(r.stdout.trim().split("\n").at(-1)!)
  return { seconds: out.seconds, bytes: out.bytes, maxRssKb: out.maxRssKb, found: out.records ?? out.phrases }
}

const hasGensim = (python: string): boolean =>
  existsSync(python) && spawnSync(python, ["-c", "import gensim"], { encoding: "utf8" }).status === 0

/** Run the corpus suite and print its table. */
export const corpusSuite = async (options: { readonly runs: number }): Promise<string> => {
  const data = resolve(process.env.HYPERWORDS_SHARED_DATA ?? resolve(repo, "..", "shared", "data"))
  const files = sharedPoetry.map((f) => resolve(data, f))
  if (!files.every(existsSync))
    return `skipped: the shared poetry is not at ${data} (set HYPERWORDS_SHARED_DATA)`
  const candidates = [
    process.env.GENSIM_PYTHON,
    resolve(repo, "packages", "train-bridge", "python", ".venv", "bin", "python")
  ].filter((p): p is string => p !== undefined)
  const python = candidates.find(hasGensim)
  const ours: Array<Measure> = []
  const theirs: Array<Measure> = []
  for (let i = 0; i < options.runs; i++) {
    ours.push(run(process.execPath, [worker, ...files], "hyperwords mining"))
    if (python) theirs.push(run(python, [anchor, ...files], "gensim Phrases"))
  }
  const mb = (m: Measure) => m.bytes / 1e6 / m.seconds
  const row = (name: string, ms: ReadonlyArray<Measure>, found: string) => [
    name,
    median(ms.map(mb)).toFixed(2),
    median(ms.map((m) => m.seconds)).toFixed(2),
    (median(ms.map((m) => m.maxRssKb)) / 1024).toFixed(0),
    `${median(ms.map((m) => m.found))} ${found}`
  ]
  const rows = [
    ["miner", "MB/s", "seconds", "peak RSS MB", "found"],
    row("hyperwords mine (az + wink lemmas, 2–4 words)", ours, "hyperwords")
  ]
  let note = `\n${(ours[0]!.bytes / 1e6).toFixed(1)} MB of poetry, median of ${options.runs}`
  if (python) {
    rows.push(row("gensim Phrases ×2 (npmi)", theirs, "phrases"))
    const ratio = median(ours.map(mb)) / median(theirs.map(mb))
    note += `; throughput ratio hyperwords / gensim = ${ratio.toFixed(2)} (target ≥ 1.0)`
  } else {
    note +=
      "; gensim anchor not run: no Python with gensim (add gensim to the bridge's constraints, or set GENSIM_PYTHON)"
  }
  return table(rows) + note
}
