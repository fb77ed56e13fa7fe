/**
 * Where the bridge's heavy jobs run: `"local"` (the default: a Python process on this machine) or a
 * Ray cluster, `{ ray: { address } }` in `pipeline.config.ts`, `--executor` on the command line or
 * `HYPERWORDS_EXECUTOR` in the environment (the flag wins over the config, the config over the
 * variable). The executor decides where a job runs, never what it computes: it is no contributor
 * to a stage's key, and a stage run on Ray restores on a local rerun and the other way round.
 */
import { Context } from "effect"

/** The executor of the bridge's jobs. */
export type ExecutorSetting = "local" | { readonly ray: { readonly address: string } }

/** The executor in effect (a reference: `"local"` unless a command provides another). */
export const Executor = Context.Reference<ExecutorSetting>("hyperwords/core/Executor", {
  defaultValue: () => "local"
})

/** The environment variable that names an executor when neither the flag nor the config does. */
export const executorVariable = "HYPERWORDS_EXECUTOR"

const forms =
  "local, ray://HOST:PORT (Ray Client, from any machine) or ray:HOST:PORT (the head's address, from a node of the cluster; ray:auto finds it)"

/**
 * The executor a text names: `local`, `ray://HOST:PORT` (kept whole: Ray Client's address) or
 * `ray:ADDRESS` (the head's GCS address as `ray.init` takes it). Throws an error naming `where`.
 */
export const parseExecutor = (text: string, where: string): ExecutorSetting => {
  const t = text.trim()
  if (t === "local") return "local"
  if (/^ray:\/\/[^/\s:]+:\d+\/?$/.test(t)) return { ray: { address: t.replace(/\/$/, "") } }
  const m = /^ray:(?!\/\/)(auto|[^/\s:]+:\d+)$/.exec(t)
  if (m) return { ray: { address: m[1]! } }
  throw new Error(`${where}: "${text}" is not an executor; use ${forms}`)
}

/** Check a config's `executor` value; throws an error naming `where`. */
export const checkExecutor = (value: unknown, where: string): ExecutorSetting => {
  if (typeof value === "string") return parseExecutor(value, where)
  const address = (value as { ray?: { address?: unknown } } | null)?.ray?.address
  if (
    value !== null &&
    typeof value === "object" &&
    Object.keys(value).length === 1 &&
    typeof address === "string"
  )
    return parseExecutor(address.startsWith("ray://") ? address : `ray:${address}`, where)
  throw new Error(`${where}: expected "local" or { ray: { address: "HOST:PORT" } }; use ${forms}`)
}

/** The executor for a run: the flag's, else the config's, else the environment's, else local. */
export const resolveExecutor = (
  flag: string | undefined,
  config: unknown,
  env: NodeJS.ProcessEnv = process.env
): ExecutorSetting => {
  if (flag !== undefined) return parseExecutor(flag, "--executor")
  if (config !== undefined) return checkExecutor(config, "pipeline.config.ts executor")
  const fromEnv = env[executorVariable]
  if (fromEnv !== undefined && fromEnv.trim() !== "") return parseExecutor(fromEnv, executorVariable)
  return "local"
}

/** How a run names its executor: `local` or `Ray at ADDRESS`. */
export const describeExecutor = (setting: ExecutorSetting): string =>
  setting === "local" ? "local" : `Ray at ${setting.ray.address}`
