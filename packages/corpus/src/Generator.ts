/**
 * The living-word generator: from sensations (channel weights, or free words such as
 * "тёплое мягкое мурчит вечер") to new hyperwords. Image words whose sensory profile fits the
 * sensation are drawn from the seed lexicon (and the mined set, when there is one); the model
 * composes a short scene from them; the scene's content words are fused into one word. Each word
 * is scored for sensory fit, novelty against the corpus and coherence of its parts. Everything
 * random is drawn from the seed, so the same seed gives the same words.
 */
import type { HyperwordRecord } from "@hyperwords/core/Artifacts"
import { mulberry32 } from "@hyperwords/core/Random"
import { generateBatch } from "@hyperwords/models/Batch"
import type { Model } from "@hyperwords/models/Model"
import type { Lemmatizer } from "./Segment.ts"
import { WordSegmenter } from "./Segment.ts"
import { type Channel, foldYo, type Lang, sensationSeeds } from "./SensationSeeds.ts"
import {
  channels,
  cosine,
  detectLang,
  type Estimator,
  type Profile,
  roundProfile,
  wordVectors
} from "./Senses.ts"
import { topLemmas } from "./Statistics.ts"
import { isStopword } from "./Stopwords.ts"

/** A sensation: channel weights, or free words. */
export type Sensation = Partial<Record<Channel, number>> | string

/** What to generate. */
export interface GenerateOptions {
  readonly sensation: Sensation
  readonly lang: Lang
  /** Hyperwords to make. */
  readonly n: number
  readonly seed: number
  /** Image words per scene (default 3). */
  readonly imageWords?: number
  /** Tokens of a scene at most (default 16). */
  readonly maxNewTokens?: number
  /** Surfaces not to make again (e.g. words of earlier runs). */
  readonly exclude?: ReadonlySet<string>
  /** Scenes composed in one batch at most (default 16). */
  readonly batchSize?: number
  /** Called after each finished hyperword. */
  readonly onWord?: (done: number) => void
}

/** What the generator works with. */
export interface GeneratorContext {
  readonly model: Model
  readonly estimator: Estimator
  readonly lemmatizers: Partial<Record<Lang, Lemmatizer>>
  /** The corpus the words must be new against, and whose lemmas are image words too (default: none). */
  readonly corpus?: ReadonlyArray<HyperwordRecord>
}

/** A generated hyperword (a record with `origin: "generated"`). */
export type GeneratedHyperword = HyperwordRecord & {
  readonly gloss: string
  readonly senses: Profile
  readonly seed: number
  readonly scores: { readonly fit: number; readonly novelty: number; readonly coherence: number }
}

/** A seeded uniform generator on [0, 1) (core's mulberry32). */
export const rng = mulberry32

/** The seed of the i-th word of a run (a 31-bit integer). */
export const wordSeed = (seed: number, i: number): number => {
  let h = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(i + 1, 0xc2b2ae35)) >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0
  return (h ^ (h >>> 15)) & 0x7fffffff
}

/** The examples every scene prompt of a language starts with. */
const examples: Readonly<Record<Lang, string>> = {
  en:
    "Words: moon, river, silver\nScene: the silver moon floats down the sleepy river\n" +
    "Words: bread, warm, hands\nScene: warm bread breaking in her cold hands\n",
  ru:
    "Слова: луна, река, серебро\nСцена: серебряная луна плывёт по сонной реке\n" +
    "Слова: хлеб, тёплый, руки\nСцена: тёплый хлеб ломается в холодных руках\n"
}

const wordsLines: Readonly<Record<Lang, (words: ReadonlyArray<string>) => string>> = {
  en: (w) => `Words: ${w.join(", ")}\nScene:`,
  ru: (w) => `Слова: ${w.join(", ")}\nСцена:`
}

/**
 * The prompt the model composes a scene from: two examples and the words. The examples
 * (`scenePrefix`) are run once per model and their cache shared by every scene, so a scene pays
 * only for its words line.
 */
export const scenePrompt = (lang: Lang, words: ReadonlyArray<string>): string =>
  examples[lang] + wordsLines[lang](words)

/** The start of every scene prompt of a language: its examples. */
export const scenePrefix = (lang: Lang): string => examples[lang]

/** Content words of a scene, lower-cased, stopwords dropped, at most `max`. */
export const contentWords = (lang: Lang, text: string, max = 5): Array<string> => {
  const words = new WordSegmenter(lang).words(text)
  const out: Array<string> = []
  for (const w of words) {
    if (w === undefined || w.length < 2 || isStopword(lang, foldYo(w))) continue
    if (!/^\p{L}+$/u.test(w)) continue
    if (out.includes(w)) continue
    out.push(w)
    if (out.length === max) break
  }
  return out
}

const exampleWords: Readonly<Record<Lang, ReadonlyArray<ReadonlySet<string>>>> = {
  en: ["the silver moon floats down the sleepy river", "warm bread breaking in her cold hands"].map(
    (x) => new Set(contentWords("en", x))
  ),
  ru: ["серебряная луна плывёт по сонной реке", "тёплый хлеб ломается в холодных руках"].map(
    (x) => new Set(contentWords("ru", x))
  )
}

/** Whether a scene repeats two or more content words of one of the prompt's example scenes. */
const copiesExample = (lang: Lang, parts: ReadonlyArray<string>): boolean =>
  exampleWords[lang].some((ex) => parts.filter((p) => ex.has(p)).length >= 2)

/** Fuse parts into one word; the parts rebuild the surface exactly. */
export const fuse = (parts: ReadonlyArray<string>): string => parts.join("")

const mean = (ps: ReadonlyArray<Profile>): Profile => {
  const out = {} as Profile
  for (const c of channels) out[c] = ps.reduce((s, p) => s + p[c], 0) / Math.max(1, ps.length)
  return out
}

const vec = (p: Profile, centre?: Profile): Array<number> => channels.map((c) => p[c] - (centre?.[c] ?? 0))

/** The target profile of a sensation, and the words it was given as (if any). */
export const targetProfile = async (
  estimator: Estimator,
  sensation: Sensation,
  lang: Lang
): Promise<{ readonly target: Profile; readonly words: ReadonlyArray<string> }> => {
  if (typeof sensation !== "string") {
    const target = {} as Profile
    for (const c of channels) target[c] = sensation[c] ?? 0
    return { target, words: [] }
  }
  const words = sensation
    .toLowerCase()
    .split(/[\s,;]+/)
    .filter((w) => w.length > 0)
  if (words.length === 0) throw new Error("the sensation has no words")
  const profiles = await estimator.profiles(words, lang)
  return { target: mean(profiles), words }
}

/** Image words of a language: the seed lexicon and, when given, the lemmas of mined records. */
export const imageWords = (
  lang: Lang,
  corpus: ReadonlyArray<HyperwordRecord> = [],
  maxMined = 600
): Array<string> => {
  const seeds = new Set(channels.flatMap((c) => sensationSeeds[lang][c]))
  const rows = corpus
    .filter((r) => r.lang === lang && r.origin === "mined")
    .flatMap((r) =>
      r.lemmas
        .filter((l) => l.length >= 3 && !isStopword(lang, l) && !seeds.has(l))
        .map((lemma) => ({ lemma, weight: r.stats?.count ?? 1 }))
    )
  return [...seeds, ...topLemmas(rows, maxMined)]
}

/**
 * Tokens that end a scene's line: the newline and runs of newlines that are one token ("\n\n"
 * in Gemma's vocabulary). Only the scene's first line is kept, so a row stops at any of them.
 */
const newlineIds = (model: Model): Array<number> => {
  const ids = new Set<number>()
  for (let k = 1; k <= 32; k++) {
    const run = model.encode("\n".repeat(k), { addSpecialTokens: false })
    if (run.length === 1) ids.add(run[0]!)
  }
  return [...ids]
}

/** Generate `n` living words from a sensation. */
export const generateWords = async (
  ctx: GeneratorContext,
  options: GenerateOptions
): Promise<Array<GeneratedHyperword>> => {
  const { model, estimator } = ctx
  const lang = options.lang
  const k = options.imageWords ?? 3
  const lemmatizer = ctx.lemmatizers[lang]
  const { target, words: given } = await targetProfile(estimator, options.sensation, lang)

  // candidates ranked by how well their profile fits the sensation (centred on the candidates' mean)
  const candidates = [...new Set([...given, ...imageWords(lang, ctx.corpus)])]
  const profiles = await estimator.profiles(candidates, lang)
  const centre = mean(profiles)
  const t = vec(target, centre)
  const fits = profiles.map((p) => cosine(vec(p, centre), t))
  const ranked = candidates
    .map((w, i) => ({ w, fit: fits[i]! }))
    .sort((a, b) => b.fit - a.fit || (a.w < b.w ? -1 : 1))
  const pool = ranked.slice(0, Math.max(k * 4, 40))

  const known = new Set<string>()
  const knownLemmaSets = new Set<string>()
  for (const r of ctx.corpus ?? []) {
    if (r.lang !== lang) continue
    known.add(r.surface)
    knownLemmaSets.add([...r.lemmas].sort().join(" "))
  }
  const byLemma = new Map<string, Array<ReadonlySet<string>>>()
  for (const r of ctx.corpus ?? []) {
    if (r.lang !== lang) continue
    const set = new Set(r.lemmas)
    for (const l of set) byLemma.set(l, [...(byLemma.get(l) ?? []), set])
  }

  const vectors = wordVectors(model, estimator.layer)
  // coherence is measured on vectors centred on the candidates' mean: raw hidden states all point
  // the same way (cosines near 0.95 for any pair)
  const candidateVectors = await vectors.vectors(candidates)
  const centreVector = new Float64Array(vectors.hiddenSize)
  for (const v of candidateVectors)
    for (let j = 0; j < v.length; j++) centreVector[j]! += v[j]! / candidateVectors.length
  const centred = (v: Float32Array) => Float64Array.from(v, (x, j) => x - centreVector[j]!)
  const out: Array<GeneratedHyperword> = []
  const surfaces = new Set<string>(options.exclude)
  const batchSize = options.batchSize ?? 16
  const draw = (seed: number): Array<string> => {
    const random = rng(seed)
    // k image words, weighted towards the best fitting; the given words count double
    const weights = pool.map((c, i) => Math.exp(-i / 12) * (given.includes(c.w) ? 2 : 1))
    const picked: Array<string> = []
    const taken = new Set<number>()
    while (picked.length < Math.min(k, pool.length)) {
      const total = weights.reduce((s, w, i) => s + (taken.has(i) ? 0 : w), 0)
      let x = random() * total
      let j = 0
      for (; j < pool.length; j++) {
        if (taken.has(j)) continue
        x -= weights[j]!
        if (x <= 0) break
      }
      j = Math.min(j, pool.length - 1)
      taken.add(j)
      picked.push(pool[j]!.w)
    }
    return picked
  }
  const stopIds = newlineIds(model)
  for (let start = 0, size = batchSize; out.length < options.n && start < options.n * 3; start += size) {
    // The i-th scene comes from the i-th seed in whatever batch it runs, so batches only size the
    // work: once some scenes have made words, a batch asks for about as many scenes as the words
    // still missing need at the yield so far, not a full batch for the last word or two.
    if (out.length > 0)
      size = Math.min(batchSize, Math.ceil((options.n - out.length) * (start / out.length)) + 2)
    const seeds = Array.from({ length: size }, (_, i) => wordSeed(options.seed, start + i))
    const picks = seeds.map(draw)
    const texts = await generateBatch(
      model,
      picks.map((p) => scenePrompt(lang, p)),
      {
        maxNewTokens: options.maxNewTokens ?? 16,
        temperature: 0.8,
        topP: 0.95,
        seeds,
        stopIds,
        prefix: scenePrefix(lang)
      }
    )
    const scenes = texts.map((text) =>
      text
        .split("\n")[0]!
        .trim()
        .replace(/^["«“]|["»”]$/g, "")
    )
    const sceneTexts = scenes.map((scene, b) => (scene.length > 0 ? scene : picks[b]!.join(" ")))
    const partsOf = scenes.map((scene) => contentWords(lang, scene))
    // a scene of fewer than two content words, or one copied from the prompt's examples, is no image
    const isImage = partsOf.map((parts) => parts.length >= 2 && !copiesExample(lang, parts))
    // the scenes and the parts of every image in one pass of the model (vectors are cached per text)
    await vectors.vectors([...sceneTexts, ...partsOf.filter((_, b) => isImage[b]).flat()])
    const sceneProfiles = await estimator.profiles(sceneTexts, lang)
    for (const [b, scene] of scenes.entries()) {
      if (out.length >= options.n) break
      const seed = seeds[b]!
      const parts = partsOf[b]!
      if (!isImage[b]) continue
      const surface = fuse(parts)
      if (surfaces.has(surface)) continue
      const lemmas = parts.map((p) => (lemmatizer ? lemmatizer.analyse(p).lemma : foldYo(p)))

      // novelty: 0 for a known surface or lemma set, else 1 - the largest lemma overlap (Jaccard) with a corpus word
      let novelty = 1
      const lemmaSet = new Set(lemmas)
      if (known.has(surface) || knownLemmaSets.has([...lemmas].sort().join(" "))) novelty = 0
      else {
        for (const l of lemmaSet) {
          for (const other of byLemma.get(l) ?? []) {
            let shared = 0
            for (const x of other) if (lemmaSet.has(x)) shared++
            novelty = Math.min(novelty, 1 - shared / (lemmaSet.size + other.size - shared))
          }
        }
      }
      const senses = sceneProfiles[b]
      const partVectors = (await vectors.vectors(parts)).map(centred)
      let coherence = 0
      let pairs = 0
      for (let i = 0; i < partVectors.length; i++) {
        for (let j = i + 1; j < partVectors.length; j++) {
          coherence += cosine(partVectors[i]!, partVectors[j]!)
          pairs++
        }
      }
      surfaces.add(surface)
      const round = (x: number) => Math.round(x * 1000) / 1000
      out.push({
        id: `${lang}:${parts.join("+")}`,
        surface,
        lang,
        parts: parts as [string, ...Array<string>],
        lemmas,
        origin: "generated",
        gloss: scene,
        senses: roundProfile(senses!),
        seed,
        scores: {
          fit: round(cosine(vec(senses!, centre), t)),
          novelty: round(novelty),
          coherence: round(pairs > 0 ? coherence / pairs : 0)
        }
      })
      options.onWord?.(out.length)
    }
  }
  return out
}

/** The language of a sensation given as words (Cyrillic: Russian), English for channel weights. */
export const sensationLang = (sensation: Sensation): Lang =>
  typeof sensation === "string" ? detectLang(sensation) : "en"
