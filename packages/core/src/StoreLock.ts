/**
 * The store's `LOCK`: held by the one pipeline writing to the store. The holder is named by pid,
 * process start time (`/proc/<pid>/stat` on Linux) and host, so a pid the system gave to another
 * process after a crash is not mistaken for the holder. A dead holder's lock is taken over
 * atomically: the taker claims a marker named by the dead lock's content, checks that `LOCK`
 * still holds that content, and renames its own lock over it — of several takers, one wins.
 */
import { randomBytes } from "node:crypto"
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync
} from "node:fs"
import { hostname } from "node:os"
import { dirname } from "node:path"
import { Effect, Result, Schema } from "effect"
import { decodeJsonText } from "./Decode.ts"
import { StoreError, StoreLockedError } from "./Errors.ts"
import { sha256 } from "./Hash.ts"
import { fsyncPath } from "./internal/fsAtomic.ts"

/** Who holds the lock: pid, its start time (when the system tells it), host, command and since when. */
export const LockInfo = Schema.Struct({
  pid: Schema.Int,
  /** The holder's start time as the kernel counts it (boot id and clock ticks); absent on other systems. */
  start: Schema.optionalKey(Schema.String),
  host: Schema.String,
  command: Schema.String,
  since: Schema.String
})
export type LockInfo = typeof LockInfo.Type

const bootId = (() => {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim()
  } catch {
    return "boot"
  }
})()

/** Clock ticks since boot at which a process started (field 22 of `/proc/<pid>/stat`), if known. */
const startTicks = (pid: number): number | undefined => {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  } catch {
    return undefined
  }
  // the command name (field 2) is in parentheses and may hold spaces and parentheses itself
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  const ticks = Number(fields[19])
  return Number.isFinite(ticks) ? ticks : undefined
}

/** A process's start time as `<boot id>:<clock ticks>`, or undefined where `/proc` cannot tell. */
export const processStart = (pid: number): string | undefined => {
  const ticks = startTicks(pid)
  return ticks === undefined ? undefined : `${bootId}:${ticks}`
}

// Linux reports start times in USER_HZ ticks, 100 a second on every architecture it runs on
const ticksPerSecond = 100

/** When a process started, in ms since the epoch (within a tick), if `/proc` can tell. */
export const processStartMs = (pid: number): number | undefined => {
  const theirs = startTicks(pid)
  const ours = startTicks(process.pid)
  if (theirs === undefined || ours === undefined) return undefined
  return performance.timeOrigin + ((theirs - ours) * 1000) / ticksPerSecond
}

/** Whether a process with this pid runs (one we may not signal counts as running). */
export const isPidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * Whether a file named with a pid may still belong to that process: the pid runs, and it started
 * before the file was last written (a process that started later got the pid after the writer died).
 */
export const mayOwn = (pid: number, fileMtimeMs: number): boolean => {
  if (!isPidAlive(pid)) return false
  const started = processStartMs(pid)
  return started === undefined || started <= fileMtimeMs + 1000
}

/** What a lock file says about its holder, seen from this host. */
export type HolderState = "running" | "gone" | "elsewhere"

/** Whether the holder of a lock still runs: same host, pid alive, and (when recorded) the same start time. */
export const holderState = (holder: LockInfo): HolderState => {
  if (holder.host !== hostname()) return "elsewhere"
  if (!isPidAlive(holder.pid)) return "gone"
  if (holder.start !== undefined) {
    const start = processStart(holder.pid)
    if (start !== undefined && start !== holder.start) return "gone" // the pid was reused
  }
  return "running"
}

const sleepSync = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

const readOrUndefined = (file: string): string | undefined => {
  try {
    return readFileSync(file, "utf8")
  } catch {
    return undefined
  }
}

/** The text of a held lock, to release it only if it is still ours. */
export interface HeldLock {
  readonly info: LockInfo
  readonly text: string
}

/** Take the lock at `lockPath` for `command`, or fail naming its live holder. */
export const acquireLock = (
  store: string,
  lockPath: string,
  command: string
): Effect.Effect<HeldLock, StoreLockedError | StoreError> =>
  Effect.suspend((): Effect.Effect<HeldLock, StoreLockedError | StoreError> => {
    const start = processStart(process.pid)
    const info: LockInfo = {
      pid: process.pid,
      ...(start === undefined ? {} : { start }),
      host: hostname(),
      command,
      since: new Date().toISOString()
    }
    const text = JSON.stringify(info)
    let marker: string | undefined
    for (let attempt = 0; attempt < 400; attempt++) {
      const tmp = `${lockPath}.${process.pid}.${randomBytes(6).toString("hex")}`
      try {
        mkdirSync(dirname(lockPath), { recursive: true })
        const fd = openSync(tmp, "w")
        try {
          writeSync(fd, text)
          fsyncSync(fd)
        } finally {
          closeSync(fd)
        }
        try {
          // link fails if LOCK exists: the lock appears whole or not at all
          linkSync(tmp, lockPath)
          fsyncPath(dirname(lockPath))
          return Effect.succeed({ info, text })
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
        }
        const held = readOrUndefined(lockPath)
        if (held === undefined) continue // released between our attempt and the read
        const decoded = decodeJsonText(LockInfo, held, lockPath)
        const holder = Result.isSuccess(decoded) ? decoded.success : undefined
        const state = holder === undefined ? "gone" : holderState(holder)
        if (holder !== undefined && state !== "gone") {
          return Effect.fail(
            new StoreLockedError({
              store,
              ...holder,
              where: state === "elsewhere" ? "elsewhere" : holder.start === undefined ? "unverified" : "here"
            })
          )
        }
        // The holder died without releasing (crash, kill -9). Of those who saw this same dead lock,
        // the one that creates the marker named by its content takes it over; the others wait.
        marker = `${lockPath}.takeover-${sha256(held).slice(0, 16)}`
        try {
          linkSync(tmp, marker)
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
          sleepSync(2 + Math.floor(Math.random() * 8))
          continue
        }
        if (readOrUndefined(lockPath) === held) {
          // nobody else can replace this dead lock now: they would need our marker
          renameSync(marker, lockPath)
          fsyncPath(dirname(lockPath))
          return Effect.succeed({ info, text })
        }
        rmSync(marker, { force: true }) // someone else took it over first
        marker = undefined
      } catch (e) {
        return Effect.fail(new StoreError({ path: lockPath, detail: (e as Error).message }))
      } finally {
        rmSync(tmp, { force: true })
      }
    }
    return Effect.fail(
      new StoreError({
        path: lockPath,
        detail:
          marker === undefined
            ? "could not take the lock: it kept changing hands"
            : `could not take the lock: ${marker} was left by a takeover that did not finish; if no hyperwords command runs on this store, remove it`
      })
    )
  })

/** Release a lock if it is still ours. */
export const releaseLock = (lockPath: string, held: HeldLock): Effect.Effect<void> =>
  Effect.sync(() => {
    if (readOrUndefined(lockPath) === held.text) rmSync(lockPath, { force: true })
  })
