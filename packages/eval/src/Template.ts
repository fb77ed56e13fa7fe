/**
 * The metric plugin template behind `pnpm create-metric NAME`: a package under
 * `plugins/metric-NAME/` with its code, test and README, ready to run and to edit.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"

/** A valid metric name: lowercase letters, digits and dashes, starting with a letter. */
export const METRIC_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/

/** `rhyme-density` → `rhymeDensity`. */
export const camelCase = (name: string): string =>
  name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())

/** The files of a new plugin, by path inside its folder. */
export const templateFiles = (name: string): Record<string, string> => {
  const id = camelCase(name)
  return {
    "package.json": `${JSON.stringify(
      {
        name: `@hyperwords/metric-${name}`,
        version: "0.1.0",
        description: `hyperwords metric plugin: ${name}`,
        type: "module",
        license: "MIT",
        exports: { ".": "./src/index.ts" },
        publishConfig: { access: "public", exports: { ".": "./dist/index.js" } },
        scripts: { typecheck: "tsc -b", test: `vitest run --root ../.. --project metric-${name}` },
        dependencies: { "@hyperwords/eval": "workspace:*", effect: "4.1.0" }
      },
      null,
      2
    )}\n`,
    "tsconfig.json": `{
  "extends": "../../tsconfig.base.json",
  "include": ["src", "test"],
  "references": [{ "path": "../../packages/eval" }]
}
`,
    "src/index.ts": `/**
 * metric \`${name}\`: say here in one sentence what the number means for a text.
 * A plugin depends on @hyperwords/eval alone: what it needs from hyperwords (the judge model's
 * vectors, tokens, content words and stopwords, sensory profiles, norms) comes from
 * @hyperwords/eval/Sdk (packages/eval/README.md, "The plugin SDK").
 */
import { defineMetric } from "@hyperwords/eval"
import { contentWords, detectLang } from "@hyperwords/eval/Sdk"
import { Effect, Schema } from "effect"

const Config = Schema.Struct({
  /** Content words at least this long count (an example option: replace with your own). */
  minLength: Schema.optionalKey(Schema.Int)
})

/** The plugin. */
export const ${id} = defineMetric({
  name: "${name}",
  version: "0.1.0",
  apiVersion: 2,
  description: "share of content words with at least minLength letters (replace with what your metric measures)",
  config: Config,
  higherIsBetter: true,
  // isolation: "child-process", module: import.meta.url,   // for native or heavy code (ONNX)
  timeoutMs: 10_000,
  sample: (input, config) =>
    Effect.sync(() => {
      // content words: letters only, lower case, stopwords of the text's language left out
      const words = contentWords(input.text, input.lang ?? detectLang(input.text))
      if (words.length === 0) return null // the metric does not apply: left out of the mean
      const long = words.filter((w) => w.length >= (config.minLength ?? 6)).length
      return { score: long / words.length, words: words.length }
    })
})

export default ${id}
`,
    "test/index.test.ts": `import { describe, expect, it } from "@effect/vitest"
import { Harness, Metric } from "@hyperwords/eval"
import { Effect } from "effect"
import ${id} from "../src/index.ts"

describe("metric ${name}", () => {
  it.live("scores texts and skips empty ones", () =>
    Effect.gen(function* () {
      const loaded = yield* Metric.loadMetric(${id}.with({ minLength: 5 }))
      const column = yield* Harness.runMetric(
        loaded,
        [
          { id: "a", text: "the warm purring lap" },
          { id: "b", text: "" }
        ],
        { seed: 1 }
      )
      expect(column.status, column.reason).toBe("ok")
      // "the" is a stopword: three content words, one of them ("purring") long
      expect(column.samples.map((s) => s.score)).toEqual([1 / 3, null])
    })
  )
})
`,
    "README.md": `# metric \`${name}\`

What the number means, in a sentence or two, and what a higher score says about a text.

- **Sample score**: the share of content words (\`contentWords\` of \`@hyperwords/eval/Sdk\`) with at
  least \`minLength\` letters; \`null\` for a text without any.
- **Config**: \`minLength\` (default 6).
- **Validation card**: the human data this metric was checked against, the statistic and its value
  with a bootstrap CI (add \`card\` to the plugin once \`pnpm validate\` computes it).

\`\`\`ts
// pipeline.config.ts
import ${id} from "@hyperwords/metric-${name}"
const metrics = [${id}.with({ minLength: 5 })]
\`\`\`

\`\`\`sh
hyperwords score --metric ${name} --input texts.jsonl
\`\`\`
`
  }
}

/** Write a new plugin under `<root>/plugins/metric-NAME`; refuses a bad name or an existing folder. */
export const writeMetricTemplate = (
  name: string,
  root: string
): {
  readonly dir: string
  readonly files: ReadonlyArray<string>
  readonly registered: ReadonlyArray<string>
} => {
  const bare = name.replace(/^metric-/, "")
  if (!METRIC_NAME.test(bare)) {
    throw new Error(
      `"${name}" is not a metric name: use lowercase letters, digits and dashes (e.g. rhyme-density)`
    )
  }
  const dir = join(root, "plugins", `metric-${bare}`)
  if (existsSync(dir)) throw new Error(`${dir} already exists; choose another name or remove it`)
  const files = Object.entries(templateFiles(bare)).map(([path, text]) => {
    const file = join(dir, path)
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, text, { flag: "wx" })
    return file
  })
  return { dir, files, registered: registerPlugin(root, `metric-${bare}`) }
}

/**
 * Register a new plugin folder in the workspace root, where those files exist: a `workspace:*`
 * dependency in `package.json` (so `pipeline.config.ts` can import it after `pnpm install`) and a
 * project reference in `tsconfig.root.json` (so `pnpm typecheck` checks it). Returns the files changed.
 */
export const registerPlugin = (root: string, folder: string): ReadonlyArray<string> => {
  const changed: Array<string> = []
  const edit = (file: string, change: (json: Record<string, unknown>) => boolean) => {
    const path = join(root, file)
    if (!existsSync(path)) return
    const json = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>
    if (!change(json)) return
    writeFileSync(path, `${JSON.stringify(json, null, 2)}\n`)
    changed.push(path)
  }
  edit("package.json", (pkg) => {
    const deps = (pkg.dependencies ?? {}) as Record<string, string>
    const name = `@hyperwords/${folder}`
    if (deps[name] !== undefined) return false
    pkg.dependencies = { ...deps, [name]: "workspace:*" }
    return true
  })
  edit("tsconfig.root.json", (ts) => {
    const refs = (ts.references ?? []) as Array<{ path: string }>
    const path = `plugins/${folder}`
    if (refs.some((r) => r.path === path)) return false
    ts.references = [...refs, { path }]
    return true
  })
  return changed
}
