/**
 * The shape of an agent instance, shared by the facade modules and the loop.
 */
import type * as Effect from "effect/Effect"
import type * as Ref from "effect/Ref"
import type { Conversation } from "../../conversation/Conversation.js"
import type * as MessageEvent from "../../conversation/MessageEvent.js"
import type { Environment } from "../../extension/Extension.js"
import type { ExtensionLoadError } from "../../extension/ExtensionError.js"
import type * as Model from "../../model/Model.js"
import type { AgentsApi, RuntimeInfo } from "../../pipeline/Middleware.js"
import type * as Pipeline from "../../pipeline/Pipeline.js"
import type * as ToolExecutor from "../../tool/ToolExecutor.js"
import type * as ToolRegistry from "../../tool/ToolRegistry.js"
import type { ExtensionStateError } from "../../workspace/ExtensionState.js"
import type { InstanceRef } from "../../workspace/WorkspacePaths.js"
import type { PolicyError, TurnStorageError } from "../AgentError.js"
import type { Policy } from "../Policy.js"
import type { LoopLog } from "./log.js"
import type { Storage } from "./storage.js"

/**
 * What the loop needs to know about a tool (from the Tool export: `idempotent`, `needsApproval`).
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolSettings {
  /** A call interrupted by a crash is run again on resume (default false: it gets `E_TOOL_INTERRUPTED`). */
  readonly idempotent?: boolean | undefined
  /** Every call waits for `approve` / `deny` before it runs. */
  readonly needsApproval?: boolean | undefined
}

/**
 * A policy predicate on a tool call: `true` (or a reason) pauses the turn for approval. It is synchronous;
 * it fails closed: a throw, or any other verdict (a Promise from an `async` function), pauses the call too.
 *
 * @since 0.1.0
 * @category models
 */
export type ApprovalPredicate = (call: { readonly toolName: string; readonly args: unknown }) => boolean | string

/** @internal */
export interface InstanceState {
  readonly storage: Storage
  readonly conversation: Ref.Ref<Conversation>
  readonly log: LoopLog
  readonly lock: Effect.Semaphore
  /**
   * A fresh message id at `ms` (the shape of `Message.makeId`): the instance's random prefix (drawn from
   * `Random` when it opened) and a counter, instead of twelve random draws per message.
   */
  readonly messageId: (ms: number) => string
  /**
   * Message events applied to `conversation` but not yet written (a step whose calls are all idempotent:
   * its assistant message waits to be written with its results, one durable append instead of two). The
   * next append writes them first, after `stagedAfter`, the seq they were numbered from.
   */
  staged: ReadonlyArray<MessageEvent.Draft>
  stagedAfter: number
  /** The extensions loaded into this instance (set once, when the instance is built). */
  extensions: Environment | undefined
  /** Opens another instance like this one (same model, tools settings, policy, stores) under `ref`. */
  readonly open: (
    ref: InstanceRef
  ) => Effect.Effect<AgentInstance, TurnStorageError | ExtensionLoadError | ExtensionStateError | PolicyError>
}

/**
 * One `agent@instanceKey`: its conversation, its own pipeline, tool registry and executor (extensions of
 * one instance never touch another), its model and policy.
 *
 * @since 0.1.0
 * @category models
 */
export interface AgentInstance {
  readonly ref: InstanceRef
  /** `agent@instanceKey`. */
  readonly label: string
  readonly system: string | undefined
  readonly model: Model.Service
  readonly params: Model.CallParams | undefined
  readonly policy: Policy
  /** This instance's pipeline: register middlewares (and extensions) here. */
  readonly pipeline: Pipeline.Service
  /** This instance's tool registry: its catalog is offered to the model each step. */
  readonly tools: ToolRegistry.Service
  readonly executor: ToolExecutor.Service
  readonly toolSettings: (toolName: string) => ToolSettings
  readonly needsApproval: ApprovalPredicate | undefined
  readonly runtime: RuntimeInfo
  readonly agents: AgentsApi | undefined
  /** @internal */
  readonly state: InstanceState
}
