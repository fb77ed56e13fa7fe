/**
 * The leaderboard's filters, client-side: rows by base model and by version (name or arm), the
 * metric columns by metric. Several base models share one board (`Bases.ts`); sorting is the
 * page's own (`LeaderboardPage.ts`, a click on a heading).
 */
import { escapeHtml } from "@hyperwords/core/Html"
import type { LeaderboardData } from "./Leaderboard.ts"

/** The filter script (hashed into the page's Content-Security-Policy). */
export const FILTER_SCRIPT = `
const board = document.getElementById("board")
const pick = (id) => document.getElementById(id)
const apply = () => {
  const base = pick("f-base").value
  const version = pick("f-version").value.trim().toLowerCase()
  const metric = pick("f-metric").value
  for (const r of board.tBodies[0].rows) {
    r.hidden = !((base === "" || r.dataset.baseModel === base) &&
      (version === "" || (r.dataset.version ?? "").toLowerCase().includes(version)))
  }
  const heads = board.tHead.rows[0].cells
  for (let i = 0; i < heads.length; i++) {
    const m = heads[i].dataset.metric
    if (m === undefined) continue
    const show = metric === "" || metric === m
    heads[i].hidden = !show
    for (const r of board.tBodies[0].rows) if (r.cells[i]) r.cells[i].hidden = !show
  }
}
for (const id of ["f-base", "f-version", "f-metric"]) pick(id).addEventListener("input", apply)
`.trim()

const options = (values: ReadonlyArray<string>, all: string) =>
  [
    `<option value="">${escapeHtml(all)}</option>`,
    ...values.map((v) => `<option>${escapeHtml(v)}</option>`)
  ].join("")

/** The filter bar above the board, and the judge the whole board was scored with. */
export const filterBar = (data: LeaderboardData): string => {
  const bases = [...new Set(data.rows.flatMap((r) => (r.baseModel === undefined ? [] : [r.baseModel])))]
  const judges = data.judges ?? []
  const judge =
    judges.length === 0
      ? ""
      : judges.length === 1
        ? `<p class="meta" id="judge">Judge: <b>${escapeHtml(judges[0]!)}</b>, the same for every row, so scores compare across base models.</p>`
        : `<p class="meta below" id="judge">Several judges: ${judges.map(escapeHtml).join(", ")} — scores of rows with different judges do not compare.</p>`
  return (
    `${judge}<p class="filters">` +
    `<label>base model <select id="f-base">${options(bases, "all")}</select></label> ` +
    `<label>version <input id="f-version" type="search" placeholder="name or arm"></label> ` +
    `<label>metric <select id="f-metric">${options(
      data.metrics.map((m) => m.name),
      "all"
    )}</select></label></p>`
  )
}
