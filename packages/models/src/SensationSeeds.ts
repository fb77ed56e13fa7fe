/**
 * The seed lexicon of sensation words: a few hundred concrete, perceptible lemmas per language,
 * hand-written and grouped by sensory channel. Mining uses it to recognise image words without any
 * norms at hand; the living-word generator uses it as its embedded default corpus.
 */
import type { SenseChannels } from "@hyperwords/core/Artifacts"

/** A sensory channel of a profile. */
export type Channel = (typeof SenseChannels)[number]

/** A language of the corpus. */
export type Lang = "ru" | "en"

/** Seed lemmas of one language, by channel (a word may sit in several channels). */
export type ChannelSeeds = Readonly<Record<Channel, ReadonlyArray<string>>>

const words = (text: string): ReadonlyArray<string> => text.trim().split(/\s+/)

const ru: ChannelSeeds = {
  visual: words(`
    свет тень луна месяц солнце звезда заря закат рассвет туман облако туча небо радуга
    огонь пламя искра блеск сияние мгла тьма сумрак луч зарница молния снег лёд иней роса
    зеркало окно свеча фонарь лампа лампада цвет краска золото серебро лазурь белый чёрный
    красный алый синий голубой зелёный жёлтый золотой серебряный багряный румяный бледный
    светлый тёмный яркий ясный лучистый сверкать блестеть сиять мерцать темнеть белеть алеть
    синеть зеленеть гореть глядеть видеть смотреть взор глаз око лицо портрет узор берёза
    поле холм гора степь лазурный пурпур
  `),
  auditory: words(`
    звук голос звон шум шорох шёпот гром эхо песня крик стон плач смех свист гул рокот
    колокол колокольчик струна гитара скрипка труба рог свирель соловей тишина молчание
    звенеть шуметь шептать петь запеть кричать стонать греметь звучать свистеть журчать
    шелестеть рыдать выть лаять мурлыкать щебетать звонкий громкий тихий глухой певучий
    слышать услышать ухо музыка напев хор бубенчик гудок топот стук скрип вой ропот лепет
    треск
  `),
  haptic: words(`
    рука ладонь палец кожа щека губа плечо колено тепло холод мороз жар зной ветер ветерок
    шёлк бархат мех пух камень песок волна тёплый холодный горячий мягкий твёрдый гладкий
    шершавый острый колючий влажный мокрый сухой ледяной морозный нежный тяжёлый лёгкий
    касаться коснуться трогать гладить обнимать обнять целовать поцелуй объятие ласкать
    ласка греть жечь колоть шип игла кудри коса локон подушка постель одеяло платок сталь
  `),
  gustatory: words(`
    вкус мёд хлеб вино молоко соль сахар яблоко вишня малина ягода виноград груша слива
    земляника пирог каша чай квас сок горечь сладость сладкий горький кислый солёный пресный
    терпкий вкусный вкусно есть съесть пить выпить вкусить пробовать глоток жевать кушать
    пир обед ужин рот уста язык чаша бокал кубок стакан водка пиво масло сыр мясо рыба орех
    калач блин щи
  `),
  olfactory: words(`
    запах аромат благоухание дым гарь роза сирень ландыш жасмин черёмуха липа мята полынь
    ладан фимиам сено хвоя смола цветок пахнуть запахнуть благоухать нюхать вдыхать
    веять чуять душистый пахучий ароматный благовонный свежий свежесть прелый гнилой сырой
    тлен костёр кофе табак трава листва яблоня фиалка резеда гвоздика тополь сосна ель
    берёзовый медовый хмель ветка букет
  `),
  interoceptive: words(`
    сердце грудь кровь дыхание сон голод жажда боль усталость озноб дрожь трепет пульс вздох
    слеза пот истома нега дремота бессонница тяжесть лихорадка опьянение сытость тошнота
    дышать вздохнуть вздыхать болеть ныть томиться трепетать дремать спать уснуть проснуться
    изнемогать задыхаться замирать биться пьянеть устать дрожать голодный сонный усталый
    больной пьяный сытый томный бессонный жаркий знобить плакать рыдание рана тело жила
    висок
  `),
  motion: words(`
    бег полёт шаг танец пляска вихрь буря метель вьюга поток река ручей волна конь птица
    крыло парус корабль ладья тройка колесо дорога тропа идти бежать лететь летать плыть
    скакать мчаться кружиться кружить падать упасть качаться течь литься катиться нестись
    ползти прыгать плясать танцевать махать взлететь шагать бродить ехать мчать быстрый
    стремительный плавный ласточка орёл лебедь журавль голубь санки поезд весло лодка
    листопад
  `)
}

const en: ChannelSeeds = {
  visual: words(`
    light shadow shade moon sun star dawn sunset sunrise twilight dusk mist fog cloud sky
    rainbow fire flame spark gleam glow glitter darkness gloom ray beam lightning snow ice
    frost dew mirror window candle lamp lantern colour color gold silver azure white black
    red crimson scarlet blue green yellow golden purple rosy pale bright dark dim
    shine sparkle glisten shimmer twinkle flash glare see look gaze eye blush face hill
    mountain field meadow garden grey gray
  `),
  auditory: words(`
    sound voice ring noise rustle whisper thunder echo song cry moan laughter laugh whistle
    hum roar bell string harp lute lyre flute horn trumpet drum nightingale lark silence
    murmur chime toll sing shout scream howl bark purr chirp buzz hiss crack crash loud
    quiet silent hush hear listen ear music melody tune chorus choir singer knock clang
    rattle creak wail
  `),
  haptic: words(`
    hand palm finger skin cheek lip shoulder knee warmth cold chill heat wind breeze silk
    velvet fur feather stone sand pebble wave warm cool hot soft hard smooth rough sharp
    thorny prickly wet damp moist dry icy tender heavy touch stroke caress embrace kiss hold
    grasp press burn sting thorn blade hair lock pillow bed blanket cloth steel rain
    snowflake
  `),
  gustatory: words(`
    taste honey bread wine milk salt sugar apple cherry berry grape pear plum strawberry
    peach orange lemon pie cake tea juice bitterness sweetness sweet bitter sour salty tart
    delicious savory eat drink sip swallow feast supper dinner breakfast mouth tongue fruit
    nectar cream butter cheese meat cup goblet ale beer nut corn wheat feed hunger bowl
  `),
  olfactory: words(`
    smell scent fragrance perfume aroma odour odor smoke incense rose lilac lily jasmine
    violet lavender mint thyme pine hay resin myrrh musk blossom flower bloom spice cinnamon
    sniff breathe inhale fragrant musty rotten fresh stale earthy reek stink stench rot
    grass leaf clover orchard honeysuckle daisy bouquet wreath garland balm sweetbrier
  `),
  interoceptive: words(`
    heart breast chest blood breath sleep hunger thirst pain ache fatigue weariness fever
    shiver pulse heartbeat sigh tear sweat nausea dizziness faint swoon drowsiness throb
    starve weep sob yawn tire weary hungry thirsty sleepy drowsy feverish sick ill drunk
    breathless numb sore pang stomach belly lung bone vein wound body tremble dream wake
    slumber brow
  `),
  motion: words(`
    run flight step dance whirl storm tempest gale stream river brook flood horse bird wing
    sail ship boat wheel road path walk fly swim float drift gallop rush spin fall swing
    flow pour roll race creep crawl leap jump throw soar fling ride wander march swift fleet
    rapid restless chase climb sway glide tumble hurry swallow eagle swan dove oar train
    chariot
  `)
}

/** The seed lexicon: sensation lemmas by language and channel. */
export const sensationSeeds: Readonly<Record<Lang, ChannelSeeds>> = { ru, en }

/** Fold `ё` into `е`, the way lemmas are compared throughout mining. */
export const foldYo = (s: string): string => s.replaceAll("ё", "е").replaceAll("Ё", "Е")

const indexes = new Map<Lang, ReadonlyMap<string, ReadonlyArray<Channel>>>()

/** The channels a lemma is seeded in (empty when it is not a seed). */
export const seedChannels = (lang: Lang, lemma: string): ReadonlyArray<Channel> => {
  let index = indexes.get(lang)
  if (index === undefined) {
    const m = new Map<string, Array<Channel>>()
    for (const [channel, words] of Object.entries(sensationSeeds[lang]) as Array<
      [Channel, ReadonlyArray<string>]
    >) {
      for (const w of words) {
        const key = foldYo(w)
        const list = m.get(key) ?? []
        if (!list.includes(channel)) list.push(channel)
        m.set(key, list)
      }
    }
    index = m
    indexes.set(lang, index)
  }
  return index.get(foldYo(lemma)) ?? []
}
