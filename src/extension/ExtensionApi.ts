/**
 * What an extension's `register(api, config)` receives: the instance's pipeline, tool registry, state,
 * events and a logger. Every member acts on the one agent instance the environment was built for.
 *
 * The api is plain JavaScript on purpose (extensions are modules a user writes, often without
 * Effect): registrations are synchronous calls, handlers may return a value, a Promise or an Effect.
 *
 * @example
 * ```js
 * // extensions/audit.mjs
 * export function register(api, config) {
 *   api.pipeline.register("toolCall", async (ctx, next) => {
 *     const result = await next()
 *     api.logger.info(`${ctx.toolName} -> ${result.status}`)
 *     return result
 *   }, { priority: -100 })
 *   api.events.on("turn.completed", () => {
 *     const state = api.state.get() ?? { turns: 0 }
 *     api.state.set({ turns: state.turns + 1 })
 *   })
 * }
 * ```
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as RuntimeEvent from "../event/RuntimeEvent.js"
import type { ContextOf, Kind, MiddlewareOf, ResultOf } from "../pipeline/Middleware.js"
import type { ToolCatalogItem } from "../tool/ToolCatalog.js"
import type { HandlerContext, Logger } from "../tool/ToolModule.js"
import type { EntryOptions } from "../tool/ToolRegistry.js"
import type { State } from "../workspace/ExtensionState.js"

/**
 * A Promise-style middleware, as the reference's extensions write them: `next()` runs the rest of the
 * onion and resolves with its result (or rejects with its failure, which the adapter passes on
 * unchanged when the middleware lets it through).
 *
 * @example
 * ```ts
 * import type { ExtensionApi } from "effect-swarm"
 * const timing: ExtensionApi.PromiseMiddleware<"turn"> = async (ctx, next) => {
 *   const started = Date.now()
 *   try { return await next() } finally { ctx.metadata.ms = Date.now() - started }
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type PromiseMiddleware<K extends Kind> = (
  ctx: ContextOf<K>,
  next: () => Promise<ResultOf<K>>
) => Promise<ResultOf<K>> | ResultOf<K>

/**
 * Options of `api.pipeline.register`.
 *
 * @since 0.1.0
 * @category models
 */
export interface PipelineRegisterOptions {
  /** Lower is outer; default 0; ties keep registration order (across extensions: their order in the Agent). */
  readonly priority?: number | undefined
  /** Shown in errors and logs as `<extension>/<name>`; defaults to the kind. */
  readonly name?: string | undefined
  /**
   * How the middleware is called. Default: `"promise"` for an `async` function, `"effect"` otherwise.
   * A plain function returning a Promise needs `"promise"`.
   */
  readonly style?: "effect" | "promise" | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PipelineApi {
  /**
   * Registers a middleware in this instance's pipeline. At run time an `async` function is taken as
   * Promise-style and anything else as Effect-style unless `style` says otherwise; in TypeScript,
   * Effect-style is the default and a Promise-style middleware is registered with `style: "promise"`
   * (so that `ctx` and `next` are typed for the style).
   */
  readonly register: {
    <K extends Kind>(
      kind: K,
      middleware: PromiseMiddleware<K>,
      options: PipelineRegisterOptions & { readonly style: "promise" }
    ): void
    <K extends Kind>(
      kind: K,
      middleware: MiddlewareOf<K>,
      options?: PipelineRegisterOptions & { readonly style?: "effect" | undefined }
    ): void
  }
}

/**
 * A tool handler written by an extension: arguments and the call's context in, a value, a Promise or
 * an Effect out (a throw or failure becomes the tool's error result, as for Tool modules).
 *
 * @since 0.1.0
 * @category models
 */
export type ToolFunction = (args: Readonly<Record<string, unknown>>, ctx: HandlerContext) => unknown

/**
 * @since 0.1.0
 * @category models
 */
export interface ToolsApi {
  /**
   * Registers a tool in this instance's registry (its catalog offers it from the next step on). The
   * name must be `{resource}__{export}`; an invalid one throws a `ToolNameError`, and one the agent or
   * another extension registered throws a `TypeError` (an extension cannot replace another's tool;
   * registering its own again replaces its handler). `item.source` defaults to
   * `{ type: "extension", name: <extension> }`.
   */
  readonly register: (item: ToolCatalogItem, handler: ToolFunction, options?: EntryOptions) => void
}

/**
 * The extension's own state in this instance (`extensions/<name>.json`). It is saved at the end of
 * every turn when its content changed, including changes made in place on the object `get` returned.
 *
 * @since 0.1.0
 * @category models
 */
export interface StateApi {
  /** The current state, `null` when it was never set. */
  readonly get: () => State | null
  /**
   * Replaces the state with a copy of `value`, which must be a plain JSON object (otherwise this
   * throws `ExtensionStateNotObject`).
   */
  readonly set: (value: unknown) => void
}

/**
 * An event an extension emitted with `api.events.emit`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExtensionEvent {
  readonly type: string
  /** The extension that emitted it. */
  readonly extension: string
  readonly payload: unknown
  readonly agentName: string
  readonly instanceKey: string
}

/**
 * What an event handler may return: nothing, a Promise or an Effect. Its failures are logged; they
 * never reach the turn or the emitter.
 *
 * @since 0.1.0
 * @category models
 */
export type HandlerResult = void | PromiseLike<void> | Effect.Effect<void, unknown>

/**
 * Options of `api.events.on`.
 *
 * @example
 * ```js
 * // a handler that may take up to two minutes (the default deadline is the environment's, 30 seconds)
 * api.events.on("turn.completed", async (event) => { await upload(event) }, { timeout: "2 minutes" })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface EventHandlerOptions {
  /**
   * How long one call of the handler may take (on `Clock`): a call still running then is left behind (an
   * Effect is interrupted, a Promise no longer awaited) with a warning, and the instance's next handlers and
   * events are delivered. A `Duration` input (`"2 minutes"`, milliseconds, `Infinity` for no deadline);
   * default: the environment's `handlerTimeout` (30 seconds).
   */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface EventsApi {
  /**
   * Subscribes to this instance's runtime events of a type (`turn.started`, `tool.completed`, ...),
   * delivered in order, after the fact and never blocking the turn; to its turn-loop records
   * (`approval.requested`, `approval.resolved`, `tools.dispatched`, `budget.exceeded`, `turn.abandoned`),
   * delivered in the order they were written, after the fact (not ordered with the step and tool events);
   * or to extension events of a name (see `emit`). Returns the function that unsubscribes. Each call of
   * the handler has a deadline (`options.timeout`, default 30 seconds): one that does not settle by then is
   * left behind with a warning, and later events are still delivered.
   */
  readonly on: {
    <T extends RuntimeEvent.Type>(
      type: T,
      handler: (event: RuntimeEvent.Of<T>) => HandlerResult,
      options?: EventHandlerOptions
    ): () => void
    <T extends RuntimeEvent.LoopEvent["type"]>(
      type: T,
      handler: (event: Extract<RuntimeEvent.LoopEvent, { readonly type: T }>) => HandlerResult,
      options?: EventHandlerOptions
    ): () => void
    (name: string, handler: (event: ExtensionEvent) => HandlerResult, options?: EventHandlerOptions): () => void
  }
  /**
   * Emits an extension event to this instance's extensions subscribed to `name` (runtime event and
   * turn-loop record types are reserved: a `TypeError` is thrown at the call, as after the
   * environment was disposed). Resolves when every handler finished.
   *
   * An emit made while a handler runs (in its code, its Promises or its Effect) continues that handler's
   * chain of events; the 33rd event of one chain (`maxEventChain`, 32 by default) is dropped with a
   * warning naming the extension, the event and the chain, and the Promise resolves: a handler that emits
   * the event it handles, directly or through other handlers, cannot loop forever.
   */
  readonly emit: (name: string, payload?: unknown) => Promise<void>
}

/**
 * The api an extension's `register(api, config)` receives.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExtensionApi {
  /** The extension's name (`metadata.name`). */
  readonly name: string
  /** The agent instance this environment belongs to. */
  readonly instance: { readonly agentName: string; readonly instanceKey: string }
  readonly pipeline: PipelineApi
  readonly tools: ToolsApi
  readonly state: StateApi
  readonly events: EventsApi
  /** Writes through Effect's logger, annotated with the extension and the instance. */
  readonly logger: Logger
  /** Registers a function run when the environment is disposed (last registered runs first). */
  readonly onDispose: (dispose: () => unknown) => void
}

/**
 * The shape of an extension module: a named `register` export (or `default.register`), sync or async.
 * It may return a dispose function, run when the environment is disposed.
 *
 * @since 0.1.0
 * @category models
 */
export type Register = (
  api: ExtensionApi,
  config: { readonly [key: string]: unknown }
) => void | (() => unknown) | PromiseLike<void | (() => unknown)>
