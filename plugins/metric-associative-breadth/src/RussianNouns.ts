/**
 * Russian nouns from OpenCorpora, as the `az` package (0.2.3, MIT; also used by the corpus
 * stage) ships them: pymorphy2's compiled dictionary of OpenCorpora 0.92
 * (389,022 lexemes; the OpenCorpora dictionary is CC BY-SA 3.0), read in place from
 * `node_modules/az/dicts/`, never copied into the repository.
 *
 * A word is a valid noun when the dictionary itself lists one of its forms as a common noun (a
 * `NOUN` tag without `Name`, `Surn`, `Patr`, `Geox`, `Orgn`, `Trad`, `Abbr` or `Init`: the task
 * wants no proper nouns): only dictionary entries count, not az's guesses for unknown words, so a
 * made-up word (`калибреница`) is not a noun. A valid word is scored as its lemma (`лодку` →
 * `лодка`, `ложки` → `ложка`; a word that is a lemma itself stays itself), so two forms of one
 * noun are one word; a word written with е for
 * ё (`еж`) is found as `ёж`, and one the dictionary spells with е (`лён` as `лен`) is found too. The pool of random draws is every common-noun lemma (about 62,000).
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import type { Dictionary } from "./Dictionary.ts"

interface Dawg {
  readonly units: Uint32Array
  readonly guide: Uint8Array
  readonly followByte: (c: number, index: number) => number
  readonly followString: (s: string, index?: number) => number
  readonly hasValue: (index: number) => boolean
  readonly iterateAll: (index: number) => Array<[number, number]>
}

interface Az {
  readonly DAWG: { readonly fromArrayBuffer: (data: ArrayBuffer, format: string) => Dawg }
}

const require = createRequire(import.meta.url)

/** The folder of az's bundled OpenCorpora dictionaries. */
export const azDictionaries = (): string => join(dirname(require.resolve("az/package.json")), "dicts")

/** The paradigms' prefixes, as pymorphy2 compiled them (`meta.json`'s `paradigm_prefixes`). */
const prefixes = ["", "по", "наи"]

/** A tag of a common noun: a noun, not a name, a place, an organisation or an abbreviation. */
export const commonNounTag = (tag: string): boolean =>
  tag.startsWith("NOUN") && !/\b(?:Name|Surn|Patr|Geox|Orgn|Trad|Abbr|Init)\b/.test(tag)

const arrayBuffer = (b: Buffer): ArrayBuffer =>
  b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer

/** The spellings of a word with е read as ё (each е one way or the other; at most 3 of them). */
const yoVariants = (word: string): Array<string> => {
  const at = [...word].flatMap((c, i) => (c === "е" ? [i] : [])).slice(0, 3)
  return Array.from({ length: 2 ** at.length }, (_, m) => {
    const cs = [...word]
    at.forEach((i, b) => {
      if (m & (2 ** b)) cs[i] = "ё"
    })
    return cs.join("")
  })
}

const cache = new Map<string, Dictionary>()

/** The common nouns of az's OpenCorpora dictionary (in `dir`, default az's own `dicts/`). */
export const russianNouns = (dir: string = azDictionaries()): Dictionary => {
  const known = cache.get(dir)
  if (known !== undefined) return known
  const az = require("az") as Az
  const dawg = az.DAWG.fromArrayBuffer(arrayBuffer(readFileSync(join(dir, "words.dawg"))), "words")
  const list = new Uint16Array(arrayBuffer(readFileSync(join(dir, "paradigms.array"))))
  const paradigms: Array<Uint16Array> = []
  for (let i = 0, pos = 1; i < list[0]!; i++) {
    const size = list[pos++]!
    paradigms.push(list.subarray(pos, pos + size))
    pos += size
  }
  const tags = JSON.parse(readFileSync(join(dir, "gramtab-opencorpora-int.json"), "utf8")) as Array<string>
  const suffixes = JSON.parse(readFileSync(join(dir, "suffixes.json"), "utf8")) as Array<string>
  const nounParadigm = paradigms.map((p) => commonNounTag(tags[p[p.length / 3]!]!))

  /** The lemma of one spelling when the dictionary lists it as a form of a common noun. */
  const lemmaOf = (word: string): string | undefined => {
    let index = dawg.followString(word)
    if (index === -1) return undefined
    index = dawg.followByte(1, index) // the separator before the payloads
    if (index === -1) return undefined
    const found: Array<string> = []
    for (const [p, form] of dawg.iterateAll(index)) {
      const par = paradigms[p]!
      const n = par.length / 3
      if (!commonNounTag(tags[par[n + form]!]!)) continue
      const base = word.slice(
        prefixes[par[2 * n + form]!]!.length,
        word.length - suffixes[par[form]!]!.length
      )
      found.push(prefixes[par[2 * n]!]! + base + suffixes[par[0]!]!)
    }
    // a word that is a lemma itself stays itself (`лес`, not the genitive plural of `леса`)
    return found.includes(word) ? word : found[0]
  }
  const lemmas = new Map<string, string | undefined>()
  const lemma = (word: string): string | undefined => {
    if (!lemmas.has(word)) {
      const w = word.toLowerCase()
      lemmas.set(
        word,
        [w, ...yoVariants(w.replace(/ё/g, "е"))].reduce<string | undefined>(
          (l, v) => l ?? lemmaOf(v),
          undefined
        )
      )
    }
    return lemmas.get(word)
  }

  let words: Array<string> | undefined
  /** Every common-noun lemma: the keys whose payload is form 0 of a noun paradigm (one walk, ~1.5 s). */
  const allLemmas = (): Array<string> => {
    if (words !== undefined) return words
    const out = new Set<string>()
    const decoder = new TextDecoder("windows-1251")
    const { guide } = dawg
    const key: Array<number> = []
    const stack = [0]
    let first = true
    const follow = (label: number, index: number): boolean => {
      const next = dawg.followByte(label, index)
      if (next === -1) return false
      key.push(label)
      stack.push(next)
      return true
    }
    // az's `iterateAll` walk (the guide's first child, then next sibling), one key at a time
    for (;;) {
      let index = stack[stack.length - 1]!
      if (!first) {
        const child = guide[index << 1]!
        if (child) {
          if (!follow(child, index)) break
        } else {
          let sibling = 0
          do {
            sibling = guide[(index << 1) + 1]!
            key.pop()
            stack.pop()
            if (stack.length === 0) break
            index = stack[stack.length - 1]!
            if (sibling && !follow(sibling, index)) sibling = -1
          } while (!sibling)
          if (stack.length === 0 || sibling === -1) break
        }
      }
      first = false
      index = stack[stack.length - 1]!
      let ok = true
      while (ok && !dawg.hasValue(index)) {
        ok = follow(guide[index << 1]!, index)
        index = stack[stack.length - 1]!
      }
      if (!ok) break
      const sep = key.indexOf(1)
      const p = ((key[sep + 1]! ^ 1) << 6) + (key[sep + 2]! >> 1)
      const form = ((key[sep + 3]! ^ 1) << 6) + (key[sep + 4]! >> 1)
      if (form === 0 && nounParadigm[p]) out.add(decoder.decode(Uint8Array.from(key.slice(0, sep))))
    }
    words = [...out]
    return words
  }

  const d: Dictionary = {
    name: "OpenCorpora common nouns (az 0.2.3)",
    lang: "ru",
    has: (w) => lemma(w) !== undefined,
    lemma,
    get words() {
      return allLemmas()
    }
  }
  cache.set(dir, d)
  return d
}
