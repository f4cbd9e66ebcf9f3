/**
 * Tool resources with a `spec.runtime` block, run through {@link ToolRuntime}: one registry handler per
 * declared export, each call executed in a sandboxed worker with the runtime block applied over the
 * layer's `RuntimeConfig` (type, permissions, maxMemoryMB, timeout) and its `pool`, when set, used as
 * the warm pool. Tools without `spec.runtime` stay in-process (`ToolModule`).
 *
 * The tool function receives `(args, context, ctx)`: `context` is the JSON part of the call's
 * `ToolContext` (`agentName`, `instanceKey`, `turnId`, `stepIndex`, `toolCallId`, `toolName`, `traceId`,
 * `workdir`) and `ctx` the sandbox context (`env`, `callAgent`, ...).
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as RuntimeConfig from "../config/RuntimeConfig.js"
import * as Trace from "../event/Trace.js"
import * as Middleware from "../pipeline/Middleware.js"
import * as Resource from "../resource/Resource.js"
import * as ToolError from "../tool/ToolError.js"
import * as ToolModule from "../tool/ToolModule.js"
import * as ToolName from "../tool/ToolName.js"
import type { EntryOptions, ToolContext, ToolHandler } from "../tool/ToolRegistry.js"
import { ToolRegistry } from "../tool/ToolRegistry.js"
import type * as NativeTools from "./NativeTools.js"
import { ToolRuntime } from "./ToolRuntime.js"
import type { ToolRuntimeError } from "./ToolRuntimeError.js"

/**
 * Turns a sandbox failure into the registry's {@link ToolError.ToolFailure}: what the tool threw keeps
 * its name, message, code, suggestion and help URL; sandbox failures keep their tag as the name and
 * get a code (`E_TOOL_TIMEOUT` for timeouts, `E_TOOL_SANDBOX` otherwise).
 *
 * @example
 * ```ts
 * import { SandboxedTools, ToolRuntime } from "effect-swarm"
 * SandboxedTools.toFailure(new ToolRuntime.ToolTimeout({ toolId: "x", timeout: "1s", stderrTail: "" })).code
 * // "E_TOOL_TIMEOUT"
 * ```
 *
 * @since 0.1.0
 * @category conversions
 */
export const toFailure = (error: ToolRuntimeError): ToolError.ToolFailure => {
  switch (error._tag) {
    case "ToolThrew":
      return new ToolError.ToolFailure({
        name: error.name,
        message: error.message,
        ...(error.code === undefined ? {} : { code: error.code }),
        ...(error.suggestion === undefined ? {} : { suggestion: error.suggestion }),
        ...(error.helpUrl === undefined ? {} : { helpUrl: error.helpUrl }),
        cause: error
      })
    case "ToolTimeout":
      return new ToolError.ToolFailure({
        name: error._tag,
        message: error.message,
        code: ToolError.codes.timeout,
        suggestion: "make the call cheaper, or raise spec.runtime.timeout",
        cause: error
      })
    case "ToolNotFound":
      return new ToolError.ToolFailure({
        name: error._tag,
        message: error.message,
        code: ToolError.codes.notFound,
        cause: error
      })
    case "PermissionUnenforceable":
      return new ToolError.ToolFailure({
        name: error._tag,
        message: error.message,
        code: "E_TOOL_SANDBOX",
        suggestion: "grant the permission, use a runtime that enforces it, or set permissionPolicy: warn",
        cause: error
      })
    case "EntrypointUnsupported":
      return new ToolError.ToolFailure({
        name: error._tag,
        message: error.message,
        code: "E_TOOL_SANDBOX",
        suggestion: error.suggestion,
        cause: error
      })
    default:
      return new ToolError.ToolFailure({
        name: error._tag,
        message: error.message,
        code: "E_TOOL_SANDBOX",
        cause: error
      })
  }
}

const contextJson = (context: ToolContext) => ({
  agentName: context.agentName,
  instanceKey: context.instanceKey,
  turnId: context.turnId,
  ...(context.stepIndex === undefined ? {} : { stepIndex: context.stepIndex }),
  toolCallId: context.toolCallId,
  toolName: context.toolName,
  traceId: context.traceId,
  workdir: context.workdir
})

/**
 * Where a sandboxed tool call comes from, for the `NativeTools` service: the calling instance
 * (`agent@instance`) and the tool call's span (`traceparent`) from its {@link ToolContext}, and the
 * chain of callers that led to the turn from the fiber's caller (set by the pipeline) when it is the
 * same instance. The tool cannot change any of it.
 *
 * @example
 * ```ts
 * import { SandboxedTools } from "effect-swarm"
 * declare const context: import("effect-swarm/tool/ToolRegistry").ToolContext
 * SandboxedTools.originOf(context, undefined).caller // "planner@main"
 * ```
 *
 * @since 0.1.0
 * @category origin
 */
export const originOf = (
  context: ToolContext,
  caller: Middleware.CallerContext | undefined
): NativeTools.Origin => ({
  caller: `${context.agentName}@${context.instanceKey}`,
  traceparent: Trace.toTraceparent(context.trace),
  ...(caller !== undefined && caller.agentName === context.agentName && caller.instanceKey === context.instanceKey ?
    { callChain: [...caller.callChain] } :
    {})
})

/**
 * The handlers of a sandboxed Tool resource (`undefined` when it has no `spec.runtime`, i.e. runs
 * in-process). `entry` is resolved against `bundleRoot`, unless `entryFile` (a `Bundle.Entry`'s: the file
 * `Bundle.load` validated) is given.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SandboxedTools } from "effect-swarm"
 * const program = Effect.flatMap(SandboxedTools.load(toolResource, "/path/to/bundle"), (tools) => ...)
 * ```
 *
 * @since 0.1.0
 * @category loading
 */
export const load = Effect.fn("SandboxedTools.load")(function*(
  resource: Resource.ToolResource,
  bundleRoot: string,
  resolved?: { readonly entryFile?: string | undefined }
) {
  const runtimeBlock = resource.spec.runtime
  if (runtimeBlock === undefined) return undefined
  const tools = yield* ToolRuntime
  const definition = ToolModule.fromResource(resource, bundleRoot, resolved)
  const overrides: ReadonlyArray<RuntimeConfig.Option> = [
    ...Resource.runtimeOptions(runtimeBlock),
    RuntimeConfig.withEntrypointPath(definition.entry)
  ]
  const pool = runtimeBlock.pool === undefined ? undefined : {
    size: runtimeBlock.pool.size,
    ...(runtimeBlock.pool.maxCallsPerWorker === undefined ?
      {} :
      { maxCallsPerWorker: runtimeBlock.pool.maxCallsPerWorker }),
    ...(runtimeBlock.pool.idleTimeout === undefined ? {} : { idleTimeout: runtimeBlock.pool.idleTimeout })
  }
  // The sandbox owns the timeout (and reports it with the stderr tail); the executor's is a backstop.
  const options: EntryOptions = {
    ...(definition.errorMessageLimit === undefined ? {} : { errorMessageLimit: definition.errorMessageLimit }),
    ...(runtimeBlock.timeout === undefined ? {} : {
      timeout: Duration.sum(runtimeBlock.timeout, Duration.seconds(5))
    })
  }
  const loaded: Array<ToolModule.LoadedTool> = []
  for (const declared of definition.exports) {
    const name = yield* ToolName.make(definition.resourceName, declared.name)
    const handler: ToolHandler = (args, context) =>
      Effect.flatMap(FiberRef.get(Middleware.currentCaller), (caller) =>
        tools.execute({
          toolId: declared.name,
          input: args,
          config: contextJson(context),
          runtime: overrides,
          origin: originOf(context, caller),
          ...(pool === undefined ? {} : { pool })
        })).pipe(
          Effect.mapError(toFailure),
          // The subprocess's work, as a child of the tool-call span.
          Effect.withSpan("effect-swarm.sandbox", {
            attributes: { "gen_ai.tool.name": context.toolName, "effect_swarm.sandbox.export": declared.name }
          })
        )
    loaded.push({
      item: {
        name,
        ...(declared.description === undefined ? {} : { description: declared.description }),
        ...(declared.parameters === undefined ? {} : { parameters: declared.parameters }),
        source: { type: "config", name: definition.resourceName }
      },
      handler,
      options
    })
  }
  return loaded
})

/**
 * Loads a sandboxed Tool resource and registers its handlers; does nothing for in-process tools.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SandboxedTools, ToolRegistry } from "effect-swarm"
 * const program = SandboxedTools.register(toolResource, "/path/to/bundle").pipe(
 *   Effect.zipRight(Effect.flatMap(ToolRegistry.ToolRegistry, (r) => r.catalog))
 * )
 * ```
 *
 * @since 0.1.0
 * @category loading
 */
export const register = (
  resource: Resource.ToolResource,
  bundleRoot: string,
  options?: { readonly entryFile?: string | undefined }
): Effect.Effect<boolean, ToolName.ToolNameError, ToolRuntime | ToolRegistry> =>
  Effect.gen(function*() {
    const loaded = yield* load(resource, bundleRoot, options)
    if (loaded === undefined) return false
    const registry = yield* ToolRegistry
    for (const tool of loaded) yield* registry.register(tool.item, tool.handler, tool.options)
    return true
  })
