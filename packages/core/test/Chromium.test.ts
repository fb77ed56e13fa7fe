import { execFileSync } from "node:child_process"
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { chromiumArgs, chromiumPath } from "../src/Chromium.ts"
import { escapeHtml } from "../src/Html.ts"

describe("chromiumArgs", () => {
  it("keeps the sandbox for a normal user and drops it for root only", () => {
    expect(chromiumArgs(0)).toContain("--no-sandbox")
    expect(chromiumArgs(1000)).not.toContain("--no-sandbox")
    expect(chromiumArgs(65534)).not.toContain("--no-sandbox")
    expect(chromiumArgs(1000)).toContain("--headless")
  })

  // a real Chromium started as an unprivileged user with exactly these flags renders a page, and
  // hostile text in it stays text (no script runs: the title would change)
  const canSwitch = process.getuid?.() === 0 && existsSync("/usr/bin/setpriv") && existsSync(chromiumPath())
  it.skipIf(!canSwitch)("a normal user's Chromium runs sandboxed with them", () => {
    const dir = mkdtempSync(join(tmpdir(), "chromium-user-"))
    chmodSync(dir, 0o755)
    chownSync(dir, 65534, 65534) // the user's home: Chromium writes its profile there
    try {
      const hostile = `<img src=x onerror="document.title='pwned'"><script>document.title='pwned'</script>`
      const page = join(dir, "page.html")
      writeFileSync(page, `<!doctype html><title>safe</title><p>${escapeHtml(hostile)}</p>`)
      chmodSync(page, 0o644)
      const dom = execFileSync(
        "setpriv",
        [
          "--reuid=65534",
          "--regid=65534",
          "--clear-groups",
          "env",
          `HOME=${dir}`,
          chromiumPath(),
          ...chromiumArgs(65534),
          "--dump-dom",
          `file://${page}`
        ],
        { encoding: "utf8", timeout: 60_000, stdio: ["ignore", "pipe", "ignore"] }
      )
      expect(dom).toContain("<title>safe</title>")
      expect(dom).toContain("&lt;script&gt;")
      expect(dom).not.toContain("pwned</title>")
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
