/**
 * A module loaded on first use rather than at start-up. A command that never reaches the code
 * needing a heavy dependency (arquero and Apache Arrow are some 300 modules, transformers.js
 * brings sharp) does not pay for loading it: a pipeline rerun that restores every stage loads 487
 * modules instead of 858.
 *
 * The module is the ES module `import` would give, resolved from the caller's own place (pass
 * `() => import.meta.resolve("pkg")`) and loaded synchronously with `require`, which Node runs on
 * an ES module without top-level await. So a static `import` of the same package elsewhere shares
 * the one instance: classes, `instanceof` and settings such as transformers.js's `env` agree.
 */
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"

const require = createRequire(import.meta.url)

/** `() => module`, loading it at the first call: `lazyModule<typeof import("arquero")>(() => import.meta.resolve("arquero"))`. */
export const lazyModule = <M>(resolve: () => string): (() => M) => {
  let loaded: M | undefined
  return () => {
    if (loaded === undefined) {
      const url = resolve()
      loaded = require(url.startsWith("file:") ? fileURLToPath(url) : url) as M
    }
    return loaded
  }
}
