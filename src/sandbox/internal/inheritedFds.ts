/**
 * Keeps the file descriptors the host process inherited out of its workers (and, through `spawnShielded`,
 * out of the other children it starts: child agent hosts, MCP servers). A descriptor the host got
 * from whoever started it without close-on-exec (a supervisor's pipe on fd 5, a shell's `5>file`) would
 * otherwise reach every worker, inside bubblewrap too (bwrap closes nothing), and a tool could read or
 * write it. libuv leaves a child's fds >= 3 marked "ignore" as they are, but dup2s a parent fd given as a
 * number in `stdio` onto that index: each inherited fd becomes `/dev/null` in the worker.
 *
 * Linux only: the inherited fds are read from `/proc/self/fd` and `/proc/self/fdinfo`. Elsewhere (or
 * without `/proc`) nothing is done.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as ChildProcess from "node:child_process"
import * as fs from "node:fs"
import type * as WorkerProcess from "../WorkerProcess.js"

/** `O_CLOEXEC` in the octal `flags:` of `/proc/self/fdinfo/<n>`. */
const O_CLOEXEC = 0o2000000

/** The host's fds above 2 without close-on-exec (Node opens its own with it), ascending. @internal */
export const list = (): ReadonlyArray<number> => {
  if (process.platform !== "linux") return []
  let names: Array<string>
  try {
    names = fs.readdirSync("/proc/self/fd")
  } catch {
    return []
  }
  const inherited: Array<number> = []
  for (const name of names) {
    const fd = Number(name)
    if (!Number.isInteger(fd) || fd <= 2) continue
    let info: string
    try {
      info = fs.readFileSync(`/proc/self/fdinfo/${fd}`, "utf8")
    } catch {
      continue // closed meanwhile (the directory's own fd)
    }
    const flags = /^flags:\s*([0-7]+)/m.exec(info)?.[1]
    if (flags !== undefined && (parseInt(flags, 8) & O_CLOEXEC) === 0) inherited.push(fd)
  }
  return inherited.sort((a, b) => a - b)
}

/**
 * The `stdio` entries from index `from` (3 by default) on: `devNull` over each inherited fd, "ignore"
 * between. @internal
 */
export const extraStdio = (
  inherited: ReadonlyArray<number>,
  devNull: number,
  from = 3
): Array<number | "ignore"> => {
  const set = new Set(inherited)
  const max = inherited.length === 0 ? from - 1 : Math.max(...inherited)
  const extra: Array<number | "ignore"> = []
  for (let fd = from; fd <= max; fd++) extra.push(set.has(fd) ? devNull : "ignore")
  return extra
}

/**
 * Spawns a child (of ours, not a tool: an agent host, an MCP server) with `stdio` plus `/dev/null` over each
 * fd the host inherited past it, listed now. The `/dev/null` descriptor is closed once `spawn` returns (the
 * child has its copy by then: libuv forks and dup2s inside the call). @internal
 */
export const spawnShielded = <C>(
  stdio: ReadonlyArray<ChildProcess.IOType | "ipc" | number>,
  spawn: (stdio: Array<ChildProcess.IOType | "ipc" | number>) => C
): C => {
  const inherited = list().filter((fd) => fd >= stdio.length)
  if (inherited.length === 0) return spawn([...stdio])
  const devNull = fs.openSync("/dev/null", "r+")
  try {
    return spawn([...stdio, ...extraStdio(inherited, devNull, stdio.length)])
  } finally {
    fs.closeSync(devNull)
  }
}

/**
 * Wraps `spawner` so the workers it starts get `/dev/null` in place of each fd the host inherited. The
 * `/dev/null` descriptor is opened once and closed with the scope. The worker protocol uses stdio 0-2
 * only, so nothing of ours is at those indices.
 *
 * @internal
 */
export const guard = (spawner: WorkerProcess.Spawner): Effect.Effect<WorkerProcess.Spawner, never, Scope.Scope> =>
  Effect.gen(function*() {
    const inherited = list()
    if (inherited.length === 0) return spawner
    const devNull = yield* Effect.acquireRelease(
      Effect.sync(() => fs.openSync("/dev/null", "r+")),
      (fd) => Effect.sync(() => fs.closeSync(fd))
    )
    const extra = extraStdio(inherited, devNull)
    return (command, args, options): ChildProcess.ChildProcess => {
      const stdio = options.stdio
      return spawner(command, args, {
        ...options,
        stdio: Array.isArray(stdio) ? [...stdio.slice(0, 3), ...extra] : [stdio, stdio, stdio, ...extra]
      })
    }
  })
