/**
 * The words the literature checks read: real words for the word/nonword and erasure checks,
 * nonwords matched to them piece for piece, and Russian nouns with their English and French
 * translations for the English-pivot checks (Wendler et al.'s repetition and translation tasks).
 */
import { mulberry32 } from "@hyperwords/core/Random"
import { nonword } from "./Measure.ts"

/** Russian words with their English translations (Wendler et al.'s setting, on everyday nouns). */
export const russianEnglish: ReadonlyArray<readonly [string, string]> = [
  ["вода", "water"],
  ["дом", "house"],
  ["кошка", "cat"],
  ["собака", "dog"],
  ["солнце", "sun"],
  ["луна", "moon"],
  ["небо", "sky"],
  ["дерево", "tree"],
  ["цветок", "flower"],
  ["река", "river"],
  ["море", "sea"],
  ["гора", "mountain"],
  ["огонь", "fire"],
  ["снег", "snow"],
  ["дождь", "rain"],
  ["ветер", "wind"],
  ["хлеб", "bread"],
  ["молоко", "milk"],
  ["яблоко", "apple"],
  ["рыба", "fish"],
  ["птица", "bird"],
  ["книга", "book"],
  ["окно", "window"],
  ["дверь", "door"],
  ["стол", "table"],
  ["рука", "hand"],
  ["глаз", "eye"],
  ["сердце", "heart"],
  ["голова", "head"],
  ["ночь", "night"],
  ["день", "day"],
  ["утро", "morning"],
  ["вечер", "evening"],
  ["зима", "winter"],
  ["лето", "summer"],
  ["город", "city"],
  ["дорога", "road"],
  ["лес", "forest"],
  ["поле", "field"],
  ["звезда", "star"],
  ["камень", "stone"],
  ["песня", "song"]
]

/** Real words, most of them several pieces long in small vocabularies. */
export const commonWords: Readonly<Record<"en" | "ru", ReadonlyArray<string>>> = {
  en: [
    "butterfly",
    "thunderstorm",
    "strawberry",
    "lighthouse",
    "afternoon",
    "candlelight",
    "waterfall",
    "moonlight",
    "grandmother",
    "chocolate",
    "blanket",
    "whisper",
    "lantern",
    "meadow",
    "orchard",
    "velvet",
    "cinnamon",
    "harvest",
    "horizon",
    "pillow",
    "umbrella",
    "lavender",
    "sparrow",
    "thimble",
    "honeycomb",
    "sunflower",
    "raspberry",
    "hummingbird",
    "snowflake",
    "campfire",
    "seashell",
    "footprint",
    "rainbow",
    "windowsill",
    "marigold",
    "crimson",
    "feather",
    "blossom",
    "twilight",
    "cathedral"
  ],
  ru: [
    "бабушка",
    "подушка",
    "одеяло",
    "черника",
    "земляника",
    "ласточка",
    "колокольчик",
    "одуванчик",
    "подсолнух",
    "снежинка",
    "радуга",
    "тишина",
    "шорох",
    "молния",
    "туман",
    "костёр",
    "корица",
    "бархат",
    "сумерки",
    "рассвет",
    ...russianEnglish.map(([ru]) => ru)
  ]
}

/**
 * Everyday concrete nouns as Russian, English and French, one dictionary sense each (words whose
 * Russian has two common senses, or whose French is also an English word — chat, pain, main, lit —
 * are left out, so the lens can tell the languages apart). The translation task asks Russian → French; English is
 * the language the paper finds in between.
 */
const translationTable = `
вода water eau|дом house maison|собака dog chien|солнце sun soleil|луна moon lune
небо sky ciel|дерево tree arbre|цветок flower fleur|река river rivière|море sea mer|гора mountain montagne
огонь fire feu|снег snow neige|дождь rain pluie|ветер wind vent|молоко milk lait
яблоко apple pomme|рыба fish poisson|птица bird oiseau|книга book livre|окно window fenêtre|дверь door porte
глаз eye œil|сердце heart cœur|голова head tête|ночь night nuit|день day jour
утро morning matin|вечер evening soir|зима winter hiver|лето summer été|город city ville|дорога road route
лес forest forêt|поле field champ|звезда star étoile|камень stone pierre|песня song chanson|кровь blood sang
нос nose nez|рот mouth bouche|ухо ear oreille|нога leg jambe|зуб tooth dent|лицо face visage
кожа skin peau|мать mother mère|отец father père|дочь daughter fille|брат brother frère
сестра sister sœur|друг friend ami|ребёнок child enfant|король king roi|мужчина man homme|женщина woman femme
сыр cheese fromage|мясо meat viande|соль salt sel|сахар sugar sucre|яйцо egg œuf|вино wine vin
чай tea thé|мёд honey miel|лошадь horse cheval|корова cow vache|свинья pig cochon|мышь mouse souris
волк wolf loup|медведь bear ours|змея snake serpent|лиса fox renard|кролик rabbit lapin|овца sheep mouton
утка duck canard|лист leaf feuille|трава grass herbe|земля earth terre|песок sand sable|облако cloud nuage
лёд ice glace|озеро lake lac|остров island île|мост bridge pont|церковь church église|школа school école
улица street rue|сад garden jardin|стена wall mur|крыша roof toit|ключ key clé|бумага paper papier
письмо letter lettre|слово word mot|неделя week semaine|час hour heure|жизнь life vie|смерть death mort
любовь love amour|война war guerre|деньги money argent|железо iron fer|стекло glass verre|лодка boat bateau
машина car voiture|колесо wheel roue|голос voice voix|тень shadow ombre|свет light lumière|цвет colour couleur
зеркало mirror miroir|шляпа hat chapeau|рубашка shirt chemise|стул chair chaise
нож knife couteau|ложка spoon cuillère|тарелка plate assiette|чашка cup tasse|бутылка bottle bouteille|коробка box boîte
сумка bag sac|врач doctor médecin|бог god dieu|душа soul âme|сила strength force|правда truth vérité
страх fear peur|радость joy joie|вкус taste goût|запах smell odeur|ветка branch branche|корень root racine
семя seed graine|гриб mushroom champignon|орех nut noix|груша pear poire|вишня cherry cerise|морковь carrot carotte
лук onion oignon|капуста cabbage chou|суп soup soupe|пол floor sol|потолок ceiling plafond|лестница stairs escalier
волна wave vague|буря storm tempête|гром thunder tonnerre|туман fog brouillard|холм hill colline
пещера cave grotte|луг meadow pré|пчела bee abeille|муравей ant fourmi|бабочка butterfly papillon|паук spider araignée
обезьяна monkey singe|кит whale baleine|сова owl hibou|ворона crow corbeau|орёл eagle aigle|игла needle aiguille
нить thread fil|верёвка rope corde|молоток hammer marteau|гвоздь nail clou|топор axe hache|палка stick bâton
мяч ball balle|кукла doll poupée|игра game jeu|сказка tale conte|картина painting tableau|тело body corps
плечо shoulder épaule|колено knee genou|палец finger doigt|спина back dos|шея neck cou|живот belly ventre
`

/** A Russian noun with its English and French translations. */
export interface Translation {
  readonly ru: string
  readonly en: string
  readonly fr: string
}

/** The translation items (Russian → French, English tracked as the pivot). */
export const translations: ReadonlyArray<Translation> = translationTable
  .trim()
  .split(/[|\n]/)
  .map((entry) => {
    const [ru, en, fr] = entry.trim().split(" ") as [string, string, string]
    return { ru, en, fr }
  })

/**
 * A nonword with as many pieces as the word (`pieces` splits a text into its tokens' texts as
 * the probe reads it): first seeded shuffles of the word's letters, then — as Kaplan et al. build
 * theirs — seeded rearrangements of the word's own pieces; the first that is not the word and
 * has as many pieces. Undefined when none of `attempts` of each kind matches. Without the match
 * a classifier could tell words from nonwords by how many pieces they have (a shuffle of letters
 * usually breaks into more pieces than the word).
 */
export const matchedNonword = (
  word: string,
  lang: string,
  seed: number,
  pieces: (text: string) => ReadonlyArray<string>,
  attempts = 64
): string | undefined => {
  const own = pieces(word)
  const want = own.length
  const tried = new Set<string>([word])
  const fits = (candidate: string) => {
    if (tried.has(candidate)) return false
    tried.add(candidate)
    return pieces(candidate).length === want
  }
  for (let attempt = 0; attempt < attempts; attempt++) {
    const candidate = nonword(word, lang, seed + attempt * 7919)
    if (fits(candidate)) return candidate
  }
  const rand = mulberry32(seed)
  for (let attempt = 0; attempt < attempts && want > 1; attempt++) {
    const order = own.map((p) => p.trim())
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1))
      ;[order[i], order[j]] = [order[j]!, order[i]!]
    }
    const candidate = order.join("")
    if (fits(candidate)) return candidate
  }
  return undefined
}
