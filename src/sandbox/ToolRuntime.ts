/**
 * Sandboxed tool execution: runs one export of the configured entrypoint in a child process of the
 * configured runtime (`bun`, `node` or `deno`) under the {@link RuntimeConfig.RuntimeConfig}, and makes
 * every promise of that config true or refuses to run.
 *
 * - Isolation (`RuntimeConfig.withIsolation`): bubblewrap namespaces where they work (see
 *   {@link Sandbox}), else the runtime's own flags; `os` refuses to run without bubblewrap.
 * - Permissions are mounts and namespaces, Deno flags, Node's permission model, or refused with
 *   `PermissionUnenforceable` (unless `permissionPolicy: "warn"`); {@link ToolRuntime} `capabilities`
 *   says which, per runtime and strategy.
 * - The child environment is allow-listed (`PATH`, a private `HOME`/`TMPDIR`, granted and per-call
 *   variables).
 * - Memory: heap caps on Node and Deno, and a resident-memory watchdog on every runtime.
 * - Timeouts are owned by the host: the process group gets SIGTERM, then SIGKILL, and is always reaped
 *   before `execute` returns; interruption does the same. A single-use call that ends with a result or
 *   a tool error stops its worker's whole tree (SIGSTOP) before returning (no process of the call runs
 *   any more code) and leaves killing, reaping and removing the scratch directory to a fiber of the
 *   layer's scope (closing the scope waits for it).
 * - Results travel as token-framed lines with a length and digest, so neither tool output nor a
 *   descendant writing into stdout can corrupt them; stdout and stderr are captured (capped, head
 *   and tail) and returned by `executeDetailed`.
 * - TypeScript entrypoints run as is on Bun and Deno, on Node 22.6-23.5 with `--experimental-strip-types`,
 *   natively on Node 23.6+, and are refused before spawning (`EntrypointUnsupported`) on older Node.
 * - Spawn failures and deaths before the handshake are retried with the configured backoff.
 * - `pool` keeps warm workers per entrypoint and limits (see {@link WorkerPool}).
 *
 * Layout: this module is the service's contract; `internal/runtimeService` assembles it (worker launcher,
 * planner, pre-started workers, cold and pooled calls, retries), `internal/plan` the execution plan, `internal/session` the host side of the worker protocol,
 * `internal/binaries` the runtime binaries and their versions, {@link Sandbox} the isolation strategies.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as RuntimeConfig from "../config/RuntimeConfig.js"
import * as RuntimeService from "./internal/runtimeService.js"
import type * as Limits from "./Limits.js"
import type * as NativeTools from "./NativeTools.js"
import type { ToolRuntimeError } from "./ToolRuntimeError.js"
import type * as WorkerPool from "./WorkerPool.js"
import type * as WorkerProcess from "./WorkerProcess.js"

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

export {
  /**
   * @since 0.1.0
   * @category binaries
   */
  resolveBinary
} from "./internal/binaries.js"

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
  /** Where the call comes from (caller `agent@instance`, W3C trace context, call chain): handed to the
   * host's {@link NativeTools} service with every `ctx.callAgent` the tool makes. */
  readonly origin?: NativeTools.Origin
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
  /** How long a pre-started worker (see `RuntimeConfig.withPrespawn`) waits for a call before it is
   * stopped (default 30 seconds; a `Clock` timer). */
  readonly prespawnIdleTimeout?: Duration.DurationInput
}

// ---------------------------------------------------------------------------------------------------
// make
// ---------------------------------------------------------------------------------------------------

/**
 * Builds the service. The layer owns a private temporary directory (mode 0700) holding the worker
 * script (mode `workerFilePerm`) and the per-call scratch directories; it is removed when the layer's
 * scope closes. The host's `PATH` (where `bwrap` and bare runtime names are looked up, and the `PATH`
 * tools get), `DENO_DIR` and `XDG_CACHE_HOME` are read once through effect `Config`, so the current
 * `ConfigProvider` decides them (the process environment by default).
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
  RuntimeService.make(options)

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
