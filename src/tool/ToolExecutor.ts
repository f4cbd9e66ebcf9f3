/**
 * The tool executor: every tool call goes through the catalog guard, argument validation, handler
 * lookup and the handler call, in that order (goondan T3), and always ends in a result the model can
 * read, never in a failure: `{ status: "ok", output }` or `{ status: "error", error }` with the codes
 * `E_TOOL_NOT_IN_CATALOG`, `E_TOOL_INVALID_ARGS`, `E_TOOL_NOT_FOUND`, `E_TOOL_TIMEOUT` (and
 * `E_TOOL_INVALID_SCHEMA` for a schema ajv cannot compile).
 *
 * Beyond the reference: the per-tool `errorMessageLimit` is honoured (request, then tool, then 1000);
 * every call has a timeout (the tool's, or 60 s) that interrupts Effect handlers and abandons Promise
 * handlers; outputs are normalised to JSON and capped (1 MiB of JSON by default) with a marker; a
 * handler defect becomes an error result instead of killing the turn. Interruption of the caller
 * (a cancelled turn) still interrupts the call.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import type { TraceContext } from "../event/Trace.js"
import * as Output from "./internal/output.js"
import * as ToolArgs from "./ToolArgs.js"
import type { JsonValue, ToolCatalog } from "./ToolCatalog.js"
import { find } from "./ToolCatalog.js"
import * as ToolError from "./ToolError.js"
import { ToolRegistry } from "./ToolRegistry.js"
import type { AgentToolRuntime, ToolContext } from "./ToolRegistry.js"

/**
 * The outcome of one tool call.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolCallResult {
  readonly toolCallId: string
  readonly toolName: string
  readonly status: "ok" | "error"
  readonly output?: JsonValue | undefined
  readonly error?: ToolError.ToolErrorInfo | undefined
  /**
   * Keep this result in every context window view (the turn loop writes it with the message metadata
   * flag `swarm.pinned`); set when the handler called `ctx.pin()`, and a toolCall middleware may set it.
   */
  readonly pinned?: boolean | undefined
}

/**
 * Where a call runs; the executor adds the call's id and tool name to build the handler's
 * {@link ToolContext}.
 *
 * @since 0.1.0
 * @category models
 */
export interface CallContext {
  readonly agentName: string
  readonly instanceKey: string
  readonly turnId: string
  readonly stepIndex?: number | undefined
  readonly trace: TraceContext
  readonly workdir?: string | undefined
  readonly runtime?: AgentToolRuntime | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ExecuteRequest {
  readonly toolCallId: string
  readonly toolName: string
  readonly args: unknown
  /** The step's catalog: a tool outside it is refused. */
  readonly catalog: ToolCatalog
  readonly context: CallContext
  /** Overrides the tool's own limit. */
  readonly errorMessageLimit?: number | undefined
  /** Skips the catalog guard (for host-internal calls only). */
  readonly allowRegistryBypass?: boolean | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Timeout of a call whose tool sets none. Default 60 seconds. */
  readonly defaultTimeout?: Duration.DurationInput | undefined
  /** Largest output, in bytes of JSON, before it is replaced by a truncated preview. Default 1 MiB. */
  readonly maxOutputBytes?: number | undefined
  /** Error message limit of tools that set none. Default 1000. */
  readonly errorMessageLimit?: number | undefined
  /** Working directory of tools when the call context has none. Default `process.cwd()`. */
  readonly workdir?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly execute: (request: ExecuteRequest) => Effect.Effect<ToolCallResult>
}

/**
 * The tool executor service.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { ToolExecutor, ToolRegistry } from "effect-swarm"
 *
 * const program = Effect.gen(function*() {
 *   const registry = yield* ToolRegistry.ToolRegistry
 *   const executor = yield* ToolExecutor.ToolExecutor
 *   yield* registry.register({ name: "bash__exec" }, () => Effect.succeed("ok"))
 *   return yield* executor.execute({
 *     toolCallId: "call-1", toolName: "bash__exec", args: {}, catalog: [{ name: "bash__exec" }],
 *     context: { agentName: "coder", instanceKey: "default", turnId: "t1", trace }
 *   }) // { toolCallId: "call-1", toolName: "bash__exec", status: "ok", output: "ok" }
 * }).pipe(Effect.provide(ToolExecutor.layer().pipe(Layer.provideMerge(ToolRegistry.layer))))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class ToolExecutor extends Context.Tag("effect-swarm/ToolExecutor")<ToolExecutor, Service>() {}

/**
 * The default output cap: 1 MiB of JSON.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultMaxOutputBytes = 1024 * 1024

/**
 * The default per-call timeout.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultTimeout: Duration.Duration = Duration.seconds(60)

/**
 * Normalises a handler's output to JSON, as the reference: `undefined` becomes `null`, non-finite
 * numbers become strings, objects that are not plain (class instances) become their string form;
 * additionally `Date` becomes its ISO string, `bigint` a string, and a cycle `"[Circular]"`.
 *
 * @example
 * ```ts
 * import { ToolExecutor } from "effect-swarm"
 * ToolExecutor.toJsonValue({ a: undefined, b: [1, Infinity] }) // { a: null, b: [1, "Infinity"] }
 * ```
 *
 * @since 0.1.0
 * @category conversions
 */
export const toJsonValue: (value: unknown) => JsonValue = Output.toJsonValue

/**
 * The marker of a capped output.
 *
 * @since 0.1.0
 * @category constants
 */
export const outputTruncatedMarker: string = Output.outputTruncatedMarker

/**
 * Caps an output at `maxBytes` of JSON: a larger output is replaced by a string holding the start of
 * its JSON text and a marker with the original size, so the model knows it saw a part.
 *
 * @example
 * ```ts
 * import { ToolExecutor } from "effect-swarm"
 * ToolExecutor.capOutput("x".repeat(100), 40) // starts with "\"xxx", ends with "... (output truncated: 102 bytes of JSON, limit 40)"
 * ```
 *
 * @since 0.1.0
 * @category conversions
 */
export const capOutput: (output: JsonValue, maxBytes: number) => JsonValue = Output.capOutput

/**
 * What the model reads for a result: the output of a success, or the `ERROR:/CODE:/...` text of an
 * error.
 *
 * @example
 * ```ts
 * import { ToolExecutor } from "effect-swarm"
 * ToolExecutor.forModel({ toolCallId: "c", toolName: "a__b", status: "error", error: { message: "boom" } })
 * // "ERROR: boom"
 * ```
 *
 * @since 0.1.0
 * @category conversions
 */
export const forModel = (result: ToolCallResult): JsonValue =>
  result.status === "ok" ? result.output ?? null : ToolError.formatForModel(result.error)

/**
 * What a handler returned, as an Effect. Handlers written in plain JavaScript (a tool module, a registry
 * entry made outside TypeScript) return a Promise or a value as often as an Effect: a Promise is awaited
 * (its rejection is the tool's error, under the same timeout) and a value is the result, as the extension
 * API already accepts them, instead of killing the turn with `handled.pipe is not a function`.
 */
const asEffect = (handled: unknown): Effect.Effect<unknown, ToolError.ToolFailure> => {
  if (Effect.isEffect(handled)) return handled as Effect.Effect<unknown, ToolError.ToolFailure>
  if (
    typeof handled === "object" && handled !== null && typeof (handled as PromiseLike<unknown>).then === "function"
  ) {
    return Effect.tryPromise({
      try: () => Promise.resolve(handled as PromiseLike<unknown>),
      catch: (rejected) => ToolError.fromUnknown(rejected)
    })
  }
  return Effect.succeed(handled)
}

const errorResult = (
  request: ExecuteRequest,
  error: ToolError.ToolErrorInfo
): ToolCallResult => ({ toolCallId: request.toolCallId, toolName: request.toolName, status: "error", error })

/**
 * Builds an executor over the registry in context.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ToolExecutor, ToolRegistry } from "effect-swarm"
 * const program = ToolExecutor.make({ defaultTimeout: "10 seconds" }).pipe(Effect.provide(ToolRegistry.layer))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
/** How many catalog names a not-in-catalog error lists for the model (a catalog may hold thousands). */
const listedTools = 20

/** The catalog's names, for a model that called a tool it does not have: so it can pick one that exists. */
const available = (catalog: ToolCatalog): string => {
  if (catalog.length === 0) return "No tools are available in this step."
  const names = catalog.slice(0, listedTools).map((item) => item.name).join(", ")
  const more = catalog.length > listedTools ? ` and ${catalog.length - listedTools} more` : ""
  return `Available tools: ${names}${more}.`
}

export const make = (options?: Options): Effect.Effect<Service, never, ToolRegistry> =>
  Effect.gen(function*() {
    const registry = yield* ToolRegistry
    const timeoutDefault = Duration.decode(options?.defaultTimeout ?? defaultTimeout)
    const maxOutputBytes = options?.maxOutputBytes ?? defaultMaxOutputBytes
    const defaultLimit = options?.errorMessageLimit ?? ToolError.defaultErrorMessageLimit
    const workdirDefault = options?.workdir ?? process.cwd()

    // No span here on purpose: the pipeline's toolCall span is this call's span; a second one per call
    // would double the tracing cost of the hot path for no information. The guard, validation and
    // lookup are synchronous checks, so they run in one `suspend` without a generator.
    const execute = (request: ExecuteRequest): Effect.Effect<ToolCallResult> =>
      Effect.suspend(() => {
        const { toolName } = request
        const entry = registry.unsafeGet(toolName)
        const limit = request.errorMessageLimit ?? entry?.errorMessageLimit ?? defaultLimit

        const item = find(request.catalog, toolName)
        if (item === undefined && request.allowRegistryBypass !== true) {
          return Effect.succeed(errorResult(request, {
            name: "ToolNotInCatalogError",
            code: ToolError.codes.notInCatalog,
            message: ToolError.truncate(
              `Tool '${toolName}' is not available in the current Tool Catalog. ${available(request.catalog)}`,
              limit
            ),
            suggestion:
              "Add the tool to the Agent's spec.tools, or register it dynamically in a step middleware (ctx.toolCatalog)."
          }))
        }

        const schema = item?.parameters ?? entry?.item.parameters
        if (schema !== undefined) {
          const validator = ToolArgs.compile(schema)
          if (Either.isLeft(validator)) {
            return Effect.succeed(errorResult(request, {
              name: "ToolSchemaError",
              code: ToolError.codes.invalidSchema,
              message: ToolError.truncate(
                `Tool '${toolName}' has an invalid parameters schema: ${validator.left.message}`,
                limit
              ),
              suggestion:
                "Fix this tool's parameters JSON Schema: the export's parameters in its Tool resource, or the item an extension passed to api.tools.register."
            }))
          }
          const issues = validator.right(request.args)
          if (issues.length > 0) {
            return Effect.succeed(errorResult(request, {
              name: "ToolInputValidationError",
              code: ToolError.codes.invalidArgs,
              message: ToolError.truncate(ToolArgs.formatIssues(toolName, issues), limit),
              suggestion: ToolArgs.suggestion(schema)
            }))
          }
        }

        if (entry === undefined) {
          return Effect.succeed(errorResult(request, {
            name: "ToolNotFoundError",
            code: ToolError.codes.notFound,
            message: ToolError.truncate(`Tool '${toolName}' is not registered.`, limit),
            suggestion: "Check the tool registry and the bundle's Tool resources (entry, exports)."
          }))
        }

        const ctx = request.context
        let pinned = false
        const context: ToolContext = {
          agentName: ctx.agentName,
          instanceKey: ctx.instanceKey,
          turnId: ctx.turnId,
          stepIndex: ctx.stepIndex,
          toolCallId: request.toolCallId,
          toolName,
          trace: ctx.trace,
          traceId: ctx.trace.traceId,
          workdir: ctx.workdir ?? workdirDefault,
          runtime: ctx.runtime,
          pin: () => {
            pinned = true
          }
        }
        const args = request.args !== null && typeof request.args === "object" && !Array.isArray(request.args)
          ? request.args as Readonly<Record<string, unknown>>
          : {}
        const toResult = (outcome: Exit.Exit<unknown, ToolError.ToolFailure>): ToolCallResult => {
          if (Exit.isSuccess(outcome)) {
            return {
              toolCallId: request.toolCallId,
              toolName,
              status: "ok",
              output: capOutput(toJsonValue(outcome.value), maxOutputBytes),
              ...(pinned ? { pinned: true } : {})
            }
          }
          const failure = Cause.failureOption(outcome.cause)
          return errorResult(
            request,
            ToolError.toInfo(
              failure._tag === "Some" ? failure.value : ToolError.fromUnknown(Cause.squash(outcome.cause)),
              limit
            )
          )
        }

        let handled: Effect.Effect<unknown, ToolError.ToolFailure>
        try {
          handled = asEffect(entry.handler(args, context))
        } catch (thrown) {
          // A handler that throws while building its effect is a handler bug, reported like a throw.
          return Effect.succeed(errorResult(request, ToolError.toInfo(ToolError.fromUnknown(thrown), limit)))
        }
        // A handler that already finished (a synchronous value or `Effect.succeed`) needs no timer: the
        // timeout race costs two fibers and a timer per call, most of the executor's overhead.
        if (Exit.isExit(handled)) return Effect.succeed(toResult(handled as Exit.Exit<unknown, ToolError.ToolFailure>))
        const timeout = entry.timeout === undefined ? timeoutDefault : Duration.decode(entry.timeout)
        return handled.pipe(
          Effect.timeoutFail({
            duration: timeout,
            onTimeout: () =>
              new ToolError.ToolFailure({
                name: "ToolTimeoutError",
                code: ToolError.codes.timeout,
                message: `Tool '${toolName}' did not finish within ${Duration.format(timeout)}.`,
                suggestion: "Retry with a smaller request, or raise the tool's timeout in its Tool resource."
              })
          }),
          Effect.catchAllDefect((defect) => Effect.fail(ToolError.fromUnknown(defect))),
          Effect.exit,
          Effect.map(toResult)
        )
      })

    return ToolExecutor.of({ execute })
  })

/**
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { ToolExecutor, ToolRegistry } from "effect-swarm"
 * const Tools = ToolExecutor.layer().pipe(Layer.provideMerge(ToolRegistry.layer))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<ToolExecutor, never, ToolRegistry> =>
  Layer.effect(ToolExecutor, make(options))
