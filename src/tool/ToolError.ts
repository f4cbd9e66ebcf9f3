/**
 * Tool errors: the failure a handler reports ({@link ToolFailure}), the error object a tool-call result
 * carries ({@link ToolErrorInfo}), the reference's error codes, message truncation (goondan T6) and the
 * text the model reads (T7).
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * The error codes the executor produces itself.
 *
 * @since 0.1.0
 * @category constants
 */
export const codes = {
  /** The tool is not in the step's tool catalog (catalog guard). */
  notInCatalog: "E_TOOL_NOT_IN_CATALOG",
  /** The arguments do not match the tool's JSON Schema. */
  invalidArgs: "E_TOOL_INVALID_ARGS",
  /** The tool's JSON Schema itself cannot be compiled. */
  invalidSchema: "E_TOOL_INVALID_SCHEMA",
  /** No handler is registered under the name. */
  notFound: "E_TOOL_NOT_FOUND",
  /** The handler did not finish within its timeout. */
  timeout: "E_TOOL_TIMEOUT"
} as const

/**
 * The default limit on error message length, in characters (goondan T6).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultErrorMessageLimit = 1000

/**
 * The marker appended to a truncated message.
 *
 * @since 0.1.0
 * @category constants
 */
export const truncationSuffix = "... (truncated)"

/**
 * Truncates a message to at most `limit` characters, ending with `... (truncated)` when cut, exactly as
 * the reference: a message within the limit is unchanged; a limit shorter than the suffix gives a plain
 * slice.
 *
 * @example
 * ```ts
 * import { ToolError } from "effect-swarm"
 * ToolError.truncate("a".repeat(200), 50).length // 50, ends with "... (truncated)"
 * ToolError.truncate("abcdefghij", 5) // "abcde"
 * ```
 *
 * @since 0.1.0
 * @category formatting
 */
export const truncate = (message: string, limit: number): string => {
  if (message.length <= limit) return message
  const keep = limit - truncationSuffix.length
  if (keep <= 0) return message.slice(0, Math.max(0, limit))
  return message.slice(0, keep) + truncationSuffix
}

/**
 * The error of a tool-call result with `status: "error"`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolErrorInfo = Schema.Struct({
  name: Schema.optional(Schema.String),
  message: Schema.String,
  code: Schema.optional(Schema.String),
  suggestion: Schema.optional(Schema.String),
  helpUrl: Schema.optional(Schema.String)
}).annotations({ identifier: "ToolErrorInfo" })

/**
 * @since 0.1.0
 * @category models
 */
export type ToolErrorInfo = typeof ToolErrorInfo.Type

/**
 * A tool handler failed. Handlers of every kind (in-process modules, sandboxed subprocesses) report
 * their failures as this error; the executor turns it into an error result the model can read.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ToolError } from "effect-swarm"
 * const handler = () => Effect.fail(new ToolError.ToolFailure({
 *   name: "QuotaError", message: "quota exhausted", code: "E_QUOTA", suggestion: "retry tomorrow"
 * }))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ToolFailure extends Schema.TaggedError<ToolFailure>("effect-swarm/ToolFailure")("ToolFailure", {
  name: Schema.String,
  message: Schema.String,
  code: Schema.optional(Schema.String),
  suggestion: Schema.optional(Schema.String),
  helpUrl: Schema.optional(Schema.String),
  cause: Schema.optional(Schema.Defect)
}) {}

const optionalString = (value: unknown): string | undefined => typeof value === "string" ? value : undefined

/**
 * The message a thrown non-`Error` value gets (the reference's wording).
 *
 * @since 0.1.0
 * @category constants
 */
export const unknownErrorMessage = "Unknown tool execution error"

/**
 * Converts anything a handler threw or failed with into a {@link ToolFailure}: an `Error` (or an
 * error-like object with a string `message`) keeps its `name` and `message`, and its `code`,
 * `suggestion` and `helpUrl` when they are strings; anything else, and a value that throws when looked at
 * (a hostile Proxy, a throwing getter), becomes `Unknown tool execution error`. Never throws.
 *
 * @example
 * ```ts
 * import { ToolError } from "effect-swarm"
 * ToolError.fromUnknown(Object.assign(new Error("nope"), { code: "E_X" })).code // "E_X"
 * ToolError.fromUnknown("string error").message // "Unknown tool execution error"
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromUnknown = (thrown: unknown): ToolFailure => {
  try {
    return inspect(thrown)
  } catch {
    // A value that throws when looked at (a Proxy whose traps throw, a getter that throws): nothing of it is
    // kept, not even as the cause, so nothing that renders the failure later can throw either.
    return new ToolFailure({ name: "Error", message: unknownErrorMessage })
  }
}

const inspect = (thrown: unknown): ToolFailure => {
  if (thrown instanceof ToolFailure) return thrown
  if (thrown instanceof Error || (Predicate.isObject(thrown) && typeof (thrown as any).message === "string")) {
    const e = thrown as { readonly name?: unknown; readonly message: string } & Record<string, unknown>
    const code = optionalString(e.code)
    const suggestion = optionalString(e.suggestion)
    const helpUrl = optionalString(e.helpUrl)
    return new ToolFailure({
      name: optionalString(e.name) ?? "Error",
      message: e.message,
      ...(code === undefined ? {} : { code }),
      ...(suggestion === undefined ? {} : { suggestion }),
      ...(helpUrl === undefined ? {} : { helpUrl }),
      cause: thrown
    })
  }
  return new ToolFailure({ name: "Error", message: unknownErrorMessage, cause: thrown })
}

/**
 * The error info of a failure, with the message truncated to `limit`.
 *
 * @example
 * ```ts
 * import { ToolError } from "effect-swarm"
 * ToolError.toInfo(new ToolError.ToolFailure({ name: "E", message: "x".repeat(5000) }), 1000).message.length // 1000
 * ```
 *
 * @since 0.1.0
 * @category conversions
 */
export const toInfo = (failure: ToolFailure, limit: number = defaultErrorMessageLimit): ToolErrorInfo => {
  const info: {
    name: string
    message: string
    code?: string
    suggestion?: string
    helpUrl?: string
  } = { name: failure.name, message: truncate(failure.message, limit) }
  if (failure.code !== undefined) info.code = failure.code
  if (failure.suggestion !== undefined) info.suggestion = failure.suggestion
  if (failure.helpUrl !== undefined) info.helpUrl = failure.helpUrl
  return info
}

const isBlank = (s: string | undefined): boolean => s === undefined || s.trim().length === 0

/**
 * The text the model reads for a failed tool call (goondan T7): `ERROR:`, then `CODE:`, `SUGGESTION:`,
 * `HELP:` when present, and for invalid arguments an `ACTION:` line asking for a corrected call.
 *
 * @example
 * ```ts
 * import { ToolError } from "effect-swarm"
 * ToolError.formatForModel({ message: "quota exhausted", code: "E_QUOTA" })
 * // "ERROR: quota exhausted\nCODE: E_QUOTA"
 * ```
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatForModel = (error: ToolErrorInfo | undefined): string => {
  const lines = [`ERROR: ${error === undefined || isBlank(error.message) ? "unknown tool error" : error.message}`]
  if (error?.code !== undefined && !isBlank(error.code)) lines.push(`CODE: ${error.code}`)
  if (!isBlank(error?.suggestion)) lines.push(`SUGGESTION: ${error!.suggestion}`)
  if (!isBlank(error?.helpUrl)) lines.push(`HELP: ${error!.helpUrl}`)
  if (error?.code === codes.invalidArgs) {
    lines.push("ACTION: Fix arguments to match the tool schema, then call this tool again.")
  }
  return lines.join("\n")
}
