/**
 * The tool registry: which handler runs each tool name. Handlers come from anywhere (in-process tool
 * modules, sandboxed subprocesses, extensions) through one type, {@link ToolHandler}.
 *
 * Differences from the reference: a duplicate registration replaces the earlier one, as the
 * reference's spec says (its code threw), and says so in a warning log line; the catalog keeps
 * insertion order (a replaced tool keeps its place).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { TraceContext } from "../event/Trace.js"
import type { ToolCatalogItem } from "./ToolCatalog.js"
import type { ToolFailure } from "./ToolError.js"
import * as ToolName from "./ToolName.js"

/**
 * What an agent-calling tool may use once the orchestrator provides it. Open for declaration merging:
 * higher layers add their members.
 *
 * @since 0.1.0
 * @category models
 */
export interface AgentToolRuntime {
  readonly [key: string]: unknown
}

/**
 * What every tool call knows about where it runs.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolContext {
  readonly agentName: string
  readonly instanceKey: string
  readonly turnId: string
  readonly stepIndex?: number | undefined
  readonly toolCallId: string
  readonly toolName: string
  /** The tool call's own span: pass `Trace.toTraceparent(ctx.trace)` to anything that continues it. */
  readonly trace: TraceContext
  readonly traceId: string
  /** The directory the tool works in. */
  readonly workdir: string
  /** Agent calls from tool code, once the orchestrator provides them. */
  readonly runtime?: AgentToolRuntime | undefined
  /**
   * Keeps this call's successful result in every context window view (the turn loop writes it with the
   * `swarm.pinned` flag). Set by the executor for in-process handlers; sandboxed tools cannot pin.
   */
  readonly pin?: (() => void) | undefined
}

/**
 * A tool handler: validated arguments and the call's context in, a JSON-serialisable value out, or a
 * {@link ToolFailure}. Outputs are normalised to JSON by the executor (`undefined` becomes `null`).
 * In-process modules, sandboxed runtimes and extensions all register handlers of this type. A handler
 * registered from plain JavaScript that returns a Promise or a plain value instead is tolerated: the
 * executor awaits the Promise (a rejection is the tool's error result, under the same timeout).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { ToolRegistry } from "effect-swarm"
 * const echo: ToolRegistry.ToolHandler = (args, ctx) => Effect.succeed({ echoed: args, by: ctx.toolName })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type ToolHandler = (
  args: Readonly<Record<string, unknown>>,
  context: ToolContext
) => Effect.Effect<unknown, ToolFailure>

/**
 * Per-tool settings that travel with the handler (from the Tool resource).
 *
 * @since 0.1.0
 * @category models
 */
export interface EntryOptions {
  /** Error messages of this tool are truncated to this many characters (default 1000). */
  readonly errorMessageLimit?: number | undefined
  /** The per-call timeout (default: the executor's, 60 s). */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * A registered tool.
 *
 * @since 0.1.0
 * @category models
 */
export interface Entry extends EntryOptions {
  readonly item: ToolCatalogItem
  readonly handler: ToolHandler
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Registers a handler; an earlier handler of the same name is replaced (logged as a warning). */
  readonly register: (
    item: ToolCatalogItem,
    handler: ToolHandler,
    options?: EntryOptions
  ) => Effect.Effect<void, ToolName.ToolNameError>
  /** Removes a tool; `false` when it was not registered. */
  readonly unregister: (name: string) => Effect.Effect<boolean>
  readonly lookup: (name: string) => Effect.Effect<Option.Option<Entry>>
  /** The registered tools' catalog items, in registration order. */
  readonly catalog: Effect.Effect<ReadonlyArray<ToolCatalogItem>>
  /** Synchronous lookup for the executor's hot path. */
  readonly unsafeGet: (name: string) => Entry | undefined
}

/**
 * The tool registry service.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ToolRegistry } from "effect-swarm"
 *
 * const program = Effect.gen(function*() {
 *   const registry = yield* ToolRegistry.ToolRegistry
 *   yield* registry.register({ name: "clock__now" }, () => Effect.succeed(new Date().toISOString()))
 *   return yield* registry.catalog
 * }).pipe(Effect.provide(ToolRegistry.layer))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class ToolRegistry extends Context.Tag("effect-swarm/ToolRegistry")<ToolRegistry, Service>() {}

/**
 * An empty registry.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ToolRegistry } from "effect-swarm"
 * const program = Effect.flatMap(ToolRegistry.make, (registry) => registry.catalog)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Service> = Effect.sync(() => {
  const entries = new Map<string, Entry>()
  let catalogCache: ReadonlyArray<ToolCatalogItem> | undefined
  return ToolRegistry.of({
    register: (item, handler, options) =>
      Effect.suspend(() => {
        if (!ToolName.isValid(item.name)) {
          return Effect.fail(
            new ToolName.ToolNameError({
              name: item.name,
              message: `invalid tool name: ${item.name} (expected {resource}__{export})`
            })
          )
        }
        const replaced = entries.has(item.name)
        entries.set(item.name, { ...options, item, handler })
        catalogCache = undefined
        return replaced
          ? Effect.logWarning(`tool ${item.name} was registered again; the new handler replaces the earlier one`)
          : Effect.void
      }),
    unregister: (name) =>
      Effect.sync(() => {
        catalogCache = undefined
        return entries.delete(name)
      }),
    lookup: (name) => Effect.sync(() => Option.fromNullable(entries.get(name))),
    catalog: Effect.sync(() => {
      if (catalogCache === undefined) catalogCache = Array.from(entries.values(), (entry) => entry.item)
      return catalogCache
    }),
    unsafeGet: (name) => entries.get(name)
  })
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<ToolRegistry> = Layer.effect(ToolRegistry, make)
