/**
 * The typed failures of sandboxed tool execution. Every error carries what a user needs to act: the
 * tool, the limit that was hit, the stderr tail, the available exports, the permission that could not
 * be enforced and why.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * The entrypoint has no own export (default object, `handlers` object or named export) called `toolId`.
 *
 * @example
 * ```ts
 * import { ToolRuntime } from "effect-swarm"
 * new ToolRuntime.ToolNotFound({ toolId: "constructor", available: ["echo"] }).message
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ToolNotFound extends Schema.TaggedError<ToolNotFound>("effect-swarm/ToolNotFound")("ToolNotFound", {
  toolId: Schema.String,
  available: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `tool ${JSON.stringify(this.toolId)} is not exported by the entrypoint; available tools: ${
      this.available.length === 0 ? "none" : this.available.join(", ")
    }`
  }
}

/**
 * The tool threw (or rejected). `code`, `suggestion` and `helpUrl` are copied from the thrown value
 * when the tool set them.
 *
 * @example
 * ```ts
 * import { ToolRuntime } from "effect-swarm"
 * new ToolRuntime.ToolThrew({ toolId: "fetch", name: "Error", message: "boom" }).message
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ToolThrew extends Schema.TaggedError<ToolThrew>("effect-swarm/ToolThrew")("ToolThrew", {
  toolId: Schema.String,
  name: Schema.String,
  message: Schema.String,
  stack: Schema.optional(Schema.String),
  code: Schema.optional(Schema.String),
  suggestion: Schema.optional(Schema.String),
  helpUrl: Schema.optional(Schema.String)
}) {}

/**
 * The entrypoint module could not be loaded (syntax error, missing import, top-level throw). A
 * TypeScript entry on a Node without type stripping is refused before spawning, with
 * {@link EntrypointUnsupported}.
 *
 * @example
 * ```ts
 * import { ToolRuntime } from "effect-swarm"
 * new ToolRuntime.EntrypointLoadFailed({ entrypointPath: "/t.mjs", runtimeType: "node", name: "SyntaxError", message: "x" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class EntrypointLoadFailed extends Schema.TaggedError<EntrypointLoadFailed>(
  "effect-swarm/EntrypointLoadFailed"
)("EntrypointLoadFailed", {
  entrypointPath: Schema.String,
  runtimeType: Schema.String,
  name: Schema.String,
  message: Schema.String,
  stack: Schema.optional(Schema.String)
}) {}

/**
 * The runtime cannot run this entrypoint at all, decided before anything is spawned: a TypeScript
 * entry (`.ts`, `.mts`, `.cts`) on a Node older than 22.6, which cannot strip types. `suggestion` says
 * what to do instead (runtime `bun` or `deno`, or compile the entry to JavaScript).
 *
 * @example
 * ```ts
 * import { ToolRuntime } from "effect-swarm"
 * new ToolRuntime.EntrypointUnsupported({
 *   toolId: "add", entrypointPath: "/tools/notes.ts", runtimeType: "node", version: "20.20.2",
 *   reason: "Node 20.20.2 cannot import TypeScript (type stripping needs Node 22.6 or later)",
 *   suggestion: "use runtime type bun or deno, or compile the entry to JavaScript"
 * }).message
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class EntrypointUnsupported extends Schema.TaggedError<EntrypointUnsupported>(
  "effect-swarm/EntrypointUnsupported"
)("EntrypointUnsupported", {
  toolId: Schema.String,
  entrypointPath: Schema.String,
  runtimeType: Schema.String,
  version: Schema.String,
  reason: Schema.String,
  suggestion: Schema.String
}) {
  override get message(): string {
    return `the ${this.runtimeType} runtime cannot run the entrypoint ${this.entrypointPath} of tool ${
      JSON.stringify(this.toolId)
    }: ${this.reason}; ${this.suggestion}`
  }
}

/**
 * The call ran longer than its timeout. The whole process group got SIGTERM, then SIGKILL after the
 * grace period, and was reaped. `stderrTail` is the end of what the tool wrote to stderr.
 *
 * @example
 * ```ts
 * import { ToolRuntime } from "effect-swarm"
 * new ToolRuntime.ToolTimeout({ toolId: "loop", timeout: "2 seconds", stderrTail: "" }).message
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ToolTimeout extends Schema.TaggedError<ToolTimeout>("effect-swarm/ToolTimeout")("ToolTimeout", {
  toolId: Schema.String,
  timeout: Schema.String,
  stderrTail: Schema.String
}) {
  override get message(): string {
    return `tool ${JSON.stringify(this.toolId)} timed out after ${this.timeout}; the process group was killed` +
      (this.stderrTail.length > 0 ? `\nstderr tail:\n${this.stderrTail}` : "")
  }
}

/**
 * The tool went over `maxMemoryMB`: either the heap cap (Node, Deno) aborted it or the resident-memory
 * watchdog killed its process tree. `peakMB` is the highest resident size observed.
 *
 * @example
 * ```ts
 * import { ToolRuntime } from "effect-swarm"
 * new ToolRuntime.ToolMemoryExceeded({ toolId: "alloc", limitMB: 128, peakMB: 131, stderrTail: "" }).message
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ToolMemoryExceeded extends Schema.TaggedError<ToolMemoryExceeded>("effect-swarm/ToolMemoryExceeded")(
  "ToolMemoryExceeded",
  {
    toolId: Schema.String,
    limitMB: Schema.Number,
    peakMB: Schema.Number,
    stderrTail: Schema.String
  }
) {
  override get message(): string {
    return `tool ${
      JSON.stringify(this.toolId)
    } exceeded its memory limit of ${this.limitMB} MB (peak observed ${this.peakMB} MB) and was killed`
  }
}

/**
 * The worker process died without answering: a crash, `process.exit()` in tool code, or an external
 * signal. `exitCode` or `signal` says how; `stderrTail` usually says why.
 *
 * @example
 * ```ts
 * import { ToolRuntime } from "effect-swarm"
 * new ToolRuntime.ToolCrashed({ toolId: "exit", exitCode: 3, stderrTail: "" }).message
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ToolCrashed extends Schema.TaggedError<ToolCrashed>("effect-swarm/ToolCrashed")("ToolCrashed", {
  toolId: Schema.String,
  exitCode: Schema.optional(Schema.Number),
  signal: Schema.optional(Schema.String),
  stderrTail: Schema.String
}) {
  override get message(): string {
    const how = this.signal !== undefined
      ? `killed by ${this.signal}`
      : this.exitCode !== undefined
      ? `exited with code ${this.exitCode}`
      : "died"
    return `the worker for tool ${JSON.stringify(this.toolId)} ${how} before answering` +
      (this.stderrTail.length > 0 ? `\nstderr tail:\n${this.stderrTail}` : "")
  }
}

/**
 * The worker sent something the host could not understand (a malformed or oversized frame).
 *
 * @example
 * ```ts
 * import { ToolRuntime } from "effect-swarm"
 * new ToolRuntime.ProtocolError({ toolId: "x", message: "result frame exceeds 64 MiB" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ProtocolError extends Schema.TaggedError<ProtocolError>("effect-swarm/ProtocolError")("ProtocolError", {
  toolId: Schema.String,
  message: Schema.String
}) {}

/**
 * A restriction the configuration asks for cannot be enforced by the chosen runtime (for example any
 * file-system restriction on Bun, or a network restriction on Node before 25). Raised before anything
 * runs, unless `permissionPolicy` is `"warn"`.
 *
 * @example
 * ```ts
 * import { ToolRuntime } from "effect-swarm"
 * new ToolRuntime.PermissionUnenforceable({ runtimeType: "bun", permission: "read", reason: "Bun has no permission model" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class PermissionUnenforceable extends Schema.TaggedError<PermissionUnenforceable>(
  "effect-swarm/PermissionUnenforceable"
)("PermissionUnenforceable", {
  runtimeType: Schema.String,
  permission: Schema.String,
  reason: Schema.String,
  /** What to do instead (for restrictions only the OS sandbox keeps: use isolation "os" and how to get it). */
  suggestion: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return `the ${this.runtimeType} runtime cannot enforce the ${this.permission} restriction: ${this.reason}; ` +
      (this.suggestion === undefined ? "" : `${this.suggestion}; or `) +
      `grant it explicitly, pick a runtime that enforces it, or set permissionPolicy to "warn"`
  }
}

/**
 * The runtime binary could not be started (missing binary, no permission to execute it, too many
 * processes). Retried with the configured backoff before it is reported.
 *
 * @example
 * ```ts
 * import { ToolRuntime } from "effect-swarm"
 * new ToolRuntime.SpawnFailed({ runtimeType: "deno", message: "spawn deno ENOENT" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class SpawnFailed extends Schema.TaggedError<SpawnFailed>("effect-swarm/SpawnFailed")("SpawnFailed", {
  runtimeType: Schema.String,
  message: Schema.String
}) {}

/**
 * A call's environment variable was refused: bad name, NUL or newline in the value, or a variable
 * that changes how the runtime loads code (`LD_*`, `DYLD_*`, `NODE_OPTIONS`, `BUN_CONFIG_*`, ...).
 *
 * @example
 * ```ts
 * import { ToolRuntime } from "effect-swarm"
 * new ToolRuntime.InvalidToolEnv({ name: "LD_PRELOAD", reason: "blocked" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidToolEnv extends Schema.TaggedError<InvalidToolEnv>("effect-swarm/InvalidToolEnv")(
  "InvalidToolEnv",
  {
    name: Schema.String,
    reason: Schema.String
  }
) {
  override get message(): string {
    return `environment variable ${JSON.stringify(this.name)} is not allowed: ${this.reason}`
  }
}

/**
 * The per-call `runtime` overrides did not validate (same rules and messages as `RuntimeConfig`).
 *
 * @example
 * ```ts
 * import { ToolRuntime } from "effect-swarm"
 * new ToolRuntime.InvalidRuntimeConfig({ message: "build failed: max memory must be a positive integer" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidRuntimeConfig extends Schema.TaggedError<InvalidRuntimeConfig>(
  "effect-swarm/InvalidRuntimeConfig"
)("InvalidRuntimeConfig", {
  message: Schema.String
}) {}

/**
 * `isolation: "os"` was asked for but the OS sandbox does not work on this machine (no `bwrap`, or
 * unprivileged user namespaces are disabled). `reason` says what the probe saw, `suggestion` how to fix it.
 *
 * @example
 * ```ts
 * import { ToolRuntime } from "effect-swarm"
 * new ToolRuntime.IsolationUnavailable({ strategy: "bubblewrap", reason: "bwrap not found", suggestion: "apt-get install bubblewrap" }).message
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class IsolationUnavailable extends Schema.TaggedError<IsolationUnavailable>(
  "effect-swarm/IsolationUnavailable"
)("IsolationUnavailable", {
  strategy: Schema.String,
  reason: Schema.String,
  suggestion: Schema.String
}) {
  override get message(): string {
    return `isolation "os" needs ${this.strategy}, which does not work here: ${this.reason}; ${this.suggestion} ` +
      `(or choose isolation "runtime" to rely on the runtime's own permission flags)`
  }
}

/**
 * The tool filled its private scratch space (HOME / TMPDIR, a size-limited tmpfs under the OS sandbox)
 * and failed with `ENOSPC`.
 *
 * @example
 * ```ts
 * import { ToolRuntime } from "effect-swarm"
 * new ToolRuntime.ToolScratchExceeded({ toolId: "export", limitMB: 128, message: "ENOSPC: no space left on device" }).message
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ToolScratchExceeded extends Schema.TaggedError<ToolScratchExceeded>(
  "effect-swarm/ToolScratchExceeded"
)("ToolScratchExceeded", {
  toolId: Schema.String,
  limitMB: Schema.Number,
  message: Schema.String
}) {}

/**
 * Every way `ToolRuntime.execute` can fail.
 *
 * @since 0.1.0
 * @category errors
 */
export type ToolRuntimeError =
  | ToolNotFound
  | ToolThrew
  | EntrypointLoadFailed
  | EntrypointUnsupported
  | ToolTimeout
  | ToolMemoryExceeded
  | ToolCrashed
  | ProtocolError
  | PermissionUnenforceable
  | SpawnFailed
  | InvalidToolEnv
  | InvalidRuntimeConfig
  | IsolationUnavailable
  | ToolScratchExceeded
