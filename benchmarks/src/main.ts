/**
 * `pnpm bench [SUITE]`: benchmark suites that print ratio tables against anchors measured in the
 * same run. Suites: engine, models, corpus, probe, train, eval, exports, cut-readers, answers,
 * answer-workers, vocab and scale (these four not in the default set: answers and answer-workers
 * decode the default profile's answers for minutes, the other two train several models).
 */
import { answerWorkersOptions, answerWorkersSuite } from "./answer-workers.ts"
import { answersOptions, answersSuite } from "./answers.ts"
import { corpusSuite } from "./corpus.ts"
import { cutReaders, cutReadersOptions } from "./cut-readers.ts"
import { engineSuite } from "./engine.ts"
import { evalOptions, evalSuite } from "./eval.ts"
import { exportsOptions, exportsSuite } from "./exports.ts"
import { modelsOptions, modelsSuite } from "./models.ts"
import { probeOptions, probeSuite } from "./probe.ts"
import { scaleOptions, scaleSuite } from "./scale.ts"
import { trainOptions, trainSuite } from "./train.ts"
import { vocabOptions, vocabSuite } from "./vocab.ts"

const suites: Record<string, () => Promise<string>> = {
  engine: () =>
    engineSuite({ runs: Number(process.env.BENCH_RUNS ?? 5), gigabytes: Number(process.env.BENCH_GB ?? 1) }),
  models: () => modelsSuite(modelsOptions()),
  corpus: () => corpusSuite({ runs: Number(process.env.BENCH_RUNS ?? 3) }),
  probe: () => probeSuite(probeOptions()),
  train: () => trainSuite(trainOptions()),
  eval: () => evalSuite(evalOptions()),
  vocab: () => vocabSuite(vocabOptions()),
  scale: () => scaleSuite(scaleOptions()),
  exports: () => exportsSuite(exportsOptions()),
  "cut-readers": () => cutReaders(cutReadersOptions()),
  answers: () => answersSuite(answersOptions()),
  "answer-workers": () => answerWorkersSuite(answerWorkersOptions())
}

const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"))
// the superword curve and the sweep train several models, answers decodes for minutes: by name only
const byNameOnly = new Set(["vocab", "scale", "answers", "answer-workers"])
const names = wanted.length > 0 ? wanted : Object.keys(suites).filter((s) => !byNameOnly.has(s))
for (const name of names) {
  const suite = suites[name]
  if (!suite) {
    console.error(`error: no benchmark suite "${name}"; suites: ${Object.keys(suites).join(", ")}`)
    process.exit(1)
  }
  console.log(`\n## ${name}\n`)
  console.log(await suite())
}
