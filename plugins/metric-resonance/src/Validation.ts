/**
 * Validation of `resonance` on the Lancaster sensorimotor norms (`pnpm validate`): texts made of
 * five words whose strongest channel in the norms is X must resonate more with a request for X
 * than with a request for any other channel. Reported as an AUC: the probability that a text's
 * score for its own channel beats its score for another channel (pooled over texts and channels).
 *
 * Words come from the test half of the sensory estimator's split (its zero-shot anchors — seed
 * words and abstract anchors — left out), so nothing the estimator was built or tuned on is
 * scored (the shipped supervised weights were fitted on the other half). The default estimator
 * is checked, and the zero-shot one reported beside it on the same texts. A word's channel is its largest norm among the six perceptual strengths and motion
 * (mean of foot/leg and torso action strengths, as the estimator's validation defines it).
 *
 * The degenerate-answer floor: Shakespeare's sonnets answer requests made of their own four
 * content words of strongest sensory norm (left out of the poem by the metric before scoring);
 * each sonnet's degenerate answers to the same prompt (`Degenerate.degenerateVariants` of
 * `@hyperwords/eval`) must score below the median sonnet.
 *
 * The checks on human poems (a request of a poem's sensory words against its own next lines and
 * other poems' lines, English and Russian) are in `PoemValidation.ts`.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Degenerate, type SampleInput, Stats } from "@hyperwords/eval"
import {
  abstractAnchors,
  type Channel,
  channels,
  contentWords,
  defaultEstimatorOf,
  type Estimator,
  foldYo,
  inTestHalf,
  loadModel,
  readNorms,
  resolveModelDir,
  sensationSeeds,
  sharedData,
  type Validation,
  type ValidationResult,
  zeroShot
} from "@hyperwords/eval/Sdk"
import { auc, bootstrapStatistic } from "@hyperwords/eval/Stats"
import { Effect } from "effect"
import { poemValidations } from "./PoemValidation.ts"
import { agreement, meanProfile } from "./Resonance.ts"
import { degenerateScore, scoreSample } from "./Sample.ts"

const lancasterFiles = [
  "en_lancaster_sensorimotor_subset/lancaster_sensorimotor_subset_tender_buttons_vocab.csv",
  "en_norare_concepticon_subsets/Lynott-2020-Sensorimotor_concepticon_subset.tsv"
]

/** Options of the check. */
export interface ResonanceValidationOptions {
  readonly model?: string
  readonly data?: string
  /** Texts per channel (default 40) and words per text (default 5). */
  readonly texts?: number
  readonly words?: number
  /** Human poems of the degenerate-answer floor check (default 60). */
  readonly poems?: number
  /** Poems of each language's poem retrieval check (default 300; fewer where fewer are eligible). */
  readonly taskPoems?: number
}

const sonnetsFile = "en_poetry_shakespeare_sonnets/shakespeare_sonnets.jsonl"
const russianFile = "ru_poetry_classic/classic_ai_sberbank_classic_poems.json"

/** A seeded Fisher–Yates shuffle (a copy). */
const shuffled = <A>(xs: ReadonlyArray<A>, rng: () => number): Array<A> => {
  const out = [...xs]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

/** The strongest Lancaster norm of each word (its largest channel value). */
export const sensoryStrength = (data: string): Map<string, number> => {
  const out = new Map<string, number>()
  for (const file of lancasterFiles) {
    for (const r of readNorms(join(data, file)).rows) {
      const w = foldYo(r.word.toLowerCase())
      out.set(w, Math.max(out.get(w) ?? 0, ...r.values))
    }
  }
  return out
}

/**
 * A human poem as the answer to a describe-image prompt: the request is the poem's four content
 * words of strongest sensory norm, asked in the prompt set's words; the metric leaves them out of
 * the poem before scoring, so the poem's other words answer it.
 */
export const poemAsAnswer = (
  id: string,
  poem: string,
  strength: ReadonlyMap<string, number>
): SampleInput | undefined => {
  const ranked = [...new Set(contentWords(poem, "en"))]
    .filter((w) => strength.has(w))
    .sort((a, b) => strength.get(b)! - strength.get(a)! || (a < b ? -1 : 1))
    .slice(0, 4)
  if (ranked.length < 4) return undefined
  return {
    id,
    text: poem,
    lang: "en",
    task: "describe-image",
    request: ranked.join(" "),
    prompt: `Sensations: ${ranked.join(", ")}.\nA short poem that paints this image:\n`
  }
}

/** Test-half Lancaster words grouped by their strongest channel. */
export const wordsByChannel = (data: string): Map<Channel, Array<string>> => {
  const anchors = new Set(
    [...channels.flatMap((c) => sensationSeeds.en[c]), ...abstractAnchors.en].map(foldYo)
  )
  const out = new Map<Channel, Array<string>>(channels.map((c) => [c, []]))
  const seen = new Set<string>()
  for (const file of lancasterFiles) {
    const norms = readNorms(join(data, file))
    if (norms.channels.length !== channels.length) continue
    for (const r of norms.rows) {
      const w = r.word
      if (seen.has(w) || /[\s-]/.test(w) || !inTestHalf(w) || anchors.has(foldYo(w))) continue
      seen.add(w)
      let best = 0
      r.values.forEach((v, k) => {
        if (v > r.values[best]!) best = k
      })
      out.get(norms.channels[best]!)!.push(w)
    }
  }
  return out
}

/** The check of `resonance`. */
export const resonanceValidations = (options: ResonanceValidationOptions = {}): ReadonlyArray<Validation> => {
  const data = options.data ?? sharedData
  const modelName = options.model ?? "gemma-3-270m"
  /** The metric's estimator (its default) or zero-shot, and how to name it in a detail. */
  const estimatorOf = async (
    kind: "default" | "zero-shot"
  ): Promise<{ estimator: Estimator; how: string }> => {
    const model = await loadModel(modelName)
    if (kind === "zero-shot") return { estimator: zeroShot(model), how: "zero-shot estimator" }
    const d = defaultEstimatorOf(model)
    const how =
      d.weights === undefined
        ? "default estimator: zero-shot (no shipped weights)"
        : `default estimator: English ${d.modes.en}, Russian ${d.modes.ru} (${d.weights.slice(d.weights.indexOf("packages/"))})`
    return { estimator: d.estimator, how }
  }
  const floorCheck: Validation = {
    name: "resonance degenerate floor (en)",
    data: "Shakespeare's sonnets as answers to requests of their own sensory words",
    statistic: "share of degenerate answers below the human median (worst kind)",
    floor: 0.95,
    requires: [
      ...lancasterFiles.map((f) => join(data, f)),
      join(data, sonnetsFile),
      join(data, russianFile),
      join(resolveModelDir(modelName), "onnx", "probe.json")
    ],
    run: Effect.promise(async (): Promise<ValidationResult> => {
      const { estimator, how } = await estimatorOf("default")
      const strength = sensoryStrength(data)
      const rng = Stats.makeRng(5)
      const sonnets = readFileSync(join(data, sonnetsFile), "utf8")
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l) as { number: number; text: string })
      const humans = shuffled(sonnets, rng)
        .flatMap((p) => poemAsAnswer(`sonnet-${p.number}`, p.text, strength) ?? [])
        .slice(0, options.poems ?? 60)
      const russian = (
        JSON.parse(readFileSync(join(data, russianFile), "utf8")) as Array<{ content?: string }>
      )
        .map((p) =>
          (p.content ?? "")
            .split("\n")
            .filter((l) => /[а-я]/i.test(l))
            .slice(0, 4)
            .join("\n")
        )
        .filter((p) => p.split("\n").length === 4)
      const nouns = [...strength.keys()].filter((w) => /^[a-z]+$/.test(w))
      const draw = () => nouns[Math.floor(rng() * nouns.length)]!
      const r = await Degenerate.runFloorCheck(
        humans,
        () => ({
          nouns,
          otherLanguage: russian[Math.floor(rng() * russian.length)]!,
          examples: Array.from({ length: 10 }, draw),
          rng
        }),
        async (input) => {
          const s = await Effect.runPromise(scoreSample(input, {}, Effect.succeed(estimator)))
          return s === null ? null : typeof s === "number" ? s : s.score
        }
      )
      return {
        value: r.value,
        ci: r.ci,
        n: r.n,
        detail:
          `${humans.length} sonnets, each with its nine degenerate answers (random words from the Lancaster norms; ` +
          `other language: Russian classic poems); a degenerate answer scores ${degenerateScore}; ${r.detail}; ` +
          `${how}, ${modelName}`
      }
    })
  }
  const channelPure = (kind: "default" | "zero-shot"): Validation => ({
    name: kind === "default" ? "resonance (en)" : "resonance (en), zero-shot estimator",
    data: "Lancaster sensorimotor norms (channel-pure texts)",
    statistic: "AUC",
    ...(kind === "default" ? { floor: 0.7 } : {}),
    requires: [
      ...lancasterFiles.map((f) => join(data, f)),
      join(resolveModelDir(modelName), "onnx", "probe.json")
    ],
    run: Effect.promise(async (): Promise<ValidationResult> => {
      const { estimator, how } = await estimatorOf(kind)
      const groups = wordsByChannel(data)
      const rng = Stats.makeRng(11)
      const per = options.words ?? 5
      const items: Array<{ channel: Channel; own: number; others: Array<number> }> = []
      const used: Array<string> = []
      for (const [channel, words] of groups) {
        if (words.length < per) continue
        used.push(`${channel} ${words.length}`)
        for (let t = 0; t < (options.texts ?? 40); t++) {
          const text = new Set<string>()
          while (text.size < per) text.add(words[Math.floor(rng() * words.length)]!)
          const profile = await meanProfile(estimator, [...text], "en")
          const score = (c: Channel) =>
            agreement(
              channels.map((x) => (x === c ? 1 : 0)),
              profile,
              "pearson"
            )
          items.push({
            channel,
            own: score(channel),
            others: channels.filter((c) => c !== channel).map(score)
          })
        }
      }
      const pooled = (s: ReadonlyArray<(typeof items)[number]>) =>
        auc(
          s.map((i) => i.own),
          s.flatMap((i) => i.others)
        )
      const paired = (s: ReadonlyArray<(typeof items)[number]>) =>
        Stats.mean(s.map((i) => Stats.mean(i.others.map((o) => (i.own > o ? 1 : i.own === o ? 0.5 : 0)))))
      const a = bootstrapStatistic(items, pooled)
      const perChannel = [...groups.keys()]
        .filter((c) => items.some((i) => i.channel === c))
        .map((c) => `${c} ${paired(items.filter((i) => i.channel === c)).toFixed(2)}`)
        .join(", ")
      return {
        value: a.value,
        ci: a.ci,
        n: items.length,
        detail:
          `${per}-word texts from test-half words by strongest channel (${used.join(", ")}); ` +
          `paired win rate ${paired(items).toFixed(3)} (per channel: ${perChannel}); ` +
          `${how}, ${modelName} layer ${estimator.layer}`
      }
    })
  })
  const poems = poemValidations(
    data,
    modelName,
    [join(resolveModelDir(modelName), "onnx", "probe.json")],
    () => estimatorOf("default"),
    options.taskPoems === undefined ? {} : { poems: options.taskPoems }
  )
  return [channelPure("default"), channelPure("zero-shot"), floorCheck, ...poems]
}
