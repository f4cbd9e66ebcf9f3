/**
 * The three middleware kinds, `turn`, `step` and `toolCall`, their contexts, results and errors.
 *
 * A middleware is `(ctx, next) => Effect`: `next` is an Effect that runs the rest of the onion (inner
 * middlewares, then the core) and may be run at most once; a second run fails with
 * {@link NextCalledTwiceError} instead of calling the model or the tool again (the reference re-ran
 * them). A middleware may skip `next` and return its own result, or transform the result of `next`.
 *
 * Contexts follow the reference (goondan P6-P8): one mutable context object per run, shared by every
 * layer and the core, so `ctx.toolCatalog = [...]` in a step middleware changes what the model is
 * offered and what the executor allows, and `ctx.args = {...}` in a toolCall middleware changes the
 * arguments the tool receives. `metadata` is a shared scratch object. The `agents` API is available
 * in turn and step contexts only.
 *
 * This module is the public facade: the pipeline's own errors live in `internal/errors.ts`, the agents
 * API seen from a run in `internal/agentsApi.ts`, the input event and runtime info in `internal/runtimeInfo.ts`.
 *
 * @since 0.1.0
 */
import type * as Effect_ from "effect/Effect"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Conversation from "../conversation/Conversation.js"
import type { Message } from "../conversation/Message.js"
import type * as MessageEvent from "../conversation/MessageEvent.js"
import type { TokenUsage } from "../event/RuntimeEvent.js"
import type { TraceContext } from "../event/Trace.js"
import type { ToolCatalogItem } from "../tool/ToolCatalog.js"
import type { CallContext, ToolCallResult } from "../tool/ToolExecutor.js"
import type { AgentToolRuntime } from "../tool/ToolRegistry.js"
import type { AgentsApi } from "./internal/agentsApi.js"
import type { ConversationWriteError, PipelineError } from "./internal/errors.js"
import type { InputEvent, RuntimeInfo } from "./internal/runtimeInfo.js"

/**
 * The three kinds.
 *
 * @since 0.1.0
 * @category models
 */
export type Kind = "turn" | "step" | "toolCall"

export { ConversationWriteError, MiddlewareError, NextCalledTwiceError, type PipelineError } from "./internal/errors.js"

// ---------------------------------------------------------------------------------------------------
// Collaborators passed through the contexts
// ---------------------------------------------------------------------------------------------------

/**
 * The conversation of the running instance, as the turn loop holds it: the current value and a way to
 * add message events (persisted by whoever implements it).
 *
 * @since 0.1.0
 * @category models
 */
export interface ConversationState {
  /** The current conversation (base + every event so far, including this turn's). */
  readonly get: Effect_.Effect<Conversation.Conversation>
  /** Adds a message event; the implementation assigns its `seq` and persists it (durable on return). */
  readonly emit: (event: MessageEvent.Draft) => Effect_.Effect<void, ConversationWriteError>
}

/**
 * An in-memory {@link ConversationState} (tests, scripts, and the benchmark); the turn loop provides
 * a persisted one.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Conversation, Middleware } from "effect-swarm"
 * const program = Effect.gen(function*() {
 *   const state = yield* Middleware.conversationInMemory(Conversation.empty)
 *   return (yield* state.get).messages.length // 0
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const conversationInMemory = (
  initial: Conversation.Conversation = Conversation.empty
): Effect_.Effect<ConversationState> =>
  Effect.map(Ref.make(initial), (ref) => ({
    get: Ref.get(ref),
    emit: (event) => Ref.update(ref, (c) => Conversation.applyDraft(c, event)[1])
  }))

export {
  type AgentCatalog,
  type AgentRequest,
  type AgentResponse,
  type AgentsApi,
  AgentsApiError,
  AgentsApiErrorCode,
  agentsUnavailable,
  type CallerContext,
  currentCaller,
  type SpawnedAgent
} from "./internal/agentsApi.js"

export type { InputEvent, RuntimeInfo } from "./internal/runtimeInfo.js"

// ---------------------------------------------------------------------------------------------------
// Contexts
// ---------------------------------------------------------------------------------------------------

/**
 * The fields every context has.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExecutionContext {
  readonly agentName: string
  readonly instanceKey: string
  readonly turnId: string
  /** This run's span: its trace, its own span id and its parent span id. */
  readonly trace: TraceContext
  readonly traceId: string
  /** Shared scratch space of this run (settable). */
  metadata: Record<string, unknown>
}

/**
 * The context of a turn.
 *
 * @since 0.1.0
 * @category models
 */
export interface TurnContext extends ExecutionContext {
  readonly kind: "turn"
  readonly inputEvent: InputEvent
  readonly conversation: ConversationState
  readonly emitMessageEvent: (event: MessageEvent.Draft) => Effect_.Effect<void, ConversationWriteError>
  readonly agents: AgentsApi
  readonly runtime: RuntimeInfo
}

/**
 * The context of a step (one model call and its tool calls).
 *
 * @since 0.1.0
 * @category models
 */
export interface StepContext extends ExecutionContext {
  readonly kind: "step"
  readonly turn: TurnContext
  /** 0 for the first step of a turn (the reference started at 1, against its spec). */
  readonly stepIndex: number
  /** `${turnId}-step-${stepIndex}`. */
  readonly stepId: string
  readonly conversation: ConversationState
  readonly emitMessageEvent: (event: MessageEvent.Draft) => Effect_.Effect<void, ConversationWriteError>
  readonly agents: AgentsApi
  readonly runtime: RuntimeInfo
  /** The tools offered to the model in this step and allowed by the executor (settable). */
  toolCatalog: Array<ToolCatalogItem>
}

/**
 * The context of a tool call. No `agents` here, as the reference's spec requires.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolCallContext extends ExecutionContext {
  readonly kind: "toolCall"
  readonly stepIndex: number
  readonly stepId: string
  readonly toolName: string
  readonly toolCallId: string
  readonly runtime: RuntimeInfo
  /** The arguments the tool will receive (settable). */
  args: Record<string, unknown>
}

// ---------------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------------

/**
 * The result of a turn.
 *
 * @since 0.1.0
 * @category models
 */
export interface TurnResult {
  readonly turnId: string
  readonly responseMessage?: Message | undefined
  readonly finishReason: FinishReason
  /** With `budget_exceeded`: the limit that ended the turn (`maxToolCalls`, `maxTokens`, `maxWallTime`). */
  readonly limit?: string | undefined
  readonly error?: { readonly message: string; readonly code?: string | undefined } | undefined
}

/**
 * Why a turn ended: a reply without tool calls, the step limit, a budget, a pause for approval of a
 * tool call, or an error the model could not get past (repeated empty or malformed output).
 *
 * @since 0.1.0
 * @category models
 */
export type FinishReason = "text_response" | "max_steps" | "budget_exceeded" | "awaiting_approval" | "error"

/**
 * A tool call requested by the model.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolCall {
  readonly id: string
  readonly name: string
  readonly args: unknown
}

/**
 * The result of a step. `tokenUsage` (or, as in the reference, `metadata["runtime.tokenUsage"]`) is
 * reported in `step.completed` and summed into `turn.completed`.
 *
 * @since 0.1.0
 * @category models
 */
export interface StepResult {
  readonly status: "completed" | "failed"
  readonly shouldContinue: boolean
  readonly toolCalls: ReadonlyArray<ToolCall>
  readonly toolResults: ReadonlyArray<ToolCallResult>
  readonly metadata: Record<string, unknown>
  readonly tokenUsage?: TokenUsage | undefined
}

// ---------------------------------------------------------------------------------------------------
// Middleware
// ---------------------------------------------------------------------------------------------------

/**
 * A turn middleware.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { Middleware } from "effect-swarm"
 * const timing: Middleware.TurnMiddleware = (ctx, next) =>
 *   Effect.map(Effect.timed(next), ([duration, result]) => {
 *     ctx.metadata.duration = duration
 *     return result
 *   })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface TurnMiddleware {
  <E, R>(ctx: TurnContext, next: Effect_.Effect<TurnResult, E, R>): Effect_.Effect<TurnResult, E | PipelineError, R>
}

/**
 * A step middleware.
 *
 * @example
 * ```ts
 * import type { Middleware } from "effect-swarm"
 * // Offer only read-only tools in the first step.
 * const firstStepReadOnly: Middleware.StepMiddleware = (ctx, next) => {
 *   if (ctx.stepIndex === 0) ctx.toolCatalog = ctx.toolCatalog.filter((t) => t.name.startsWith("fs__read"))
 *   return next
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface StepMiddleware {
  <E, R>(ctx: StepContext, next: Effect_.Effect<StepResult, E, R>): Effect_.Effect<StepResult, E | PipelineError, R>
}

/**
 * A toolCall middleware.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { Middleware } from "effect-swarm"
 * // Answer from a cache without running the tool.
 * const cached: Middleware.ToolCallMiddleware = (ctx, next) =>
 *   ctx.toolName === "weather__today"
 *     ? Effect.succeed({ toolCallId: ctx.toolCallId, toolName: ctx.toolName, status: "ok", output: "sunny" })
 *     : next
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolCallMiddleware {
  <E, R>(
    ctx: ToolCallContext,
    next: Effect_.Effect<ToolCallResult, E, R>
  ): Effect_.Effect<ToolCallResult, E | PipelineError, R>
}

/**
 * The middleware type of a kind.
 *
 * @since 0.1.0
 * @category models
 */
export type MiddlewareOf<K extends Kind> = K extends "turn" ? TurnMiddleware
  : K extends "step" ? StepMiddleware
  : ToolCallMiddleware

/**
 * The context type of a kind.
 *
 * @since 0.1.0
 * @category models
 */
export type ContextOf<K extends Kind> = K extends "turn" ? TurnContext
  : K extends "step" ? StepContext
  : ToolCallContext

/**
 * The result type of a kind.
 *
 * @since 0.1.0
 * @category models
 */
export type ResultOf<K extends Kind> = K extends "turn" ? TurnResult
  : K extends "step" ? StepResult
  : ToolCallResult

/**
 * Registration options.
 *
 * @since 0.1.0
 * @category models
 */
export interface RegisterOptions {
  /** Lower is outer (runs first on the way in, last on the way out). Default 0; ties keep registration order. */
  readonly priority?: number | undefined
  /** Shown in errors and logs; defaults to `<kind>#<n>`. */
  readonly name?: string | undefined
}

/**
 * The executor's call context for a tool call run through the pipeline (its span becomes the tool's
 * trace parent, e.g. for a sandboxed subprocess).
 *
 * @example
 * ```ts
 * import { Middleware } from "effect-swarm"
 * // inside a runToolCall core:
 * // executor.execute({ toolCallId: ctx.toolCallId, toolName: ctx.toolName, args: ctx.args,
 * //   catalog: step.toolCatalog, context: Middleware.callContext(ctx, { workdir }) })
 * ```
 *
 * @since 0.1.0
 * @category conversions
 */
export const callContext = (
  ctx: ToolCallContext,
  options?: { readonly workdir?: string | undefined; readonly runtime?: AgentToolRuntime | undefined }
): CallContext => ({
  agentName: ctx.agentName,
  instanceKey: ctx.instanceKey,
  turnId: ctx.turnId,
  stepIndex: ctx.stepIndex,
  trace: ctx.trace,
  workdir: options?.workdir,
  runtime: options?.runtime
})
