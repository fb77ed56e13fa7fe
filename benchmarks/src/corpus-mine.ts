/**
 * One timed mining run for `pnpm bench corpus`, in its own process so its peak memory is its own:
 * reads the corpora given as arguments, mines them, prints one JSON line.
 */
import { Corpus, Mining, Segment } from "@hyperwords/corpus"
import { Effect } from "effect"

const paths = process.argv.slice(2)
const started = performance.now()
const corpus = await Effect.runPromise(Corpus.readCorpus(paths))
const [ru, en] = await Effect.runPromise(Effect.all([Segment.russianLemmatizer, Segment.englishLemmatizer]))
const { records } = Mining.mine(corpus.poems, { ru, en })
const seconds = (performance.now() - started) / 1000
const bytes = corpus.files.reduce((n, f) => n + f.bytes, 0)
console.log(
  JSON.stringify({ seconds, bytes, records: records.length, maxRssKb: process.resourceUsage().maxRSS })
)
