/**
 * Tools that come from somewhere other than the bundle's Tool resources (MCP servers today), as a
 * service `AgentInstance.fromBundle` consults: when a `ToolSources` is in context, it attaches the
 * Agent's tools from it to the instance's own registry, for as long as the instance's scope lives.
 * Higher areas provide it (`McpServers.layer` does), so the agent area depends on this contract only.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Bundle from "../resource/Bundle.js"
import type * as Resource from "../resource/Resource.js"
import type { ToolRegistry } from "./ToolRegistry.js"

/**
 * A source could not provide an agent's tools (a server did not start, a value is missing).
 *
 * @since 0.1.0
 * @category errors
 */
export class ToolSourceError extends Schema.TaggedError<ToolSourceError>("effect-swarm/ToolSourceError")(
  "ToolSourceError",
  {
    source: Schema.String,
    reason: Schema.String,
    suggestion: Schema.optional(Schema.String),
    cause: Schema.optional(Schema.Defect)
  }
) {
  override get message(): string {
    return `${this.source}: ${this.reason}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The resource kinds of `Agent.spec.tools` this source serves (e.g. `McpServer`). */
  readonly kinds: ReadonlyArray<string>
  /** Registers the agent's tools of this source in `registry`, kept up to date while the scope lives. */
  readonly attach: (
    bundle: Bundle.Bundle,
    agent: Bundle.Entry<Resource.AgentResource>,
    registry: ToolRegistry["Type"]
  ) => Effect.Effect<void, ToolSourceError, Scope.Scope>
}

/**
 * The tool source service.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { ToolSource } from "effect-swarm"
 * const none = Layer.succeed(ToolSource.ToolSources, { kinds: [], attach: () => Effect.void })
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class ToolSources extends Context.Tag("effect-swarm/ToolSources")<ToolSources, Service>() {}
