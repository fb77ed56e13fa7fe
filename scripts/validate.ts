/**
 * `pnpm validate`: every metric and estimator against the human data in `../shared/data`, with a
 * judge model (the model whose vectors the checks read). Prints one table per judge and writes
 * each suite's card, `<plugin or package>/cards/<judge>.json`: every check that ran with its
 * statistic, CI, n, floor, status, data files and the command that recomputes it, written as each
 * check ends (checks skipped now, for want of data, keep their old entry; one that breaks loses it).
 * Exits 1 when a check is under its floor (and not a known failure) or fails to run.
 *
 *   pnpm validate [--judge NAME|all]... [--check NAME]... [FILTER...] [--no-write]
 *
 * `--judge` defaults to the default pipeline's model; `all` is every judge cards are kept for.
 * `--check` runs the checks of exactly that name; a FILTER runs those whose name or data holds it.
 */
import { enableCompileCache } from "node:module"

enableCompileCache?.()
const { existsSync, readFileSync } = await import("node:fs")
const { loadavg } = await import("node:os")
const { join, relative, resolve } = await import("node:path")
const { Effect } = await import("effect")
const { Validation } = await import("@hyperwords/core")
const { resolveModelDir } = await import("@hyperwords/models/ModelDir")
const Card = await import("@hyperwords/eval/Card")
const config = await import("../validations.config.ts")
type CardCheck = import("@hyperwords/eval/Card").CardCheck

const root = resolve(import.meta.dirname, "..")
const args = process.argv.slice(2)
const values = (flag: string) => args.flatMap((a, i) => (a === flag && args[i + 1] ? [args[i + 1]!] : []))
const flagged = new Set(args.flatMap((a, i) => (a === "--judge" || a === "--check" ? [i + 1] : [])))
const filters = args.filter((a, i) => !a.startsWith("-") && !flagged.has(i))
const exact = values("--check")
const judgeArgs = values("--judge")
const judges = judgeArgs.includes("all")
  ? config.judges
  : judgeArgs.length > 0
    ? judgeArgs
    : [config.defaultJudge]
const write = !args.includes("--no-write")

const chosen = (v: { name: string; data: string }) =>
  (exact.length === 0 || exact.includes(v.name)) &&
  (filters.length === 0 || filters.some((f) => config.checkKey(v).includes(f)))

const quote = (s: string) => (/^[\w.,:@/+-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`)

const revisionOf = (judge: string): string | undefined => {
  const manifest = join(resolveModelDir(judge), "hyperwords-model.json")
  if (!existsSync(manifest)) return undefined
  const sha = (JSON.parse(readFileSync(manifest, "utf8")) as { safetensors_sha256?: unknown })
    .safetensors_sha256
  return typeof sha === "string" ? sha : undefined
}

type Outcome = import("@hyperwords/core/Validation").ValidationOutcome

const knownFailure = (judge: string, o: Outcome) =>
  o.status === "fail" ? config.knownFailure(judge, o.validation) : undefined

/**
 * Put one outcome on its suite's card (read, merged, written at once, so a long run keeps what it
 * finished): a result replaces the check's old entry, an error removes it, a skip (data absent)
 * leaves it as it was.
 */
const record = (
  judge: string,
  revision: string | undefined,
  suites: ReadonlyArray<import("../validations.config.ts").Suite>,
  o: Outcome,
  t: { seconds: number; load: number }
): string | undefined => {
  const suite = suites.find((s) => s.checks.includes(o.validation))
  if (suite === undefined || o.status === "skipped") return undefined
  const file = Card.cardFile(join(root, suite.dir), judge)
  const previous = Card.readCard(file)
  const v = o.validation
  const key = config.checkKey(v)
  const kept =
    previous === undefined
      ? undefined
      : { ...previous, checks: previous.checks.filter((c) => Card.checkKey(c) !== key) }
  const r = o.result
  const reason = knownFailure(judge, o)
  const fresh: Array<CardCheck> =
    r === undefined || !Number.isFinite(r.value)
      ? []
      : [
          {
            name: v.name,
            data: v.data,
            statistic: v.statistic,
            value: r.value,
            ...(r.ci === undefined ? {} : { ci: r.ci }),
            n: r.n,
            ...(v.floor === undefined ? {} : { floor: v.floor }),
            status: o.status === "pass" ? "pass" : o.status === "fail" ? "fail" : "report",
            ...(reason === undefined ? {} : { knownFailure: reason }),
            sources: v.requires.map((p) => relative(root, p)),
            ...(r.detail === undefined ? {} : { detail: r.detail }),
            command: `pnpm validate --judge ${judge} --check ${quote(v.name)}`,
            seconds: Math.round(t.seconds * 10) / 10,
            load: Math.round(t.load * 10) / 10
          }
        ]
  const card = Card.mergeCard(
    kept,
    {
      kind: "hyperwords/validation-card",
      schemaVersion: 1,
      subject: suite.subject,
      judge,
      ...(revision === undefined ? {} : { judgeRevision: revision })
    },
    fresh,
    suite.checks.map(config.checkKey)
  )
  Card.writeCard(file, card)
  return relative(root, file)
}

let bad = 0
for (const judge of judges) {
  const suites = config.suites(judge)
  const checks = suites.flatMap((s) => s.checks.filter(chosen))
  if (checks.length === 0) {
    process.stderr.write(`validate: no check matches ${JSON.stringify(args)}\n`)
    process.exit(1)
  }
  const revision = revisionOf(judge)
  const written = new Set<string>()
  let started = Date.now()
  let load = loadavg()[0]!
  process.stderr.write(`\njudge ${judge}: ${checks.length} check(s)\n`)
  const outcomes = await Effect.runPromise(
    Validation.runValidations(checks, (o) => {
      const seconds = (Date.now() - started) / 1000
      process.stderr.write(
        `${o.status.padEnd(7)} ${o.validation.name} — ${o.validation.data}  (${seconds.toFixed(0)} s, load ${load.toFixed(1)})\n`
      )
      if (write) {
        const file = record(judge, revision, suites, o, { seconds, load })
        if (file !== undefined) written.add(file)
      }
      started = Date.now()
      load = loadavg()[0]!
    })
  )
  const shown = outcomes.map((o) =>
    knownFailure(judge, o) === undefined ? o : { ...o, reason: "known: see card" }
  )
  console.log(`\njudge ${judge}\n${Validation.formatValidations(shown)}`)
  for (const o of outcomes)
    if (knownFailure(judge, o) !== undefined) console.log(`  known failure: ${knownFailure(judge, o)}`)
  for (const file of written) console.log(`  card: ${file}`)
  bad += outcomes.filter(
    (o) => o.status === "error" || (o.status === "fail" && knownFailure(judge, o) === undefined)
  ).length
}
if (bad > 0) {
  console.error(`\nvalidate: ${bad} check(s) under the floor or broken`)
  process.exit(1)
}
