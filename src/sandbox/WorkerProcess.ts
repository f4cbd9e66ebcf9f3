/**
 * One worker child process as a scoped resource: spawned in its own process group, stdout parsed into
 * protocol frames and logs, stdout and stderr drained concurrently to the end into capped captures
 * (head and tail kept, long lines never stall), an optional resident-memory watchdog, and a
 * termination that signals the whole group (SIGTERM, grace, SIGKILL) and always reaps.
 *
 * Internal to the sandbox: {@link ToolRuntime} and {@link WorkerPool} drive it.
 *
 * @since 0.1.0
 */
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as ChildProcess from "node:child_process"
import { Capture } from "./internal/capture.js"
import { FrameParser } from "./internal/frames.js"
import type { WorkerEvent } from "./internal/frames.js"
import { directoryBytes } from "./internal/processTree.js"
import * as WorkerTree from "./internal/workerTree.js"
import { SpawnFailed } from "./ToolRuntimeError.js"

export {
  /**
   * @since 0.1.0
   * @category models
   */
  Capture
} from "./internal/capture.js"
export {
  /**
   * @since 0.1.0
   * @category internals
   */
  frameDigest,
  /**
   * @since 0.1.0
   * @category internals
   */
  FrameParser
} from "./internal/frames.js"
export type {
  /**
   * @since 0.1.0
   * @category models
   */
  Frame,
  /**
   * @since 0.1.0
   * @category models
   */
  WorkerEvent
} from "./internal/frames.js"
export {
  /**
   * @since 0.1.0
   * @category memory
   */
  directoryBytes,
  /**
   * @since 0.1.0
   * @category memory
   */
  processTree
} from "./internal/processTree.js"

// ---------------------------------------------------------------------------------------------------
// The process
// ---------------------------------------------------------------------------------------------------

/**
 * How a process ended.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExitInfo {
  readonly code: number | null
  readonly signal: string | null
}

/**
 * Starts a child process; `child_process.spawn` by default. Tests inject failures through it.
 *
 * @since 0.1.0
 * @category models
 */
export type Spawner = (
  command: string,
  args: ReadonlyArray<string>,
  options: ChildProcess.SpawnOptions
) => ChildProcess.ChildProcess

/**
 * @since 0.1.0
 * @category models
 */
export interface StartOptions {
  readonly runtimeType: string
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly env: Record<string, string>
  readonly cwd: string
  readonly token: string
  readonly stdoutLimit: number
  readonly stderrLimit: number
  readonly maxFrameBytes: number
  readonly killGrace: Duration.Duration
  readonly spawner: Spawner
  /** Kill the tree when its resident memory exceeds `limitBytes`, sampled every `interval`. */
  readonly memory: { readonly limitBytes: number; readonly interval: Duration.Duration } | undefined
  /** Kill the tree when the files under `dir` exceed `limitBytes`, sampled with the memory watchdog
   * (without an OS sandbox the scratch directory is on the host's file system, with no size limit). */
  readonly scratch?: { readonly dir: string; readonly limitBytes: number } | undefined
}

/**
 * A running worker.
 *
 * @since 0.1.0
 * @category models
 */
export interface WorkerProcess {
  readonly pid: number
  readonly events: Queue.Queue<WorkerEvent>
  readonly send: (message: object) => void
  readonly closeStdin: () => void
  readonly exited: Deferred.Deferred<ExitInfo>
  readonly exitInfo: () => ExitInfo | undefined
  readonly stdout: Capture
  readonly stderr: Capture
  /** Highest resident memory of the tree observed by the watchdog, in bytes. */
  readonly peakRssBytes: () => number
  /** True once the watchdog killed the tree for exceeding its memory limit. */
  readonly memoryKilled: () => boolean
  /** True once the watchdog killed the tree for exceeding its scratch limit, or {@link overScratch} found
   * it over the limit. */
  readonly scratchExceeded: () => boolean
  /** Measures the scratch directory now (false without a scratch watch): true when it is over the limit. */
  readonly overScratch: () => boolean
  /** SIGTERM to the group and every known descendant, SIGKILL after the grace period, reap, drain.
   * Idempotent. After {@link kill} it only reaps and drains; after {@link freeze} it kills at once. */
  readonly terminate: Effect.Effect<void>
  /** SIGKILL, synchronously, to the process group, to every descendant found by walking `/proc` now
   * (`setsid` ones included) and to every one the watchdog saw: when it returns, none of them can run
   * any more code. Reaping is left to {@link terminate} (the scope's finalizer). Idempotent. */
  readonly kill: () => void
  /** SIGSTOP, synchronously, to the same processes {@link kill} reaches: when it returns, none of them
   * can run any more code either (SIGSTOP cannot be caught, blocked or ignored), but none of them is
   * torn down yet. Sending SIGKILL makes the kernel tear the process down (unmap its memory, close its
   * files) at once, and the woken process preempts the sender on a busy machine: measured, 2-9 ms of a
   * call's latency under load, against microseconds for SIGSTOP. {@link kill} (or {@link terminate})
   * later walks the frozen tree again and kills it. Idempotent. */
  readonly freeze: () => void
  /** Waits (at most the grace period) until stdout and stderr are read to their end: after {@link kill},
   * the captures are complete. */
  readonly drained: Effect.Effect<void>
  /** Closes stdin and lets the worker exit on its own within the grace period, then terminates. */
  readonly shutdown: Effect.Effect<void>
}

/**
 * Spawns a worker in its own process group. The scope's finalizer terminates the group and reaps it.
 *
 * @example
 * ```ts
 * import * as ChildProcess from "node:child_process"
 * import { Duration, Effect } from "effect"
 * import { start } from "effect-swarm/sandbox/WorkerProcess"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const proc = yield* start({
 *     runtimeType: "node", command: process.execPath, args: ["worker.mjs"], env: {}, cwd: "/tmp", token: "T",
 *     stdoutLimit: 1 << 20, stderrLimit: 1 << 20, maxFrameBytes: 1 << 26, killGrace: Duration.seconds(1),
 *     spawner: ChildProcess.spawn, memory: undefined
 *   })
 *   proc.send({ t: "init", token: "T", entry: "file:///abs/tools.mjs" })
 * }))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = (options: StartOptions): Effect.Effect<WorkerProcess, SpawnFailed, Scope.Scope> =>
  Effect.gen(function*() {
    const events = yield* Queue.unbounded<WorkerEvent>()
    const exited = yield* Deferred.make<ExitInfo>()
    const streamsClosed = yield* Deferred.make<void>()
    const stdout = new Capture(options.stdoutLimit)
    const stderr = new Capture(options.stderrLimit)
    let exitInfo: ExitInfo | undefined
    let peak = 0
    let memoryKilled = false
    let scratchExceeded = false
    const scratch = options.scratch
    const overScratch = (): boolean => {
      if (scratch === undefined) return false
      if (!scratchExceeded && directoryBytes(scratch.dir, scratch.limitBytes) > scratch.limitBytes) {
        scratchExceeded = true
      }
      return scratchExceeded
    }

    const child = yield* Effect.acquireRelease(
      Effect.async<ChildProcess.ChildProcess, SpawnFailed>((resume) => {
        let proc: ChildProcess.ChildProcess
        try {
          proc = options.spawner(options.command, options.args, {
            cwd: options.cwd,
            env: options.env,
            detached: true,
            stdio: ["pipe", "pipe", "pipe"]
          })
        } catch (cause) {
          resume(Effect.fail(new SpawnFailed({ runtimeType: options.runtimeType, message: String(cause) })))
          return
        }
        const onError = (cause: Error) => {
          proc.off("spawn", onSpawn)
          resume(Effect.fail(
            new SpawnFailed({ runtimeType: options.runtimeType, message: `${options.command}: ${cause.message}` })
          ))
        }
        const onSpawn = () => {
          proc.off("error", onError)
          resume(Effect.succeed(proc))
        }
        proc.once("error", onError)
        proc.once("spawn", onSpawn)
      }),
      () => terminate
    )
    const pid = child.pid!
    child.on("error", () => {})
    child.stdin!.on("error", () => {})

    let open = 2
    const streamDone = () => {
      if (--open === 0) Deferred.unsafeDone(streamsClosed, Exit.void)
    }
    const parser = new FrameParser(
      options.token,
      options.maxFrameBytes,
      (chunk) => stdout.push(chunk),
      (event) => Queue.unsafeOffer(events, event)
    )
    child.stdout!.on("data", (chunk: Buffer) => parser.push(chunk))
    child.stdout!.once("close", () => {
      parser.end()
      Queue.unsafeOffer(events, { _tag: "StdoutClosed" })
      streamDone()
    })
    child.stdout!.on("error", () => {})
    child.stderr!.on("data", (chunk: Buffer) => stderr.push(chunk))
    child.stderr!.once("close", streamDone)
    child.stderr!.on("error", () => {})
    child.once("exit", (code, signal) => {
      exitInfo = { code, signal }
      Deferred.unsafeDone(exited, Exit.succeed(exitInfo))
      Queue.unsafeOffer(events, { _tag: "Exited" })
    })

    // The group and every descendant seen so far (see `workerTree.ts`).
    const tree = WorkerTree.make(pid, () => exitInfo !== undefined)
    const { kill, freeze, snapshot } = tree
    const killAll = tree.signal

    const terminate: Effect.Effect<void> = yield* Effect.cached(
      Effect.gen(function*() {
        // A frozen tree cannot act on SIGTERM: it is killed at once.
        if (tree.frozen()) kill()
        if (exitInfo === undefined && !tree.killed()) {
          snapshot()
          killAll("SIGTERM")
          const done = yield* Deferred.await(exited).pipe(Effect.interruptible, Effect.timeoutOption(options.killGrace))
          if (Option.isNone(done)) {
            snapshot()
            killAll("SIGKILL")
          }
        }
        // A process sent SIGKILL exits: it is reaped before this returns.
        if (exitInfo === undefined) yield* Deferred.await(exited)
        // Grandchildren left in the group (or seen earlier outside it) die with the worker.
        killAll("SIGKILL")
        const drained = yield* Deferred.await(streamsClosed).pipe(
          Effect.interruptible,
          Effect.timeoutOption(options.killGrace)
        )
        if (Option.isNone(drained)) {
          // Something we never saw still holds our pipes: stop reading.
          child.stdout!.destroy()
          child.stderr!.destroy()
        }
      })
    )

    const shutdown = Effect.gen(function*() {
      snapshot()
      // A second end() builds an ERR_STREAM_ALREADY_FINISHED error (with its stack) just to drop it.
      if (!child.stdin!.writableEnded) child.stdin!.end()
      if (exitInfo === undefined && !tree.frozen()) {
        yield* Deferred.await(exited).pipe(Effect.interruptible, Effect.timeoutOption(options.killGrace))
      }
      yield* terminate
    })

    if (options.memory !== undefined) {
      const { interval, limitBytes } = options.memory
      const sample = Effect.sync(() => {
        if (exitInfo !== undefined) return
        const { rssBytes } = tree.walk()
        if (rssBytes > peak) peak = rssBytes
        if (rssBytes > limitBytes && !memoryKilled) {
          memoryKilled = true
          killAll("SIGKILL")
        } else if (!scratchExceeded && overScratch()) killAll("SIGKILL")
      })
      // The first sample comes one interval after the spawn: at once, the runtime has only just started
      // (nothing to measure, no descendants yet), and each sample walks /proc.
      yield* sample.pipe(
        Effect.repeat({ schedule: Schedule.spaced(interval), while: () => exitInfo === undefined }),
        Effect.delay(interval),
        Effect.forkScoped
      )
    }

    return {
      pid,
      events,
      send: (message: object) => {
        if (child.stdin!.writable) child.stdin!.write(JSON.stringify(message) + "\n")
      },
      closeStdin: () => {
        if (!child.stdin!.writableEnded) child.stdin!.end()
      },
      exited,
      exitInfo: () => exitInfo,
      stdout,
      stderr,
      peakRssBytes: () => peak,
      memoryKilled: () => memoryKilled,
      scratchExceeded: () => scratchExceeded,
      overScratch,
      terminate,
      kill,
      freeze,
      drained: Deferred.await(streamsClosed).pipe(
        Effect.interruptible,
        Effect.timeoutOption(options.killGrace),
        Effect.asVoid
      ),
      shutdown
    } satisfies WorkerProcess
  })
