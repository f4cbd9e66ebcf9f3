/**
 * The runtime config's models: the field types, the immutable {@link Config} value, its encoded
 * forms and the defaults (re-exported by `RuntimeConfig`).
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Equal from "effect/Equal"
import * as Hash from "effect/Hash"

/**
 * The runtimes a tool can run in.
 *
 * @since 0.1.0
 * @category models
 */
export type RuntimeType = "bun" | "node" | "deno"

/**
 * @since 0.1.0
 * @category constants
 */
export const runtimeTypes: ReadonlyArray<RuntimeType> = ["bun", "node", "deno"]

/**
 * What happens when a permission cannot be enforced by the chosen runtime: `enforce` refuses to run
 * the tool (the default), `warn` runs it and logs a warning.
 *
 * @since 0.1.0
 * @category models
 */
export type PermissionPolicy = "enforce" | "warn"

/**
 * How tool processes are isolated: `"os"` (an OS sandbox, bubblewrap on Linux; refused with
 * `IsolationUnavailable` when it does not work here), `"runtime"` (only the runtime's own permission
 * flags) or `"auto"` (the default: `"os"` when a probe shows it works, else `"runtime"` with a one-time
 * warning).
 *
 * @since 0.1.0
 * @category models
 */
export type Isolation = "os" | "runtime" | "auto"

/**
 * Every {@link Isolation} value.
 *
 * @since 0.1.0
 * @category constants
 */
export const isolations: ReadonlyArray<Isolation> = ["os", "runtime", "auto"]

/**
 * Which host bridges tool code may call (`ctx.callAgent`, `ctx.callWorkflow`).
 *
 * @since 0.1.0
 * @category models
 */
export interface NativeTools {
  readonly callAgents: boolean
  readonly callWorkflows: boolean
}

/**
 * The fields of a validated configuration.
 *
 * @since 0.1.0
 * @category models
 */
export interface Fields {
  readonly runtimeType: RuntimeType
  readonly entrypointPath: string
  readonly environment: string
  readonly permissions: ReadonlyArray<string>
  readonly bunPermissions: ReadonlyArray<string>
  readonly nodeOptions: ReadonlyArray<string>
  readonly permissionPolicy: PermissionPolicy
  readonly isolation: Isolation
  readonly maxMemoryMB: number
  readonly toolExecutionTimeout: Duration.Duration
  readonly maxStderrCaptureSize: number
  readonly backoffInitialInterval: Duration.Duration
  readonly backoffMaxInterval: Duration.Duration
  readonly backoffMaxElapsedTime: Duration.Duration
  readonly nativeTools: NativeTools
  readonly workerFilePerm: number
  readonly prespawn: number
}

/** @internal The fields in their canonical (and error-report) order. */
export const fieldNames: ReadonlyArray<keyof Fields> = [
  "runtimeType",
  "entrypointPath",
  "environment",
  "permissions",
  "bunPermissions",
  "nodeOptions",
  "permissionPolicy",
  "isolation",
  "maxMemoryMB",
  "toolExecutionTimeout",
  "maxStderrCaptureSize",
  "backoffInitialInterval",
  "backoffMaxInterval",
  "backoffMaxElapsedTime",
  "nativeTools",
  "workerFilePerm",
  "prespawn"
]

const arrayEquals = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

const fieldEquals = (a: Fields, b: Fields, key: keyof Fields): boolean => {
  const x = a[key]
  const y = b[key]
  if (Array.isArray(x)) return arrayEquals(x, y as ReadonlyArray<string>)
  if (Duration.isDuration(x)) return Duration.equals(x, y as Duration.Duration)
  if (key === "nativeTools") {
    const n = x as NativeTools
    const m = y as NativeTools
    return n.callAgents === m.callAgents && n.callWorkflows === m.callWorkflows
  }
  return x === y
}

/**
 * A validated, deeply immutable runtime configuration. Two configs with the same field values are
 * `Equal.equals` and hash alike.
 *
 * @example
 * ```ts
 * import { Effect, Equal } from "effect"
 * import { RuntimeConfig } from "effect-swarm"
 *
 * const program = Effect.gen(function*() {
 *   const a = yield* RuntimeConfig.make("bun", RuntimeConfig.withMaxMemoryMB(512))
 *   const b = yield* RuntimeConfig.make(" BUN ", RuntimeConfig.withMaxMemoryMB(512))
 *   return Equal.equals(a, b) // true
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export class Config implements Fields, Equal.Equal {
  readonly runtimeType!: RuntimeType
  readonly entrypointPath!: string
  readonly environment!: string
  readonly permissions!: ReadonlyArray<string>
  readonly bunPermissions!: ReadonlyArray<string>
  readonly nodeOptions!: ReadonlyArray<string>
  readonly permissionPolicy!: PermissionPolicy
  readonly isolation!: Isolation
  readonly maxMemoryMB!: number
  readonly toolExecutionTimeout!: Duration.Duration
  readonly maxStderrCaptureSize!: number
  readonly backoffInitialInterval!: Duration.Duration
  readonly backoffMaxInterval!: Duration.Duration
  readonly backoffMaxElapsedTime!: Duration.Duration
  readonly nativeTools!: NativeTools
  readonly workerFilePerm!: number
  readonly prespawn!: number

  /** @internal */
  constructor(fields: Fields) {
    Object.assign(this, fields)
    Object.freeze(this)
  }

  [Equal.symbol](that: Equal.Equal): boolean {
    if (!(that instanceof Config)) return false
    for (const key of fieldNames) if (!fieldEquals(this, that, key)) return false
    return true
  }

  [Hash.symbol](): number {
    // Not cached: the instance is frozen, and hashing a handful of fields is cheap.
    return Hash.string(
      `${this.runtimeType}|${this.entrypointPath}|${this.environment}|${this.permissions.join(",")}|` +
        `${this.maxMemoryMB}|${Duration.toMillis(this.toolExecutionTimeout)}`
    )
  }

  toJSON(): Encoded {
    return encode(this)
  }
}

/**
 * The encoded (JSON / YAML / environment) form of a configuration: durations as milliseconds or
 * strings such as `"30 seconds"`, every field but `runtimeType` optional.
 *
 * @since 0.1.0
 * @category models
 */
export interface Input {
  readonly runtimeType: string
  readonly entrypointPath?: string | undefined
  readonly environment?: string | undefined
  readonly permissions?: ReadonlyArray<string> | undefined
  readonly bunPermissions?: ReadonlyArray<string> | undefined
  readonly nodeOptions?: ReadonlyArray<string> | undefined
  readonly permissionPolicy?: string | undefined
  readonly isolation?: string | undefined
  readonly maxMemoryMB?: number | undefined
  readonly toolExecutionTimeout?: Duration.DurationInput | undefined
  readonly maxStderrCaptureSize?: number | undefined
  readonly backoffInitialInterval?: Duration.DurationInput | undefined
  readonly backoffMaxInterval?: Duration.DurationInput | undefined
  readonly backoffMaxElapsedTime?: Duration.DurationInput | undefined
  readonly nativeTools?: Partial<NativeTools> | undefined
  readonly workerFilePerm?: number | undefined
  readonly prespawn?: number | undefined
}

/**
 * The JSON form of a {@link Config} (durations in milliseconds).
 *
 * @since 0.1.0
 * @category models
 */
export interface Encoded {
  readonly runtimeType: RuntimeType
  readonly entrypointPath: string
  readonly environment: string
  readonly permissions: ReadonlyArray<string>
  readonly bunPermissions: ReadonlyArray<string>
  readonly nodeOptions: ReadonlyArray<string>
  readonly permissionPolicy: PermissionPolicy
  readonly isolation: Isolation
  readonly maxMemoryMB: number
  readonly toolExecutionTimeout: number
  readonly maxStderrCaptureSize: number
  readonly backoffInitialInterval: number
  readonly backoffMaxInterval: number
  readonly backoffMaxElapsedTime: number
  readonly nativeTools: NativeTools
  readonly workerFilePerm: number
  readonly prespawn: number
}

/**
 * Encodes a config to plain JSON (durations in milliseconds); `decode(encode(c))` equals `c`.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = (config: Config): Encoded => ({
  runtimeType: config.runtimeType,
  entrypointPath: config.entrypointPath,
  environment: config.environment,
  permissions: [...config.permissions],
  bunPermissions: [...config.bunPermissions],
  nodeOptions: [...config.nodeOptions],
  permissionPolicy: config.permissionPolicy,
  isolation: config.isolation,
  maxMemoryMB: config.maxMemoryMB,
  toolExecutionTimeout: Duration.toMillis(config.toolExecutionTimeout),
  maxStderrCaptureSize: config.maxStderrCaptureSize,
  backoffInitialInterval: Duration.toMillis(config.backoffInitialInterval),
  backoffMaxInterval: Duration.toMillis(config.backoffMaxInterval),
  backoffMaxElapsedTime: Duration.toMillis(config.backoffMaxElapsedTime),
  nativeTools: { callAgents: config.nativeTools.callAgents, callWorkflows: config.nativeTools.callWorkflows },
  workerFilePerm: config.workerFilePerm,
  prespawn: config.prespawn
})

// ---------------------------------------------------------------------------------------------------
// Defaults
// ---------------------------------------------------------------------------------------------------

/** @internal */
export const emptyList: ReadonlyArray<string> = Object.freeze([])
/** @internal */
export const defaultPermissions: ReadonlyArray<string> = Object.freeze(["--allow-all"])
const defaultNativeTools: NativeTools = Object.freeze({ callAgents: false, callWorkflows: false })

/**
 * The defaults every builder starts from (seed defaults, except permissions: see docs/runtime-config.md).
 *
 * `permissions` defaults to `["--allow-all"]`, stated openly: a tool is trusted code unless you restrict
 * it. The seed defaulted to `--allow-read`, which Bun silently ignored; we never claim a restriction
 * that is not enforced.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults = {
  entrypointPath: "",
  environment: "development",
  permissions: defaultPermissions,
  bunPermissions: emptyList,
  nodeOptions: emptyList,
  permissionPolicy: "enforce" as PermissionPolicy,
  isolation: "auto" as Isolation,
  maxMemoryMB: 2048,
  toolExecutionTimeout: Duration.seconds(60),
  maxStderrCaptureSize: 1024 * 1024,
  backoffInitialInterval: Duration.millis(100),
  backoffMaxInterval: Duration.seconds(5),
  backoffMaxElapsedTime: Duration.seconds(30),
  nativeTools: defaultNativeTools,
  workerFilePerm: 0o600,
  prespawn: 1
} as const
