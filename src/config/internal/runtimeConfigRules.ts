/**
 * One check per runtime config field, shared by the fast builder and the Schema decoder so both speak
 * the same words. Each returns `undefined` when the value is fine, or the message.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import type { BuildIssue } from "../BuildError.js"
import { fieldNames } from "./runtimeConfigModel.js"

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

/** @internal */
export type DurationField = keyof typeof durationLabels

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

/** @internal The most pre-started workers one config may keep waiting. */
export const maxPrespawn = 16

/** @internal */
export const checkPrespawn = (count: number): string | undefined =>
  Number.isSafeInteger(count) && count >= 0 && count <= maxPrespawn ?
    undefined :
    `prespawn must be an integer from 0 to ${maxPrespawn} (pre-started workers kept waiting per config; ` +
    `0 turns them off), got ${count}`

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
