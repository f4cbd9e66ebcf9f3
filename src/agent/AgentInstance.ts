/**
 * An agent instance: one `agent@instanceKey` with its conversation (durable through MessageStore, or in
 * memory), its own Pipeline, ToolRegistry and ToolExecutor (so extensions of one instance never touch
 * another), its model and its budget policy. Turns run through {@link Turn.run}; `approve` / `deny`
 * decide paused tool calls, even after a restart; `history` and `fork` travel in its log.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import type * as Conversation from "../conversation/Conversation.js"
import type * as EventBus from "../event/EventBus.js"
import type { ExtensionLoadError } from "../extension/ExtensionError.js"
import type { TurnResult } from "../pipeline/Middleware.js"
import type * as Bundle from "../resource/Bundle.js"
import { ExtensionState, type ExtensionStateError } from "../workspace/ExtensionState.js"
import type { Instances } from "../workspace/Instances.js"
import type { MessageStore } from "../workspace/MessageStore.js"
import type { RuntimeEventLog } from "../workspace/RuntimeEventLog.js"
import type { InstanceRef } from "../workspace/WorkspacePaths.js"
import type { ApprovalNotPending, ForkError, PolicyError, TurnStorageError } from "./AgentError.js"
import { type AwaitingApproval } from "./AgentError.js"
import * as Approvals from "./internal/approvals.js"
import * as FromBundle from "./internal/bundle.js"
import * as ContextHook from "./internal/context.js"
import type { FromBundleError, FromBundleOptions, FromBundleRequirements } from "./internal/fromBundle.js"
import * as FromBundleApi from "./internal/fromBundle.js"
import * as History from "./internal/history.js"
import type { StepEntry, TurnEntry } from "./internal/history.js"
import type { AgentInstance, ApprovalPredicate, ToolSettings } from "./internal/instance.js"
import type * as Loop from "./internal/loop.js"
import * as Open from "./internal/open.js"
import type { Options } from "./internal/open.js"

export type {
  /**
   * @since 0.1.0
   * @category models
   */
  AgentInstance,
  /**
   * @since 0.1.0
   * @category models
   */
  ApprovalPredicate,
  /**
   * Every failure of {@link fromBundle}: the bundle does not describe a runnable agent (`AgentConfigError`,
   * `BundleError` for an unreadable `systemRef`, `ModelConfigError`), a tool or extension does not load,
   * or the instance's storage fails.
   *
   * @since 0.1.0
   * @category errors
   */
  FromBundleError,
  /**
   * Options of {@link fromBundle}: which Agent of the bundle and which instance of it, plus what to
   * replace or add. Everything else is read from the bundle.
   *
   * @since 0.1.0
   * @category models
   */
  FromBundleOptions,
  /**
   * What {@link fromBundle} needs from its context: the workspace stores, the event bus, the file system
   * (prompt files) and a scope.
   *
   * @since 0.1.0
   * @category models
   */
  FromBundleRequirements,
  /**
   * @since 0.1.0
   * @category models
   */
  Options,
  /**
   * @since 0.1.0
   * @category models
   */
  StepEntry,
  /**
   * @since 0.1.0
   * @category models
   */
  ToolSettings,
  /**
   * @since 0.1.0
   * @category models
   */
  TurnEntry
}

/**
 * The loop settings of an agent's tools from their exports (`idempotent`, `needsApproval`), keyed by
 * tool name; pass it as `tools` to {@link make}.
 *
 * @example
 * ```ts
 * import { AgentInstance, Bundle, Resource } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * declare const agent: Bundle.Entry<Resource.AgentResource>
 * const tools = AgentInstance.toolSettingsOf(Bundle.toolCatalog(bundle, agent))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const toolSettingsOf: (
  catalog: ReadonlyArray<{
    readonly name: string
    readonly export: { readonly idempotent?: boolean | undefined; readonly needsApproval?: boolean | undefined }
  }>
) => Record<string, ToolSettings> = FromBundle.toolSettingsOf

/**
 * Opens a durable instance on the workspace stores: its conversation through `MessageStore`, its
 * turn-loop records through `RuntimeEventLog` (written synchronously), its metadata through
 * `Instances` (`ensure` now; `processing` during a turn, `awaiting_approval` or `idle` after). The step
 * and tool events the pipeline publishes are persisted beside them by a sink that lives as long as the
 * scope. `options.extensions` are loaded into the instance (their state through the `ExtensionState`
 * service, which must then be in context: `E_EXT_NO_STATE` otherwise) and disposed with the scope.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentInstance, Model, Turn } from "effect-swarm"
 * const program = Effect.gen(function*() {
 *   const agent = yield* AgentInstance.make({
 *     ref: { workspaceId: "default", agentName: "coder", instanceKey: "thread-1" },
 *     model: yield* Model.Model,
 *     system: "You are terse."
 *   })
 *   return yield* Turn.run(agent, "hello")
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<
  AgentInstance,
  OpenError,
  EventBus.EventBus | MessageStore | RuntimeEventLog | Instances | Scope.Scope
> =>
  Effect.gen(function*() {
    const context = yield* Effect.context<
      EventBus.EventBus | MessageStore | RuntimeEventLog | Instances | Scope.Scope
    >()
    const state = yield* Effect.serviceOption(ExtensionState)
    const reopen = (ref: InstanceRef) =>
      Effect.provide(
        make({ ...options, ref }),
        Option.isSome(state) ? Context.add(context, ExtensionState, state.value) : context
      )
    const instance = yield* Open.durable(options, reopen)
    yield* Open.loadExtensions(instance, options)
    return instance
  })

/**
 * Every failure of opening an instance: its storage, its budget policy (`PolicyError`), or loading its extensions.
 *
 * @since 0.1.0
 * @category errors
 */
export type OpenError = TurnStorageError | ExtensionLoadError | ExtensionStateError | PolicyError

/**
 * Opens a durable instance of one Agent of a loaded bundle, wired as the bundle says: the model from the
 * Agent's Model resource (`Model.make`; a `scripted` one gets its validated script), the system prompt
 * (`prompt.system` or the `systemRef` file), the policy merged Swarm -> Agent -> `options.policy`, the
 * Agent's tools registered into the instance's own registry (in-process, or sandboxed through the
 * `ToolRuntime` in context) with their `idempotent` / `needsApproval` settings, its runtime info (swarm,
 * callable agents) and its extensions loaded into the instance's own pipeline and registry. `fork`s of the
 * instance are opened the same way.
 *
 * @example
 * ```ts
 * import { NodeContext } from "@effect/platform-node"
 * import { Effect, Layer } from "effect"
 * import {
 *   AgentInstance, Bundle, EventBus, ExtensionState, Instances, MessageStore, RuntimeConfig, RuntimeEventLog,
 *   ToolRuntime, Turn
 * } from "effect-swarm"
 *
 * const root = "/tmp/swarm"
 * const Stores = Layer.mergeAll(
 *   MessageStore.layer({ root }), RuntimeEventLog.layer({ root }), Instances.layer({ root }),
 *   ExtensionState.layer({ root }), EventBus.layer(), ToolRuntime.layer.pipe(Layer.provide(RuntimeConfig.layer("node")))
 * ).pipe(Layer.provideMerge(NodeContext.layer))
 *
 * const program = Effect.gen(function*() {
 *   const bundle = yield* Bundle.load("examples/bundles/multi-agent")
 *   const agent = yield* AgentInstance.fromBundle(bundle, { agent: "coordinator", instanceKey: "thread-1" })
 *   return yield* Turn.run(agent, "hello")
 * }).pipe(Effect.scoped, Effect.provide(Stores))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromBundle: (
  bundle: Bundle.Bundle,
  options: FromBundleOptions
) => Effect.Effect<AgentInstance, FromBundleError, FromBundleRequirements> = FromBundleApi.fromBundle

/**
 * An instance whose log lives in memory (tests, benchmarks, throwaway agents), optionally starting from
 * a conversation.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentInstance, Model, Turn } from "effect-swarm"
 * const program = Effect.gen(function*() {
 *   const agent = yield* AgentInstance.makeInMemory({
 *     ref: { workspaceId: "test", agentName: "a", instanceKey: "1" },
 *     model: yield* Model.Model
 *   })
 *   return yield* Turn.run(agent, "hi")
 * }).pipe(Effect.provide(Model.scripted([{ text: "hello" }])))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeInMemory = (
  options: Options,
  initial?: Conversation.Conversation
): Effect.Effect<
  AgentInstance,
  ExtensionLoadError | ExtensionStateError | PolicyError,
  EventBus.EventBus | Scope.Scope
> =>
  Effect.gen(function*() {
    const context = yield* Effect.context<EventBus.EventBus | Scope.Scope>()
    return yield* Open.memory(options, (ref) => Effect.provide(makeInMemory({ ...options, ref }), context), initial)
  })

/**
 * Pins a message (or unpins it with `pinned: false`): the context window keeps it in every view. Writes
 * a `replace` event (durable on return) under the instance lock, so it waits for a running turn to end.
 * `false` when the conversation has no message with that id.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentInstance } from "effect-swarm"
 * declare const agent: AgentInstance.AgentInstance
 * const program = AgentInstance.pin(agent, "msg-m3x1a2b3-k4j5h6g7f8d9")
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const pin: (
  instance: AgentInstance,
  messageId: string,
  pinned?: boolean
) => Effect.Effect<boolean, TurnStorageError> = Effect.fn("AgentInstance.pin")(
  function*(instance: AgentInstance, messageId: string, pinned?: boolean) {
    return yield* ContextHook.pin(instance, messageId, pinned ?? true)
  }
)

/**
 * The instance's conversation as it is now.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentInstance } from "effect-swarm"
 * declare const agent: AgentInstance.AgentInstance
 * const count = Effect.map(AgentInstance.conversation(agent), (c) => c.messages.length)
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const conversation = (instance: AgentInstance): Effect.Effect<Conversation.Conversation> =>
  Ref.get(instance.state.conversation)

/**
 * The tool calls that wait for a decision.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentInstance } from "effect-swarm"
 * declare const agent: AgentInstance.AgentInstance
 * const ids = Effect.map(AgentInstance.pendingApprovals(agent), (calls) => calls.map((c) => c.toolCallId))
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const pendingApprovals = (
  instance: AgentInstance
): Effect.Effect<ReadonlyArray<{ readonly toolCallId: string; readonly toolName: string; readonly turnId: string }>> =>
  Effect.sync(() => Approvals.pending(instance))

/**
 * Approves a paused tool call. When it was the last decision its step waited for, the turn continues
 * (the tool runs) and its result is returned; otherwise the result says `awaiting_approval`.
 *
 * @example
 * ```ts
 * import { AgentInstance } from "effect-swarm"
 * declare const agent: AgentInstance.AgentInstance
 * const continued = AgentInstance.approve(agent, "call_1")
 * ```
 *
 * @since 0.1.0
 * @category approvals
 */
export const approve = (
  instance: AgentInstance,
  toolCallId: string
): Effect.Effect<TurnResult, ApprovalNotPending | Loop.TurnError | AwaitingApproval> =>
  Approvals.decide(instance, toolCallId, true)

/**
 * Denies a paused tool call: the model reads it as a tool error with the reason
 * (`E_TOOL_DENIED`). The turn continues once every call of the step is decided.
 *
 * @example
 * ```ts
 * import { AgentInstance } from "effect-swarm"
 * declare const agent: AgentInstance.AgentInstance
 * const continued = AgentInstance.deny(agent, "call_1", "not on a Friday")
 * ```
 *
 * @since 0.1.0
 * @category approvals
 */
export const deny = (
  instance: AgentInstance,
  toolCallId: string,
  reason?: string
): Effect.Effect<TurnResult, ApprovalNotPending | Loop.TurnError | AwaitingApproval> =>
  Approvals.decide(instance, toolCallId, false, reason)

/**
 * The turns of the instance with their steps and seqs, oldest first: what `fork` can start from.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentInstance } from "effect-swarm"
 * declare const agent: AgentInstance.AgentInstance
 * const steps = Effect.map(AgentInstance.history(agent), (turns) => turns.flatMap((t) => t.steps))
 * ```
 *
 * @since 0.1.0
 * @category time travel
 */
export const history = (instance: AgentInstance): Effect.Effect<ReadonlyArray<History.TurnEntry>> =>
  Effect.map(Ref.get(instance.state.conversation), (c) => History.history(c, instance.state.log.ended))

/**
 * Starts a new instance (`newInstanceKey`, same agent, workspace, model, tools settings and policy) from
 * the conversation as it was right after `atSeq`; the original is untouched. The new instance's own
 * tools and middlewares are registered by the caller, as for any instance. A cut inside a turn leaves
 * that turn open in the fork: its next use continues it (tool calls without results are answered with
 * `E_TOOL_INTERRUPTED` unless idempotent; approvals pending in the original are not carried over).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentInstance, Turn } from "effect-swarm"
 * declare const agent: AgentInstance.AgentInstance
 * const retry = Effect.gen(function*() {
 *   const [first] = yield* AgentInstance.history(agent)
 *   const fork = yield* AgentInstance.fork(agent, first!.firstSeq!, "what-if")
 *   return yield* Turn.run(fork, "try another way")
 * })
 * ```
 *
 * @since 0.1.0
 * @category time travel
 */
export const fork = (
  instance: AgentInstance,
  atSeq: number,
  newInstanceKey: string
): Effect.Effect<AgentInstance, ForkError | OpenError> => History.fork(instance, atSeq, newInstanceKey)
