/**
 * A Tool's `spec.runtime` block (sandboxed execution) and its pool.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as AST from "effect/SchemaAST"
import * as RuntimeConfig from "../../../config/RuntimeConfig.js"
import * as IssueMessage from "../issueMessage.js"
import { fail, isRecord, show, unexpected } from "./envelope.js"

/**
 * A warm worker pool for a sandboxed tool (opt-in).
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolPool {
  readonly size: number
  readonly maxCallsPerWorker: number | undefined
  readonly idleTimeout: Duration.Duration | undefined
}

/**
 * A host bridge tool code may call: `callAgent` (`ctx.callAgent`) or `callWorkflow` (`ctx.callWorkflow`).
 *
 * @since 0.1.0
 * @category models
 */
export type NativeTool = "callAgent" | "callWorkflow"

const nativeToolNames: ReadonlyArray<NativeTool> = ["callAgent", "callWorkflow"]

/**
 * A Tool's `spec.runtime` block: present means the tool runs sandboxed in a subprocess of `type`,
 * with these fields applied over the layer's `RuntimeConfig`. Validated by the same rules (and with the
 * same messages) as `RuntimeConfig`; `permissions` are normalised.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolRuntime {
  readonly type: RuntimeConfig.RuntimeType
  readonly permissions: ReadonlyArray<string> | undefined
  readonly maxMemoryMB: number | undefined
  readonly timeout: Duration.Duration | undefined
  readonly pool: ToolPool | undefined
  /** The host bridges the tool may call (`spec.runtime.nativeTools`); none when absent. Enforced by
   * the host: an undeclared one fails inside the tool with `NativeToolDisabled`. */
  readonly nativeTools: ReadonlyArray<NativeTool>
}

const runtimeKeys = ["type", "permissions", "maxMemoryMB", "timeout", "pool", "nativeTools"] as const

const decodeNativeTools = (
  input: unknown,
  issues: Array<ParseResult.ParseIssue>,
  ast: AST.AST
): ReadonlyArray<NativeTool> => {
  const at = (path: ReadonlyArray<string | number>, value: unknown, message: string) =>
    issues.push(
      new ParseResult.Pointer(
        ["nativeTools", ...path],
        input,
        new ParseResult.Type(
          ast,
          value,
          IssueMessage.encode(message, { suggestion: "nativeTools: [callAgent] or [callAgent, callWorkflow]" })
        )
      )
    )
  if (!Array.isArray(input)) {
    at([], input, `nativeTools must be a list of host bridges (callAgent, callWorkflow), got ${show(input)}`)
    return []
  }
  const out: Array<NativeTool> = []
  input.forEach((entry: unknown, i) => {
    if (typeof entry !== "string" || !(nativeToolNames as ReadonlyArray<string>).includes(entry)) {
      at([i], entry, `unknown native tool ${show(entry)}; known: ${nativeToolNames.join(", ")}`)
    } else if (out.includes(entry as NativeTool)) at([i], entry, `native tool ${show(entry)} is listed twice`)
    else out.push(entry as NativeTool)
  })
  return out
}
const poolKeys = ["size", "maxCallsPerWorker", "idleTimeout"] as const
const runtimeFieldOf: Record<string, string> = {
  runtimeType: "type",
  toolExecutionTimeout: "timeout",
  permissions: "permissions",
  maxMemoryMB: "maxMemoryMB"
}

const decodePool = (input: unknown, issues: Array<ParseResult.ParseIssue>, ast: AST.AST): ToolPool | undefined => {
  const at = (path: ReadonlyArray<string>, value: unknown, message: string, suggestion?: string) =>
    issues.push(
      new ParseResult.Pointer(
        ["pool", ...path],
        input,
        new ParseResult.Type(ast, value, IssueMessage.encode(message, { suggestion }))
      )
    )
  if (!isRecord(input)) {
    at([], input, `pool must be { size, maxCallsPerWorker?, idleTimeout? }, got ${show(input)}`)
    return undefined
  }
  for (const key of Object.keys(input)) {
    if (!(poolKeys as ReadonlyArray<string>).includes(key)) {
      issues.push(new ParseResult.Pointer(["pool", key], input, unexpected(key, input[key], poolKeys)))
    }
  }
  const positive = (key: string, unit: string): number | undefined => {
    const v = input[key]
    if (v === undefined) return undefined
    if (typeof v === "number" && Number.isSafeInteger(v) && v > 0) return v
    at([key], v, `pool ${key} must be a positive integer (${unit}), got ${show(v)}`)
    return undefined
  }
  const size = positive("size", "workers")
  if (input.size === undefined) at(["size"], undefined, "pool size is required (workers)")
  const maxCallsPerWorker = positive("maxCallsPerWorker", "calls")
  let idleTimeout: Duration.Duration | undefined
  if (input.idleTimeout !== undefined) {
    const raw = input.idleTimeout
    const decoded = typeof raw === "number" || typeof raw === "string" ? Duration.decodeUnknown(raw) : Option.none()
    if (
      Option.isNone(decoded) || (typeof raw === "number" && !(raw > 0)) || !Duration.isFinite(decoded.value) ||
      Duration.lessThanOrEqualTo(decoded.value, Duration.zero)
    ) {
      at(
        ["idleTimeout"],
        raw,
        `pool idle timeout is not a positive duration: ${show(raw)}`,
        `use milliseconds or a string such as "30 seconds"`
      )
    } else idleTimeout = decoded.value
  }
  return size === undefined ? undefined : { size, maxCallsPerWorker, idleTimeout }
}

/**
 * The schema of a Tool's `spec.runtime`. It builds the `RuntimeConfig` input from the block and
 * validates it with `RuntimeConfig.decodeEither`, so a bundle and a `RuntimeConfig` reject the same
 * values with the same words.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Resource } from "effect-swarm"
 * Schema.decodeUnknownSync(Resource.ToolRuntimeSchema)({ type: "deno", permissions: ["--allow-net=api.example.com"], timeout: "5 seconds" })
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolRuntimeSchema: Schema.Schema<ToolRuntime, unknown> = Schema.transformOrFail(
  Schema.Unknown,
  Schema.Unknown as Schema.Schema<ToolRuntime>,
  {
    strict: true,
    decode: (input, _, ast) => {
      if (!isRecord(input)) {
        return fail(ast, input, `runtime must be an object such as { type: deno }, got ${show(input)}`)
      }
      const issues: Array<ParseResult.ParseIssue> = []
      for (const key of Object.keys(input)) {
        if (!(runtimeKeys as ReadonlyArray<string>).includes(key)) {
          issues.push(new ParseResult.Pointer(key, input, unexpected(key, input[key], runtimeKeys)))
        }
      }
      const configInput: Record<string, unknown> = { runtimeType: input.type ?? "" }
      if (input.permissions !== undefined) configInput.permissions = input.permissions
      if (input.maxMemoryMB !== undefined) configInput.maxMemoryMB = input.maxMemoryMB
      if (input.timeout !== undefined) configInput.toolExecutionTimeout = input.timeout
      const decoded = RuntimeConfig.decodeEither(configInput)
      if (Either.isLeft(decoded)) {
        for (const issue of decoded.left.errors) {
          const [head, ...rest] = issue.path
          const field = typeof head === "string" ? runtimeFieldOf[head] ?? head : head
          const path = field === undefined ? [] : [field, ...rest]
          const value = path.reduce<unknown>(
            (v, k) => (isRecord(v) || Array.isArray(v) ? (v as any)[k] : undefined),
            input
          )
          const leaf = new ParseResult.Type(ast, value, issue.message)
          issues.push(
            path.length === 0
              ? leaf
              : new ParseResult.Pointer(path as [PropertyKey, ...Array<PropertyKey>], input, leaf)
          )
        }
      }
      const pool = input.pool === undefined ? undefined : decodePool(input.pool, issues, ast)
      const nativeTools = input.nativeTools === undefined ? [] : decodeNativeTools(input.nativeTools, issues, ast)
      if (issues.length > 0 || Either.isLeft(decoded)) {
        return ParseResult.fail(new ParseResult.Composite(ast, input, issues as [ParseResult.ParseIssue]))
      }
      const config = decoded.right
      return ParseResult.succeed({
        type: config.runtimeType,
        permissions: input.permissions === undefined ? undefined : config.permissions,
        maxMemoryMB: input.maxMemoryMB === undefined ? undefined : config.maxMemoryMB,
        timeout: input.timeout === undefined ? undefined : config.toolExecutionTimeout,
        pool,
        nativeTools
      })
    },
    encode: ParseResult.succeed
  }
).annotations({ identifier: "ToolRuntime" })

/**
 * The `RuntimeConfig` options a Tool's runtime block stands for, to apply over the layer's config
 * (`RuntimeConfig.update(base, ...runtimeOptions(tool.spec.runtime))`). `pool` is not a RuntimeConfig
 * field: the sandbox reads it from the block. `nativeTools` always applies (none when absent), so a
 * layer that turns bridges on for every tool does not open them to a Tool that did not declare them.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Resource, RuntimeConfig } from "effect-swarm"
 * declare const tool: Resource.ToolResource
 * const program = Effect.gen(function*() {
 *   const base = yield* RuntimeConfig.RuntimeConfig
 *   return tool.spec.runtime === undefined ? base : yield* RuntimeConfig.update(base, ...Resource.runtimeOptions(tool.spec.runtime))
 * })
 * ```
 *
 * @since 0.1.0
 * @category runtime
 */
export const runtimeOptions = (runtime: ToolRuntime): Array<RuntimeConfig.Option> => [
  RuntimeConfig.withRuntimeType(runtime.type),
  ...RuntimeConfig.optionsFromInput({
    ...(runtime.permissions === undefined ? {} : { permissions: runtime.permissions }),
    ...(runtime.maxMemoryMB === undefined ? {} : { maxMemoryMB: runtime.maxMemoryMB }),
    ...(runtime.timeout === undefined ? {} : { toolExecutionTimeout: runtime.timeout })
  }),
  RuntimeConfig.withNativeTools({
    callAgents: runtime.nativeTools.includes("callAgent"),
    callWorkflows: runtime.nativeTools.includes("callWorkflow")
  })
]
