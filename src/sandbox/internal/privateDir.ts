/**
 * The private directory of a ToolRuntime layer (`<tmp>/effect-swarm-XXXXXX`, mode 0700): created when
 * the layer starts, removed when its scope closes. A process killed with SIGKILL never runs that
 * finalizer, so each directory records its owner (`owner`: pid and, on Linux, the process start time)
 * and every new layer removes the directories of owners that are gone. A directory without an owner
 * file (left by an older version, or one being created right now) is only removed once it is a day old.
 *
 * Synchronous on purpose: it runs once per layer, before any tool call, on a handful of entries.
 *
 * @internal
 */
import * as ChildProcess from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

const prefix = "effect-swarm-"
const ownerless = 24 * 60 * 60 * 1000

// Linux: the start time (clock ticks since boot) tells a reused pid from the process that wrote the file.
const startTimeOf = (pid: number): string | undefined => {
  if (process.platform !== "linux") return undefined
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "latin1")
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]
  } catch {
    return undefined
  }
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists, as another user.
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Whether the owner recorded in `dir` is gone (false when unsure). */
const abandoned = (dir: string, now: number): boolean => {
  let text: string
  try {
    text = fs.readFileSync(path.join(dir, "owner"), "utf8")
  } catch {
    try {
      return now - fs.statSync(dir).mtimeMs > ownerless
    } catch {
      return false
    }
  }
  const [pidText = "", startTime = ""] = text.trim().split(" ")
  const pid = Number(pidText)
  if (!Number.isSafeInteger(pid) || pid <= 0) return now - fs.statSync(dir).mtimeMs > ownerless
  if (pid === process.pid) return startTime !== "" && startTime !== (startTimeOf(pid) ?? "")
  if (!isAlive(pid)) return true
  const current = startTimeOf(pid)
  return startTime !== "" && current !== undefined && current !== startTime
}

/**
 * Removes `target` (a file or a whole tree) and never throws; returns the error it could not get past, if
 * any. A tool may leave a tree deeper than a path can name in its scratch directory (it can `chdir` down
 * as it goes, under runtime flags the directory is on the host's disk): `fs.rmSync` then fails with
 * `ENAMETOOLONG` halfway, so the tree goes to `rm -rf`, which walks it by directory handles.
 *
 * @internal
 */
export const remove = (target: string): Error | undefined => {
  try {
    fs.rmSync(target, { recursive: true, force: true })
    return undefined
  } catch (error) {
    const result = ChildProcess.spawnSync("rm", ["-rf", "--", target], {
      env: { PATH: "/usr/bin:/bin" },
      stdio: ["ignore", "ignore", "pipe"],
      encoding: "utf8",
      timeout: 60_000
    })
    if (result.status === 0 && !fs.existsSync(target)) return undefined
    return new Error(
      `could not remove ${target}: ${String(error)}; rm -rf: ${result.error?.message ?? result.stderr?.trim() ?? ""}`
    )
  }
}

/**
 * Removes the private directories under `tempRoot` whose owner process is gone; returns their paths.
 * Only directories named like ours and owned by this user are considered.
 *
 * @internal
 */
export const sweepAbandoned = (tempRoot: string, now = Date.now()): ReadonlyArray<string> => {
  const removed: Array<string> = []
  let names: Array<string>
  try {
    names = fs.readdirSync(tempRoot).filter((name) => name.startsWith(prefix))
  } catch {
    return removed
  }
  const uid = process.getuid?.()
  for (const name of names) {
    const dir = path.join(tempRoot, name)
    try {
      const info = fs.lstatSync(dir)
      if (!info.isDirectory() || (uid !== undefined && info.uid !== uid)) continue
      if (!abandoned(dir, now)) continue
      if (remove(dir) === undefined) removed.push(dir)
    } catch {
      // Raced with its owner or another sweeper: leave it.
    }
  }
  return removed
}

/**
 * Creates a new private directory (mode 0700) with its `owner` file; returns its real path.
 *
 * @internal
 */
export const create = (tempRoot: string): string => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(tempRoot, prefix)))
  fs.chmodSync(dir, 0o700)
  fs.writeFileSync(path.join(dir, "owner"), `${process.pid} ${startTimeOf(process.pid) ?? ""}\n`, { mode: 0o600 })
  return dir
}
