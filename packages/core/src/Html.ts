/**
 * Escaping for the self-contained HTML pages every package writes (field explorer, probe
 * reports, leaderboard). Every text that reaches a page (model outputs, poems, hyperwords,
 * model and plugin names, failure reasons) passes through one of these; none is ever
 * concatenated into markup raw.
 */

const HTML: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
  "`": "&#96;"
}

/** Escape text for HTML element content and quoted attribute values. */
export const escapeHtml = (value: unknown): string =>
  String(value ?? "").replace(/[&<>"'`]/g, (c) => HTML[c]!)

/**
 * A model's text with its control characters made visible: each C0 control but newline and tab,
 * and DEL, as its Unicode control picture (U+0007 → ␇), so an answer that holds them shows them
 * instead of hiding them (and a page stays text to `grep`). Escape the result as usual.
 */
export const showControls = (text: string): string =>
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are the point
  text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) =>
    String.fromCharCode(c === "\u007f" ? 0x2421 : 0x2400 + c.charCodeAt(0))
  )

/**
 * JSON to embed in a `<script type="application/json">` block: `<`, `>`, `&` and the line
 * separators are written as `\uXXXX`, so neither `</script>` nor `<!--` can appear in it.
 */
export const jsonForScript = (value: unknown): string =>
  JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029")

/**
 * A link target a report may use: a relative path, or an http(s) URL. Anything else
 * (`javascript:`, `data:`, protocol-relative `//host`) gives `undefined`, and the caller shows
 * the text without a link. The result still needs `escapeHtml` for the attribute.
 */
export const safeHref = (href: string): string | undefined => {
  const h = href.trim()
  const hidden = [...h].some((c) => c.charCodeAt(0) < 0x20) || h.includes("\\")
  if (h === "" || h.startsWith("//") || hidden) return undefined
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(h)
  if (scheme) return /^https?$/i.test(scheme[1]!) ? h : undefined
  return h
}

/** Escape text for a Markdown table cell: markup characters, pipes and line breaks. */
export const escapeMarkdown = (value: unknown): string =>
  String(value ?? "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/([\\`*_[\]|#!~()])/g, "\\$1")
    .replace(/\r?\n/g, " ")

/** The `<head>` of a self-contained page: charset, viewport, a Content-Security-Policy, no referrer, title and inline style. */
export const pageHead = (page: {
  readonly title: string
  readonly csp: string
  readonly style: string
}): string =>
  `<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(page.csp)}">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(page.title)}</title>
<style>${page.style}</style>
</head>`
