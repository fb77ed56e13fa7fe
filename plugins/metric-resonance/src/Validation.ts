/**
 * Validation of `resonance` on the Lancaster sensorimotor norms (`pnpm validate`): texts made of
 * five words whose strongest channel in the norms is X must resonate more with a request for X
 * than with a request for any other channel. Reported as an AUC: the probability that a text's
 * score for its own channel beats its score for another channel (pooled over texts and channels).
 *
 * Words come from the test half of the sensory estimator's split (its zero-shot anchors — seed
 * words and abstract anchors — left out), so nothing the estimator was built or tuned on is
 * scored. A word's channel is its largest norm among the six perceptual strengths and motion
 * (mean of foot/leg and torso action strengths, as the estimator's validation defines it).
 */
import { join } from "node:path"
import type { Validation, ValidationResult } from "@hyperwords/core/Validation"
import { type Channel, foldYo, sensationSeeds } from "@hyperwords/corpus/SensationSeeds"
import { abstractAnchors, channels, readNorms, zeroShot } from "@hyperwords/corpus/Senses"
import { inTestHalf, sharedData } from "@hyperwords/corpus/SensesValidation"
import { Stats } from "@hyperwords/eval"
import { auc, bootstrapStatistic } from "@hyperwords/eval/Stats"
import { loadModel } from "@hyperwords/models/Model"
import { resolveModelDir } from "@hyperwords/models/ModelDir"
import { Effect } from "effect"
import { agreement, meanProfile } from "./Resonance.ts"

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
  return [
    {
      name: "resonance (en)",
      data: "Lancaster sensorimotor norms (channel-pure texts)",
      statistic: "AUC",
      floor: 0.7,
      requires: [
        ...lancasterFiles.map((f) => join(data, f)),
        join(resolveModelDir(modelName), "onnx", "probe.json")
      ],
      run: Effect.promise(async (): Promise<ValidationResult> => {
        const model = await loadModel(modelName)
        const estimator = zeroShot(model)
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
            `zero-shot estimator, ${modelName} layer ${estimator.layer}`
        }
      })
    }
  ]
}
