/**
 * An agent instance: one `agent@instanceKey` with its conversation (durable through MessageStore, or in
 * memory), its own Pipeline, ToolRegistry and ToolExecutor (so extensions of one instance never touch
 * another), its model and its budget policy. Turns run through {@link Turn.run}; `approve` / `deny`
 * decide paused tool calls, even after a restart; `history` and `fork` travel in its log.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import type * as Conversation from "../conversation/Conversation.js"
import * as MessageEvent from "../conversation/MessageEvent.js"
import * as EventBus from "../event/EventBus.js"
import type * as Model from "../model/Model.js"
import type { AgentsApi, RuntimeInfo, TurnResult } from "../pipeline/Middleware.js"
import * as Pipeline from "../pipeline/Pipeline.js"
import * as ToolExecutor from "../tool/ToolExecutor.js"
import * as ToolRegistry from "../tool/ToolRegistry.js"
import type { Instances } from "../workspace/Instances.js"
import type { MessageStore } from "../workspace/MessageStore.js"
import { RuntimeEventLog } from "../workspace/RuntimeEventLog.js"
import type { InstanceRef } from "../workspace/WorkspacePaths.js"
import { ApprovalNotPending, type AwaitingApproval, ForkError, type TurnStorageError } from "./AgentError.js"
import * as History from "./internal/history.js"
import type { StepEntry, TurnEntry } from "./internal/history.js"
import type { AgentInstance, ApprovalPredicate, ToolSettings } from "./internal/instance.js"
import * as Log from "./internal/log.js"
import * as Loop from "./internal/loop.js"
import * as Storage from "./internal/storage.js"
import * as Policy from "./Policy.js"

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
 * Options of {@link make} and {@link makeInMemory}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly ref: InstanceRef
  /** The model (for example `yield* Model.Model`, or `Model.make(resource)`). */
  readonly model: Model.Service
  /** The system prompt (`prompt.system`, or the text of `prompt.systemRef`; see `Bundle.systemPrompt`). */
  readonly system?: string | undefined
  /** The Agent's `spec.modelConfig.params` (`providerOptions` values must be JSON). */
  readonly params?:
    | Omit<Model.CallParams, "providerOptions"> & {
      readonly providerOptions?: { readonly [key: string]: unknown } | undefined
    }
    | undefined
  /** The budget policy (see `Policy.resolve`); defaults to `Policy.defaults`. */
  readonly policy?: Policy.Policy | undefined
  /** Per tool name: `idempotent`, `needsApproval` (from the Tool exports). */
  readonly tools?: { readonly [toolName: string]: ToolSettings } | undefined
  /** A policy predicate on tool calls: `true` or a reason pauses the turn for approval. */
  readonly needsApproval?: ApprovalPredicate | undefined
  readonly executor?: ToolExecutor.Options | undefined
  readonly pipeline?: Pipeline.Options | undefined
  readonly runtime?: RuntimeInfo | undefined
  readonly agents?: AgentsApi | undefined
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
export const toolSettingsOf = (
  catalog: ReadonlyArray<{
    readonly name: string
    readonly export: { readonly idempotent?: boolean | undefined; readonly needsApproval?: boolean | undefined }
  }>
): Record<string, ToolSettings> => {
  const out: Record<string, ToolSettings> = {}
  for (const t of catalog) out[t.name] = { idempotent: t.export.idempotent, needsApproval: t.export.needsApproval }
  return out
}

const build = (
  options: Options,
  storage: Storage.Storage,
  open: (ref: InstanceRef) => Effect.Effect<AgentInstance, TurnStorageError>
) =>
  Effect.gen(function*() {
    const model = options.model
    const pipeline = yield* Pipeline.make(options.pipeline)
    const tools = yield* ToolRegistry.make
    const executor = yield* ToolExecutor.make(options.executor).pipe(
      Effect.provideService(ToolRegistry.ToolRegistry, tools)
    )
    const log = Log.emptyLog()
    for (const r of yield* storage.records) Log.applyRecord(log, r)
    const conversation = yield* Ref.make(yield* storage.load)
    const settings = options.tools ?? {}
    const instance: AgentInstance = {
      ref: options.ref,
      label: Storage.label(options.ref),
      system: options.system,
      model,
      params: options.params as Model.CallParams | undefined,
      policy: options.policy ?? Policy.defaults,
      pipeline,
      tools,
      executor,
      toolSettings: (name) => settings[name] ?? {},
      needsApproval: options.needsApproval,
      runtime: options.runtime ?? { agent: { name: options.ref.agentName, prompt: { system: options.system } } },
      agents: options.agents,
      state: { storage, conversation, log, lock: yield* Effect.makeSemaphore(1), open, turnEnd: [] }
    }
    return instance
  })

/**
 * Opens a durable instance on the workspace stores: its conversation through `MessageStore`, its
 * turn-loop records through `RuntimeEventLog` (written synchronously), its metadata through
 * `Instances` (`ensure` now; `processing` during a turn, `idle` after). The step and tool events the
 * pipeline publishes are persisted beside them by a sink that lives as long as the scope.
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
  TurnStorageError,
  EventBus.EventBus | MessageStore | RuntimeEventLog | Instances | Scope.Scope
> =>
  Effect.gen(function*() {
    const context = yield* Effect.context<
      EventBus.EventBus | MessageStore | RuntimeEventLog | Instances | Scope.Scope
    >()
    const open = (ref: InstanceRef) => Effect.provide(make({ ...options, ref }), context)
    const storage = yield* Storage.durable(options.ref)
    const instance = yield* build(options, storage, open)
    const log = yield* RuntimeEventLog
    const { agentName, instanceKey } = options.ref
    // Step and tool events go through the bus sink (asynchronous); turn records are written by the loop.
    yield* EventBus.attach((events) => {
      const mine = events.filter((e) =>
        e.agentName === agentName && e.instanceKey === instanceKey && !e.type.startsWith("turn.")
      )
      return mine.length === 0 ? Effect.void : log.append(options.ref, mine)
    }, { name: `runtime-events ${instance.label}` })
    return instance
  })

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
): Effect.Effect<AgentInstance, never, EventBus.EventBus> =>
  Effect.gen(function*() {
    const context = yield* Effect.context<EventBus.EventBus>()
    const open = (ref: InstanceRef) => Effect.provide(makeInMemory({ ...options, ref }), context)
    const storage = yield* Storage.memory(initial)
    // The in-memory storage never fails.
    return yield* build(options, storage, open).pipe(Effect.catchTag("TurnStorageError", (e) => Effect.die(e)))
  })

/**
 * The instance's conversation as it is now.
 *
 * @since 0.1.0
 * @category getters
 */
export const conversation = (instance: AgentInstance): Effect.Effect<Conversation.Conversation> =>
  Ref.get(instance.state.conversation)

/**
 * The tool calls that wait for a decision.
 *
 * @since 0.1.0
 * @category getters
 */
export const pendingApprovals = (
  instance: AgentInstance
): Effect.Effect<ReadonlyArray<{ readonly toolCallId: string; readonly toolName: string; readonly turnId: string }>> =>
  Effect.sync(() =>
    Array.from(instance.state.log.approvals.values())
      .filter((a) => a.decision === undefined && !instance.state.log.ended.has(a.turnId))
      .map(({ toolCallId, toolName, turnId }) => ({ toolCallId, toolName, turnId }))
  )

const decide = (instance: AgentInstance, toolCallId: string, approved: boolean, reason?: string) =>
  instance.state.lock.withPermits(1)(Effect.gen(function*() {
    const approval = instance.state.log.approvals.get(toolCallId)
    if (approval === undefined || approval.decision !== undefined || instance.state.log.ended.has(approval.turnId)) {
      return yield* new ApprovalNotPending({
        instance: instance.label,
        toolCallId,
        pending: (yield* pendingApprovals(instance)).map((p) => p.toolCallId)
      })
    }
    // The decision is durable before the turn continues.
    yield* Loop.record(instance, "approval.resolved", approval.turnId, {
      toolCallId,
      approved,
      ...(reason === undefined ? {} : { reason })
    })
    const still = Loop.pendingApprovals(instance, approval.turnId)
    if (still.length > 0) {
      const result: TurnResult = { turnId: approval.turnId, finishReason: "awaiting_approval" }
      return result
    }
    const resumed = yield* Loop.resumeLocked(instance)
    return resumed._tag === "Some"
      ? resumed.value
      : { turnId: approval.turnId, finishReason: "awaiting_approval" as const }
  }))

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
  decide(instance, toolCallId, true)

/**
 * Denies a paused tool call: the model reads it as a tool error with the reason
 * (`E_TOOL_DENIED`). The turn continues once every call of the step is decided.
 *
 * @since 0.1.0
 * @category approvals
 */
export const deny = (
  instance: AgentInstance,
  toolCallId: string,
  reason?: string
): Effect.Effect<TurnResult, ApprovalNotPending | Loop.TurnError | AwaitingApproval> =>
  decide(instance, toolCallId, false, reason)

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
): Effect.Effect<AgentInstance, ForkError | TurnStorageError> =>
  Effect.gen(function*() {
    const label = instance.label
    const messages = History.messagesAt(yield* Ref.get(instance.state.conversation), atSeq)
    if (typeof messages === "string") return yield* new ForkError({ instance: label, atSeq, detail: messages })
    if (newInstanceKey === instance.ref.instanceKey) {
      return yield* new ForkError({ instance: label, atSeq, detail: "the new instance key is the original's" })
    }
    const forked = yield* instance.state.open({ ...instance.ref, instanceKey: newInstanceKey })
    if ((yield* Ref.get(forked.state.conversation)).lastSeq > 0) {
      return yield* new ForkError({
        instance: label,
        atSeq,
        detail: `instance ${forked.label} already has a conversation; fork into a new instance key`
      })
    }
    if (messages.length > 0) yield* Loop.appendAll(forked, messages.map(MessageEvent.append))
    return forked
  })

/**
 * Runs `hook` at the end of every turn of the instance, also a failed or interrupted one, before the
 * turn's result is returned. Its failures are logged, never the turn's. This is where an extension
 * environment saves its state (`env.saveState`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentInstance, Extension } from "effect-swarm"
 * declare const agent: AgentInstance.AgentInstance
 * declare const env: Extension.Environment
 * const wired = AgentInstance.onTurnEnd(agent, env.saveState)
 * ```
 *
 * @since 0.1.0
 * @category extensions
 */
export const onTurnEnd = <A, E>(instance: AgentInstance, hook: Effect.Effect<A, E>): Effect.Effect<void> =>
  Effect.sync(() => {
    instance.state.turnEnd.push(
      hook.pipe(
        Effect.asVoid,
        Effect.catchAllCause((cause) =>
          Effect.logWarning(`${instance.label}: a turn-end hook failed; the turn's result stands`, cause)
        )
      )
    )
  })
