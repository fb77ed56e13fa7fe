/**
 * A Ray cluster of one node on this machine, on loopback: what the tests and `pnpm bench scale`
 * start, and what `ray start --head` gives a user. The head runs from the bridge's venv (its
 * workers must import `hyperwords_bridge`), in a process group of its own, so `stop` ends every
 * process it started and no other cluster on the machine.
 */
import { execFileSync, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { dirname, join } from "node:path"

/** A running local cluster. */
export interface LocalRay {
  /** The head's GCS address (`127.0.0.1:PORT`), for a driver on this machine. */
  readonly address: string
  /** The Ray Client address (`ray://127.0.0.1:PORT`). */
  readonly clientAddress: string
  /** The head's process group id. */
  readonly pid: number
  /** Stop the cluster and remove its temp folder. */
  readonly stop: () => Promise<void>
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port
      server.close(() => resolve(port))
    })
  })

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The cluster's free CPUs as a new driver sees them (-1 when it cannot connect). */
export const freeCpus = (python: string, address: string): number => {
  try {
    const out = execFileSync(
      python,
      [
        "-c",
        `import ray; ray.init(address=${JSON.stringify(address)}, logging_level="ERROR"); print(ray.available_resources().get("CPU", 0))`
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 120_000 }
    )
    return Number(out.trim().split("\n").at(-1))
  } catch {
    return -1
  }
}

/**
 * Start a head node with `cpus` CPUs and no GPU from the venv of `python`, and wait until a driver
 * sees all its CPUs free. Fails when it does not come up within `timeoutMs`.
 */
export const startLocalRay = async (
  python: string,
  options: { readonly cpus?: number; readonly timeoutMs?: number } = {}
): Promise<LocalRay> => {
  const cpus = options.cpus ?? 2
  const [port, clientPort] = [await freePort(), await freePort()]
  // Ray's socket paths must stay short: a folder right under /tmp
  const temp = mkdtempSync("/tmp/ray-")
  const head = spawn(
    join(dirname(python), "ray"),
    [
      "start",
      "--head",
      "--block",
      "--node-ip-address=127.0.0.1",
      `--port=${port}`,
      `--ray-client-server-port=${clientPort}`,
      `--num-cpus=${cpus}`,
      "--num-gpus=0",
      "--include-dashboard=false",
      "--disable-usage-stats",
      "--object-store-memory=80000000",
      `--temp-dir=${temp}`
    ],
    {
      detached: true,
      stdio: "ignore",
      // a Ray Client session is a process the head starts per driver; on a loaded machine (the
      // tests run beside others) it may take longer than Ray's 30 s wait for it
      env: {
        ...process.env,
        RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S:
          process.env.RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S ?? "180"
      }
    }
  )
  const pid = head.pid ?? -1
  let ended = false
  head.once("exit", () => {
    ended = true
  })
  const stop = async () => {
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      try {
        process.kill(-pid, signal)
      } catch {
        break
      }
      await sleep(2_000)
    }
    try {
      execFileSync("pkill", ["-9", "-f", temp], { stdio: "ignore" })
    } catch {
      // nothing left
    }
    rmSync(temp, { recursive: true, force: true })
  }
  const address = `127.0.0.1:${port}`
  const deadline = Date.now() + (options.timeoutMs ?? 120_000)
  while (freeCpus(python, address) !== cpus) {
    if (ended || Date.now() > deadline) {
      await stop()
      throw new Error(
        ended
          ? "ray start --head ended at once"
          : `the Ray head did not come up in ${options.timeoutMs ?? 120_000} ms`
      )
    }
    await sleep(1_000)
  }
  return { address, clientAddress: `ray://127.0.0.1:${clientPort}`, pid, stop }
}
