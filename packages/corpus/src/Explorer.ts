/**
 * The field explorer: one self-contained HTML page (no network, no CDN) that draws the field's
 * clouds as a graph on a canvas from the precomputed layout, with a search box and, for a chosen
 * hyperword, its parts, senses, evidence lines and neighbours. Every text of the data travels as
 * escaped JSON in a `<script type="application/json">` block and reaches the page only through
 * `textContent`; a Content-Security-Policy that allows only the page's own script (by hash) is a
 * second wall behind that.
 */
import { createHash } from "node:crypto"
import type { HyperwordRecord } from "@hyperwords/core/Artifacts"
import { escapeHtml, jsonForScript, pageHead } from "@hyperwords/core/Html"
import type { Field } from "./Field.ts"

/** What the page shows besides the field. */
export interface ExplorerMeta {
  readonly title: string
  readonly model: string
  readonly layer: number
}

/** The page's data: compact arrays, indices into `nodes`. */
export interface ExplorerData {
  readonly title: string
  readonly model: string
  readonly layer: number
  readonly clouds: ReadonlyArray<{
    readonly id: string
    readonly size: number
    readonly hyperwords: number
    readonly cohesion: number
    readonly label: string
  }>
  /** `[kind (0 hyperword, 1 part), lang, text, cloud index, x, y]` per node. */
  readonly nodes: ReadonlyArray<readonly [0 | 1, string, string, number, number, number]>
  /** `[source, target, kind (0 part, 1 co-occurrence, 2 similarity)]` flattened. */
  readonly edges: ReadonlyArray<number>
  readonly neighbours: ReadonlyArray<ReadonlyArray<number>>
  /** Per hyperword node index: what the panel shows. */
  readonly records: Readonly<Record<string, ExplorerRecord>>
}

/** The panel's view of a hyperword. */
export interface ExplorerRecord {
  readonly id: string
  readonly origin: string
  readonly parts: ReadonlyArray<string>
  /** Node indices of the parts. */
  readonly partNodes: ReadonlyArray<number>
  readonly gloss?: string
  readonly senses?: Readonly<Record<string, number>>
  readonly evidence: ReadonlyArray<{ readonly doc: string; readonly line: number; readonly text: string }>
  readonly composition: number
  readonly count?: number
}

const edgeKinds = { part: 0, cooccurrence: 1, similarity: 2 } as const

/** The page's data from a field and its records (records in the order the field was built from). */
export const explorerData = (
  field: Field,
  records: ReadonlyArray<HyperwordRecord>,
  meta: ExplorerMeta
): ExplorerData => {
  const cloudIndex = new Map(field.clouds.map((c, i) => [c.id, i]))
  const nodeIndex = new Map(field.nodes.map((n, i) => [n.id, i]))
  const out: Record<string, ExplorerRecord> = {}
  records.forEach((r, i) => {
    const at = nodeIndex.get(r.id)
    if (at === undefined) return
    out[String(at)] = {
      id: r.id,
      origin: r.origin,
      parts: r.parts,
      partNodes: r.parts.map((p) => nodeIndex.get(`part:${r.lang}:${p.toLowerCase()}`) ?? -1),
      ...(r.gloss === undefined ? {} : { gloss: r.gloss }),
      ...(r.senses === undefined ? {} : { senses: r.senses }),
      evidence: r.evidence ?? [],
      composition: field.hyperwords[i]!.composition,
      ...(r.stats === undefined ? {} : { count: r.stats.count })
    }
  })
  return {
    ...meta,
    clouds: field.clouds,
    nodes: field.nodes.map((n) => [
      n.kind === "hyperword" ? 0 : 1,
      n.lang,
      n.text,
      cloudIndex.get(n.cloud)!,
      n.x,
      n.y
    ]),
    edges: field.edges.flatMap((e) => [e.source, e.target, edgeKinds[e.kind]]),
    neighbours: field.neighbours,
    records: out
  }
}

const STYLE = `
*{box-sizing:border-box}body{margin:0;font:14px/1.4 system-ui,sans-serif;color:#1d2430;background:#fbfaf7;display:flex;height:100vh;overflow:hidden}
#graph{flex:1;position:relative;min-width:0}#graph canvas{display:block;width:100%;height:100%;cursor:grab}
aside{width:380px;border-left:1px solid #ddd;background:#fff;overflow:auto;padding:12px 14px}
h1{font-size:16px;margin:0 0 4px}.meta{color:#667;font-size:12px;margin:0 0 10px}
input{width:100%;padding:6px 8px;font:inherit;border:1px solid #bbb;border-radius:4px}
button.item{display:block;width:100%;text-align:left;border:0;background:none;padding:3px 4px;font:inherit;cursor:pointer;border-radius:3px}
button.item:hover{background:#eef}button.chip{border:1px solid #ccd;background:#f4f5fb;border-radius:10px;padding:1px 8px;margin:2px;font:inherit;cursor:pointer}
h2{font-size:14px;margin:14px 0 4px}h3{font-size:13px;margin:10px 0 2px;color:#445}
.word{font-size:18px;font-weight:600;word-break:break-all}.small{color:#667;font-size:12px}
.ev{margin:4px 0;padding-left:8px;border-left:3px solid #dde}.bar{display:inline-block;height:8px;background:#7a8bd6;vertical-align:middle}
table{border-collapse:collapse}td{padding:1px 6px 1px 0}.swatch{display:inline-block;width:10px;height:10px;border-radius:5px;margin-right:4px}
`

// The page's only script. It reads the data block and builds every element with textContent.
const SCRIPT = `
(() => {
  const data = JSON.parse(document.getElementById("field-data").textContent);
  const canvas = document.getElementById("canvas");
  const ctx = canvas.getContext("2d");
  const panel = document.getElementById("panel");
  const results = document.getElementById("results");
  const search = document.getElementById("search");
  const nodes = data.nodes, edges = data.edges;
  const hue = (c) => (c * 137.508) % 360;
  const colour = (c, a) => "hsla(" + hue(c) + ",65%," + (c < 12 ? 45 : 60) + "%," + a + ")";
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  for (const n of nodes) { minX = Math.min(minX, n[4]); maxX = Math.max(maxX, n[4]); minY = Math.min(minY, n[5]); maxY = Math.max(maxY, n[5]); }
  if (!isFinite(minX)) { minX = maxX = minY = maxY = 0; }
  const view = { scale: 1, dx: 0, dy: 0 };
  let selected = -1, cloudFocus = -1, width = 0, height = 0;
  const fit = () => {
    const w = Math.max(1e-9, maxX - minX), h = Math.max(1e-9, maxY - minY);
    view.scale = 0.9 * Math.min(width / w, height / h);
    view.dx = width / 2 - view.scale * (minX + maxX) / 2;
    view.dy = height / 2 - view.scale * (minY + maxY) / 2;
  };
  const sx = (n) => view.dx + view.scale * n[4];
  const sy = (n) => view.dy + view.scale * n[5];
  const resize = () => {
    const r = canvas.parentElement.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    const first = width === 0;
    width = r.width; height = r.height;
    canvas.width = Math.round(width * dpr); canvas.height = Math.round(height * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    if (first) fit();
    draw();
  };
  const draw = () => {
    ctx.fillStyle = "#fbfaf7"; ctx.fillRect(0, 0, width, height);
    ctx.lineWidth = 0.6;
    for (let i = 0; i < edges.length; i += 3) {
      const a = nodes[edges[i]], b = nodes[edges[i + 1]];
      const on = selected === edges[i] || selected === edges[i + 1];
      const inCloud = cloudFocus >= 0 && a[3] === cloudFocus && b[3] === cloudFocus;
      ctx.strokeStyle = on ? "rgba(20,20,60,0.8)" : a[3] === b[3] ? colour(a[3], inCloud ? 0.35 : 0.12) : "rgba(120,120,120,0.06)";
      ctx.beginPath(); ctx.moveTo(sx(a), sy(a)); ctx.lineTo(sx(b), sy(b)); ctx.stroke();
    }
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i];
      const dim = cloudFocus >= 0 && n[3] !== cloudFocus;
      ctx.fillStyle = colour(n[3], dim ? 0.15 : 0.9);
      const r = n[0] === 0 ? 3 : 2;
      ctx.beginPath(); ctx.arc(sx(n), sy(n), r, 0, 6.2832); ctx.fill();
    }
    if (selected >= 0) {
      const n = nodes[selected];
      ctx.strokeStyle = "#111"; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.arc(sx(n), sy(n), 7, 0, 6.2832); ctx.stroke();
      ctx.font = "600 13px system-ui"; ctx.fillStyle = "#111";
      ctx.fillText(n[2], sx(n) + 9, sy(n) - 9);
    }
  };
  const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = String(text); if (cls) e.className = cls; return e; };
  const nodeButton = (i, cls) => {
    const b = el("button", nodes[i][2], cls || "chip");
    b.addEventListener("click", () => select(i, true));
    return b;
  };
  const cloudLine = (c) => {
    const cl = data.clouds[c];
    const p = el("div", undefined, "small");
    const sw = el("span", undefined, "swatch"); sw.style.background = colour(c, 0.9);
    p.append(sw, el("span", cl.id + " · " + cl.label + " — " + cl.size + " nodes, cohesion " + cl.cohesion.toFixed(2)));
    return p;
  };
  const select = (i, centre) => {
    selected = i; cloudFocus = i >= 0 ? nodes[i][3] : -1;
    if (i >= 0 && centre) { view.dx = width / 2 - view.scale * nodes[i][4]; view.dy = height / 2 - view.scale * nodes[i][5]; }
    panel.replaceChildren();
    if (i < 0) { draw(); return; }
    const n = nodes[i];
    panel.append(el("div", n[2], "word"), el("div", (n[0] === 0 ? "hyperword" : "part") + " · " + n[1], "small"), cloudLine(n[3]));
    const rec = data.records[String(i)];
    if (rec) {
      if (rec.gloss) panel.append(el("p", rec.gloss));
      panel.append(el("h3", "parts"));
      const parts = el("div", undefined, "parts");
      rec.parts.forEach((p, k) => parts.append(rec.partNodes[k] >= 0 ? nodeButton(rec.partNodes[k]) : el("span", p, "chip")));
      panel.append(parts);
      panel.append(el("div", "composition " + rec.composition.toFixed(3) + " · " + rec.origin + (rec.count ? " · seen " + rec.count + "×" : ""), "small"));
      if (rec.senses) {
        panel.append(el("h3", "senses"));
        const t = el("table", undefined, "senses");
        for (const [k, v] of Object.entries(rec.senses)) {
          const tr = el("tr"); const bar = el("span", undefined, "bar"); bar.style.width = Math.round(Math.max(0, Math.min(1, v)) * 120) + "px";
          const td = el("td"); td.append(bar, el("span", " " + Number(v).toFixed(2), "small"));
          tr.append(el("td", k), td); t.append(tr);
        }
        panel.append(t);
      }
      if (rec.evidence.length) {
        panel.append(el("h3", "evidence"));
        for (const e of rec.evidence) { const d = el("div", undefined, "ev"); d.append(el("div", e.text), el("div", e.doc + ":" + e.line, "small")); panel.append(d); }
      }
    } else {
      const used = Object.keys(data.records).filter((k) => data.records[k].partNodes.includes(i)).slice(0, 30);
      if (used.length) { panel.append(el("h3", "in hyperwords")); const d = el("div"); for (const k of used) d.append(nodeButton(Number(k))); panel.append(d); }
    }
    const nb = data.neighbours[i] || [];
    if (nb.length) { panel.append(el("h3", "neighbours")); const d = el("div", undefined, "neighbours"); for (const j of nb) d.append(nodeButton(j)); panel.append(d); }
    draw();
  };
  const showClouds = () => {
    results.replaceChildren(el("h2", "clouds"));
    data.clouds.slice(0, 40).forEach((c, k) => {
      const b = el("button", undefined, "item"); b.append(cloudLine(k));
      b.addEventListener("click", () => { selected = -1; cloudFocus = k; panel.replaceChildren(cloudLine(k)); draw(); });
      results.append(b);
    });
  };
  search.addEventListener("input", () => {
    const q = search.value.trim().toLowerCase();
    if (!q) { showClouds(); return; }
    results.replaceChildren(el("h2", "matches"));
    const hits = [];
    for (let i = 0; i < nodes.length && hits.length < 30; i++) if (nodes[i][2].toLowerCase().includes(q)) hits.push(i);
    hits.sort((a, b) => nodes[a][0] - nodes[b][0]);
    if (!hits.length) results.append(el("div", "nothing matches", "small"));
    for (const i of hits) { const b = nodeButton(i, "item result"); b.title = nodes[i][0] === 0 ? "hyperword" : "part"; results.append(b); }
  });
  let drag = null;
  canvas.addEventListener("mousedown", (e) => { drag = { x: e.clientX, y: e.clientY, dx: view.dx, dy: view.dy, moved: false }; });
  window.addEventListener("mousemove", (e) => { if (!drag) return; const mx = e.clientX - drag.x, my = e.clientY - drag.y; if (Math.abs(mx) + Math.abs(my) > 3) drag.moved = true; view.dx = drag.dx + mx; view.dy = drag.dy + my; draw(); });
  window.addEventListener("mouseup", (e) => {
    if (drag && !drag.moved) {
      const r = canvas.getBoundingClientRect(), x = e.clientX - r.left, y = e.clientY - r.top;
      let best = -1, bd = 100;
      for (let i = 0; i < nodes.length; i++) { const d = (sx(nodes[i]) - x) ** 2 + (sy(nodes[i]) - y) ** 2; if (d < bd) { bd = d; best = i; } }
      select(best, false);
    }
    drag = null;
  });
  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    const r = canvas.getBoundingClientRect(), x = e.clientX - r.left, y = e.clientY - r.top, f = Math.exp(-e.deltaY * 0.0015);
    view.dx = x - (x - view.dx) * f; view.dy = y - (y - view.dy) * f; view.scale *= f; draw();
  }, { passive: false });
  window.addEventListener("resize", resize);
  window.hyperwordsField = { select: (i) => select(i, true), screen: (i) => [sx(nodes[i]), sy(nodes[i])], nodes: nodes.length };
  showClouds();
  resize();
})();
`

const scriptHash = createHash("sha256").update(SCRIPT).digest("base64")

/** The explorer page. */
export const renderExplorer = (data: ExplorerData): string => {
  const csp =
    `default-src 'none'; style-src 'unsafe-inline'; img-src data:; ` +
    `script-src 'sha256-${scriptHash}'; base-uri 'none'; form-action 'none'`
  const hyperwords = data.nodes.filter((n) => n[0] === 0).length
  return `<!doctype html>
<html lang="en">
${pageHead({ title: data.title, csp, style: STYLE })}
<body>
<div id="graph"><canvas id="canvas" aria-label="the associative field as a graph"></canvas></div>
<aside>
<h1>${escapeHtml(data.title)}</h1>
<p class="meta">${escapeHtml(data.model)}, layer ${escapeHtml(data.layer)} · ${hyperwords} hyperwords, ${data.nodes.length - hyperwords} parts, ${data.edges.length / 3} edges, ${data.clouds.length} clouds</p>
<input id="search" type="search" placeholder="search hyperwords and parts" autocomplete="off">
<div id="panel"></div>
<div id="results"></div>
</aside>
<script type="application/json" id="field-data">${jsonForScript(data)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`
}
