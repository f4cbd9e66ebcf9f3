/**
 * The fast builder: options mutate a private draft; validation is hand-written over the shared rules
 * (`make`, `update`; re-exported by `RuntimeConfig`).
 *
 * @internal
 */
import type * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import type { BuildIssue } from "../BuildError.js"
import { BuildError } from "../BuildError.js"
import * as Permissions from "../Permissions.js"
import type { Fields, Isolation, NativeTools, PermissionPolicy, RuntimeType } from "./runtimeConfigModel.js"
import { Config, defaultPermissions, defaults, emptyList } from "./runtimeConfigModel.js"
import {
  checkEntrypoint,
  checkEnvironment,
  checkIsolation,
  checkMaxMemoryMB,
  checkMaxStderrCaptureSize,
  checkNodeOption,
  checkPermissionPolicy,
  checkPrespawn,
  checkRuntimeType,
  checkWorkerFilePerm,
  crossFieldIssues,
  decodeDurationField,
  type DurationField,
  normalizeRuntimeType,
  sortIssues
} from "./runtimeConfigRules.js"

/** @internal The mutable draft options write into. */
export interface Draft {
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
  prespawn: number
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
  workerFilePerm: defaults.workerFilePerm,
  prespawn: defaults.prespawn
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
  if (draft.prespawn !== defaults.prespawn) check(issues, "prespawn", checkPrespawn(draft.prespawn))
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
      workerFilePerm: draft.workerFilePerm,
      prespawn: draft.prespawn
    })
  )
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
  d.prespawn = config.prespawn
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
