/**
 * Whether a lemma is an image word — concrete or sensory — with nothing but what the repository
 * and its packages carry: the seed lexicon of sensation words, WordNet's lexicographer classes for
 * English nouns (from `wink-lexicon`), and OpenCorpora's part of speech for Russian nouns with
 * the suffixes of abstract nouns ruled out.
 */
import { winkLexicon } from "./internal/vendor.ts"
import { foldYo, type Lang, seedChannels } from "./SensationSeeds.ts"

/** WordNet noun classes of things one can see, touch, taste, hear or smell. */
const concreteNounClasses = new Set([
  "noun.animal",
  "noun.artifact",
  "noun.body",
  "noun.food",
  "noun.object",
  "noun.plant",
  "noun.substance",
  "noun.phenomenon"
])

const ruAbstractSuffix = /(?:ость|есть|ство|ствие|ние|тие|ция|изм)$/

/** Frequent Russian nouns of verse that name no image. */
const ruAbstractNouns = new Set(
  `любовь жизнь душа мысль мечта время год раз час минута миг век неделя вечность смерть судьба
   правда ложь слава честь бог господь дело слово вещь сила воля мир счастье горе беда радость
   страсть грусть печаль тоска надежда вера ум разум дух образ причина род народ человек люди
   друг враг брат сестра мать отец сын дочь царь князь господин сударь право закон цель смысл
   путь конец начало чувство память покой забота страх гнев половина часть сторона место край
   случай вид лад красота высота пустота доброта работа пора тайна мука муза рок`
    .trim()
    .split(/\s+/)
    .map(foldYo)
)

/** English nouns WordNet files under objects but verse uses for no image. */
const enAbstractNouns = new Set(["god", "lord", "soul", "spirit", "thing", "way", "part", "kind", "sort"])

let enIndex: ((lemma: string) => boolean) | undefined

const englishConcrete = (): ((lemma: string) => boolean) => {
  if (enIndex) return enIndex
  const lex = winkLexicon()
  const memo = new Map<string, boolean>()
  enIndex = (lemma) => {
    let v = memo.get(lemma)
    if (v !== undefined) return v
    const i = Object.hasOwn(lex.wnWords, lemma) ? lex.wnWords[lemma]! : undefined
    const classes = (i === undefined ? [] : (lex.wnWordSenses[i] ?? [])).map((s) => lex.wnSenses[s] ?? "")
    const nouns = classes.filter((c) => c.startsWith("noun.") && c !== "noun.tops")
    const concrete = nouns.filter((c) => concreteNounClasses.has(c)).length
    v = nouns.length > 0 && concrete * 2 >= nouns.length
    memo.set(lemma, v)
    return v
  }
  return enIndex
}

/** Whether a lemma (lower-cased, `ё` folded) is concrete or sensory; `pos` is the lemmatiser's tag. */
export const isImageWord = (lang: Lang, lemma: string, pos?: string): boolean => {
  if (seedChannels(lang, lemma).length > 0) return true
  if (lang === "en") return !enAbstractNouns.has(lemma) && englishConcrete()(lemma)
  return pos === "NOUN" && lemma.length > 2 && !ruAbstractNouns.has(lemma) && !ruAbstractSuffix.test(lemma)
}
