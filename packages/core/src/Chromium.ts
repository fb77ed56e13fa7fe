/**
 * Headless Chromium for the reports' browser tests and PNG figures: the binary, and its flags.
 * Chromium's sandbox stays on for a normal user; only root, where Chromium refuses to start with
 * it, gets `--no-sandbox`.
 */

/** The Chromium binary (CHROMIUM_PATH or /usr/bin/chromium). */
export const chromiumPath = (): string => process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"

/** Flags for rendering offline; `--no-sandbox` only for root (default: this process's user). */
export const chromiumArgs = (uid: number | undefined = process.getuid?.()): Array<string> => [
  "--headless",
  ...(uid === 0 ? ["--no-sandbox"] : []),
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]
