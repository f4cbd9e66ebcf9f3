/**
 * The tool runtime configuration (seed: compozy's `runtime.New(ctx, type, ...opts)`), as immutable
 * validated values and Effect Layers.
 *
 * - `make(type, ...options)` builds a {@link Config} or fails with a {@link BuildError} listing every
 *   problem. It returns an `Either`, which is also an `Effect`, so `yield*` works in generators and the
 *   synchronous path stays allocation-light (see BENCHMARKS.md).
 * - `layer`, `layerConfig` (environment variables through effect `Config`) and `override` (environment
 *   overlays as Layer composition) provide the {@link RuntimeConfig} service.
 * - `decode(input)` validates an encoded object (JSON / YAML) through effect `Schema`; it agrees with
 *   `make` on every valid and invalid input (tested).
 *
 * Unlike the seed, every field is validated, lists are deep-copied and de-duplicated, and the config
 * never claims a permission the sandbox cannot enforce (see `ToolRuntime.capabilities`).
 *
 * @since 0.1.0
 */
import * as Config_ from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Equal from "effect/Equal"
import * as Hash from "effect/Hash"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { BuildIssue } from "./BuildError.js"
import { BuildError } from "./BuildError.js"
import * as Permissions from "./Permissions.js"

// ---------------------------------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------------------------------

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
}

const fieldNames: ReadonlyArray<keyof Fields> = [
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
  "workerFilePerm"
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
  workerFilePerm: config.workerFilePerm
})

// ---------------------------------------------------------------------------------------------------
// Defaults
// ---------------------------------------------------------------------------------------------------

const emptyList: ReadonlyArray<string> = Object.freeze([])
const defaultPermissions: ReadonlyArray<string> = Object.freeze(["--allow-all"])
const defaultNativeTools: NativeTools = Object.freeze({ callAgents: false, callWorkflows: false })

/**
 * The defaults every builder starts from (seed defaults, except permissions: see the README).
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
  workerFilePerm: 0o600
} as const

// ---------------------------------------------------------------------------------------------------
// Rules: one check per field, shared by the fast builder and the Schema decoder so both speak the
// same words. Each returns `undefined` when the value is fine, or the message.
// ---------------------------------------------------------------------------------------------------

const showDuration = (input: unknown): string => {
  if (typeof input === "number") return `${input} millis`
  if (Duration.isDuration(input)) return Duration.format(input)
  return JSON.stringify(input) ?? String(input)
}

/** @internal */
export const normalizeRuntimeType = (raw: string): string => raw.trim().toLowerCase()

/** @internal */
export const checkRuntimeType = (normalized: string): string | undefined => {
  if (normalized.length === 0) return "runtime type cannot be empty"
  if (normalized === "bun" || normalized === "node" || normalized === "deno") return undefined
  return `runtime type ${JSON.stringify(normalized)} is not supported; must be one of [bun node deno]`
}

const entrypointExtension = /\.(?:ts|mts|js|mjs)$/

/** @internal */
export const checkEntrypoint = (trimmed: string): string | undefined => {
  if (trimmed.length === 0) return undefined
  if (/[\0\n\r]/.test(trimmed)) return "entrypoint path must not contain NUL or newline characters"
  if (!entrypointExtension.test(trimmed)) {
    return `entrypoint path ${JSON.stringify(trimmed)} must end in .ts, .mts, .js or .mjs`
  }
  return undefined
}

const environmentWord = /^[a-z][a-z0-9_-]*$/

/** @internal */
export const checkEnvironment = (value: string): string | undefined =>
  environmentWord.test(value) ?
    undefined :
    `environment ${JSON.stringify(value)} must be a non-empty lowercase word ` +
    `(development, staging, production, test, ...)`

const forbiddenNodeOptions = ["--require", "-r", "--import", "--loader", "--experimental-loader", "--permission"]

/** @internal */
export const checkNodeOption = (option: string): string | undefined => {
  const trimmed = option.trim()
  if (!trimmed.startsWith("-")) {
    return `node option ${JSON.stringify(option)} is not a flag; node options start with "-"`
  }
  if (/[\0\n\r]/.test(trimmed)) return `node option ${JSON.stringify(option)} contains NUL or newline characters`
  const flag = trimmed.split("=")[0]!.toLowerCase()
  if (
    forbiddenNodeOptions.includes(flag) || flag.startsWith("--allow-") || flag === "--experimental-permission"
  ) {
    return `node option ${JSON.stringify(trimmed)} is not allowed: it would load code or change permissions ` +
      `outside the sandbox; use permissions and entrypointPath instead`
  }
  return undefined
}

/** @internal */
export const checkPermissionPolicy = (value: string): string | undefined =>
  value === "enforce" || value === "warn" ?
    undefined :
    `permission policy ${JSON.stringify(value)} is not supported; must be one of [enforce warn]`

/** @internal */
export const checkIsolation = (value: string): string | undefined =>
  value === "os" || value === "runtime" || value === "auto" ?
    undefined :
    `isolation ${JSON.stringify(value)} is not supported; must be one of [os runtime auto]`

const positiveInteger = (label: string, unit: string) => (value: number): string | undefined =>
  Number.isSafeInteger(value) && value > 0 ? undefined : `${label} must be a positive integer (${unit}), got ${value}`

/** @internal */
export const checkMaxMemoryMB = positiveInteger("max memory", "MB")
/** @internal */
export const checkMaxStderrCaptureSize = positiveInteger("max stderr capture size", "bytes")

const durationLabels = {
  toolExecutionTimeout: "tool execution timeout",
  backoffInitialInterval: "backoff initial interval",
  backoffMaxInterval: "backoff max interval",
  backoffMaxElapsedTime: "backoff max elapsed time"
} as const

type DurationField = keyof typeof durationLabels

/**
 * Decodes a duration input strictly: negative or NaN numbers and unparsable strings are errors (the
 * effect `Duration.decode` would clamp them to zero), and so is zero or infinity.
 *
 * @internal
 */
export const decodeDurationField = (field: DurationField, input: unknown): Duration.Duration | string => {
  const label = durationLabels[field]
  if (typeof input === "number" && !(input > 0 && Number.isFinite(input))) {
    return `${label} must be a positive finite duration, got ${showDuration(input)}`
  }
  let decoded: Duration.Duration | undefined
  if (Duration.isDuration(input)) decoded = input
  else if (
    typeof input === "number" || typeof input === "string" || typeof input === "bigint" || Array.isArray(input)
  ) {
    const option = Duration.decodeUnknown(input)
    decoded = option._tag === "Some" ? option.value : undefined
  }
  if (decoded === undefined) {
    return `${label} is not a valid duration: ${showDuration(input)}; use milliseconds or a string such as "30 seconds"`
  }
  if (!Duration.isFinite(decoded) || Duration.lessThanOrEqualTo(decoded, Duration.zero)) {
    return `${label} must be a positive finite duration, got ${showDuration(input)}`
  }
  return decoded
}

/** @internal */
export const checkWorkerFilePerm = (perm: number): string | undefined => {
  const shown = Number.isSafeInteger(perm) && perm >= 0 ? `0o${perm.toString(8)}` : String(perm)
  if (!Number.isSafeInteger(perm) || perm < 0 || perm > 0o777) {
    return `worker file permission ${shown} is out of range; must be within 0o000-0o777 (e.g. 0o600)`
  }
  if ((perm & 0o022) !== 0) return `worker file permission ${shown} must not be group- or world-writable; use 0o600`
  if ((perm & 0o400) === 0) return `worker file permission ${shown} must let the owner read the file; use 0o600`
  return undefined
}

/** @internal Rules that involve two fields; durations are passed decoded (or `undefined` if invalid). */
export const crossFieldIssues = (
  runtimeType: string,
  bunPermissionCount: number,
  nodeOptionCount: number,
  backoffInitialInterval: Duration.Duration | undefined,
  backoffMaxInterval: Duration.Duration | undefined
): Array<BuildIssue> => {
  const issues: Array<BuildIssue> = []
  const known = checkRuntimeType(runtimeType) === undefined
  if (known && runtimeType !== "bun" && bunPermissionCount > 0) {
    issues.push({
      path: ["bunPermissions"],
      message: `bun permissions can only be used with the bun runtime, got ${
        JSON.stringify(runtimeType)
      }; use permissions, which every runtime understands`
    })
  }
  if (known && runtimeType !== "node" && nodeOptionCount > 0) {
    issues.push({
      path: ["nodeOptions"],
      message: `node options can only be used with the node runtime, got ${JSON.stringify(runtimeType)}`
    })
  }
  if (
    backoffInitialInterval !== undefined && backoffMaxInterval !== undefined &&
    Duration.lessThan(backoffMaxInterval, backoffInitialInterval)
  ) {
    issues.push({
      path: ["backoffMaxInterval"],
      message: `backoff max interval (${Duration.format(backoffMaxInterval)}) must be at least the backoff initial ` +
        `interval (${Duration.format(backoffInitialInterval)})`
    })
  }
  return issues
}

const fieldOrder: Record<string, number> = Object.fromEntries(fieldNames.map((name, i) => [name, i]))

/** @internal Issues are reported in field order, then by position, whichever path produced them. */
export const sortIssues = (issues: Array<BuildIssue>): Array<BuildIssue> =>
  issues.sort((a, b) => {
    const fa = fieldOrder[String(a.path[0])] ?? 99
    const fb = fieldOrder[String(b.path[0])] ?? 99
    if (fa !== fb) return fa - fb
    const ia = typeof a.path[1] === "number" ? a.path[1] : -1
    const ib = typeof b.path[1] === "number" ? b.path[1] : -1
    return ia - ib
  })

// ---------------------------------------------------------------------------------------------------
// Fast path: options mutate a private draft; validation is hand-written over the shared rules.
// ---------------------------------------------------------------------------------------------------

interface Draft {
  runtimeType: string
  entrypointPath: string
  environment: string
  permissions: ReadonlyArray<string>
  bunPermissions: ReadonlyArray<string>
  nodeOptions: ReadonlyArray<string>
  permissionPolicy: string
  isolation: string
  maxMemoryMB: number
  toolExecutionTimeout: Duration.DurationInput
  maxStderrCaptureSize: number
  backoffInitialInterval: Duration.DurationInput
  backoffMaxInterval: Duration.DurationInput
  backoffMaxElapsedTime: Duration.DurationInput
  nativeTools: NativeTools
  workerFilePerm: number
}

/**
 * A functional option, as in the seed (`runtime.WithMaxMemoryMB(512)`). Options apply in order; the
 * last one for a field wins. Values are copied when applied, so later mutation by the caller has no
 * effect on any config.
 *
 * @since 0.1.0
 * @category models
 */
export interface Option {
  (draft: Draft): void
}

const newDraft = (runtimeType: string): Draft => ({
  runtimeType,
  entrypointPath: defaults.entrypointPath,
  environment: defaults.environment,
  permissions: defaults.permissions,
  bunPermissions: defaults.bunPermissions,
  nodeOptions: defaults.nodeOptions,
  permissionPolicy: defaults.permissionPolicy,
  isolation: defaults.isolation,
  maxMemoryMB: defaults.maxMemoryMB,
  toolExecutionTimeout: defaults.toolExecutionTimeout,
  maxStderrCaptureSize: defaults.maxStderrCaptureSize,
  backoffInitialInterval: defaults.backoffInitialInterval,
  backoffMaxInterval: defaults.backoffMaxInterval,
  backoffMaxElapsedTime: defaults.backoffMaxElapsedTime,
  nativeTools: defaults.nativeTools,
  workerFilePerm: defaults.workerFilePerm
})

interface NormalizedList {
  readonly values: ReadonlyArray<string>
  readonly issues: ReadonlyArray<BuildIssue>
}

// Options copy their list once and never mutate it, so normalising a given list can be memoised by
// identity: building many configs from the same options then costs no string work.
const listCache = {
  permissions: new WeakMap<ReadonlyArray<string>, NormalizedList>(),
  bunPermissions: new WeakMap<ReadonlyArray<string>, NormalizedList>(),
  nodeOptions: new WeakMap<ReadonlyArray<string>, NormalizedList>()
}

const normalizeList = (
  field: "permissions" | "bunPermissions" | "nodeOptions",
  entries: ReadonlyArray<string>,
  issues: Array<BuildIssue>
): ReadonlyArray<string> => {
  if (entries.length === 0) return emptyList
  if (entries === defaultPermissions) return defaultPermissions
  let normalized = listCache[field].get(entries)
  if (normalized === undefined) {
    const values: Array<string> = []
    const found: Array<BuildIssue> = []
    for (let i = 0; i < entries.length; i++) {
      const entry: unknown = entries[i]
      let value: string | undefined
      let message: string | undefined
      if (field === "nodeOptions") {
        message = typeof entry === "string" ? checkNodeOption(entry) : `node option ${String(entry)} is not a string`
        value = message === undefined ? (entry as string).trim() : undefined
      } else {
        value = typeof entry === "string" ? Permissions.normalizeEntry(entry) : undefined
        if (value === undefined) message = Permissions.invalidEntryMessage(field, String(entry))
      }
      if (message !== undefined) found.push({ path: [field, i], message })
      else if (value !== undefined && !values.includes(value)) values.push(value)
    }
    normalized = { values: Object.freeze(values), issues: found }
    listCache[field].set(entries, normalized)
  }
  for (const issue of normalized.issues) issues.push(issue)
  return normalized.values
}

const check = (issues: Array<BuildIssue>, field: keyof Fields, message: string | undefined): void => {
  if (message !== undefined) issues.push({ path: [field], message })
}

// Parsing "30 seconds" is the costliest step of a full build; the distinct strings an app uses are few.
const durationStrings = new Map<string, Duration.Duration | string>()
const decodeDurationString = (field: DurationField, input: string): Duration.Duration | string => {
  const key = `${field}|${input}`
  let decoded = durationStrings.get(key)
  if (decoded === undefined) {
    decoded = decodeDurationField(field, input)
    if (durationStrings.size >= 512) durationStrings.clear()
    durationStrings.set(key, decoded)
  }
  return decoded
}

const durationOrDefault = (
  issues: Array<BuildIssue>,
  field: DurationField,
  input: Duration.DurationInput
): Duration.Duration | undefined => {
  if (input === defaults[field]) return defaults[field]
  const decoded = typeof input === "string" ? decodeDurationString(field, input) : decodeDurationField(field, input)
  if (typeof decoded === "string") {
    issues.push({ path: [field], message: decoded })
    return undefined
  }
  return decoded
}

const validateDraft = (draft: Draft): Either.Either<Config, BuildError> => {
  const issues: Array<BuildIssue> = []
  const runtimeType = normalizeRuntimeType(draft.runtimeType)
  check(issues, "runtimeType", checkRuntimeType(runtimeType))
  const entrypointPath = draft.entrypointPath.trim()
  check(issues, "entrypointPath", checkEntrypoint(entrypointPath))
  if (draft.environment !== defaults.environment) check(issues, "environment", checkEnvironment(draft.environment))
  const permissions = normalizeList("permissions", draft.permissions, issues)
  const bunPermissions = normalizeList("bunPermissions", draft.bunPermissions, issues)
  const nodeOptions = normalizeList("nodeOptions", draft.nodeOptions, issues)
  if (draft.permissionPolicy !== "enforce") {
    check(issues, "permissionPolicy", checkPermissionPolicy(draft.permissionPolicy))
  }
  if (draft.isolation !== defaults.isolation) check(issues, "isolation", checkIsolation(draft.isolation))
  if (draft.maxMemoryMB !== defaults.maxMemoryMB) check(issues, "maxMemoryMB", checkMaxMemoryMB(draft.maxMemoryMB))
  const toolExecutionTimeout = durationOrDefault(issues, "toolExecutionTimeout", draft.toolExecutionTimeout)
  if (draft.maxStderrCaptureSize !== defaults.maxStderrCaptureSize) {
    check(issues, "maxStderrCaptureSize", checkMaxStderrCaptureSize(draft.maxStderrCaptureSize))
  }
  const backoffInitialInterval = durationOrDefault(issues, "backoffInitialInterval", draft.backoffInitialInterval)
  const backoffMaxInterval = durationOrDefault(issues, "backoffMaxInterval", draft.backoffMaxInterval)
  const backoffMaxElapsedTime = durationOrDefault(issues, "backoffMaxElapsedTime", draft.backoffMaxElapsedTime)
  if (draft.workerFilePerm !== defaults.workerFilePerm) {
    check(issues, "workerFilePerm", checkWorkerFilePerm(draft.workerFilePerm))
  }
  if (
    draft.bunPermissions.length > 0 || draft.nodeOptions.length > 0 ||
    backoffInitialInterval !== defaults.backoffInitialInterval || backoffMaxInterval !== defaults.backoffMaxInterval
  ) {
    const cross = crossFieldIssues(
      runtimeType,
      draft.bunPermissions.length,
      draft.nodeOptions.length,
      backoffInitialInterval,
      backoffMaxInterval
    )
    for (const issue of cross) issues.push(issue)
  }
  if (issues.length > 0) return Either.left(new BuildError({ errors: sortIssues(issues) }))
  return Either.right(
    new Config({
      runtimeType: runtimeType as RuntimeType,
      entrypointPath,
      environment: draft.environment,
      permissions,
      bunPermissions,
      nodeOptions,
      permissionPolicy: draft.permissionPolicy as PermissionPolicy,
      isolation: draft.isolation as Isolation,
      maxMemoryMB: draft.maxMemoryMB,
      toolExecutionTimeout: toolExecutionTimeout!,
      maxStderrCaptureSize: draft.maxStderrCaptureSize,
      backoffInitialInterval: backoffInitialInterval!,
      backoffMaxInterval: backoffMaxInterval!,
      backoffMaxElapsedTime: backoffMaxElapsedTime!,
      nativeTools: draft.nativeTools,
      workerFilePerm: draft.workerFilePerm
    })
  )
}

// ---------------------------------------------------------------------------------------------------
// Options (the seed's `With*` setters)
// ---------------------------------------------------------------------------------------------------

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
 * How tool processes are isolated (default `"auto"`; see {@link Isolation} and the README's
 * "Sandboxed tools" section for what each strategy enforces).
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
 * Overrides the runtime type given to `make` (trimmed, case-insensitive).
 *
 * @since 0.1.0
 * @category options
 */
export const withRuntimeType = (runtimeType: string): Option => (d) => {
  d.runtimeType = runtimeType
}

const fromConfig = (config: Config): Option => (d) => {
  d.runtimeType = config.runtimeType
  d.entrypointPath = config.entrypointPath
  d.environment = config.environment
  d.permissions = config.permissions
  d.bunPermissions = config.bunPermissions
  d.nodeOptions = config.nodeOptions
  d.permissionPolicy = config.permissionPolicy
  d.isolation = config.isolation
  d.maxMemoryMB = config.maxMemoryMB
  d.toolExecutionTimeout = config.toolExecutionTimeout
  d.maxStderrCaptureSize = config.maxStderrCaptureSize
  d.backoffInitialInterval = config.backoffInitialInterval
  d.backoffMaxInterval = config.backoffMaxInterval
  d.backoffMaxElapsedTime = config.backoffMaxElapsedTime
  d.nativeTools = config.nativeTools
  d.workerFilePerm = config.workerFilePerm
}

// ---------------------------------------------------------------------------------------------------
// Constructors
// ---------------------------------------------------------------------------------------------------

/**
 * Builds a validated config, synchronously. The result is an `Either`, which is also an `Effect`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RuntimeConfig } from "effect-swarm"
 *
 * const program = Effect.gen(function*() {
 *   const config = yield* RuntimeConfig.make("node",
 *     RuntimeConfig.withEntrypointPath("./tools/index.js"),
 *     RuntimeConfig.withToolExecutionTimeout("30 seconds"))
 *   return config.toolExecutionTimeout
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (runtimeType: string, ...options: ReadonlyArray<Option>): Either.Either<Config, BuildError> => {
  const draft = newDraft(runtimeType)
  for (let i = 0; i < options.length; i++) options[i]!(draft)
  return validateDraft(draft)
}

/**
 * Re-validates `base` with `options` applied on top: the basis of {@link override}.
 *
 * @since 0.1.0
 * @category constructors
 */
export const update = (base: Config, ...options: ReadonlyArray<Option>): Either.Either<Config, BuildError> => {
  const draft = newDraft(base.runtimeType)
  fromConfig(base)(draft)
  for (let i = 0; i < options.length; i++) options[i]!(draft)
  return validateDraft(draft)
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

// ---------------------------------------------------------------------------------------------------
// Schema path: decode untrusted input (YAML, JSON) with effect Schema, collecting every issue.
// ---------------------------------------------------------------------------------------------------

// Absent and `undefined` mean the same (the default); undefined keys are dropped before decoding.
const exact = <S extends Schema.Schema.All>(schema: S) => Schema.optionalWith(schema, { exact: true })

const messageOf = <A>(check: (a: A) => string | undefined) => (a: A) => check(a) ?? true

const DurationInputSchema = (field: DurationField) =>
  Schema.transformOrFail(
    Schema.Union(Schema.Number, Schema.String, Schema.DurationFromSelf),
    Schema.DurationFromSelf,
    {
      strict: true,
      decode: (input, _, ast) => {
        const decoded = decodeDurationField(field, input)
        return typeof decoded === "string"
          ? ParseResult.fail(new ParseResult.Type(ast, input, decoded))
          : ParseResult.succeed(decoded)
      },
      encode: (d) => ParseResult.succeed(d)
    }
  )

const PermissionListSchema = (field: "permissions" | "bunPermissions") =>
  Schema.transform(
    Schema.Array(
      Schema.String.pipe(
        Schema.filter((entry) =>
          Permissions.normalizeEntry(entry) === undefined ? Permissions.invalidEntryMessage(field, entry) : true
        )
      )
    ),
    Schema.Array(Schema.String),
    {
      strict: true,
      decode: (entries) => [...new Set(entries.map((e) => Permissions.normalizeEntry(e)!))],
      encode: (entries) => entries
    }
  )

/**
 * The Schema of the encoded form, field by field (each field carries its rule and message).
 *
 * @since 0.1.0
 * @category schemas
 */
export const InputFields = Schema.Struct({
  runtimeType: Schema.transform(Schema.String, Schema.String, {
    strict: true,
    decode: normalizeRuntimeType,
    encode: (s) => s
  }).pipe(Schema.filter(messageOf(checkRuntimeType))),
  entrypointPath: exact(
    Schema.transform(Schema.String, Schema.String, { strict: true, decode: (s) => s.trim(), encode: (s) => s }).pipe(
      Schema.filter(messageOf(checkEntrypoint))
    )
  ),
  environment: exact(Schema.String.pipe(Schema.filter(messageOf(checkEnvironment)))),
  permissions: exact(PermissionListSchema("permissions")),
  bunPermissions: exact(PermissionListSchema("bunPermissions")),
  nodeOptions: exact(
    Schema.transform(
      Schema.Array(Schema.String.pipe(Schema.filter(messageOf(checkNodeOption)))),
      Schema.Array(Schema.String),
      { strict: true, decode: (xs) => [...new Set(xs.map((x) => x.trim()))], encode: (xs) => xs }
    )
  ),
  permissionPolicy: exact(Schema.String.pipe(Schema.filter(messageOf(checkPermissionPolicy)))),
  isolation: exact(Schema.String.pipe(Schema.filter(messageOf(checkIsolation)))),
  maxMemoryMB: exact(Schema.Number.pipe(Schema.filter(messageOf(checkMaxMemoryMB)))),
  toolExecutionTimeout: exact(DurationInputSchema("toolExecutionTimeout")),
  maxStderrCaptureSize: exact(Schema.Number.pipe(Schema.filter(messageOf(checkMaxStderrCaptureSize)))),
  backoffInitialInterval: exact(DurationInputSchema("backoffInitialInterval")),
  backoffMaxInterval: exact(DurationInputSchema("backoffMaxInterval")),
  backoffMaxElapsedTime: exact(DurationInputSchema("backoffMaxElapsedTime")),
  nativeTools: exact(Schema.Struct({
    callAgents: exact(Schema.Boolean),
    callWorkflows: exact(Schema.Boolean)
  })),
  workerFilePerm: exact(Schema.Number.pipe(Schema.filter(messageOf(checkWorkerFilePerm))))
}).annotations({ identifier: "RuntimeConfig.Input" })

const CrossFields = Schema.Struct({
  runtimeType: Schema.String,
  bunPermissions: exact(Schema.Array(Schema.Unknown)),
  nodeOptions: exact(Schema.Array(Schema.Unknown)),
  backoffInitialInterval: exact(Schema.Unknown),
  backoffMaxInterval: exact(Schema.Unknown)
})

const decodeFields = Schema.decodeUnknownEither(InputFields, { errors: "all", onExcessProperty: "error" })
const decodeCross = Schema.decodeUnknownEither(CrossFields)

const dropUndefined = (raw: unknown): unknown => {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return raw
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(raw)) if (value !== undefined) out[key] = value
  return out
}

const knownFields = fieldNames.join(", ")

const parseIssues = (error: ParseResult.ParseError): Array<BuildIssue> =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => {
    const path = issue.path.map((p) => (typeof p === "number" ? p : String(p)))
    // Shape errors from Schema say "Expected number, actual ..."; prefix the field so they stand alone.
    const message = issue._tag === "Unexpected" && path.length === 1
      ? `unknown field ${JSON.stringify(path[0])}; known fields: ${knownFields}`
      : path.length > 0 && issue.message.startsWith("Expected ")
      ? `${path.join(".")}: ${issue.message}`
      : issue.message
    return { path, message }
  })

/**
 * Validates untrusted input (for example a parsed YAML block) through effect `Schema` and returns the
 * same {@link Config} (or the same issues) as the fast builder. Unknown fields are errors.
 *
 * @example
 * ```ts
 * import { RuntimeConfig } from "effect-swarm"
 * RuntimeConfig.decodeEither({ runtimeType: "deno", toolExecutionTimeout: "5 seconds", maxMemoryMB: 256 })
 * ```
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeEither = (raw: unknown): Either.Either<Config, BuildError> => {
  const input = dropUndefined(raw)
  const fields = decodeFields(input)
  const cross = decodeCross(input)
  const issues: Array<BuildIssue> = Either.isLeft(fields) ? parseIssues(fields.left) : []
  if (Either.isRight(cross)) {
    const c = cross.right
    const initial = decodeDurationField(
      "backoffInitialInterval",
      c.backoffInitialInterval ?? defaults.backoffInitialInterval
    )
    const max = decodeDurationField("backoffMaxInterval", c.backoffMaxInterval ?? defaults.backoffMaxInterval)
    const crossIssues = crossFieldIssues(
      normalizeRuntimeType(c.runtimeType),
      c.bunPermissions?.length ?? 0,
      c.nodeOptions?.length ?? 0,
      typeof initial === "string" ? undefined : initial,
      typeof max === "string" ? undefined : max
    )
    for (const issue of crossIssues) issues.push(issue)
  }
  if (issues.length > 0 || Either.isLeft(fields)) {
    return Either.left(new BuildError({ errors: sortIssues(issues) }))
  }
  const f = fields.right
  const freezeList = (xs: ReadonlyArray<string> | undefined, fallback: ReadonlyArray<string>) =>
    xs === undefined ? fallback : xs.length === 0 ? emptyList : Object.freeze([...xs])
  return Either.right(
    new Config({
      runtimeType: f.runtimeType as RuntimeType,
      entrypointPath: f.entrypointPath ?? defaults.entrypointPath,
      environment: f.environment ?? defaults.environment,
      permissions: freezeList(f.permissions, defaults.permissions),
      bunPermissions: freezeList(f.bunPermissions, defaults.bunPermissions),
      nodeOptions: freezeList(f.nodeOptions, defaults.nodeOptions),
      permissionPolicy: (f.permissionPolicy ?? defaults.permissionPolicy) as PermissionPolicy,
      isolation: (f.isolation ?? defaults.isolation) as Isolation,
      maxMemoryMB: f.maxMemoryMB ?? defaults.maxMemoryMB,
      toolExecutionTimeout: f.toolExecutionTimeout ?? defaults.toolExecutionTimeout,
      maxStderrCaptureSize: f.maxStderrCaptureSize ?? defaults.maxStderrCaptureSize,
      backoffInitialInterval: f.backoffInitialInterval ?? defaults.backoffInitialInterval,
      backoffMaxInterval: f.backoffMaxInterval ?? defaults.backoffMaxInterval,
      backoffMaxElapsedTime: f.backoffMaxElapsedTime ?? defaults.backoffMaxElapsedTime,
      nativeTools: f.nativeTools === undefined ? defaults.nativeTools : Object.freeze({
        callAgents: f.nativeTools.callAgents === true,
        callWorkflows: f.nativeTools.callWorkflows === true
      }),
      workerFilePerm: f.workerFilePerm ?? defaults.workerFilePerm
    })
  )
}

/**
 * {@link decodeEither} as an `Effect`.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (input: unknown): Effect.Effect<Config, BuildError> => decodeEither(input)

// ---------------------------------------------------------------------------------------------------
// Service and layers
// ---------------------------------------------------------------------------------------------------

/**
 * The runtime configuration the sandbox runs tools under.
 *
 * @since 0.1.0
 * @category tags
 */
export class RuntimeConfig extends Context.Tag("effect-swarm/RuntimeConfig")<RuntimeConfig, Config>() {}

/**
 * A layer holding a validated config.
 *
 * @example
 * ```ts
 * import { RuntimeConfig } from "effect-swarm"
 * const Base = RuntimeConfig.layer("bun", RuntimeConfig.withEntrypointPath("./tools/main.ts"))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (runtimeType: string, ...options: ReadonlyArray<Option>): Layer.Layer<RuntimeConfig, BuildError> =>
  Layer.effect(RuntimeConfig, make(runtimeType, ...options))

/**
 * Applies options on top of the upstream {@link RuntimeConfig} and re-validates the result: write
 * the base once and stack environment overlays with `Layer.provide`.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { RuntimeConfig } from "effect-swarm"
 *
 * const Base = RuntimeConfig.layer("bun", RuntimeConfig.withEntrypointPath("./tools/main.ts"))
 * const Production = RuntimeConfig.override(
 *   RuntimeConfig.withEnvironment("production"),
 *   RuntimeConfig.withMaxMemoryMB(512)
 * ).pipe(Layer.provide(Base))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const override = (...options: ReadonlyArray<Option>): Layer.Layer<RuntimeConfig, BuildError, RuntimeConfig> =>
  Layer.effect(RuntimeConfig, Effect.flatMap(RuntimeConfig, (base) => update(base, ...options)))

const commaList = (name: string) =>
  Config_.string(name).pipe(
    Config_.map((raw) =>
      raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0).reduce<Array<string>>((acc, entry) => {
        // "--allow-env=A,B" arrives split; glue scope items back onto the flag they belong to.
        if (!entry.startsWith("-") && acc.length > 0 && acc[acc.length - 1]!.includes("=")) {
          acc[acc.length - 1] = `${acc[acc.length - 1]},${entry}`
        } else acc.push(entry)
        return acc
      }, [])
    )
  )

const optional = <A>(config: Config_.Config<A>): Config_.Config<A | undefined> =>
  Config_.option(config).pipe(Config_.map((o) => (o._tag === "Some" ? o.value : undefined)))

const durationInput = (name: string) =>
  Config_.string(name).pipe(
    Config_.map((raw): Duration.DurationInput => {
      const trimmed = raw.trim()
      return /^\d+(?:\.\d+)?$/.test(trimmed) ? Number(trimmed) : (trimmed as Duration.DurationInput)
    })
  )

/**
 * Reads every field through effect `Config`, so `ConfigProvider.fromEnv()` (the default) or
 * `ConfigProvider.fromMap` drive it: `RUNTIME_TYPE` (default `bun`), `RUNTIME_ENTRYPOINT_PATH`,
 * `RUNTIME_ENVIRONMENT`, `RUNTIME_PERMISSIONS` and `RUNTIME_BUN_PERMISSIONS` (comma lists),
 * `RUNTIME_NODE_OPTIONS` (space or comma separated), `RUNTIME_PERMISSION_POLICY`, `RUNTIME_ISOLATION`, `RUNTIME_MAX_MEMORY_MB`,
 * `RUNTIME_TOOL_EXECUTION_TIMEOUT` and the `RUNTIME_BACKOFF_*` durations (milliseconds or `"30 seconds"`),
 * `RUNTIME_MAX_STDERR_CAPTURE_SIZE`, `RUNTIME_WORKER_FILE_PERM` (octal such as `600` or `0o600`),
 * `RUNTIME_NATIVE_TOOLS_CALL_AGENTS`, `RUNTIME_NATIVE_TOOLS_CALL_WORKFLOWS`.
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config_.Config<Input> = Config_.all({
  runtimeType: Config_.string("RUNTIME_TYPE").pipe(
    Config_.withDefault("bun"),
    Config_.withDescription("Tool runtime: bun, node or deno.")
  ),
  entrypointPath: optional(Config_.string("RUNTIME_ENTRYPOINT_PATH")),
  environment: optional(Config_.string("RUNTIME_ENVIRONMENT")),
  permissions: optional(commaList("RUNTIME_PERMISSIONS")),
  bunPermissions: optional(commaList("RUNTIME_BUN_PERMISSIONS")),
  nodeOptions: optional(
    Config_.string("RUNTIME_NODE_OPTIONS").pipe(
      Config_.map((raw) => raw.split(/[\s,]+/).filter((s) => s.length > 0))
    )
  ),
  permissionPolicy: optional(Config_.string("RUNTIME_PERMISSION_POLICY")),
  isolation: optional(Config_.string("RUNTIME_ISOLATION")),
  maxMemoryMB: optional(Config_.integer("RUNTIME_MAX_MEMORY_MB")),
  toolExecutionTimeout: optional(durationInput("RUNTIME_TOOL_EXECUTION_TIMEOUT")),
  maxStderrCaptureSize: optional(Config_.integer("RUNTIME_MAX_STDERR_CAPTURE_SIZE")),
  backoffInitialInterval: optional(durationInput("RUNTIME_BACKOFF_INITIAL_INTERVAL")),
  backoffMaxInterval: optional(durationInput("RUNTIME_BACKOFF_MAX_INTERVAL")),
  backoffMaxElapsedTime: optional(durationInput("RUNTIME_BACKOFF_MAX_ELAPSED_TIME")),
  workerFilePerm: optional(
    Config_.string("RUNTIME_WORKER_FILE_PERM").pipe(
      Config_.mapOrFail((raw) => {
        const digits = raw.trim().replace(/^0o/i, "")
        return /^[0-7]{1,4}$/.test(digits)
          ? Either.right(parseInt(digits, 8))
          : Either.left(
            ConfigError.InvalidData([], `expected an octal file mode such as 600, got ${JSON.stringify(raw)}`)
          )
      })
    )
  ),
  nativeTools: Config_.all({
    callAgents: Config_.boolean("RUNTIME_NATIVE_TOOLS_CALL_AGENTS").pipe(Config_.withDefault(false)),
    callWorkflows: Config_.boolean("RUNTIME_NATIVE_TOOLS_CALL_WORKFLOWS").pipe(Config_.withDefault(false))
  })
})

/**
 * A layer built from {@link config} (environment variables by default). Config errors (a missing or
 * malformed variable) and validation errors both surface as typed failures.
 *
 * @example
 * ```ts
 * import { ConfigProvider, Layer } from "effect"
 * import { RuntimeConfig } from "effect-swarm"
 *
 * const FromMap = RuntimeConfig.layerConfig().pipe(
 *   Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["RUNTIME_TYPE", "node"]]))))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  source: Config_.Config<Input> = config
): Layer.Layer<RuntimeConfig, BuildError | ConfigError.ConfigError> =>
  Layer.effect(RuntimeConfig, Effect.flatMap(source, (input) => fromInput(input)))

/**
 * The permissions the sandbox enforces: `bunPermissions` when set (seed compatibility), otherwise
 * `permissions`.
 *
 * @since 0.1.0
 * @category getters
 */
export const effectivePermissions = (config: Config): ReadonlyArray<string> =>
  config.bunPermissions.length > 0 ? config.bunPermissions : config.permissions
