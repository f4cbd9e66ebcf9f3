/**
 * The host side of `ctx.callAgent` / `ctx.callWorkflow`: tool code running in a sandboxed worker calls
 * them, the request travels over the worker protocol, and the host answers through this service.
 * The application (later the orchestrator) provides it; the sandbox only exposes the functions to tool
 * code when `nativeTools.callAgents` / `callWorkflows` are switched on in the `RuntimeConfig`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"

/**
 * A native call failed on the host; tool code sees a rejected promise with this `name` and `message`.
 *
 * @example
 * ```ts
 * import { NativeTools } from "effect-swarm"
 * new NativeTools.NativeCallFailed({ name: "AgentNotFound", message: "no agent called planner" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class NativeCallFailed extends Schema.TaggedError<NativeCallFailed>("effect-swarm/NativeCallFailed")(
  "NativeCallFailed",
  {
    name: Schema.String,
    message: Schema.String,
    /** What to change so the call can succeed (given to the tool as the error's `suggestion`). */
    suggestion: Schema.optional(Schema.String)
  }
) {}

/**
 * Where a native call comes from, as the host knows it: the agent instance whose tool call runs the
 * tool (`agent@instance`), the W3C trace context of that tool call, and the chain of `agent@instance`
 * calls that led to it (outermost first; the orchestrator uses it for cycle detection). Given per
 * call in `ToolRuntime.ExecuteRequest.origin`; the tool cannot change it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Origin {
  /** `agent@instance` of the caller. */
  readonly caller?: string | undefined
  /** W3C `traceparent` of the tool call (`00-<32 hex>-<16 hex>-<2 hex>`). */
  readonly traceparent?: string | undefined
  /** W3C `tracestate`, when there is one. */
  readonly tracestate?: string | undefined
  /** `agent@instance` entries from the outermost caller to the current one. */
  readonly callChain?: ReadonlyArray<string> | undefined
}

/**
 * What tool code may ask for in `ctx.callAgent(target, input, options)` (validated on the host:
 * anything else fails the call inside the tool with `InvalidNativeOptions`).
 *
 * @since 0.1.0
 * @category models
 */
export interface CallAgentOptions {
  /** Address one instance of the target agent. */
  readonly instanceKey?: string | undefined
  /** `sync` waits for the reply (the default), `async` only enqueues the request. */
  readonly mode?: "sync" | "async" | undefined
  /** How long the caller waits, in milliseconds (a positive integer). */
  readonly timeoutMs?: number | undefined
}

/**
 * Everything the host receives with one `ctx.callAgent`: the tool's options, the call's {@link Origin}
 * and the id of the tool that asked.
 *
 * @since 0.1.0
 * @category models
 */
export interface AgentCall extends CallAgentOptions, Origin {
  readonly toolId: string
}

/**
 * The bridge tool code reaches through `ctx`. Inputs and results are JSON values. Implementations
 * written for `callAgent(target, input)` keep working: the third argument carries the details.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly callAgent: (target: string, input: unknown, call: AgentCall) => Effect.Effect<unknown, NativeCallFailed>
  readonly callWorkflow: (name: string, input: unknown) => Effect.Effect<unknown, NativeCallFailed>
}

/**
 * Validates what tool code passed as `ctx.callAgent`'s options (a JSON value): the options, or why not.
 *
 * @example
 * ```ts
 * import { NativeTools } from "effect-swarm"
 * NativeTools.parseCallAgentOptions({ mode: "async", timeoutMs: 5000 }) // { _tag: "Right", right: {...} }
 * NativeTools.parseCallAgentOptions({ mode: "later" })                 // { _tag: "Left", left: "mode must be ..." }
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseCallAgentOptions = (
  raw: unknown
): { readonly _tag: "Right"; readonly right: CallAgentOptions } | { readonly _tag: "Left"; readonly left: string } => {
  if (raw === undefined || raw === null) return { _tag: "Right", right: {} }
  if (typeof raw !== "object" || Array.isArray(raw)) {
    return { _tag: "Left", left: "options must be an object { instanceKey?, mode?, timeoutMs? }" }
  }
  const o = raw as Record<string, unknown>
  for (const key of Object.keys(o)) {
    if (key !== "instanceKey" && key !== "mode" && key !== "timeoutMs") {
      return { _tag: "Left", left: `unknown option ${JSON.stringify(key)} (known: instanceKey, mode, timeoutMs)` }
    }
  }
  const out: { instanceKey?: string; mode?: "sync" | "async"; timeoutMs?: number } = {}
  if (o.instanceKey !== undefined) {
    if (typeof o.instanceKey !== "string" || o.instanceKey.length === 0) {
      return { _tag: "Left", left: "instanceKey must be a non-empty string" }
    }
    out.instanceKey = o.instanceKey
  }
  if (o.mode !== undefined) {
    if (o.mode !== "sync" && o.mode !== "async") return { _tag: "Left", left: "mode must be \"sync\" or \"async\"" }
    out.mode = o.mode
  }
  if (o.timeoutMs !== undefined) {
    if (typeof o.timeoutMs !== "number" || !Number.isSafeInteger(o.timeoutMs) || o.timeoutMs <= 0) {
      return { _tag: "Left", left: "timeoutMs must be a positive integer (milliseconds)" }
    }
    out.timeoutMs = o.timeoutMs
  }
  return { _tag: "Right", right: out }
}

/**
 * The service tag; provide it next to the `ToolRuntime` layer.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { NativeTools } from "effect-swarm"
 *
 * const Echo = Layer.succeed(NativeTools.NativeTools, NativeTools.NativeTools.of({
 *   callAgent: (target, input) => Effect.succeed({ target, input }),
 *   callWorkflow: (name) => Effect.succeed({ workflow: name })
 * }))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class NativeTools extends Context.Tag("effect-swarm/NativeTools")<NativeTools, Service>() {}

/**
 * A layer from two functions.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { NativeTools } from "effect-swarm"
 * const layer = NativeTools.layer({
 *   callAgent: (target) => Effect.succeed(`hello from ${target}`),
 *   callWorkflow: () => Effect.succeed(null)
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (service: Service): Layer.Layer<NativeTools> => Layer.succeed(NativeTools, NativeTools.of(service))
