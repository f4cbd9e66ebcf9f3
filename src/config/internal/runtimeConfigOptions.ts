/**
 * The functional options (the seed's `With*` setters) and the encoded-input constructors
 * (re-exported by `RuntimeConfig`).
 *
 * @internal
 */
import type * as Duration from "effect/Duration"
import type * as Either from "effect/Either"
import type { BuildError } from "../BuildError.js"
import type { Option } from "./runtimeConfigBuilder.js"
import { make } from "./runtimeConfigBuilder.js"
import type { Config, Input, Isolation, NativeTools, PermissionPolicy } from "./runtimeConfigModel.js"

/**
 * Path of the tool module whose exports are the tools. Trimmed; empty means "no tools". A non-empty
 * path must end in `.ts`, `.mts`, `.js` or `.mjs`.
 *
 * @since 0.1.0
 * @category options
 */
export const withEntrypointPath = (path: string): Option => (d) => {
  d.entrypointPath = path
}

/**
 * Deployment environment: a lowercase word such as `development`, `staging`, `production` or `test`.
 *
 * @since 0.1.0
 * @category options
 */
export const withEnvironment = (environment: string): Option => (d) => {
  d.environment = environment
}

/**
 * Runtime-neutral permissions (`--allow-read[=paths]`, `--allow-write[=paths]`, `--allow-net[=hosts]`,
 * `--allow-env[=NAMES]`, `--allow-run[=programs]`, `--allow-all`). Normalised and de-duplicated.
 *
 * @example
 * ```ts
 * import { RuntimeConfig } from "effect-swarm"
 * RuntimeConfig.make("deno", RuntimeConfig.withPermissions(["--allow-read=/data", "--allow-net=api.example.com"]))
 * ```
 *
 * @since 0.1.0
 * @category options
 */
export const withPermissions = (permissions: ReadonlyArray<string>): Option => {
  const copy = permissions.slice()
  return (d) => {
    d.permissions = copy
  }
}

/**
 * The seed's Bun-only permission list, kept for compatibility; only valid with the `bun` runtime.
 * When non-empty it takes precedence over `permissions`.
 *
 * @since 0.1.0
 * @category options
 */
export const withBunPermissions = (permissions: ReadonlyArray<string>): Option => {
  const copy = permissions.slice()
  return (d) => {
    d.bunPermissions = copy
  }
}

/**
 * Extra Node.js flags (only with the `node` runtime). Flags that load code or change permissions
 * (`--require`, `--import`, `--loader`, `--allow-*`, `--permission`) are rejected.
 *
 * @since 0.1.0
 * @category options
 */
export const withNodeOptions = (options: ReadonlyArray<string>): Option => {
  const copy = options.slice()
  return (d) => {
    d.nodeOptions = copy
  }
}

/**
 * `enforce` (default) refuses tools whose permissions the runtime cannot enforce; `warn` runs them and
 * logs a warning.
 *
 * @since 0.1.0
 * @category options
 */
export const withPermissionPolicy = (policy: PermissionPolicy): Option => (d) => {
  d.permissionPolicy = policy
}

/**
 * How tool processes are isolated (default `"auto"`; see {@link Isolation} and
 * docs/tools-and-sandbox.md for what each strategy enforces).
 *
 * @example
 * ```ts
 * import { RuntimeConfig } from "effect-swarm"
 * const Strict = RuntimeConfig.layer("bun", RuntimeConfig.withEntrypointPath("./tools.ts"), RuntimeConfig.withIsolation("os"))
 * ```
 *
 * @since 0.1.0
 * @category options
 */
export const withIsolation = (isolation: Isolation): Option => (d) => {
  d.isolation = isolation
}

/**
 * Memory cap in MiB (default 2048): a heap cap on Node and Deno, and a resident-memory watchdog on
 * every runtime.
 *
 * @since 0.1.0
 * @category options
 */
export const withMaxMemoryMB = (mb: number): Option => (d) => {
  d.maxMemoryMB = mb
}

/**
 * Wall-clock limit for one tool call (default 60 s).
 *
 * @since 0.1.0
 * @category options
 */
export const withToolExecutionTimeout = (timeout: Duration.DurationInput): Option => (d) => {
  d.toolExecutionTimeout = timeout
}

/**
 * How many bytes of the tool's output are kept, **for stdout and for stderr each** (default 1 MiB;
 * head and tail are kept): the captures `executeDetailed` returns and the tails in error reports. The
 * name is the seed's; {@link withMaxOutputCaptureSize} is the same option under an accurate name.
 *
 * @since 0.1.0
 * @category options
 */
export const withMaxStderrCaptureSize = (bytes: number): Option => (d) => {
  d.maxStderrCaptureSize = bytes
}

/**
 * The cap on captured stdout and stderr (each), in bytes: an alias of
 * {@link withMaxStderrCaptureSize}, whose name undersells it.
 *
 * @example
 * ```ts
 * import { RuntimeConfig } from "effect-swarm"
 * const Quiet = RuntimeConfig.layer("node", RuntimeConfig.withMaxOutputCaptureSize(64 * 1024))
 * ```
 *
 * @since 0.1.0
 * @category options
 */
export const withMaxOutputCaptureSize = (bytes: number): Option => withMaxStderrCaptureSize(bytes)

/**
 * First delay before retrying a failed worker spawn (default 100 ms).
 *
 * @since 0.1.0
 * @category options
 */
export const withBackoffInitialInterval = (interval: Duration.DurationInput): Option => (d) => {
  d.backoffInitialInterval = interval
}

/**
 * Largest delay between spawn retries (default 5 s); must be at least the initial interval.
 *
 * @since 0.1.0
 * @category options
 */
export const withBackoffMaxInterval = (interval: Duration.DurationInput): Option => (d) => {
  d.backoffMaxInterval = interval
}

/**
 * Total time spent retrying spawns before giving up (default 30 s).
 *
 * @since 0.1.0
 * @category options
 */
export const withBackoffMaxElapsedTime = (elapsed: Duration.DurationInput): Option => (d) => {
  d.backoffMaxElapsedTime = elapsed
}

/**
 * Enables `ctx.callAgent` / `ctx.callWorkflow` inside tool code. Copied when applied.
 *
 * @since 0.1.0
 * @category options
 */
export const withNativeTools = (nativeTools: Partial<NativeTools> | undefined): Option => {
  const copy: NativeTools = Object.freeze({
    callAgents: nativeTools?.callAgents === true,
    callWorkflows: nativeTools?.callWorkflows === true
  })
  return (d) => {
    d.nativeTools = copy
  }
}

/**
 * Mode of the generated worker file (default `0o600`); group- or world-writable modes are rejected.
 *
 * @since 0.1.0
 * @category options
 */
export const withWorkerFilePerm = (perm: number): Option => (d) => {
  d.workerFilePerm = perm
}

/**
 * How many single-use workers are kept started ahead per config (default 1; 0 to 16): after a call,
 * the next fresh worker for the same config starts in the background (spawned, sandboxed, runtime
 * booted, entrypoint imported), so the next call does not pay the process start. Each serves exactly
 * one call, like any cold worker; idle ones are stopped after `ToolRuntime`'s `prespawnIdleTimeout`.
 *
 * @example
 * ```ts
 * import { RuntimeConfig } from "effect-swarm"
 * const NoPrestart = RuntimeConfig.layer("node", RuntimeConfig.withEntrypointPath("./tools.mjs"), RuntimeConfig.withPrespawn(0))
 * ```
 *
 * @since 0.1.0
 * @category options
 */
export const withPrespawn = (count: number): Option => (d) => {
  d.prespawn = count
}

/**
 * Overrides the runtime type given to `make` (trimmed, case-insensitive).
 *
 * @since 0.1.0
 * @category options
 */
export const withRuntimeType = (runtimeType: string): Option => (d) => {
  d.runtimeType = runtimeType
}

/**
 * Turns an {@link Input} into options (used by `fromInput` and by bundle `spec.runtime` blocks).
 *
 * @since 0.1.0
 * @category constructors
 */
export const optionsFromInput = (input: Omit<Input, "runtimeType">): Array<Option> => {
  const options: Array<Option> = []
  if (input.entrypointPath !== undefined) options.push(withEntrypointPath(input.entrypointPath))
  if (input.environment !== undefined) options.push(withEnvironment(input.environment))
  if (input.permissions !== undefined) options.push(withPermissions(input.permissions))
  if (input.bunPermissions !== undefined) options.push(withBunPermissions(input.bunPermissions))
  if (input.nodeOptions !== undefined) options.push(withNodeOptions(input.nodeOptions))
  if (input.permissionPolicy !== undefined) {
    const policy = input.permissionPolicy
    options.push((d) => {
      d.permissionPolicy = policy
    })
  }
  if (input.isolation !== undefined) {
    const isolation = input.isolation
    options.push((d) => {
      d.isolation = isolation
    })
  }
  if (input.maxMemoryMB !== undefined) options.push(withMaxMemoryMB(input.maxMemoryMB))
  if (input.toolExecutionTimeout !== undefined) options.push(withToolExecutionTimeout(input.toolExecutionTimeout))
  if (input.maxStderrCaptureSize !== undefined) options.push(withMaxStderrCaptureSize(input.maxStderrCaptureSize))
  if (input.backoffInitialInterval !== undefined) {
    options.push(withBackoffInitialInterval(input.backoffInitialInterval))
  }
  if (input.backoffMaxInterval !== undefined) options.push(withBackoffMaxInterval(input.backoffMaxInterval))
  if (input.backoffMaxElapsedTime !== undefined) {
    options.push(withBackoffMaxElapsedTime(input.backoffMaxElapsedTime))
  }
  if (input.nativeTools !== undefined) options.push(withNativeTools(input.nativeTools))
  if (input.workerFilePerm !== undefined) options.push(withWorkerFilePerm(input.workerFilePerm))
  if (input.prespawn !== undefined) options.push(withPrespawn(input.prespawn))
  return options
}

/**
 * Builds a config from its encoded form through the fast path (the input must already have the right
 * shape; use {@link decode} for untrusted data).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromInput = (input: Input): Either.Either<Config, BuildError> =>
  make(input.runtimeType, ...optionsFromInput(input))
