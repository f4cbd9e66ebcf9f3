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
    message: Schema.String
  }
) {}

/**
 * The bridge tool code reaches through `ctx`. Inputs and results are JSON values.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly callAgent: (target: string, input: unknown) => Effect.Effect<unknown, NativeCallFailed>
  readonly callWorkflow: (name: string, input: unknown) => Effect.Effect<unknown, NativeCallFailed>
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
