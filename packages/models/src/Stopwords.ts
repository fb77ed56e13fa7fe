/**
 * Stopwords per language: function words, pronouns, auxiliaries and the archaic forms of verse
 * ("thou", "hath", "сей", "дабы"). Mining drops them from image clusters; they still count as
 * distance inside a window. Lists hold lemmas and common surface forms, `ё` folded to `е`.
 */
import { foldYo, type Lang } from "./SensationSeeds.ts"

const words = (text: string): ReadonlySet<string> => new Set(text.trim().split(/\s+/).map(foldYo))

const ru = words(`
  и в во не что он на я с со как а то все всё она так его но да ты к у же вы за бы по только
  ее её мне было вот от меня еще ещё нет о об обо из ему теперь когда даже ну вдруг ли если уже
  или ни быть был была были было бывать него до вас нибудь опять уж вам ведь там потом себя
  себе ничего ей может они тут где надо ней для мы тебя тебе их чем сам сама само сами
  чтоб чтобы без будто чего раз тоже под будет ж тогда кто этот эта это эти того потому этого
  какой какая какое какие совсем ним здесь этом один одна одно одни почти мой моя моё мое мои
  тем чтоб нее ее сейчас куда зачем всех никогда можно при наконец два две об другой другая
  другое хоть после над больше тот та те те через эту нас про всего них всю между свой своя
  своё свое свои весь вся всё все ты твой твоя твое твоё твои наш наша наше наши ваш ваша ваше
  ваши мой меня мною тобой тобою ею им ими нему нею нём нем оно кто-то что-то сей сия сие сии
  сего оный дабы коль коли аль али иль ль бо вот вон ах ох эх о ой увы ужель неужели лишь
  лишь вновь снова иной иная иное иные всяк всякий каждый такой такая такое такие столь
  сколько столько весьма очень уже ещё ведь пусть пускай давай как-то как-нибудь где-то
  чей чья чьё чье чьи который которая которое которые некий некто нечто ничто никто нигде
  никуда кругом вокруг вдоль около возле мимо сквозь среди меж меж пред перед предо подо надо
  изо ото ко то-то нибудь либо разве будто словно точно как бы ибо зато притом причём причем
  хотя хотеть мочь стать сказать говорить знать значит ли уж вы-то же-то ах-ах ну-ка всегда
  иногда тоже также весь всякий самый сам сама тот-то два три четыре пять шесть семь восемь
  девять десять двадцать сто тысяча первый второй третий первом первой первым той тех тому
  том теми тою этой этих этим этими этому этою нашей наших нашим нашего вашей ваших своей своих
  своим своего своему своею моей моих моим моего моему моею твоей твоих твоим твоего твоему всем
  всеми всего всей всему кого кому чему ком каким каких которой которых которым котором которого
`)

const en = words(`
  a an the and or but nor so yet for of in on at by to from with without within into onto
  upon about above below over under through between among against across along around behind
  beyond before after since till until as than then there here where when while whence
  whither thence hence why how what which who whom whose whoever whatever this that these
  those it its it's itself i me my mine myself we us our ours ourselves you your yours
  yourself yourselves he him his himself she her hers herself they them their theirs
  themselves thou thee thy thine thyself ye is am are was were be been being do does did
  done doing doth dost didst have has had having hath hast shall should shalt will would
  wilt wouldst can could canst couldst may might mayst must ought not no nay yea yes o oh ah
  alas ay aye lo ere o'er e'er ne'er 'tis 'twas tis twas 'twere art wert wast all any both
  each every few more most other some such only own same too very just also even still ever
  never now again once off out up down away back here's there's that's what's let's
  don't can't won't isn't aren't wasn't weren't hasn't haven't hadn't doesn't didn't i'm
  i'll i've i'd you're you'll you've he's she's we're they're thus whereof wherein whereon
  thereof therein one ones thing things something nothing anything everything someone
  anyone everyone nobody none much many less least well like unto shalt thereby hither
  yon yonder doth hath quite rather perhaps indeed upon amid amidst betwixt 'gainst gainst
  whilst tho though although if unless because else either neither whether get got make made
  say said go went gone come came let two three four five six seven eight nine ten twenty
  hundred thousand first second third
`)

const lists: Readonly<Record<Lang, ReadonlySet<string>>> = { ru, en }

/** Whether a lower-cased word or lemma (`ё` folded) is a stopword of the language. */
export const isStopword = (lang: Lang, word: string): boolean => lists[lang].has(word)

/** The stopword list of a language. */
export const stopwords = (lang: Lang): ReadonlySet<string> => lists[lang]
