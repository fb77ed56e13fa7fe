/**
 * Validation cards: what `pnpm validate` computed for one plugin (or package) with one judge
 * model — every check with its statistic, bootstrap CI, n, floor, status, the data it read and the
 * command that reproduces it. Written by `scripts/validate.ts` to `<package>/cards/<judge>.json`
 * and committed; the report stage shows the card of the judge a run actually used, and a metric
 * with no card for that judge as "not validated". Nothing on a card is typed by hand.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { runValidations, type Validation } from "@hyperwords/core/Validation"
import { Effect, Schema } from "effect"

/** One check as it ran. */
export const CardCheck = Schema.Struct({
  /** The check's name (e.g. "imageability (en)"); with `data`, unique within its card. */
  name: Schema.String,
  /** The human data, e.g. "Glasgow norms imageability (Scott et al. 2019)". */
  data: Schema.String,
  /** e.g. "Pearson r", "AUC". */
  statistic: Schema.String,
  value: Schema.Finite,
  /** The 95% bootstrap interval, when the check computes one. */
  ci: Schema.optionalKey(Schema.Tuple([Schema.Finite, Schema.Finite])),
  n: Schema.Int,
  /** The value under which the check fails (none: reported only). */
  floor: Schema.optionalKey(Schema.Finite),
  status: Schema.Literals(["pass", "fail", "report"]),
  /** Why a FAIL is shown and not fixed (e.g. the literature's figure it stays under). */
  knownFailure: Schema.optionalKey(Schema.String),
  /** The files the check read, relative to the shared data folder (or the repository). */
  sources: Schema.Array(Schema.String),
  detail: Schema.optionalKey(Schema.String),
  /** The command that recomputes this check alone. */
  command: Schema.String,
  /** Wall-clock seconds it took, and how busy the machine was (1-minute load average at the start). */
  seconds: Schema.Finite,
  load: Schema.optionalKey(Schema.Finite)
})
export type CardCheck = typeof CardCheck.Type

/** A card: the checks of one subject (a metric plugin or a package) with one judge. */
export const ValidationCard = Schema.Struct({
  kind: Schema.Literal("hyperwords/validation-card"),
  schemaVersion: Schema.Literal(1),
  /** The metric's name (`imageability`) or the package's (`corpus`). */
  subject: Schema.String,
  /** The judge model whose vectors the checks read (a registered model name). */
  judge: Schema.String,
  /** The judge's weights (sha256 of its safetensors), when its folder says. */
  judgeRevision: Schema.optionalKey(Schema.String),
  /** Checks in the order the subject declares them; the first is the headline. */
  checks: Schema.Array(CardCheck)
})
export type ValidationCard = typeof ValidationCard.Type

/** The card file of a package folder and a judge. */
export const cardFile = (packageDir: string, judge: string): string =>
  join(packageDir, "cards", `${judge}.json`)

/**
 * The package folder of a plugin from its `module` URL (`…/src/index.ts` or `…/dist/index.js`):
 * the folder above the module's.
 */
export const packageDirOf = (module: string): string =>
  dirname(dirname(module.startsWith("file:") ? fileURLToPath(module) : module))

/** Read a card; `undefined` when there is none. Throws on a file that is not a card. */
export const readCard = (file: string): ValidationCard | undefined =>
  existsSync(file)
    ? Schema.decodeUnknownSync(ValidationCard)(JSON.parse(readFileSync(file, "utf8")))
    : undefined

/** A check's key on a card: its name and its data (two checks may share a name over different data). */
export const checkKey = (c: { readonly name: string; readonly data: string }): string =>
  `${c.name} — ${c.data}`

/**
 * A card with `checks` put in: checks of the same key replaced, the others of `previous` kept
 * (when it was computed with the same judge weights), ordered as `order` (keys) says.
 */
export const mergeCard = (
  previous: ValidationCard | undefined,
  next: Omit<ValidationCard, "checks">,
  checks: ReadonlyArray<CardCheck>,
  order: ReadonlyArray<string>
): ValidationCard => {
  const byKey = new Map<string, CardCheck>()
  if (previous !== undefined && previous.judgeRevision === next.judgeRevision)
    for (const c of previous.checks) byKey.set(checkKey(c), c)
  for (const c of checks) byKey.set(checkKey(c), c)
  const rank = (c: CardCheck) => {
    const i = order.indexOf(checkKey(c))
    return i < 0 ? order.length : i
  }
  return { ...next, checks: [...byKey.values()].sort((a, b) => rank(a) - rank(b)) }
}

/** Write a card (pretty JSON, one trailing newline), making its folder. */
export const writeCard = (file: string, card: ValidationCard): void => {
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, `${JSON.stringify(Schema.encodeSync(ValidationCard)(card), null, 2)}\n`)
}

/** A card's check computed again. */
export interface Recheck {
  readonly key: string
  readonly card: CardCheck
  /** The value the code computes now; none when the check was skipped (its data or judge absent). */
  readonly computed?: number
  readonly n?: number
  /** Whether the computed value lies in the card's CI (± 0.005 for a check without one) with the same n. */
  readonly agrees?: boolean
  readonly reason?: string
}

/**
 * Recompute the checks of a card that `pick` chooses, with the code as it is now: the test that a
 * committed card is what the code computes (within the statistic's CI). Checks whose data or
 * judge is absent come back without `computed`.
 */
export const recheckCard = (
  card: ValidationCard,
  checks: ReadonlyArray<Validation>,
  pick: (c: CardCheck) => boolean
): Effect.Effect<Array<Recheck>> =>
  Effect.gen(function* () {
    const chosen = card.checks.filter(pick)
    const byKey = new Map(checks.map((v) => [checkKey(v), v]))
    const todo = chosen.flatMap((c) => {
      const v = byKey.get(checkKey(c))
      return v === undefined ? [] : [v]
    })
    const outcomes = yield* runValidations(todo)
    return chosen.map((c): Recheck => {
      const key = checkKey(c)
      const o = outcomes.find((x) => checkKey(x.validation) === key)
      if (o === undefined) return { key, card: c, agrees: false, reason: "the code has no such check" }
      if (o.status === "error") return { key, card: c, agrees: false, reason: o.reason ?? "error" }
      if (o.result === undefined) return { key, card: c, ...(o.reason ? { reason: o.reason } : {}) }
      const x = o.result.value
      const [lo, hi] = c.ci ?? [c.value - 0.005, c.value + 0.005]
      const agrees = x >= lo - 1e-9 && x <= hi + 1e-9 && o.result.n === c.n
      return {
        key,
        card: c,
        computed: x,
        n: o.result.n,
        agrees,
        ...(agrees
          ? {}
          : { reason: `computed ${x} (n ${o.result.n}), card ${c.value} [${lo}, ${hi}] (n ${c.n})` })
      }
    })
  })
