/**
 * Hugging Face credentials in an environment (`HF_TOKEN`, `HUGGING_FACE_HUB_TOKEN`,
 * `HUGGINGFACEHUB_API_TOKEN`, `HF_TOKEN_PATH`, …). Only the uploading process may see them: plugin
 * children and Python workers start without them.
 */
export const isHubCredential = (name: string): boolean => /^(HF|HUGGING_?FACE(_?HUB)?)_\w*TOKEN/i.test(name)

/** An environment for a child process: the given one without hub credentials (or unset entries). */
export const withoutHubCredentials = (env: NodeJS.ProcessEnv = process.env): Record<string, string> =>
  Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && !isHubCredential(e[0]))
  )
