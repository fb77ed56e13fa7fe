/**
 * How the runner explains itself: which contributor of a stage's key changed since the last run
 * (`--explain`), the plan table and the stage graph as text.
 */
import { canonicalJson } from "./Hash.ts"
import type { Contributors, StagePlan } from "./Runner.ts"
import type { Stage } from "./Stage.ts"

const flatten = (value: unknown, prefix: string, out: Map<string, string>): Map<string, string> => {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    // an empty object has no leaves: its members appearing or going are the changes worth naming
    for (const [k, v] of Object.entries(value as Record<string, unknown>))
      flatten(v, prefix ? `${prefix}.${k}` : k, out)
  } else out.set(prefix, canonicalJson(value))
  return out
}

const short = (s: string | undefined): string => {
  if (s === undefined) return "(none)"
  const unq = s.startsWith('"') ? s.slice(1, -1) : s
  return /^[0-9a-f]{64}$/.test(unq) ? `${unq.slice(0, 10)}…` : unq.length > 40 ? `${unq.slice(0, 37)}…` : unq
}

const describeContributor = (path: string): string => {
  const [head, ...rest] = path.split(".")
  const tail = rest.join(".")
  switch (head) {
    case "codeVersion":
      return "code version"
    case "params":
      return `param ${tail}`
    case "inputs":
      return `input ${tail}`
    case "sources":
      return `source ${tail}`
    case "plugins":
      return "plugins"
    case "model":
      return `model ${tail}`
    case "runtime":
      return `runtime ${tail}`
    default:
      return path
  }
}

/** Which contributors differ between two runs, in words ("param layer changed: 6 → 8"). */
export const explainDifference = (previous: unknown, current: Contributors): Array<string> => {
  const a = flatten(previous, "", new Map())
  const b = flatten(current, "", new Map())
  const out: Array<string> = []
  const seenPlugins = new Set<string>()
  for (const path of new Set([...a.keys(), ...b.keys()])) {
    const before = a.get(path)
    const after = b.get(path)
    if (before === after) continue
    if (path.startsWith("plugins")) {
      if (seenPlugins.size > 0) continue
      seenPlugins.add(path)
      const pa = ((previous as Contributors | undefined)?.plugins ?? []).join(", ")
      const pb = current.plugins.join(", ")
      out.push(`plugins changed: ${pa || "(none)"} → ${pb || "(none)"}`)
      continue
    }
    if (before === undefined) out.push(`${describeContributor(path)} added: ${short(after)}`)
    else if (after === undefined) out.push(`${describeContributor(path)} removed (was ${short(before)})`)
    else out.push(`${describeContributor(path)} changed: ${short(before)} → ${short(after)}`)
  }
  return out
}

// Hashes of source files keyed by path, size and mtime, so unchanged corpora are not re-read.

/** Render plans as the `--explain` table. */
export const formatPlans = (plans: ReadonlyArray<StagePlan>, explain: boolean): string => {
  const width = Math.max(8, ...plans.map((p) => p.id.length))
  const lines: Array<string> = []
  for (const p of plans) {
    const status = p.status === "MISS" && p.ran ? "RAN " : p.status
    const time = p.durationMs !== undefined ? ` ${(p.durationMs / 1000).toFixed(1)}s` : ""
    const head = `${p.id.padEnd(width)}  ${status.padEnd(7)}${p.key ? ` ${p.key.slice(0, 10)}` : ""}${time}`
    if (explain || p.status === "PLANNED" || p.status === "SKIPPED") {
      lines.push(head)
      for (const r of p.reasons) lines.push(`${" ".repeat(width + 2)}  · ${r}`)
    } else lines.push(head)
  }
  return lines.join("\n")
}

/** The stage graph as text: each stage with what it reads. */
export const formatGraph = (stages: ReadonlyArray<Stage<unknown>>): string =>
  stages
    .map((s) => {
      const ins = Object.entries(s.inputs).map(
        ([n, r]) => `${r.stage}.${r.output}${n === r.output ? "" : ` as ${n}`}`
      )
      const outs = Object.entries(s.outputs).map(([n, k]) => `${n}: ${k}`)
      return `${s.id}${s.run ? "" : " (planned)"}\n    reads  ${ins.length ? ins.join(", ") : "-"}\n    writes ${outs.join(", ")}`
    })
    .join("\n")
