/**
 * What the watchdog measures through Linux `/proc`: a worker's process tree with its resident memory,
 * and the bytes of its scratch directory (re-exported by `WorkerProcess`).
 *
 * @internal
 */
import * as fs from "node:fs"

// /proc files report a size of 0, so fs.readFileSync allocates a 64 KiB buffer for each of them; the
// watchdog reads several per sample (the RSS and each thread's children), which cost a cold call
// megabytes of garbage. One small reused buffer instead; longer contents are read in several chunks.
const procBuffer = Buffer.allocUnsafe(4096)

const readProc = (file: string): string => {
  const fd = fs.openSync(file, "r")
  try {
    let text = ""
    for (;;) {
      const n = fs.readSync(fd, procBuffer, 0, procBuffer.length, null)
      if (n === 0) return text
      text += procBuffer.toString("latin1", 0, n)
    }
  } finally {
    fs.closeSync(fd)
  }
}

const vmRss = /VmRSS:\s+(\d+)\s+kB/

/** The children of every thread of `pid` (empty once it is gone). */
const childrenOf = (pid: number, into: Array<number>): boolean => {
  let tasks: Array<string>
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`)
  } catch {
    return false
  }
  for (const tid of tasks) {
    try {
      const children = readProc(`/proc/${pid}/task/${tid}/children`).trim()
      if (children.length > 0) { for (const c of children.split(" ")) into.push(Number(c)) }
    } catch {
      // the task ended meanwhile
    }
  }
  return true
}

/**
 * `pid` and all its descendants (walked through `/proc/<pid>/task/<tid>/children`, so processes that
 * left the process group with `setsid` are included), with their total resident memory in bytes.
 * Empty when `/proc` is unavailable.
 *
 * @example
 * ```ts
 * import { processTree } from "effect-swarm/sandbox/WorkerProcess"
 * processTree(process.pid) // { pids: [<this process>, ...children], rssBytes: ... }
 * ```
 *
 * @since 0.1.0
 * @category memory
 */
export const processTree = (pid: number): { readonly pids: ReadonlyArray<number>; readonly rssBytes: number } => {
  let rssBytes = 0
  const pids: Array<number> = []
  const stack = [pid]
  const seen = new Set<number>()
  while (stack.length > 0) {
    const current = stack.pop()!
    if (seen.has(current)) continue
    seen.add(current)
    try {
      const match = vmRss.exec(readProc(`/proc/${current}/status`))
      if (match !== null) rssBytes += Number(match[1]) * 1024
    } catch {
      continue
    }
    pids.push(current)
    childrenOf(current, stack)
  }
  return { pids, rssBytes }
}

/**
 * The descendants of `pid` (not `pid` itself), walked like {@link processTree} without reading any
 * process's memory: the cheaper walk the kill path takes.
 *
 * @internal
 */
export const descendantPids = (pid: number): Array<number> => {
  const found: Array<number> = []
  const stack: Array<number> = []
  if (!childrenOf(pid, stack)) return found
  const seen = new Set<number>([pid])
  while (stack.length > 0) {
    const current = stack.pop()!
    if (seen.has(current)) continue
    seen.add(current)
    found.push(current)
    childrenOf(current, stack)
  }
  return found
}

/**
 * The bytes of the regular files under `dir` (links not followed), counting stops once past `limit`.
 *
 * @example
 * ```ts
 * import { directoryBytes } from "effect-swarm/sandbox/WorkerProcess"
 * directoryBytes("/tmp/es-scratch", 128 * 1024 * 1024)
 * ```
 *
 * @since 0.1.0
 * @category memory
 */
export const directoryBytes = (dir: string, limit: number = Number.POSITIVE_INFINITY): number => {
  let total = 0
  const stack = [dir]
  while (stack.length > 0 && total <= limit) {
    const current = stack.pop()!
    let entries: Array<fs.Dirent>
    try {
      entries = fs.readdirSync(current, { withFileTypes: true })
    } catch {
      continue
    }
    for (const entry of entries) {
      const full = current + "/" + entry.name
      if (entry.isDirectory()) stack.push(full)
      else if (entry.isFile()) {
        try {
          total += fs.lstatSync(full).size
        } catch {
          // removed meanwhile
        }
      }
    }
  }
  return total
}
