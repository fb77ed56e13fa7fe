/**
 * What the reports' browser tests check on a page full of hostile text: open it in a real
 * Chromium with every page error, dialog and network request recorded, and the same page without
 * its Content-Security-Policy (so that escaping, not the CSP alone, is what keeps injected markup
 * from running). Used by the explorer, probe report and leaderboard tests; playwright-core is the
 * caller's (an optional peer dependency of core).
 */
import { writeFileSync } from "node:fs"
import { pathToFileURL } from "node:url"
import type { Browser, Page } from "playwright-core"

const CSP_META = /<meta http-equiv="Content-Security-Policy"[^>]*>/

/** A page's HTML with its Content-Security-Policy `<meta>` removed (and only that). */
export const withoutCsp = (html: string): string => html.replace(CSP_META, "")

/** Whether a page declares a Content-Security-Policy. */
export const hasCsp = (html: string): boolean => CSP_META.test(html)

/** A tab and what it did that a clean page never does. */
export interface WatchedPage {
  readonly tab: Page
  /** Page errors, dialogs (dismissed), and requests to anything but `file:` URLs. */
  readonly problems: Array<string>
}

/**
 * Open `file` (written first from `html` when given) in a new tab of `browser`, recording page
 * errors, dialogs and non-file requests; waits a moment after load so that a stray `<img>`'s
 * `onerror` has fired.
 */
export const openWatched = async (
  browser: Browser,
  file: string,
  options: { readonly html?: string; readonly width?: number; readonly height?: number } = {}
): Promise<WatchedPage> => {
  if (options.html !== undefined) writeFileSync(file, options.html)
  const tab = await browser.newPage({
    viewport: { width: options.width ?? 1300, height: options.height ?? 900 }
  })
  const problems: Array<string> = []
  tab.on("pageerror", (e) => problems.push(e.message))
  tab.on("dialog", (d) => {
    problems.push(`dialog: ${d.message()}`)
    void d.dismiss()
  })
  tab.on("request", (r) => {
    if (!r.url().startsWith("file:")) problems.push(`request: ${r.url()}`)
  })
  await tab.goto(pathToFileURL(file).href, { waitUntil: "load" })
  await tab.waitForTimeout(200)
  return { tab, problems }
}

/**
 * Texts that run script if a page puts them into markup raw: each sets `window.__pwned` or opens
 * a dialog; `sep` holds the line and paragraph separators and a comment opener that break inline
 * JSON and scripts.
 */
export const hostileTexts = {
  script: "<script>window.__pwned=1</script>",
  img: '<img src=x onerror="window.__pwned=1">',
  attr: `"'><svg onload=window.__pwned=1>`,
  close: "</script><script>window.__pwned=1</script>",
  js: "javascript:window.__pwned=1",
  alert: "<img src=x onerror=alert(1)>",
  sep: "a\u2028b\u2029c<!--d"
} as const
