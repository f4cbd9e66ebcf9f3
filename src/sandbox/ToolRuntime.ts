/**
 * Sandboxed tool execution: runs one export of the configured entrypoint in a child process of the
 * configured runtime (`bun`, `node` or `deno`) under the {@link RuntimeConfig.RuntimeConfig}, and makes
 * every promise of that config true or refuses to run.
 *
 * - Permissions are Deno flags, Node's permission model, or refused with {@link PermissionUnenforceable}
 *   (unless `permissionPolicy: "warn"`); {@link ToolRuntime} `capabilities` says which.
 * - The child environment is allow-listed (`PATH`, a private `HOME`/`TMPDIR`, granted and per-call
 *   variables); host secrets never leak by default.
 * - Memory: heap caps on Node and Deno, and a resident-memory watchdog on every runtime.
 * - Timeouts are owned by the host: the process group gets SIGTERM, then SIGKILL, and is always reaped
 *   before `execute` returns; interruption does the same.
 * - Results travel as token-framed lines, so tool output cannot corrupt them; stdout and stderr are
 *   captured (capped, head and tail) and returned by `executeDetailed`.
 * - TypeScript entrypoints run as is on Bun and Deno, on Node 22.6-23.5 with `--experimental-strip-types`,
 *   natively on Node 23.6+, and are refused before spawning ({@link EntrypointUnsupported}) on older Node.
 * - Spawn failures and deaths before the handshake are retried with the configured backoff.
 * - `pool` keeps warm workers per entrypoint and limits (see {@link WorkerPool}).
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as ChildProcess from "node:child_process"
import * as Crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as Permissions from "../config/Permissions.js"
import * as RuntimeConfig from "../config/RuntimeConfig.js"
import * as PrivateDir from "./internal/privateDir.js"
import * as Limits from "./Limits.js"
import * as NativeTools from "./NativeTools.js"
import * as Sandbox from "./Sandbox.js"
import {
  EntrypointLoadFailed,
  EntrypointUnsupported,
  InvalidRuntimeConfig,
  IsolationUnavailable,
  PermissionUnenforceable,
  ProtocolError,
  ToolCrashed,
  ToolMemoryExceeded,
  ToolNotFound,
  ToolScratchExceeded,
  ToolThrew,
  ToolTimeout
} from "./ToolRuntimeError.js"
import type { SpawnFailed, ToolRuntimeError } from "./ToolRuntimeError.js"
import * as WorkerScript from "./worker/WorkerScript.js"
import * as WorkerPool from "./WorkerPool.js"
import * as WorkerProcess from "./WorkerProcess.js"

export type {
  /**
   * @since 0.1.0
   * @category models
   */
  Capabilities,
  /**
   * @since 0.1.0
   * @category models
   */
  Enforcement
} from "./Limits.js"
export {
  /**
   * @since 0.1.0
   * @category errors
   */
  EntrypointLoadFailed,
  /**
   * @since 0.1.0
   * @category errors
   */
  EntrypointUnsupported,
  /**
   * @since 0.1.0
   * @category errors
   */
  InvalidRuntimeConfig,
  /**
   * @since 0.1.0
   * @category errors
   */
  InvalidToolEnv,
  /**
   * @since 0.1.0
   * @category errors
   */
  IsolationUnavailable,
  /**
   * @since 0.1.0
   * @category errors
   */
  PermissionUnenforceable,
  /**
   * @since 0.1.0
   * @category errors
   */
  ProtocolError,
  /**
   * @since 0.1.0
   * @category errors
   */
  SpawnFailed,
  /**
   * @since 0.1.0
   * @category errors
   */
  ToolCrashed,
  /**
   * @since 0.1.0
   * @category errors
   */
  ToolMemoryExceeded,
  /**
   * @since 0.1.0
   * @category errors
   */
  ToolNotFound,
  /**
   * @since 0.1.0
   * @category errors
   */
  ToolScratchExceeded,
  /**
   * @since 0.1.0
   * @category errors
   */
  ToolThrew,
  /**
   * @since 0.1.0
   * @category errors
   */
  ToolTimeout
} from "./ToolRuntimeError.js"
export type {
  /**
   * @since 0.1.0
   * @category errors
   */
  ToolRuntimeError
} from "./ToolRuntimeError.js"

// ---------------------------------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------------------------------

/**
 * One tool call.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExecuteRequest {
  /** The export to call: an own property of the default object, of `handlers`, or a named export. */
  readonly toolId: string
  /** First argument of the tool (a JSON value). */
  readonly input: unknown
  /** Second argument of the tool (a JSON value; `undefined` when absent). */
  readonly config?: unknown
  /** Extra variables for this call (validated; see {@link Limits.validateCallEnv}). */
  readonly env?: Record<string, string>
  /** Overrides `toolExecutionTimeout` for this call. */
  readonly timeout?: Duration.DurationInput
  /** Options applied over the layer's config for this call, re-validated (e.g. a Tool's `spec.runtime`). */
  readonly runtime?: ReadonlyArray<RuntimeConfig.Option>
  /** Run on a warm worker pool instead of a fresh process (opt-in; see {@link WorkerPool}). */
  readonly pool?: WorkerPool.PoolOptions
}

/**
 * A result with what the tool printed: `stdout` is everything on stdout except protocol frames,
 * `stderr` everything on stderr, each capped at `maxStderrCaptureSize` (head and tail kept).
 * For pooled calls the captures cover the worker's output since the previous call.
 *
 * @since 0.1.0
 * @category models
 */
export interface Detailed {
  readonly result: unknown
  readonly stdout: string
  readonly stderr: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Runs one tool call and returns its JSON result (`undefined` and `null` are kept apart). */
  readonly execute: (request: ExecuteRequest) => Effect.Effect<unknown, ToolRuntimeError>
  /** Like `execute`, also returning the captured stdout and stderr. */
  readonly executeDetailed: (request: ExecuteRequest) => Effect.Effect<Detailed, ToolRuntimeError>
  /** What `runtimeType` enforces on this machine, under the isolation the layer's config resolves to. */
  readonly capabilities: (runtimeType: RuntimeConfig.RuntimeType) => Limits.Capabilities
}

/**
 * The sandboxed tool runtime.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { RuntimeConfig, ToolRuntime } from "effect-swarm"
 *
 * const program = Effect.gen(function*() {
 *   const runtime = yield* ToolRuntime.ToolRuntime
 *   return yield* runtime.execute({ toolId: "add", input: { a: 1, b: 2 } })
 * }).pipe(
 *   Effect.provide(ToolRuntime.layer.pipe(
 *     Layer.provide(RuntimeConfig.layer("deno", RuntimeConfig.withEntrypointPath("./tools.ts")))
 *   ))
 * )
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class ToolRuntime extends Context.Tag("effect-swarm/ToolRuntime")<ToolRuntime, Service>() {}

/**
 * Layer options: mostly for tests and unusual installations.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Runtime binaries. Default: `node` is the running Node (`process.execPath`); `bun` and `deno` come
   * from the nearest `node_modules/.bin`, else `PATH`. */
  readonly binaries?: Partial<Record<RuntimeConfig.RuntimeType, string>>
  /** Starts processes (default `child_process.spawn`); tests inject spawn failures here. */
  readonly spawner?: WorkerProcess.Spawner
  /** Between SIGTERM and SIGKILL, and the bound on waiting for a finished worker (default 1 second). */
  readonly killGrace?: Duration.DurationInput
  /** How often the resident-memory watchdog samples (default 50 ms). */
  readonly memorySampleInterval?: Duration.DurationInput
  /** Largest accepted protocol frame, i.e. result size (default 64 MiB). */
  readonly maxFrameBytes?: number
  /** Bytes of stderr kept in error values (`stderrTail`, default 4 KiB). */
  readonly stderrTailBytes?: number
  /** Deno's cache directory (`DENO_DIR`; default: the host's `DENO_DIR`, else `~/.cache/deno`). */
  readonly denoDir?: string
  /** Parent of the private temporary directory (default `os.tmpdir()`). */
  readonly tempRoot?: string
}

// ---------------------------------------------------------------------------------------------------
// Binaries
// ---------------------------------------------------------------------------------------------------

const moduleDir = path.dirname(fileURLToPath(import.meta.url))

const findBin = (name: string): string | undefined => {
  for (const start of [moduleDir, process.cwd()]) {
    let dir = start
    for (;;) {
      const candidate = path.join(dir, "node_modules", ".bin", name)
      if (fs.existsSync(candidate)) return candidate
      const parent = path.dirname(dir)
      if (parent === dir) break
      dir = parent
    }
  }
  return undefined
}

/**
 * The binary used for a runtime: the override, else `process.execPath` for node (when the host is
 * Node), else `node_modules/.bin/<name>` found upwards from this package or the working directory,
 * else the bare name (resolved through `PATH`).
 *
 * @example
 * ```ts
 * import { ToolRuntime } from "effect-swarm"
 * ToolRuntime.resolveBinary("deno")                          // ".../node_modules/.bin/deno"
 * ToolRuntime.resolveBinary("bun", { bun: "/opt/bun/bin/bun" }) // "/opt/bun/bin/bun"
 * ```
 *
 * @since 0.1.0
 * @category binaries
 */
export const resolveBinary = (
  runtimeType: RuntimeConfig.RuntimeType,
  overrides?: Partial<Record<RuntimeConfig.RuntimeType, string>>
): string => {
  const override = overrides?.[runtimeType]
  if (override !== undefined) return override
  if (runtimeType === "node" && process.versions.bun === undefined) return process.execPath
  return findBin(runtimeType) ?? runtimeType
}

/** The real path of a binary (looked up on `PATH` when bare), for binding it into an OS sandbox. */
const realBinary = (binary: string): string => {
  const candidates = binary.includes(path.sep) ?
    [binary] :
    (process.env.PATH ?? "").split(path.delimiter).filter((d) => d.length > 0).map((d) => path.join(d, binary))
  for (const candidate of candidates) {
    try {
      return fs.realpathSync(candidate)
    } catch {
      // not there
    }
  }
  return binary
}

const probeVersion = (binary: string): string => {
  try {
    return ChildProcess.execFileSync(binary, ["--version"], { encoding: "utf8", timeout: 10_000, env: {} }).trim()
  } catch {
    return "unknown"
  }
}

// ---------------------------------------------------------------------------------------------------
// Internal failures
// ---------------------------------------------------------------------------------------------------

/** The worker died before the handshake: retried like a spawn failure. */
interface EarlyExit {
  readonly _tag: "EarlyExit"
  readonly exitCode: number | undefined
  readonly signal: string | undefined
  readonly stderrTail: string
}

type AttemptError = ToolRuntimeError | EarlyExit

/**
 * A start-up failure that will happen again on every attempt: the runtime rejected its command line
 * (Node exits with 9 on a bad option; every runtime says "bad option", "unknown option" and the like).
 * Retrying it would only delay the error by `backoffMaxElapsedTime`.
 */
const isDeterministicStartFailure = (e: EarlyExit): boolean =>
  e.exitCode === 9 ||
  /bad option|unknown (?:option|flag|argument)|unrecognized (?:option|argument)|invalid value for/i.test(e.stderrTail)

const MiB = 1024 * 1024

const heapOom = /heap out of memory|out of memory|Fatal JavaScript invalid size error|Allocation failed/i

// ---------------------------------------------------------------------------------------------------
// Conversation with a worker (shared by cold calls and pools)
// ---------------------------------------------------------------------------------------------------

/** @internal */
export interface Conversation {
  readonly toolId: string
  readonly runtimeType: RuntimeConfig.RuntimeType
  readonly entrypointPath: string
  readonly limitMB: number
  readonly stderrTailBytes: number
  readonly killGrace: Duration.Duration
}

/**
 * What a dead worker means: a memory kill, a heap OOM, or a crash (or an early exit before the
 * handshake, which the caller may retry).
 *
 * @internal
 */
export const deathError = (
  proc: WorkerProcess.WorkerProcess,
  conv: Conversation,
  beforeHandshake: boolean
): AttemptError => {
  const info = proc.exitInfo()
  const stderrTail = proc.stderr.tailText(conv.stderrTailBytes)
  const peakMB = Math.round(proc.peakRssBytes() / MiB)
  if (proc.memoryKilled() || (conv.runtimeType !== "bun" && info?.code !== 0 && heapOom.test(stderrTail))) {
    return new ToolMemoryExceeded({ toolId: conv.toolId, limitMB: conv.limitMB, peakMB, stderrTail })
  }
  const exitCode = info?.code ?? undefined
  const signal = info?.signal ?? undefined
  if (beforeHandshake) return { _tag: "EarlyExit", exitCode, signal, stderrTail }
  return new ToolCrashed({
    toolId: conv.toolId,
    stderrTail,
    ...(exitCode !== undefined ? { exitCode } : {}),
    ...(signal !== undefined ? { signal } : {})
  })
}

/**
 * The next protocol frame, or the reason there will be none.
 *
 * @internal
 */
export const nextFrame = (
  proc: WorkerProcess.WorkerProcess,
  conv: Conversation,
  beforeHandshake: boolean
): Effect.Effect<WorkerProcess.Frame, AttemptError> =>
  Effect.gen(function*() {
    for (;;) {
      const event = yield* Queue.take(proc.events)
      switch (event._tag) {
        case "Frame":
          return event.frame
        case "BadFrame":
          return yield* new ProtocolError({ toolId: conv.toolId, message: event.reason })
        case "StdoutClosed":
        case "Exited": {
          // Let the rest of stdout arrive (a result written just before exiting), then decide. A cold
          // worker exits on its own once its call settles, so the exit may be seen before `ready` and
          // the result: the frames after the one returned are put back, followed by the exit again.
          yield* proc.terminate
          const rest = Chunk.toReadonlyArray(yield* Queue.takeAll(proc.events))
          const first = rest.findIndex((late) => late._tag === "Frame")
          const late = rest[first]
          if (late === undefined || late._tag !== "Frame") {
            return yield* Effect.fail(deathError(proc, conv, beforeHandshake))
          }
          const later = rest.slice(first + 1).filter((e) => e._tag === "Frame" || e._tag === "BadFrame")
          yield* Queue.offerAll(proc.events, [...later, { _tag: "Exited" as const }])
          return late.frame
        }
      }
    }
  })

/** A write that failed for lack of space (Node and Bun set `code`; Deno says "os error 28"). */
const isNoSpace = (error: ToolThrew): boolean =>
  error.code === "ENOSPC" || /no space left on device|os error 28/i.test(error.message)

const str = (value: unknown, fallback: string): string => (typeof value === "string" ? value : fallback)

/**
 * Waits for `hello` then `ready` (or `loadError`).
 *
 * @internal
 */
export const handshake = (
  proc: WorkerProcess.WorkerProcess,
  conv: Conversation
): Effect.Effect<ReadonlyArray<string>, AttemptError> =>
  Effect.gen(function*() {
    let hello = false
    for (;;) {
      const frame = yield* nextFrame(proc, conv, !hello)
      if (frame.t === "hello") hello = true
      else if (frame.t === "ready") {
        return Array.isArray(frame.tools) ? frame.tools.filter((t): t is string => typeof t === "string") : []
      } else if (frame.t === "loadError") {
        const error = (frame.error ?? {}) as Record<string, unknown>
        return yield* new EntrypointLoadFailed({
          entrypointPath: conv.entrypointPath,
          runtimeType: conv.runtimeType,
          name: str(error.name, "Error"),
          message: str(error.message, "the entrypoint could not be loaded"),
          ...(typeof error.stack === "string" ? { stack: error.stack } : {})
        })
      } else {
        return yield* new ProtocolError({ toolId: conv.toolId, message: `unexpected ${frame.t} frame before ready` })
      }
    }
  })

/** @internal */
export interface CallRequest {
  readonly id: number
  readonly input: unknown
  readonly config: unknown
  readonly env: Record<string, string>
}

/** @internal */
export interface NativeBridge {
  readonly service: Option.Option<NativeTools.Service>
  readonly callAgents: boolean
  readonly callWorkflows: boolean
}

/**
 * Writes one call to the worker's stdin. The worker runs messages in order, so a cold call is sent
 * together with `init`, before the handshake (no round trip spent waiting for `ready`).
 *
 * @internal
 */
export const sendCall = (proc: WorkerProcess.WorkerProcess, conv: Conversation, request: CallRequest): void =>
  proc.send({
    t: "call",
    id: request.id,
    tool: conv.toolId,
    input: request.input,
    config: request.config,
    env: request.env
  })

/**
 * Sends one call on a ready worker and waits for its outcome, answering native-tool requests.
 *
 * @internal
 */
export const call = (
  proc: WorkerProcess.WorkerProcess,
  conv: Conversation,
  request: CallRequest,
  native: NativeBridge
): Effect.Effect<unknown, AttemptError> =>
  Effect.suspend(() => {
    sendCall(proc, conv, request)
    return outcome(proc, conv, request.id, native)
  })

/**
 * Waits for the outcome of call `id` (already sent), answering native-tool requests.
 *
 * @internal
 */
export const outcome = (
  proc: WorkerProcess.WorkerProcess,
  conv: Conversation,
  id: number,
  native: NativeBridge
): Effect.Effect<unknown, AttemptError> =>
  Effect.gen(function*() {
    for (;;) {
      const frame = yield* nextFrame(proc, conv, false)
      if (frame.id !== id) continue
      switch (frame.t) {
        case "result":
          return frame.undef === true ? undefined : frame.value
        case "notFound":
          return yield* new ToolNotFound({
            toolId: conv.toolId,
            available: Array.isArray(frame.available) ? frame.available.map(String) : []
          })
        case "threw": {
          const error = (frame.error ?? {}) as Record<string, unknown>
          return yield* new ToolThrew({
            toolId: conv.toolId,
            name: str(error.name, "Error"),
            message: str(error.message, ""),
            ...(typeof error.stack === "string" ? { stack: error.stack } : {}),
            ...(typeof error.code === "string" ? { code: error.code } : {}),
            ...(typeof error.suggestion === "string" ? { suggestion: error.suggestion } : {}),
            ...(typeof error.helpUrl === "string" ? { helpUrl: error.helpUrl } : {})
          })
        }
        case "native": {
          const rid = frame.rid
          const kind = frame.kind
          const target = str(frame.target, "")
          const enabled = kind === "agent" ? native.callAgents : native.callWorkflows
          const answer: Effect.Effect<unknown, NativeTools.NativeCallFailed> = !enabled ?
            new NativeTools.NativeCallFailed({ name: "NativeToolDisabled", message: `${String(kind)} calls are off` }) :
            Option.match(native.service, {
              onNone: () =>
                new NativeTools.NativeCallFailed({
                  name: "NativeToolsUnavailable",
                  message: "no NativeTools service is provided to the ToolRuntime layer"
                }),
              onSome: (service) =>
                kind === "agent" ? service.callAgent(target, frame.input) : service.callWorkflow(target, frame.input)
            })
          yield* answer.pipe(
            Effect.matchCause({
              onSuccess: (value) => proc.send({ t: "reply", rid, ok: true, value }),
              onFailure: (cause) => {
                const failure = cause._tag === "Fail" ? cause.error : undefined
                proc.send({
                  t: "reply",
                  rid,
                  ok: false,
                  error: {
                    name: failure?.name ?? "NativeCallFailed",
                    message: failure?.message ?? "the native call failed on the host"
                  }
                })
              }
            }),
            Effect.fork
          )
          continue
        }
        default:
          return yield* new ProtocolError({ toolId: conv.toolId, message: `unexpected ${frame.t} frame` })
      }
    }
  })

/**
 * Races `self` against `timeout`; on timeout the worker's group is terminated and reaped before the
 * {@link ToolTimeout} (with the stderr tail) is returned.
 *
 * @internal
 */
export const withTimeout = <A>(
  self: Effect.Effect<A, AttemptError>,
  proc: WorkerProcess.WorkerProcess,
  conv: Conversation,
  timeout: Duration.Duration
): Effect.Effect<A, AttemptError> =>
  self.pipe(
    Effect.timeoutOption(timeout),
    Effect.flatMap(Option.match({
      onSome: Effect.succeed,
      onNone: () =>
        proc.terminate.pipe(
          Effect.zipRight(
            new ToolTimeout({
              toolId: conv.toolId,
              timeout: Duration.format(timeout),
              stderrTail: proc.stderr.tailText(conv.stderrTailBytes)
            })
          )
        )
    }))
  )

// ---------------------------------------------------------------------------------------------------
// make
// ---------------------------------------------------------------------------------------------------

/**
 * Everything one launch needs, derived from a config (shared with the pool).
 *
 * @internal
 */
export interface Plan {
  readonly config: RuntimeConfig.Config
  /** The isolation strategy the workers run under (resolved from `config.isolation` and the probe). */
  readonly sandbox: Sandbox.Service
  readonly capabilities: Limits.Capabilities
  readonly grants: Permissions.Grants
  /** Host variables forwarded to the child: only an explicit `--allow-env[=NAMES]`, never `--allow-all`. */
  readonly hostEnv: Permissions.Grant
  readonly binary: string
  /** Under an OS sandbox: the binary's real path (what is bound and run inside), and the paths the
   * runtime must read besides the grants. */
  readonly sandboxed: { readonly binary: string; readonly implicitRead: ReadonlyArray<string> } | undefined
  /** The entrypoint's real path (what errors name). */
  readonly entrypoint: string
  /** The path the worker imports: the entrypoint, or on Bun a path through a symlink in the private
   * directory when the real one contains `?` (see {@link Limits.bunUnsafeDirectory}). */
  readonly importPath: string
  /** `importPath` as the file URL sent in `init` (computed once: `pathToFileURL` resolves it again). */
  readonly importUrl: string
  /** How the runtime runs the entrypoint when it is TypeScript (`Native` for JavaScript entries). */
  readonly typeScript: Limits.TypeScriptSupport
  /** Identifies "same entrypoint, runtime and limits" for pooling. */
  readonly key: string
  /** Deno pools only: per-call variable names the workers are started with `--allow-env` for, so tool
   * code sees a call's `env` through `Deno.env` too (one pool per set of names). */
  readonly poolEnvNames: ReadonlyArray<string>
}

/**
 * Builds the service. The layer owns a private temporary directory (mode 0700) holding the worker
 * script (mode `workerFilePerm`) and the per-call scratch directories; it is removed when the layer's
 * scope closes.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { RuntimeConfig, ToolRuntime } from "effect-swarm"
 *
 * const Custom = Layer.scoped(ToolRuntime.ToolRuntime, ToolRuntime.make({ killGrace: "250 millis" })).pipe(
 *   Layer.provide(RuntimeConfig.layer("node", RuntimeConfig.withEntrypointPath("./tools.mjs")))
 * )
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<Service, never, RuntimeConfig.RuntimeConfig | Scope.Scope> =>
  Effect.gen(function*() {
    const base = yield* RuntimeConfig.RuntimeConfig
    const nativeService = yield* Effect.serviceOption(NativeTools.NativeTools)
    const killGrace = Duration.decode(options.killGrace ?? "1 second")
    const sampleInterval = Duration.decode(options.memorySampleInterval ?? "50 millis")
    const maxFrameBytes = options.maxFrameBytes ?? 64 * MiB
    const stderrTailBytes = options.stderrTailBytes ?? 4096
    const spawner: WorkerProcess.Spawner = options.spawner ??
      ((command, args, spawnOptions) => ChildProcess.spawn(command, args, spawnOptions))

    // Private directories of processes that died without closing their layer (SIGKILL) go first.
    const tempRoot = options.tempRoot ?? os.tmpdir()
    const swept = PrivateDir.sweepAbandoned(tempRoot)
    if (swept.length > 0) {
      yield* Effect.logDebug(`removed ${swept.length} private directories of dead processes: ${swept.join(", ")}`)
    }
    const privateDir = yield* Effect.acquireRelease(
      Effect.sync(() => PrivateDir.create(tempRoot)),
      (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
    )
    const workerDir = path.join(privateDir, "worker")
    const callsDir = path.join(privateDir, "calls")
    // Deno's module cache is shared like a normal `deno run` would (tools cannot write it): a private
    // cache would make every layer's first Deno call pay for filling it.
    const denoDir = options.denoDir ?? process.env.DENO_DIR ??
      path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "deno")
    const workerPath = path.join(workerDir, "worker.mjs")
    yield* Effect.sync(() => {
      fs.mkdirSync(workerDir, { mode: 0o700 })
      fs.mkdirSync(callsDir, { mode: 0o700 })
      fs.writeFileSync(workerPath, WorkerScript.source, { mode: base.workerFilePerm })
      fs.chmodSync(workerPath, base.workerFilePerm)
    })

    const versions = new Map<string, string>()
    const versionOf = (runtimeType: RuntimeConfig.RuntimeType, binary: string): string => {
      const key = `${runtimeType}:${binary}`
      const known = versions.get(key)
      if (known !== undefined) return known
      const raw = runtimeType === "node" && binary === process.execPath && process.versions.bun === undefined
        ? process.versions.node
        : probeVersion(binary)
      const version = /(\d+\.\d+\.\d+)/.exec(raw)?.[1] ?? raw
      versions.set(key, version)
      return version
    }
    // The OS sandbox: the provided Sandbox service, else bubblewrap from PATH. Probed once per layer,
    // on the first call that may use it.
    const osSandbox = Option.getOrElse(yield* Effect.serviceOption(Sandbox.Sandbox), () => Sandbox.bubblewrap())
    let probed: Sandbox.Probe | undefined
    const probe = (): Sandbox.Probe => (probed ??= osSandbox.probe())
    /** The strategy for an isolation setting, or why "os" cannot be had. */
    const strategyFor = (isolation: RuntimeConfig.Isolation): Either.Either<Sandbox.Service, IsolationUnavailable> => {
      if (isolation === "runtime") return Either.right(Sandbox.none)
      const found = probe()
      if (found._tag === "Available") return Either.right(osSandbox)
      if (isolation === "auto") return Either.right(Sandbox.none)
      return Either.left(
        new IsolationUnavailable({ strategy: osSandbox.strategy, reason: found.reason, suggestion: found.suggestion })
      )
    }
    const isolationOf = (sandbox: Sandbox.Service): Limits.Isolation =>
      sandbox.strategy === "bubblewrap" ? "bubblewrap" : "none"
    const capabilitiesUnder = (runtimeType: RuntimeConfig.RuntimeType, sandbox: Sandbox.Service) =>
      Limits.capabilitiesOf(
        runtimeType,
        versionOf(runtimeType, resolveBinary(runtimeType, options.binaries)),
        isolationOf(sandbox)
      )
    const capabilities = (runtimeType: RuntimeConfig.RuntimeType): Limits.Capabilities =>
      capabilitiesUnder(runtimeType, Either.getOrElse(strategyFor(base.isolation), () => Sandbox.none))
    // `auto` without a working OS sandbox says once per layer what that costs.
    let warnedFallback = false
    const fallbackWarning = (config: RuntimeConfig.Config) =>
      Effect.suspend(() => {
        if (warnedFallback || config.isolation !== "auto") return Effect.void
        const found = probe()
        if (found._tag === "Available") return Effect.void
        warnedFallback = true
        return Effect.logWarning(
          `tools run without OS isolation (${found.reason}): only the runtime's own permission flags apply, so ` +
            "tools can read other processes' /proc entries (the host environment among them), detached " +
            "descendants may outlive a call, scratch space has no size limit, and Bun enforces no file or " +
            `network restriction at all; to enforce them, ${found.suggestion}`
        )
      })

    // Bun cannot import a path containing `?`: such an entry is imported through a symlink to its
    // deepest `?` directory, one per directory, inside the private directory (removed with it).
    const links = new Map<string, string>()
    const bunImportPath = (entrypoint: string): string => {
      const unsafe = Limits.bunUnsafeDirectory(entrypoint)
      if (unsafe === undefined) return entrypoint
      let link = links.get(unsafe)
      if (link === undefined) {
        link = path.join(privateDir, "links", String(links.size))
        try {
          fs.mkdirSync(path.dirname(link), { recursive: true, mode: 0o700 })
          fs.symlinkSync(unsafe, link, "dir")
        } catch {
          // Not fatal: the import then fails with Bun's own error (EntrypointLoadFailed).
          return entrypoint
        }
        links.set(unsafe, link)
      }
      return link + entrypoint.slice(unsafe.length)
    }

    const scratch = Effect.acquireRelease(
      Effect.sync(() => fs.mkdtempSync(path.join(callsDir, "c-"))),
      (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
    )

    const entrypointOf = (config: RuntimeConfig.Config): string => {
      const absolute = path.resolve(config.entrypointPath)
      try {
        return fs.realpathSync(absolute)
      } catch {
        return absolute
      }
    }

    /** Starts a worker for `plan` in the current scope and sends `init` (no handshake yet). */
    const startWorker = (
      plan: Plan,
      callEnv: Record<string, string> | undefined
    ): Effect.Effect<WorkerProcess.WorkerProcess, SpawnFailed, Scope.Scope> =>
      Effect.gen(function*() {
        const { config } = plan
        const dir = yield* scratch
        const token = Crypto.randomBytes(18).toString("base64url")
        const args = Limits.launchArgs({
          capabilities: plan.capabilities,
          grants: plan.grants,
          maxMemoryMB: config.maxMemoryMB,
          nodeOptions: config.nodeOptions,
          workerPath,
          // The tool's own directory, not only its entry file: a tool module may import its siblings.
          implicitRead: [workerDir, path.dirname(plan.entrypoint)],
          scratchDir: dir,
          callEnvNames: callEnv === undefined ? plan.poolEnvNames : Object.keys(callEnv),
          typeScriptFlags: plan.typeScript._tag === "Flags" ? plan.typeScript.flags : [],
          preserveSymlinks: plan.importPath !== plan.entrypoint
        })
        const extra: Record<string, string> = config.runtimeType === "deno"
          ? { DENO_DIR: denoDir, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" }
          : config.runtimeType === "bun"
          // Bun would otherwise write a transpiler cache under the fresh HOME of every call (never
          // reused, and removed again with the scratch directory).
          ? { BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0" }
          : {}
        const env = Limits.childEnv({
          hostEnv: process.env,
          envGrant: plan.hostEnv,
          scratchDir: dir,
          callEnv,
          extra
        })
        const launch = plan.sandboxed === undefined ?
          { command: plan.binary, args } :
          plan.sandbox.wrap(plan.sandboxed.binary, args, {
            binary: plan.sandboxed.binary,
            workerPath,
            read: plan.grants.read,
            write: plan.grants.write,
            implicitRead: plan.sandboxed.implicitRead,
            network: plan.grants.net !== "none",
            scratchDir: dir,
            scratchBytes: config.maxMemoryMB * MiB,
            hide: [privateDir]
          })
        const proc = yield* WorkerProcess.start({
          runtimeType: config.runtimeType,
          command: launch.command,
          args: launch.args,
          env,
          cwd: dir,
          token,
          stdoutLimit: config.maxStderrCaptureSize,
          stderrLimit: config.maxStderrCaptureSize,
          maxFrameBytes,
          killGrace,
          spawner,
          memory: process.platform === "linux" ?
            { limitBytes: config.maxMemoryMB * MiB, interval: sampleInterval } :
            undefined
        })
        proc.send({
          t: "init",
          token,
          entry: plan.importUrl,
          environment: config.environment,
          native: { agents: config.nativeTools.callAgents, workflows: config.nativeTools.callWorkflows }
        })
        return proc
      })

    const pools = yield* WorkerPool.make<Plan, Conversation, AttemptError>({
      launch: (plan, conv) =>
        Effect.gen(function*() {
          const proc = yield* startWorker(plan, undefined)
          yield* withTimeout(handshake(proc, conv), proc, conv, plan.config.toolExecutionTimeout)
          return proc
        }),
      keyOf: (plan) => plan.key
    })

    // Hot-path caches: the layer's config (and a per-call override list reused by the caller, as
    // SandboxedTools does) resolve to the same plan every time.
    const overridden = new WeakMap<ReadonlyArray<RuntimeConfig.Option>, RuntimeConfig.Config>()
    const plans = new WeakMap<
      RuntimeConfig.Config,
      {
        readonly plan: Plan
        readonly refused: Array<Limits.Unenforced>
        readonly unavailable: IsolationUnavailable | undefined
      }
    >()
    const planFor = (config: RuntimeConfig.Config) => {
      const known = plans.get(config)
      if (known !== undefined) return known
      const permissions = RuntimeConfig.effectivePermissions(config)
      const strategy = strategyFor(config.isolation)
      const sandbox = Either.getOrElse(strategy, () => Sandbox.none)
      const caps = capabilitiesUnder(config.runtimeType, sandbox)
      const grants = Permissions.grants(permissions)
      const binary = resolveBinary(config.runtimeType, options.binaries)
      const entrypoint = entrypointOf(config)
      const importPath = config.runtimeType === "bun" ? bunImportPath(entrypoint) : entrypoint
      const plan: Plan = {
        importPath,
        importUrl: pathToFileURL(importPath).href,
        config,
        sandbox,
        capabilities: caps,
        grants,
        hostEnv: Limits.hostEnvGrant(permissions),
        binary,
        sandboxed: sandbox.strategy === "none" ? undefined : {
          binary: realBinary(binary),
          implicitRead: [
            path.dirname(entrypoint),
            ...(config.runtimeType === "deno" ? [denoDir] : []),
            // Bun imports an entry whose path holds `?` through a symlink in the private directory.
            ...(importPath === entrypoint ?
              [] :
              [path.join(privateDir, "links"), Limits.bunUnsafeDirectory(entrypoint) ?? entrypoint])
          ]
        },
        entrypoint,
        // The version comes from the same per-layer cache as `capabilities` (probed once per binary).
        typeScript: Limits.isTypeScriptEntry(entrypoint) ?
          Limits.typeScriptSupport(config.runtimeType, caps.version) :
          { _tag: "Native" },
        key: WorkerPool.configKey(config, binary),
        poolEnvNames: []
      }
      const entry = {
        plan,
        refused: Limits.unenforced(caps, grants),
        unavailable: Either.isLeft(strategy) ? strategy.left : undefined
      }
      plans.set(config, entry)
      return entry
    }

    // A pooled Deno worker can only read the variables it was started with `--allow-env` for: when the
    // env permission is scoped, calls with other variable names get a pool of their own whose workers
    // are allowed those names (values are still set per call and restored after it).
    const envPlans = new WeakMap<Plan, Map<string, Plan>>()
    const poolPlanFor = (plan: Plan, env: Record<string, string> | undefined): Plan => {
      if (plan.config.runtimeType !== "deno" || env === undefined || plan.grants.env === "all") return plan
      const names = Object.keys(env).sort()
      if (names.length === 0) return plan
      const id = names.join(",")
      let byNames = envPlans.get(plan)
      if (byNames === undefined) {
        byNames = new Map()
        envPlans.set(plan, byNames)
      }
      const known = byNames.get(id)
      if (known !== undefined) return known
      const derived: Plan = { ...plan, key: `${plan.key}|env:${id}`, poolEnvNames: names }
      byNames.set(id, derived)
      return derived
    }

    const configFor = (request: ExecuteRequest): Either.Either<RuntimeConfig.Config, InvalidRuntimeConfig> => {
      const overrides = request.runtime
      if (overrides === undefined || overrides.length === 0) return Either.right(base)
      const known = overridden.get(overrides)
      if (known !== undefined) return Either.right(known)
      return Either.match(RuntimeConfig.update(base, ...overrides), {
        onLeft: (e) => Either.left(new InvalidRuntimeConfig({ message: e.message })),
        onRight: (config) => {
          overridden.set(overrides, config)
          return Either.right(config)
        }
      })
    }

    const prepare = (request: ExecuteRequest) =>
      Effect.gen(function*() {
        const config = yield* configFor(request)
        const envError = Limits.validateCallEnv(request.env)
        if (envError !== undefined) return yield* envError
        if (config.entrypointPath.length === 0) {
          return yield* new ToolNotFound({ toolId: request.toolId, available: [] })
        }
        const { plan, refused, unavailable } = planFor(config)
        if (unavailable !== undefined) return yield* unavailable
        yield* fallbackWarning(config)
        if (plan.typeScript._tag === "Unsupported") {
          // Refused before spawning: the import would only fail later, with a less readable error.
          return yield* new EntrypointUnsupported({
            toolId: request.toolId,
            entrypointPath: plan.entrypoint,
            runtimeType: config.runtimeType,
            version: plan.capabilities.version,
            reason: plan.typeScript.reason,
            suggestion: plan.typeScript.suggestion
          })
        }
        for (const item of refused) {
          if (config.permissionPolicy === "enforce") {
            return yield* new PermissionUnenforceable({
              runtimeType: config.runtimeType,
              permission: item.permission,
              reason: item.reason
            })
          }
          yield* Effect.logWarning(`running without an enforced ${item.permission} restriction: ${item.reason}`).pipe(
            Effect.annotateLogs({
              toolId: request.toolId,
              runtimeType: config.runtimeType,
              permission: item.permission
            })
          )
        }
        const conv: Conversation = {
          toolId: request.toolId,
          runtimeType: config.runtimeType,
          entrypointPath: plan.entrypoint,
          limitMB: config.maxMemoryMB,
          stderrTailBytes,
          killGrace
        }
        const timeout = request.timeout === undefined ? config.toolExecutionTimeout : Duration.decode(request.timeout)
        return { plan, conv, timeout }
      })

    const schedules = new WeakMap<RuntimeConfig.Config, Schedule.Schedule<unknown, unknown>>()
    const retrySchedule = (config: RuntimeConfig.Config): Schedule.Schedule<unknown, unknown> => {
      const known = schedules.get(config)
      if (known !== undefined) return known
      const schedule = Schedule.exponential(config.backoffInitialInterval).pipe(
        Schedule.either(Schedule.spaced(config.backoffMaxInterval)),
        Schedule.upTo(config.backoffMaxElapsedTime)
      )
      schedules.set(config, schedule)
      return schedule
    }

    const native = (config: RuntimeConfig.Config) => ({
      service: nativeService,
      callAgents: config.nativeTools.callAgents,
      callWorkflows: config.nativeTools.callWorkflows
    })

    // Call ids are random, not a counter: a tool on a pooled worker cannot write a result frame ahead
    // for the next call (it would have to guess a 48-bit id); a frame for another id is ignored.
    const newCallId = (): number => Crypto.randomBytes(6).readUIntBE(0, 6)

    const coldAttempt = (
      plan: Plan,
      conv: Conversation,
      request: ExecuteRequest,
      timeout: Duration.Duration
    ): Effect.Effect<Detailed, AttemptError> =>
      Effect.scoped(Effect.gen(function*() {
        const proc = yield* startWorker(plan, request.env)
        const id = newCallId()
        // Sent with init (the worker queues it behind the import); without native tools nothing else
        // will be sent, so stdin is closed too and the worker exits as soon as the call settles, instead
        // of waiting for the host to read the result and close it.
        sendCall(proc, conv, { id, input: request.input, config: request.config, env: request.env ?? {} })
        const bridge = native(plan.config)
        if (!bridge.callAgents && !bridge.callWorkflows) proc.closeStdin()
        // The timeout covers start-up (the entrypoint's top-level code), handshake and call.
        const result = yield* withTimeout(
          handshake(proc, conv).pipe(Effect.zipRight(outcome(proc, conv, id, bridge))),
          proc,
          conv,
          timeout
        )
        yield* proc.shutdown
        return { result, stdout: proc.stdout.text(), stderr: proc.stderr.text() }
      }))

    const keepWorker = (exit: Exit.Exit<unknown, AttemptError>): WorkerPool.Verdict =>
      Exit.isSuccess(exit) ||
        (exit.cause._tag === "Fail" &&
          (exit.cause.error._tag === "ToolThrew" || exit.cause.error._tag === "ToolNotFound"))
        ? "keep"
        : "retire"

    const executeDetailed = Effect.fn("ToolRuntime.executeDetailed")(function*(request: ExecuteRequest) {
      const { conv, plan, timeout } = yield* prepare(request)
      const attempt: Effect.Effect<Detailed, AttemptError> = request.pool === undefined
        ? coldAttempt(plan, conv, request, timeout)
        : pools.run(
          poolPlanFor(plan, request.env),
          conv,
          request.pool,
          (proc) =>
            withTimeout(
              call(proc, conv, {
                id: newCallId(),
                input: request.input,
                config: request.config,
                env: request.env ?? {}
              }, native(plan.config)).pipe(
                Effect.map((result): Detailed => ({ result, stdout: proc.stdout.text(), stderr: proc.stderr.text() }))
              ),
              proc,
              conv,
              timeout
            ),
          keepWorker
        )
      const retried = attempt.pipe(
        Effect.retry({
          schedule: retrySchedule(plan.config),
          while: (e) => e._tag === "SpawnFailed" || (e._tag === "EarlyExit" && !isDeterministicStartFailure(e))
        }),
        Effect.catchIf(
          (e): e is EarlyExit => e._tag === "EarlyExit",
          (e) =>
            new ToolCrashed({
              toolId: request.toolId,
              stderrTail: e.stderrTail,
              ...(e.exitCode !== undefined ? { exitCode: e.exitCode } : {}),
              ...(e.signal !== undefined ? { signal: e.signal } : {})
            })
        )
      )
      if (plan.sandboxed === undefined) return yield* retried
      return yield* retried.pipe(
        Effect.catchIf(
          (e): e is ToolThrew => e._tag === "ToolThrew" && isNoSpace(e),
          (e) => new ToolScratchExceeded({ toolId: e.toolId, limitMB: plan.config.maxMemoryMB, message: e.message })
        )
      )
    })

    const execute = Effect.fn("ToolRuntime.execute")(function*(request: ExecuteRequest) {
      const detailed = yield* executeDetailed(request)
      return detailed.result
    })

    return ToolRuntime.of({ execute, executeDetailed, capabilities })
  })

/**
 * The runtime with custom {@link Options} (binaries, spawner, grace period, ...).
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { RuntimeConfig, ToolRuntime } from "effect-swarm"
 *
 * const Runtime = ToolRuntime.layerWith({ binaries: { deno: "/opt/deno/bin/deno" }, killGrace: "500 millis" }).pipe(
 *   Layer.provide(RuntimeConfig.layer("deno", RuntimeConfig.withEntrypointPath("./tools.ts")))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWith = (options: Options): Layer.Layer<ToolRuntime, never, RuntimeConfig.RuntimeConfig> =>
  Layer.scoped(ToolRuntime, make(options))

/**
 * The runtime with default options. Needs a {@link RuntimeConfig.RuntimeConfig}; picks up a
 * {@link NativeTools.NativeTools} service when one is in the context.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { RuntimeConfig, ToolRuntime } from "effect-swarm"
 *
 * const Runtime = ToolRuntime.layer.pipe(
 *   Layer.provide(RuntimeConfig.layer("node", RuntimeConfig.withEntrypointPath("./tools.mjs")))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<ToolRuntime, never, RuntimeConfig.RuntimeConfig> = layerWith({})
