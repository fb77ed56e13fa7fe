/**
 * The leaderboard rendered: a self-contained `index.html` (inline CSS, SVG and a few lines of
 * JS; no network; a Content-Security-Policy that allows only its own script) and
 * `leaderboard.md`. Every text passes through `escapeHtml` / `escapeMarkdown`.
 */
import { createHash } from "node:crypto"
import { escapeHtml, escapeMarkdown, jsonForScript, pageHead, safeHref } from "@hyperwords/core/Html"
import { FILTER_SCRIPT, filterBar } from "./BoardFilter.ts"
import type { RowProvenance } from "./BoardHistory.ts"
import type { Cell, Comparison, LeaderboardData } from "./Leaderboard.ts"
import type { SeedGroup } from "./SeedGroups.ts"

/** A number in a report: four significant digits, `n/a` when not finite. */
export const formatNumber = (x: number | null | undefined): string =>
  x === null || x === undefined || !Number.isFinite(x) ? "n/a" : String(Number(x.toPrecision(4)))

const signed = (x: number): string => (x > 0 ? `+${formatNumber(x)}` : formatNumber(x))

const SORT_SCRIPT = `
for (const th of document.querySelectorAll("#board th[data-sort]")) {
  th.addEventListener("click", () => {
    const body = document.querySelector("#board tbody")
    const i = th.cellIndex
    const asc = th.getAttribute("aria-sort") !== "ascending"
    for (const h of document.querySelectorAll("#board th")) h.removeAttribute("aria-sort")
    th.setAttribute("aria-sort", asc ? "ascending" : "descending")
    const key = (r) => r.cells[i].dataset.v ?? ""
    const rows = [...body.rows].sort((a, b) => {
      const x = key(a), y = key(b)
      if (x === "" || y === "") return (x === "") - (y === "")
      const nx = Number(x), ny = Number(y)
      const c = Number.isNaN(nx) || Number.isNaN(ny) ? x.localeCompare(y) : nx - ny
      return asc ? c : -c
    })
    for (const r of rows) body.appendChild(r)
  })
}
`.trim()

const STYLE = `
:root { color-scheme: light; --fg: #1d232b; --muted: #5d6875; --line: #d9dee4; --good: #1a7f37; --bad: #c2410c; --accent: #3b5bdb; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); margin: 2rem auto; max-width: 1200px; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
.meta { color: var(--muted); margin: 0 0 1.5rem; }
.board { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: .5rem .6rem; text-align: left; vertical-align: top; }
th { background: #f3f5f8; font-weight: 600; white-space: nowrap; }
#board thead th:first-child, #board tbody th { position: sticky; left: 0; z-index: 1; background: #f3f5f8; box-shadow: 1px 0 0 var(--line); }
#board thead th { white-space: normal; } #board thead th .ci { white-space: nowrap; font-weight: 400; }
th[data-sort] { cursor: pointer; } th[data-sort]::after { content: " \\21C5"; color: var(--muted); }
th[aria-sort="ascending"]::after { content: " \\25B2"; } th[aria-sort="descending"]::after { content: " \\25BC"; }
td.num { font-variant-numeric: tabular-nums; }
.value { font-weight: 600; } .ci { color: var(--muted); font-size: .85em; }
.delta { font-size: .85em; } .delta.better { color: var(--good); } .delta.worse { color: var(--bad); }
.delta .verdict { font-weight: 600; color: var(--muted); } .delta .mde { color: var(--muted); font-size: .9em; white-space: nowrap; }
.failed { color: var(--bad); font-weight: 600; } .reason { color: var(--muted); font-size: .8em; max-width: 14rem; overflow-wrap: anywhere; }
.lc { color: var(--muted); font-size: .8em; }
svg.bar { display: block; margin-top: .2rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(18rem, 1fr)); gap: 1rem; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: .8rem 1rem; }
.card h3 { margin: 0 0 .4rem; font-size: 1rem; } .card dl { margin: 0; display: grid; grid-template-columns: auto 1fr; gap: .15rem .8rem; }
.card dt { color: var(--muted); } .card dd { margin: 0; overflow-wrap: anywhere; }
.pass { color: var(--good); } .below { color: var(--bad); }
.checks { font-size: .85em; border-collapse: collapse; margin: .2rem 0 .6rem; } .checks td, .checks th { padding: .15rem .35rem; vertical-align: top; text-align: left; }
.example { border-left: 3px solid var(--line); margin: .8rem 0; padding: .2rem .9rem; }
.example pre { white-space: pre-wrap; font: inherit; margin: .3rem 0; }
.example .who { color: var(--muted); font-size: .85em; }
.findings { border: 1px solid var(--line); border-radius: 8px; padding: .2rem 1rem .6rem; margin: 0 0 1.5rem; }
.findings h3 { font-size: 1rem; margin: .8rem 0 .3rem; } .findings ul { margin: 0; padding-left: 1.2rem; }
.findings li { margin: .15rem 0; overflow-wrap: anywhere; } .findings li.better { color: var(--good); } .findings li.worse { color: var(--bad); }
.hw { display: inline-block; background: #eef1ff; color: var(--accent); border-radius: 4px; padding: 0 .35rem; margin: 0 .25rem .25rem 0; font-size: .85em; }
`.trim()

const ciBar = (ci: readonly [number, number] | null, mean: number | null, lo: number, hi: number): string => {
  if (ci === null || mean === null || !(hi > lo)) return ""
  const w = 120
  const x = (v: number) => Math.max(0, Math.min(w, ((v - lo) / (hi - lo)) * w)).toFixed(1)
  return (
    `<svg class="bar" width="${w}" height="8" viewBox="0 0 ${w} 8" aria-hidden="true">` +
    `<line x1="0" y1="4" x2="${w}" y2="4" stroke="#e3e7ec" stroke-width="2"/>` +
    `<line x1="${x(ci[0])}" y1="4" x2="${x(ci[1])}" y2="4" stroke="#3b5bdb" stroke-width="4"/>` +
    `<circle cx="${x(mean)}" cy="4" r="3" fill="#1d232b"/></svg>`
  )
}

/** The minimum detectable effect as the board shows it: `MDE 0.05`, or `MDE n/a (5 prompts)`. */
export const mdeLabel = (c: Pick<Comparison, "mde" | "n">): string =>
  c.mde === null ? `MDE n/a (${c.n} ${c.n === 1 ? "prompt" : "prompts"})` : `MDE ${formatNumber(c.mde)}`

/** What a comparison's title says in full. */
const comparisonTitle = (c: Comparison): string =>
  `vs ${c.vs} (${c.vsArm}): Δ ${signed(c.delta)} [${formatNumber(c.ci[0])}, ${formatNumber(c.ci[1])}], ` +
  `p = ${formatNumber(c.p)}, Holm p = ${formatNumber(c.pHolm)}, ${c.n} paired prompts; ` +
  `${c.tied ? "tied: within noise (Holm p ≥ 0.05), no direction claimed; " : ""}` +
  (c.mde === null
    ? `no difference is detectable with ${c.n} prompts`
    : `minimum detectable |Δ| ${formatNumber(c.mde)} (80% power, α 0.05 over the comparison's metrics)`)

/**
 * A comparison in a cell: `Δ +0.1**`, `Δ +0.01 tied`, with its minimum detectable effect; `vs
 * control Δ …` when the row has more than its base to compare with.
 */
const renderComparison = (c: Comparison, named: boolean): string =>
  `<div class="delta${c.tied ? " tied" : c.better === null ? "" : c.better ? " better" : " worse"}" ` +
  `title="${escapeHtml(comparisonTitle(c))}">` +
  `${named ? `vs ${escapeHtml(c.vsArm === "hyperwords" ? c.vs : c.vsArm)} ` : ""}Δ ${escapeHtml(signed(c.delta))}` +
  `${c.tied ? ` <span class="verdict">tied</span>` : escapeHtml(c.mark)} <span class="mde">${escapeHtml(mdeLabel(c))}</span></div>`

/** The random-word control line of a cell: the mean above chance, beside the raw mean. */
const renderControl = (control: NonNullable<Extract<Cell, { status: "ok" }>["control"]>): string =>
  `<div class="lc" title="${escapeHtml(`mean minus the random-word control of the same judge (${formatNumber(control.value)}${control.ci ? ` [${formatNumber(control.ci[0])}, ${formatNumber(control.ci[1])}]` : ""}): 0 = chance`)}">` +
  `above chance <span class="value">${escapeHtml(signed(control.above))}</span>` +
  `${control.aboveCi ? ` [${formatNumber(control.aboveCi[0])}, ${formatNumber(control.aboveCi[1])}]` : ""}` +
  ` (control ${formatNumber(control.value)})</div>`

const renderCell = (cell: Cell | undefined, range: readonly [number, number]): string => {
  if (cell === undefined || cell.status === "missing") return `<td class="num" data-v="">–</td>`
  if (cell.status === "failed") {
    return (
      `<td data-v=""><span class="failed" title="${escapeHtml(cell.reason)}">failed</span>` +
      `<div class="reason">${escapeHtml(cell.reason)}</div></td>`
    )
  }
  const ci = cell.ci
    ? `<span class="ci">[${formatNumber(cell.ci[0])}, ${formatNumber(cell.ci[1])}]</span>`
    : ""
  const deltas = (cell.comparisons ?? (cell.delta ? [cell.delta] : []))
    .map((c) => renderComparison(c, (cell.comparisons?.length ?? 1) > 1 || c.vs !== cell.delta?.vs))
    .join("")
  const ratio = cell.ratio
    ? `<div class="lc" title="this version's bits per byte over its base's">ratio to base ` +
      `${formatNumber(cell.ratio.value)}${cell.ratio.ci ? ` [${formatNumber(cell.ratio.ci[0])}, ${formatNumber(cell.ratio.ci[1])}]` : ""}` +
      `${cell.docs === undefined ? "" : `, ${cell.docs} docs`}</div>`
    : ""
  const tokens = cell.tokensPerByte
    ? `<div class="lc" title="tokens per byte of the held-out text under this version's tokenizer (superwords make it smaller)">` +
      `${formatNumber(cell.tokensPerByte.value)} tokens/byte` +
      `${cell.tokensPerByte.base === undefined || cell.tokensPerByte.base === cell.tokensPerByte.value ? "" : ` (base ${formatNumber(cell.tokensPerByte.base)}, ${signed(100 * (cell.tokensPerByte.value / cell.tokensPerByte.base - 1))}%)`}</div>`
    : ""
  const control = cell.control ? renderControl(cell.control) : ""
  const count =
    cell.prompts === undefined
      ? ""
      : `<div class="lc">n ${cell.n} answers, ${cell.prompts} ${cell.prompts === 1 ? "prompt" : "prompts"}</div>`
  const lc =
    cell.length?.applied && cell.length.mean !== undefined
      ? `<div class="lc">length-adjusted ${formatNumber(cell.length.mean)} (r = ${formatNumber(cell.length.r)})</div>`
      : ""
  return (
    `<td class="num" data-v="${cell.mean === null ? "" : cell.mean}"><span class="value">${formatNumber(cell.mean)}</span> ${ci}` +
    `${ciBar(cell.ci, cell.mean, range[0], range[1])}${count}${control}${deltas}${ratio}${tokens}${lc}</td>`
  )
}

const columnRange = (data: LeaderboardData, metric: string): readonly [number, number] => {
  let lo = Number.POSITIVE_INFINITY
  let hi = Number.NEGATIVE_INFINITY
  for (const r of data.rows) {
    const c = r.cells[metric]
    if (c?.status === "ok" && c.ci) {
      lo = Math.min(lo, c.ci[0], c.mean ?? c.ci[0])
      hi = Math.max(hi, c.ci[1], c.mean ?? c.ci[1])
    }
  }
  const pad = (hi - lo) * 0.1 || 1
  return Number.isFinite(lo) ? [lo - pad, hi + pad] : [0, 1]
}

const link = (href: string | undefined, text: string): string => {
  if (href === undefined) return "–"
  const safe = safeHref(href)
  return safe === undefined ? escapeHtml(text) : `<a href="${escapeHtml(safe)}">${escapeHtml(text)}</a>`
}

type CardCheck = NonNullable<
  NonNullable<LeaderboardData["metrics"][number]["validation"]>[number]["card"]
>["checks"][number]

const checkValue = (c: CardCheck): string =>
  `${formatNumber(c.value)}${c.ci ? ` [${formatNumber(c.ci[0])}, ${formatNumber(c.ci[1])}]` : ""}`

const checkStatus = (c: CardCheck): string =>
  c.status === "report" ? "reported" : `${c.status.toUpperCase()}${c.knownFailure ? " (known)" : ""}`

/** A metric's computed cards: one per judge the rows were scored with; "not validated" where there is none. */
const renderCard = (m: LeaderboardData["metrics"][number]): string => {
  const head = `<h3>${escapeHtml(m.name)} <span class="ci">${escapeHtml(m.version)}</span></h3>`
  const desc = m.description ? `<p>${escapeHtml(m.description)}</p>` : ""
  const judges = (m.validation ?? []).map((v) => {
    const who = `<p><b>judge ${escapeHtml(v.judge)}</b>`
    if (!v.card) return `${who}: <span class="below">not validated</span> (no card for this judge)</p>`
    const rows = v.card.checks.map(
      (c) =>
        `<tr title="${escapeHtml(`${c.detail ?? ""}\n${c.command}`)}"><td>${escapeHtml(c.name)}<br><span class="ci">${escapeHtml(c.data)}</span></td>` +
        `<td>${escapeHtml(c.statistic)}</td><td><span class="value">${checkValue(c)}</span></td><td>${c.n}</td>` +
        `<td>${c.floor === undefined ? "–" : `≥ ${formatNumber(c.floor)}`}</td>` +
        `<td class="${c.status === "fail" ? "below" : c.status === "pass" ? "pass" : ""}">${escapeHtml(checkStatus(c))}</td></tr>`
    )
    return (
      `${who}${v.file ? ` <span class="ci">${escapeHtml(v.file)}</span>` : ""}</p>` +
      `<table class="checks"><thead><tr><th>check</th><th>statistic</th><th>value [95% CI]</th><th>n</th><th>floor</th><th>status</th></tr></thead>` +
      `<tbody>${rows.join("")}</tbody></table>`
    )
  })
  return `<div class="card">${head}${desc}${judges.join("")}</div>`
}

const renderExample = (x: LeaderboardData["examples"][number]): string =>
  `<div class="example"><div class="who">${escapeHtml(x.model)}${x.prompt ? ` · ${escapeHtml(x.prompt)}` : ""}</div>` +
  `<pre>${escapeHtml(x.text)}</pre>` +
  (x.hyperwords && x.hyperwords.length > 0
    ? `<div>${x.hyperwords.map((h) => `<span class="hw">${escapeHtml(h)}</span>`).join("")}</div>`
    : "") +
  `</div>`

/** How the numbers are made, said once on the page and in the Markdown. */
const METHOD =
  "Means with 95% bootstrap intervals that resample prompts, then answers within a prompt. Δ is the paired " +
  "difference on shared prompts against the base (and, for a hyperwords version, against the control and " +
  "placebo of its experiment), its interval resampled the same way; its p-value is a sign-flip test over " +
  "prompts, Holm-adjusted over the metrics of each comparison: * p < 0.05, ** p < 0.01, *** p < 0.001. " +
  "A Holm p of 0.05 or more is marked tied (within noise; no direction claimed). MDE is the smallest |Δ| " +
  "the number of prompts detects with 80% power at α 0.05 over the comparison's metrics, from the SD of the " +
  "per-prompt differences. Above chance is the mean minus the random-word control of the same judge."

/** A row's arm as the page says it: `control of finetune`. */
const armText = (r: LeaderboardData["rows"][number]): string =>
  r.arm === "base" || r.experiment === undefined || r.experiment === r.name
    ? r.arm
    : `${r.arm} of ${r.experiment}`

/** The findings grouped by experiment, in the order they come. */
const byExperiment = (data: LeaderboardData) => {
  const groups = new Map<string, Array<LeaderboardData["findings"][number]>>()
  for (const f of data.findings) groups.set(f.experiment, [...(groups.get(f.experiment) ?? []), f])
  return [...groups]
}

const renderFindings = (data: LeaderboardData): string => {
  if (data.findings.length === 0) return ""
  const groups = byExperiment(data)
    .map(
      ([experiment, fs]) =>
        `<h3>experiment: ${escapeHtml(experiment)}</h3><ul>` +
        fs
          .map(
            (f) =>
              `<li class="finding${f.better === null ? "" : f.better ? " better" : " worse"}">${escapeHtml(f.text)}</li>`
          )
          .join("") +
        `</ul>`
    )
    .join("\n")
  return `<section class="findings" id="findings"><h2>What the experiment supports</h2>\n${groups}</section>`
}

const scriptHash = (script: string): string => createHash("sha256").update(script).digest("base64")

/**
 * The page. Its Content-Security-Policy allows no network at all and only the page's own script
 * (by hash), as a second wall behind the escaping. `compare`: a row's comparison page with its
 * base, by row name (the report stage writes `compare-<evaluate stage>.html` beside the board).
 */
export const renderHtml = (
  data: LeaderboardData,
  options: { readonly compare?: Readonly<Record<string, string>> } = {}
): string => {
  const csp =
    `default-src 'none'; style-src 'unsafe-inline'; img-src data:; ` +
    `script-src 'sha256-${scriptHash(SORT_SCRIPT)}' 'sha256-${scriptHash(FILTER_SCRIPT)}'; base-uri 'none'; form-action 'none'`
  const head = data.metrics
    .map(
      (m, i) =>
        `<th data-sort="${i}" data-metric="${escapeHtml(m.name)}" title="${escapeHtml(m.description)}">${escapeHtml(m.label ?? m.name)} ` +
        `<span class="ci" title="${m.higherIsBetter ? "higher is better" : "lower is better"}">` +
        `${m.higherIsBetter ? "(↑ better)" : "(↓ better)"}</span></th>`
    )
    .join("")
  const ranges = new Map(data.metrics.map((m) => [m.name, columnRange(data, m.name)]))
  const anyProvenance = data.rows.some((r) => r.provenance !== undefined)
  const body = data.rows
    .map(
      (r) =>
        `<tr data-base-model="${escapeHtml(r.baseModel ?? "")}" data-version="${escapeHtml(`${r.name} ${r.arm}`)}">` +
        `<th scope="row" data-v="${escapeHtml(r.name)}">${escapeHtml(r.name)}` +
        `<div class="ci">${escapeHtml(r.model.id)} @ ${escapeHtml(r.model.revision.slice(0, 12))}</div>` +
        `<div class="ci">${escapeHtml(armText(r))}</div></th>` +
        `<td data-v="${escapeHtml(r.base ?? "")}">${r.base === undefined ? "–" : escapeHtml(r.base)}</td>` +
        data.metrics.map((m) => renderCell(r.cells[m.name], ranges.get(m.name)!)).join("") +
        `<td>${link(r.probeReport, "probe report")}` +
        `${options.compare?.[r.name] === undefined ? "" : `<div>${link(options.compare[r.name], `compare with ${r.base ?? "base"}`)}</div>`}</td>` +
        `${anyProvenance ? renderProvenance(r.provenance) : ""}</tr>`
    )
    .join("\n")
  return `<!doctype html>
<html lang="en">
${pageHead({ title: data.title, csp, style: STYLE })}
<body>
<h1>${escapeHtml(data.title)}</h1>
<p class="meta">Generated ${escapeHtml(data.generatedAt)}. ${escapeHtml(METHOD)}</p>
${renderFindings(data)}
${filterBar(data)}
<div class="board"><table id="board">
<thead><tr><th data-sort="name">model version</th><th data-sort="base">base</th>${head}<th>probe</th>${anyProvenance ? `<th data-sort="run">run</th>` : ""}</tr></thead>
<tbody>
${body}
</tbody>
</table></div>
${renderSeedGroups(data)}
<h2>Metric cards</h2>
<div class="cards">${data.metrics.map(renderCard).join("\n")}</div>
${data.examples.length > 0 ? `<h2>Examples</h2>\n${data.examples.map(renderExample).join("\n")}` : ""}
<script type="application/json" id="leaderboard-data">${jsonForScript(data)}</script>
<script>${SORT_SCRIPT}</script>
<script>${FILTER_SCRIPT}</script>
</body>
</html>
`
}

/**
 * A row's run cell: this run or an earlier one (its date), and the details — commit, stage key,
 * artifact hashes, its config as a difference from its base and what changed since the same
 * version's previous row — with a link to the per-sample scores behind its cells.
 */
const renderProvenance = (p: RowProvenance | undefined): string => {
  if (p === undefined) return `<td data-v="">–</td>`
  const when = p.date === "unknown" ? "date unknown" : p.date.slice(0, 16).replace("T", " ")
  const item = (label: string, value: string) =>
    `<li>${escapeHtml(label)}: <code>${escapeHtml(value)}</code></li>`
  const lines = [
    item("commit", p.commit),
    item("stage", p.stage),
    item("key", p.key),
    item("EvalRun", p.artifacts.evalRun),
    item("Generations", p.artifacts.generations),
    ...(p.artifacts.model === undefined ? [] : [item("ModelVersion", p.artifacts.model)]),
    `<li>config vs its base: ${p.config.length === 0 ? "the base itself" : escapeHtml(p.config.join("; "))}</li>`,
    ...(p.changes === undefined
      ? []
      : [
          `<li>since its previous row: ${p.changes.length === 0 ? "no config change" : escapeHtml(p.changes.join("; "))}</li>`
        ])
  ]
  return (
    `<td class="run" data-v="${escapeHtml(p.date)}">${p.run === "current" ? "this run" : "earlier run"}` +
    `<div class="ci">${escapeHtml(when)}</div>` +
    `<div>${link(p.samples, "per-sample scores")}</div>` +
    `<details><summary>details</summary><ul>${lines.join("")}</ul></details></td>`
  )
}

const SEED_GROUPS_NOTE =
  "Each setting trained with several seeds: per metric, the mean over the training runs of each run's mean, with a 95% Student-t interval over the runs (n = runs)."

const groupValue = (g: SeedGroup, metric: string): string => {
  const c = g.cells[metric]
  if (c === undefined) return "–"
  return `${formatNumber(c.mean)}${c.ci ? ` [${formatNumber(c.ci[0])}, ${formatNumber(c.ci[1])}]` : ""} (n ${c.n})`
}

/** The seed groups as a Markdown table (none without groups). */
const seedGroupsMarkdown = (data: LeaderboardData): Array<string> => {
  const groups = data.seedGroups ?? []
  if (groups.length === 0) return []
  const md = escapeMarkdown
  return [
    "## Repeated training runs",
    "",
    md(SEED_GROUPS_NOTE),
    "",
    `| setting | seeds | ${data.metrics.map((m) => md(m.label ?? m.name)).join(" | ")} |`,
    `|${" --- |".repeat(data.metrics.length + 2)}`,
    ...groups.map(
      (g) =>
        `| ${md(g.name)} | ${g.seeds.join(", ")} | ${data.metrics.map((m) => groupValue(g, m.name)).join(" | ")} |`
    ),
    ""
  ]
}

/** The seed groups as an HTML table (empty without groups). */
const renderSeedGroups = (data: LeaderboardData): string => {
  const groups = data.seedGroups ?? []
  if (groups.length === 0) return ""
  const head = data.metrics.map((m) => `<th>${escapeHtml(m.label ?? m.name)}</th>`).join("")
  const body = groups
    .map(
      (g) =>
        `<tr><th scope="row" title="${escapeHtml(g.config.join("; "))}">${escapeHtml(g.name)}<div class="ci">${escapeHtml(g.rows.join(", "))}</div></th>` +
        `<td>${escapeHtml(g.seeds.join(", "))}</td>` +
        data.metrics.map((m) => `<td>${escapeHtml(groupValue(g, m.name))}</td>`).join("") +
        `</tr>`
    )
    .join("\n")
  return `<section id="seed-groups"><h2>Repeated training runs</h2><p class="meta">${escapeHtml(SEED_GROUPS_NOTE)}</p>
<div class="board"><table><thead><tr><th>setting</th><th>seeds</th>${head}</tr></thead><tbody>
${body}
</tbody></table></div></section>`
}

/** The Markdown table and cards. */
export const renderMarkdown = (data: LeaderboardData): string => {
  const md = escapeMarkdown
  const header = `| model version | base | ${data.metrics.map((m) => `${md(m.label ?? m.name)} ${m.higherIsBetter ? "↑" : "↓"}`).join(" | ")} | probe |`
  const rule = `|${" --- |".repeat(data.metrics.length + 3)}`
  const cell = (c: Cell | undefined): string => {
    if (c === undefined || c.status === "missing") return "–"
    if (c.status === "failed") return md(/^failed\b/.test(c.reason) ? c.reason : `failed: ${c.reason}`)
    const ci = c.ci ? ` [${formatNumber(c.ci[0])}, ${formatNumber(c.ci[1])}]` : ""
    const verdict = (x: Comparison) => `${x.tied ? " tied" : md(x.mark)} (${md(mdeLabel(x))})`
    const others = (c.comparisons ?? [])
      .filter((x) => x.vs !== c.delta?.vs)
      .map((x) => ` vs ${md(x.vsArm === "hyperwords" ? x.vs : x.vsArm)} Δ ${signed(x.delta)}${verdict(x)}`)
      .join("")
    const d = c.delta
      ? `${others === "" ? "" : " vs base"} Δ ${signed(c.delta.delta)}${verdict(c.delta)}`
      : ""
    const control = c.control
      ? ` above chance ${signed(c.control.above)}${c.control.aboveCi ? ` [${formatNumber(c.control.aboveCi[0])}, ${formatNumber(c.control.aboveCi[1])}]` : ""} (control ${formatNumber(c.control.value)})`
      : ""
    const ratio = c.ratio
      ? ` ratio to base ${formatNumber(c.ratio.value)}${c.ratio.ci ? ` [${formatNumber(c.ratio.ci[0])}, ${formatNumber(c.ratio.ci[1])}]` : ""}`
      : ""
    const tokens = c.tokensPerByte ? `, ${formatNumber(c.tokensPerByte.value)} tokens/byte` : ""
    return `${formatNumber(c.mean)}${ci}${control}${d}${others}${ratio}${tokens}`
  }
  const probe = (href: string | undefined): string => {
    if (href === undefined) return "–"
    const safe = safeHref(href)
    return safe === undefined ? md(href) : `[probe report](<${safe.replace(/[<>\s]/g, encodeURIComponent)}>)`
  }
  const rows = data.rows.map(
    (r) =>
      `| ${md(r.name)} | ${r.base === undefined ? "–" : md(r.base)} | ${data.metrics.map((m) => cell(r.cells[m.name])).join(" | ")} | ${probe(r.probeReport)} |`
  )
  const findings = byExperiment(data).flatMap(([experiment, fs]) => [
    `### experiment: ${md(experiment)}`,
    "",
    ...fs.map((f) => `- ${md(f.text)}`),
    ""
  ])
  if (findings.length > 0) findings.unshift("## What the experiment supports", "")
  const cards = data.metrics.flatMap((m) => [
    `- **${md(m.name)}** ${md(m.version)}: ${md(m.description)}`,
    ...(m.validation ?? []).flatMap((v) =>
      v.card
        ? [
            `  - judge ${md(v.judge)}${v.file ? ` (${md(v.file)})` : ""}:`,
            ...v.card.checks.map(
              (c) =>
                `    - ${md(c.name)} — ${md(c.data)}: ${md(c.statistic)} = ${checkValue(c)}, n = ${c.n}` +
                `${c.floor === undefined ? "" : `, floor ${formatNumber(c.floor)}`}: ${md(checkStatus(c))}`
            )
          ]
        : [`  - judge ${md(v.judge)}: not validated (no card for this judge)`]
    )
  ])
  return [
    `# ${md(data.title)}`,
    "",
    `Generated ${md(data.generatedAt)}. ${md(METHOD)}`,
    "",
    ...findings,
    header,
    rule,
    ...rows,
    "",
    ...seedGroupsMarkdown(data),
    "## Metric cards",
    "",
    ...cards,
    ""
  ].join("\n")
}
