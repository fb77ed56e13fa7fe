/**
 * The comparison page: one self-contained HTML file (inline CSS and one script, no network; a
 * Content-Security-Policy that allows only that script, by hash). Every sample of both versions
 * side by side with every metric, the samples that flipped most first (`ComparePairs.ts` says the
 * rule), filters by task and language, and a permalink per sample (`#sample-<id>`: opening the
 * page with it scrolls to the sample and highlights it, clearing a filter that hides it). Every
 * text passes through `escapeHtml`.
 */
import { createHash } from "node:crypto"
import { escapeHtml, pageHead, safeHref, showControls } from "@hyperwords/core/Html"
import { type CompareData, type CompareSide, FLIP_RULE, type SamplePair } from "./ComparePairs.ts"
import { formatNumber } from "./LeaderboardPage.ts"

/** The page's one script: the filters, the counts, and the permalink's highlight. */
export const COMPARE_SCRIPT = `
const samples = [...document.querySelectorAll("section.sample")]
const task = document.getElementById("f-task")
const lang = document.getElementById("f-lang")
const count = document.getElementById("count")
const apply = () => {
  let shown = 0
  for (const s of samples) {
    const ok = (task.value === "" || s.dataset.task === task.value) && (lang.value === "" || s.dataset.lang === lang.value)
    s.hidden = !ok
    if (ok) shown++
  }
  count.textContent = shown + " of " + samples.length + " samples shown"
}
const focus = () => {
  for (const s of document.querySelectorAll("section.sample.highlight")) s.classList.remove("highlight")
  let id = location.hash.slice(1)
  try { id = decodeURIComponent(id) } catch {}
  const el = id === "" ? null : document.getElementById(id)
  if (el === null || !el.classList.contains("sample")) return
  if (el.hidden) { task.value = ""; lang.value = ""; apply() }
  el.classList.add("highlight")
  el.scrollIntoView({ block: "start" })
}
task.addEventListener("change", apply)
lang.addEventListener("change", apply)
window.addEventListener("hashchange", focus)
apply()
focus()
`.trim()

const STYLE = `
:root { color-scheme: light; --fg: #1d232b; --muted: #5d6875; --line: #d9dee4; --good: #1a7f37; --bad: #c2410c; --accent: #3b5bdb; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); margin: 2rem auto; max-width: 1200px; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin: 0 0 .4rem; } h2 { font-size: 1.15rem; margin-top: 1.6rem; }
.meta, .muted { color: var(--muted); } .meta { margin: 0 0 1rem; }
table { border-collapse: collapse; } th, td { border-bottom: 1px solid var(--line); padding: .3rem .55rem; text-align: left; vertical-align: top; }
th { background: #f3f5f8; font-weight: 600; } td.num { font-variant-numeric: tabular-nums; }
.sides { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; } .side { border: 1px solid var(--line); border-radius: 8px; padding: .5rem .9rem; overflow-wrap: anywhere; }
.side dl { display: grid; grid-template-columns: auto 1fr; gap: .1rem .7rem; margin: .3rem 0; } .side dt { color: var(--muted); } .side dd { margin: 0; }
.filters { position: sticky; top: 0; background: #fff; border-bottom: 1px solid var(--line); padding: .5rem 0; margin: 1rem 0; z-index: 2; display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; }
section.sample { border: 1px solid var(--line); border-radius: 8px; padding: .5rem .9rem .7rem; margin: .8rem 0; scroll-margin-top: 4rem; }
section.sample.highlight, section.sample:target { border-color: var(--accent); box-shadow: 0 0 0 3px #c5d0fa; }
section.sample h3 { font-size: 1rem; margin: 0 0 .3rem; display: flex; gap: .6rem; align-items: baseline; flex-wrap: wrap; }
.permalink { color: var(--muted); text-decoration: none; } .sid { font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
.tag { background: #eef1ff; color: var(--accent); border-radius: 4px; padding: 0 .35rem; font-size: .85em; font-weight: 400; }
.flip { color: var(--muted); font-weight: 400; font-size: .9em; }
.prompt { color: var(--muted); white-space: pre-wrap; overflow-wrap: anywhere; margin: .2rem 0 .5rem; }
.answers { display: grid; grid-template-columns: 1fr 1fr; gap: .8rem; }
.answer { border-left: 3px solid var(--line); padding: .1rem .7rem; min-width: 0; } .answer.b { border-left-color: var(--accent); }
.answer pre { white-space: pre-wrap; overflow-wrap: anywhere; font: inherit; margin: .2rem 0; } .who { color: var(--muted); font-size: .85em; }
.none { color: var(--muted); font-style: italic; }
table.scores { margin-top: .5rem; font-size: .9em; }
.better { color: var(--good); } .worse { color: var(--bad); } .failed { color: var(--bad); }
`.trim()

const scriptHash = (script: string): string => createHash("sha256").update(script).digest("base64")

const signed = (x: number | null): string => (x !== null && x > 0 ? `+${formatNumber(x)}` : formatNumber(x))

const link = (href: string | undefined, text: string): string => {
  const safe = href === undefined ? undefined : safeHref(href)
  return safe === undefined ? "" : `<a href="${escapeHtml(safe)}">${escapeHtml(text)}</a>`
}

const renderSide = (label: "A" | "B", s: CompareSide): string => {
  const rows: Array<[string, string]> = [
    ["model", `${escapeHtml(s.model.id)} @ ${escapeHtml(s.model.revision.slice(0, 12))}`],
    ...(s.stage === undefined ? [] : [["stage", escapeHtml(s.stage)] as [string, string]]),
    ...(s.key === undefined ? [] : [["stage key", escapeHtml(s.key.slice(0, 16))] as [string, string]]),
    ...(s.scores === undefined ? [] : [["EvalRun", escapeHtml(s.scores.slice(0, 16))] as [string, string]]),
    ...(s.createdAt === undefined ? [] : [["evaluated", escapeHtml(s.createdAt)] as [string, string]]),
    ["answers", String(s.answers.length)],
    [
      "probe",
      s.probeReport === undefined
        ? `<span class="none">no probe report in the store</span>`
        : link(s.probeReport, s.probeLabel ?? "probe report") || escapeHtml(s.probeReport)
    ]
  ]
  return (
    `<div class="side side-${label.toLowerCase()}"><h2>${label}: ${escapeHtml(s.name)}</h2><dl>` +
    rows.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${v}</dd>`).join("") +
    `</dl></div>`
  )
}

const verdictClass = (better: boolean | null): string =>
  better === null ? "" : better ? ` class="better"` : ` class="worse"`

const renderSummary = (data: CompareData): string => {
  const rows = data.metrics.map(
    (m) =>
      `<tr><th scope="row">${escapeHtml(m.name)} <span class="muted">${m.higherIsBetter ? "↑" : "↓"}</span>` +
      `${m.failed ? ` <span class="failed">failed in a run</span>` : ""}</th>` +
      `<td class="num">${m.n}</td><td class="num">${formatNumber(m.meanA)}</td><td class="num">${formatNumber(m.meanB)}</td>` +
      `<td class="num"${verdictClass(m.meanDelta === null || m.meanDelta === 0 ? null : m.meanDelta > 0 === m.higherIsBetter)}>${escapeHtml(signed(m.meanDelta))}</td>` +
      `<td class="num">${m.bBetter} / ${m.aBetter}</td></tr>`
  )
  return (
    `<table class="summary"><thead><tr><th>metric</th><th>paired samples</th><th>A mean</th><th>B mean</th>` +
    `<th>Δ mean (B − A)</th><th>B better / A better</th></tr></thead>` +
    `<tbody>${rows.join("")}</tbody></table>`
  )
}

const answer = (side: "a" | "b", who: string, text: string | undefined): string =>
  `<div class="answer ${side}"><div class="who">${escapeHtml(who)}</div>` +
  (text === undefined
    ? `<div class="none">no answer in this run</div>`
    : text.trim() === ""
      ? `<div class="none">(empty answer)</div>`
      : `<pre>${escapeHtml(showControls(text))}</pre>`) +
  `</div>`

const renderPair = (data: CompareData, p: SamplePair, rank: number): string => {
  const scores = p.metrics
    .filter((m) => m.a !== null || m.b !== null)
    .map(
      (m) =>
        `<tr><th scope="row">${escapeHtml(m.metric)}</th><td class="num">${formatNumber(m.a)}</td>` +
        `<td class="num">${formatNumber(m.b)}</td><td class="num"${verdictClass(m.better)}>${escapeHtml(signed(m.delta))}</td>` +
        `<td class="num">${escapeHtml(signed(m.shift))}</td></tr>`
    )
  const flip =
    p.flip === null
      ? `<span class="flip">not scored on both sides</span>`
      : `<span class="flip">flip ${formatNumber(p.flip)}${p.flipMetric === undefined ? "" : ` (${escapeHtml(p.flipMetric)})`}</span>`
  return (
    `<section class="sample" id="${escapeHtml(p.anchor)}" data-task="${escapeHtml(p.task ?? "")}" data-lang="${escapeHtml(p.lang ?? "")}">` +
    `<h3><a class="permalink" href="#${escapeHtml(p.anchor)}" title="permalink to this sample">#${rank}</a>` +
    `<span class="sid">${escapeHtml(p.id)}</span>` +
    (p.task === undefined ? "" : `<span class="tag">${escapeHtml(p.task)}</span>`) +
    (p.lang === undefined ? "" : `<span class="tag">${escapeHtml(p.lang)}</span>`) +
    `${flip}</h3>` +
    (p.prompt === undefined ? "" : `<div class="prompt">${escapeHtml(p.prompt)}</div>`) +
    (p.request === undefined ? "" : `<div class="prompt">asked for: ${escapeHtml(p.request)}</div>`) +
    `<div class="answers">${answer("a", `A · ${data.a.name}`, p.a)}${answer("b", `B · ${data.b.name}`, p.b)}</div>` +
    (scores.length === 0
      ? `<div class="none">no metric scored this sample</div>`
      : `<table class="scores"><thead><tr><th>metric</th><th>A</th><th>B</th><th>Δ (B − A)</th><th>shift</th></tr></thead>` +
        `<tbody>${scores.join("")}</tbody></table>`) +
    `</section>`
  )
}

const options = (label: string, values: ReadonlyArray<string>): string =>
  `<option value="">every ${escapeHtml(label)}</option>` +
  values.map((v) => `<option value="${escapeHtml(v)}">${escapeHtml(v)}</option>`).join("")

/** The page. */
export const renderComparePage = (data: CompareData): string => {
  const csp =
    `default-src 'none'; style-src 'unsafe-inline'; img-src data:; ` +
    `script-src 'sha256-${scriptHash(COMPARE_SCRIPT)}'; base-uri 'none'; form-action 'none'`
  const paired = data.pairs.filter((p) => p.flip !== null).length
  return `<!doctype html>
<html lang="en">
${pageHead({ title: data.title, csp, style: STYLE })}
<body>
<h1>${escapeHtml(data.title)}</h1>
<p class="meta">Generated ${escapeHtml(data.generatedAt)}. ${data.pairs.length} samples, ${paired} scored on both sides. ${escapeHtml(FLIP_RULE)}</p>
<div class="sides">${renderSide("A", data.a)}${renderSide("B", data.b)}</div>
<h2>Metrics over the paired samples</h2>
${renderSummary(data)}
<h2>Samples, the most flipped first</h2>
<div class="filters" role="search">
<label>task <select id="f-task">${options("task", data.tasks)}</select></label>
<label>language <select id="f-lang">${options("language", data.langs)}</select></label>
<span id="count" class="muted">${data.pairs.length} samples</span>
</div>
<div id="samples">
${data.pairs.map((p, i) => renderPair(data, p, i + 1)).join("\n")}
</div>
<script>${COMPARE_SCRIPT}</script>
</body>
</html>
`
}
