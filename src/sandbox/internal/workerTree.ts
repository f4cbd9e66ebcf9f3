/**
 * The process tree of one worker, as its signals reach it: the worker's process group, and every
 * descendant seen so far (a grandchild that left the group with `setsid` is still signalled, even after the
 * worker died and it was re-parented). `kill` (SIGKILL) and `freeze` (SIGSTOP) walk `/proc` first.
 */
import { descendantPids, processTree } from "./processTree.js"

const signalGroup = (pid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(-pid, signal)
  } catch {
    // the group is gone already
  }
}

const signalEach = (pids: Iterable<number>, signal: NodeJS.Signals): void => {
  for (const pid of pids) {
    try {
      process.kill(pid, signal)
    } catch {
      // gone already
    }
  }
}

export interface WorkerTree {
  /** Walks the tree once, remembering every descendant (shared by the kill path and the watchdog). */
  readonly walk: () => { readonly pids: ReadonlyArray<number>; readonly rssBytes: number }
  /** {@link walk}, while the worker runs. */
  readonly snapshot: () => void
  /** Signals the group and every descendant seen. */
  readonly signal: (signal: NodeJS.Signals) => void
  /** SIGKILL to the group and every descendant, found by walking now. Idempotent. */
  readonly kill: () => void
  /** SIGSTOP to the same processes. Idempotent, and nothing after {@link kill}. */
  readonly freeze: () => void
  readonly killed: () => boolean
  readonly frozen: () => boolean
}

/** The tree of the worker `pid`; `exited` tells whether the worker itself has exited. */
export const make = (pid: number, exited: () => boolean): WorkerTree => {
  const descendants = new Set<number>()
  const walk = () => {
    const tree = processTree(pid)
    for (const p of tree.pids) if (p !== pid) descendants.add(p)
    return tree
  }
  const snapshot = () => {
    if (!exited()) walk()
  }
  const signal = (signal: NodeJS.Signals) => {
    signalGroup(pid, signal)
    signalEach(descendants, signal)
  }
  let killed = false
  let frozen = false
  // Walk first, then signal: a descendant's parent killed before the walk reached it would hand it to
  // init (out of sight). A process forked after the walk is in the group (signalled with it) or, under
  // an OS sandbox, in the pid namespace, which the kernel empties when its init dies. A worker that
  // exited already has no children left to walk (the group and those seen earlier still get it).
  const walkDescendants = () => {
    if (!exited()) { for (const p of descendantPids(pid)) descendants.add(p) }
  }
  const kill = () => {
    if (killed) return
    killed = true
    // After freeze the tree stands still: this walk also finds a child forked between the first walk
    // and the SIGSTOP.
    walkDescendants()
    signal("SIGKILL")
  }
  const freeze = () => {
    if (killed || frozen) return
    frozen = true
    walkDescendants()
    signal("SIGSTOP")
  }
  return { walk, snapshot, signal, kill, freeze, killed: () => killed, frozen: () => frozen }
}
