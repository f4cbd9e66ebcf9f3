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
import * as fs from "node:fs"
import { SpawnFailed } from "./ToolRuntimeError.js"

// ---------------------------------------------------------------------------------------------------
// Capture: head and tail of a byte stream, capped
// ---------------------------------------------------------------------------------------------------

/**
 * Keeps the first and the last bytes of a stream up to `limit` in total (half each), counting what
 * was dropped in between. Two fixed buffers: the head fills once, the tail is a ring, so a push costs
 * a copy of at most `limit` bytes whatever the number or size of the chunks (no per-chunk allocation,
 * no array of buffers to shift).
 *
 * @example
 * ```ts
 * import { Capture } from "effect-swarm/sandbox/WorkerProcess"
 * const c = new Capture(8)
 * c.push(Buffer.from("0123456789abcdef"))
 * c.text() // "0123\n[... 8 bytes omitted ...]\ncdef"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export class Capture {
  private readonly headLimit: number
  private readonly tailLimit: number
  private head: Buffer | undefined
  private headSize = 0
  private ring: Buffer | undefined
  /** Next write position in the ring. */
  private ringEnd = 0
  /** Bytes held by the ring (at most `tailLimit`). */
  private ringSize = 0
  /** Every byte pushed, kept or not. */
  total = 0

  constructor(readonly limit: number) {
    this.headLimit = Math.ceil(limit / 2)
    this.tailLimit = limit - this.headLimit
  }

  push(chunk: Uint8Array): void {
    this.total += chunk.length
    let rest = chunk
    if (this.headSize < this.headLimit) {
      const take = Math.min(rest.length, this.headLimit - this.headSize)
      this.head ??= Buffer.allocUnsafe(this.headLimit)
      this.head.set(rest.subarray(0, take), this.headSize)
      this.headSize += take
      rest = rest.subarray(take)
    }
    if (rest.length === 0 || this.tailLimit === 0) return
    // Only the last `tailLimit` bytes of the chunk can survive.
    if (rest.length > this.tailLimit) rest = rest.subarray(rest.length - this.tailLimit)
    this.ring ??= Buffer.allocUnsafe(this.tailLimit)
    const first = Math.min(rest.length, this.tailLimit - this.ringEnd)
    this.ring.set(rest.subarray(0, first), this.ringEnd)
    if (first < rest.length) this.ring.set(rest.subarray(first), 0)
    this.ringEnd = (this.ringEnd + rest.length) % this.tailLimit
    this.ringSize = Math.min(this.tailLimit, this.ringSize + rest.length)
  }

  /** Forgets everything (a pooled worker starts each call with empty captures). */
  reset(): void {
    this.headSize = 0
    this.ringEnd = 0
    this.ringSize = 0
    this.total = 0
  }

  /** Bytes dropped between head and tail. */
  get omitted(): number {
    return this.total - this.headSize - this.ringSize
  }

  private tailBytes(): Buffer {
    if (this.ring === undefined || this.ringSize === 0) return Buffer.alloc(0)
    if (this.ringSize < this.tailLimit) return this.ring.subarray(this.ringEnd - this.ringSize, this.ringEnd)
    return Buffer.concat([this.ring.subarray(this.ringEnd), this.ring.subarray(0, this.ringEnd)])
  }

  private headBytes(): Buffer {
    return this.head === undefined ? Buffer.alloc(0) : this.head.subarray(0, this.headSize)
  }

  /** Head, a marker for omitted bytes when any, and tail, as UTF-8 text. */
  text(): string {
    const head = this.headBytes().toString("utf8")
    const tail = this.tailBytes().toString("utf8")
    return this.omitted > 0 ? `${head}\n[... ${this.omitted} bytes omitted ...]\n${tail}` : head + tail
  }

  /** The last `bytes` bytes kept (from the tail, or the head when nothing was dropped). */
  tailText(bytes: number): string {
    const all = this.omitted > 0 ? this.tailBytes() : Buffer.concat([this.headBytes(), this.tailBytes()])
    return (all.length > bytes ? all.subarray(all.length - bytes) : all).toString("utf8")
  }
}

// ---------------------------------------------------------------------------------------------------
// Frame parser
// ---------------------------------------------------------------------------------------------------

/**
 * A protocol message from the worker.
 *
 * @since 0.1.0
 * @category models
 */
export interface Frame {
  readonly t: string
  readonly [key: string]: unknown
}

/**
 * What the stdout reader and the process report, in arrival order.
 *
 * @since 0.1.0
 * @category models
 */
export type WorkerEvent =
  | { readonly _tag: "Frame"; readonly frame: Frame }
  | { readonly _tag: "BadFrame"; readonly reason: string }
  | { readonly _tag: "StdoutClosed" }
  | { readonly _tag: "Exited" }

const NL = 10
const newline = Buffer.from("\n")

/**
 * The digest a frame carries: FNV-1a (32 bits, hex) over the UTF-16 code units of its JSON text. It
 * detects bytes another process mixed into a frame; it is no defence against the tool itself (see
 * the README's trust boundary). The worker script computes the same function.
 *
 * @example
 * ```ts
 * import { frameDigest } from "effect-swarm/sandbox/WorkerProcess"
 * frameDigest("{\"t\":\"hello\"}") // 8 hex digits
 * ```
 *
 * @since 0.1.0
 * @category internals
 */
export const frameDigest = (text: string): string => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0).toString(16).padStart(8, "0")
}

const frameHeader = /^(\d+) ([0-9a-f]{8}) /

/**
 * Splits stdout into frames and log bytes. A frame is a line `token + " " + length + " " + digest +
 * " " + JSON` (length in UTF-16 code units of the JSON, digest {@link frameDigest}); a frame whose
 * length or digest does not match is a `BadFrame`, never data. Log bytes are handed on in runs of
 * whole lines (one call per run, not per line), and only frame lines are accumulated, up to
 * `maxFrameBytes`. The worker writes a newline before every frame; that one newline is dropped, every
 * other byte, blank lines included, is log.
 *
 * @example
 * ```ts
 * import { FrameParser, frameDigest } from "effect-swarm/sandbox/WorkerProcess"
 * const json = JSON.stringify({ t: "ready", tools: [] })
 * const parser = new FrameParser("TOKEN", 1024, (log) => console.log("log", String(log)), (event) => console.log(event))
 * parser.push(Buffer.from(`hello\n\nTOKEN ${json.length} ${frameDigest(json)} ${json}\n`))
 * // log "hello\n", then { _tag: "Frame", frame: { t: "ready", tools: [] } }
 * ```
 *
 * @since 0.1.0
 * @category internals
 */
export class FrameParser {
  private readonly prefix: Buffer
  private mode: "start" | "log" | "frame" | "skip" = "start"
  private matched = 0
  /** A newline seen at the start of a line: the worker's (dropped) if a frame follows, else log. */
  private pendingNewline = false
  private chunks: Array<Buffer> = []
  private size = 0

  constructor(
    token: string,
    private readonly maxFrameBytes: number,
    private readonly onLog: (chunk: Buffer) => void,
    private readonly onEvent: (event: WorkerEvent) => void
  ) {
    this.prefix = Buffer.from(`${token} `, "latin1")
  }

  push(chunk: Buffer): void {
    let i = 0
    const first = this.prefix[0]!
    while (i < chunk.length) {
      if (this.mode === "log") {
        // Runs of lines that cannot start a frame go out in one piece.
        const from = i
        for (;;) {
          const nl = chunk.indexOf(NL, i)
          if (nl === -1) {
            this.onLog(chunk.subarray(from))
            return
          }
          i = nl + 1
          if (i >= chunk.length) break
          const next = chunk[i]
          if (next === NL || next === first) break
        }
        this.onLog(chunk.subarray(from, i))
        this.mode = "start"
        continue
      }
      if (this.mode === "frame" || this.mode === "skip") {
        const nl = chunk.indexOf(NL, i)
        const end = nl === -1 ? chunk.length : nl
        if (this.mode === "frame") {
          this.size += end - i
          if (this.size > this.maxFrameBytes) {
            this.chunks = []
            this.mode = "skip"
            this.onEvent({ _tag: "BadFrame", reason: `a frame exceeded ${this.maxFrameBytes} bytes` })
          } else this.chunks.push(Buffer.from(chunk.subarray(i, end)))
        }
        if (nl === -1) return
        if (this.mode === "frame") this.emit()
        i = nl + 1
        this.mode = "start"
        continue
      }
      // Start of a line: a frame, a blank line, or log text?
      const byte = chunk[i]!
      if (this.matched === 0 && byte === NL) {
        if (this.pendingNewline) this.onLog(newline)
        this.pendingNewline = true
        i++
        continue
      }
      if (byte === this.prefix[this.matched]) {
        this.matched++
        i++
        if (this.matched === this.prefix.length) {
          this.matched = 0
          this.pendingNewline = false
          this.mode = "frame"
          this.chunks = []
          this.size = 0
        }
        continue
      }
      if (this.pendingNewline) this.onLog(newline)
      this.pendingNewline = false
      if (this.matched > 0) this.onLog(this.prefix.subarray(0, this.matched))
      this.matched = 0
      this.mode = "log"
    }
  }

  /** At end of stream: a held newline and a partial prefix are log text. */
  end(): void {
    if (this.pendingNewline) this.onLog(newline)
    this.pendingNewline = false
    if (this.matched > 0) this.onLog(this.prefix.subarray(0, this.matched))
    this.matched = 0
  }

  private emit(): void {
    const text = Buffer.concat(this.chunks).toString("utf8")
    this.chunks = []
    const header = frameHeader.exec(text)
    if (header === null) {
      this.onEvent({ _tag: "BadFrame", reason: `a frame has no length and digest: ${text.slice(0, 200)}` })
      return
    }
    const json = text.slice(header[0].length)
    if (json.length !== Number(header[1]) || frameDigest(json) !== header[2]) {
      this.onEvent({
        _tag: "BadFrame",
        reason:
          `a frame was damaged in transit (${json.length} characters with digest ${frameDigest(json)}, announced ${
            header[1]
          } with ${header[2]}): another process, such as a descendant of the tool ` +
          "sharing its stdout, wrote into it"
      })
      return
    }
    let frame: unknown
    try {
      frame = JSON.parse(json)
    } catch {
      this.onEvent({ _tag: "BadFrame", reason: `a frame is not valid JSON: ${json.slice(0, 200)}` })
      return
    }
    if (frame === null || typeof frame !== "object" || typeof (frame as Frame).t !== "string") {
      this.onEvent({ _tag: "BadFrame", reason: `a frame has no type: ${json.slice(0, 200)}` })
      return
    }
    this.onEvent({ _tag: "Frame", frame: frame as Frame })
  }
}

// ---------------------------------------------------------------------------------------------------
// Resident memory of a process tree (Linux /proc)
// ---------------------------------------------------------------------------------------------------

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
    let tasks: Array<string>
    try {
      tasks = fs.readdirSync(`/proc/${current}/task`)
    } catch {
      continue
    }
    for (const tid of tasks) {
      try {
        const children = readProc(`/proc/${current}/task/${tid}/children`).trim()
        if (children.length > 0) { for (const c of children.split(" ")) stack.push(Number(c)) }
      } catch {
        // the task ended meanwhile
      }
    }
  }
  return { pids, rssBytes }
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
   * Idempotent. */
  readonly terminate: Effect.Effect<void>
  /** Closes stdin and lets the worker exit on its own within the grace period, then terminates. */
  readonly shutdown: Effect.Effect<void>
}

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

    // Descendants seen so far: a grandchild that left the group (setsid) is still killed, even after the
    // worker died and it was re-parented.
    const descendants = new Set<number>()
    /** Walks the tree once, remembering every descendant (shared by the kill path and the watchdog). */
    const walk = () => {
      const tree = processTree(pid)
      for (const p of tree.pids) if (p !== pid) descendants.add(p)
      return tree
    }
    const snapshot = () => {
      if (exitInfo === undefined) walk()
    }
    const killAll = (signal: NodeJS.Signals) => {
      signalGroup(pid, signal)
      signalEach(descendants, signal)
    }

    const terminate: Effect.Effect<void> = yield* Effect.cached(
      Effect.gen(function*() {
        if (exitInfo === undefined) {
          snapshot()
          killAll("SIGTERM")
          const done = yield* Deferred.await(exited).pipe(Effect.interruptible, Effect.timeoutOption(options.killGrace))
          if (Option.isNone(done)) {
            snapshot()
            killAll("SIGKILL")
          }
          yield* Deferred.await(exited)
        }
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
      if (exitInfo === undefined) {
        yield* Deferred.await(exited).pipe(Effect.interruptible, Effect.timeoutOption(options.killGrace))
      }
      yield* terminate
    })

    if (options.memory !== undefined) {
      const { interval, limitBytes } = options.memory
      const sample = Effect.sync(() => {
        if (exitInfo !== undefined) return
        const tree = walk()
        if (tree.rssBytes > peak) peak = tree.rssBytes
        if (tree.rssBytes > limitBytes && !memoryKilled) {
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
      shutdown
    } satisfies WorkerProcess
  })
