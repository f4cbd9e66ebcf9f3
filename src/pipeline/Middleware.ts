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
 * @since 0.1.0
 */
import type * as Effect_ from "effect/Effect"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Conversation from "../conversation/Conversation.js"
import type { Message } from "../conversation/Message.js"
import type * as MessageEvent from "../conversation/MessageEvent.js"
import type { TokenUsage } from "../event/RuntimeEvent.js"
import type { TraceContext } from "../event/Trace.js"
import type { ToolCatalogItem } from "../tool/ToolCatalog.js"
import type { CallContext, ToolCallResult } from "../tool/ToolExecutor.js"
import type { AgentToolRuntime } from "../tool/ToolRegistry.js"

/**
 * The three kinds.
 *
 * @since 0.1.0
 * @category models
 */
export type Kind = "turn" | "step" | "toolCall"

// ---------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------

/**
 * A middleware ran `next` a second time. The rest of the onion (and so the model call or the tool)
 * ran only once; the second run fails with this error.
 *
 * @since 0.1.0
 * @category errors
 */
export class NextCalledTwiceError extends Schema.TaggedError<NextCalledTwiceError>(
  "effect-swarm/NextCalledTwiceError"
)("NextCalledTwiceError", {
  kind: Schema.Literal("turn", "step", "toolCall"),
  middleware: Schema.String
}) {
  override get message(): string {
    return `${this.kind} middleware '${this.middleware}' ran next more than once; next runs the rest of the pipeline at most once (retry inside the core, or wrap a fresh call instead)`
  }
}

/**
 * A middleware's own failure. Middlewares that need to stop a run fail with this error (or let the
 * error of `next` through); the run then fails and emits its `*.failed` event.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Middleware } from "effect-swarm"
 * const deny: Middleware.ToolCallMiddleware = (ctx, next) =>
 *   ctx.toolName === "bash__exec"
 *     ? Effect.fail(new Middleware.MiddlewareError({ middleware: "deny-bash", message: "bash is disabled" }))
 *     : next
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class MiddlewareError extends Schema.TaggedError<MiddlewareError>("effect-swarm/MiddlewareError")(
  "MiddlewareError",
  {
    middleware: Schema.String,
    message: Schema.String,
    cause: Schema.optional(Schema.Defect)
  }
) {}

/**
 * A message event could not be made durable (the conversation's storage failed). The run fails with it;
 * what was written before stays.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConversationWriteError extends Schema.TaggedError<ConversationWriteError>(
  "effect-swarm/ConversationWriteError"
)("ConversationWriteError", {
  instance: Schema.String,
  detail: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {
  override get message(): string {
    return `${this.instance}: the message event could not be written: ${this.detail}`
  }
}

/**
 * The errors the pipeline itself adds to a run.
 *
 * @since 0.1.0
 * @category errors
 */
export type PipelineError = NextCalledTwiceError | MiddlewareError | ConversationWriteError

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

/**
 * The codes of failed inter-agent calls, one convention (the reference's `AGENT_*` codes, plus the
 * cases it left as plain errors or silent fallbacks):
 *
 * - `AGENT_NOT_FOUND`: the target is not an agent of the swarm (request, send and spawn alike);
 * - `AGENT_NOT_CALLABLE`: the target is not in the caller's `callableAgents` allow-list;
 * - `AGENT_SELF_CALL`: a request to the caller's own agent and instance (it would wait on itself);
 * - `CIRCULAR_CALL_DETECTED`: the target `agent@instance` is already in the call chain (`chain` has it);
 * - `AGENT_REQUEST_TIMEOUT`: no reply within `timeoutMs` (the callee's turn is cancelled);
 * - `AGENT_INVALID_REQUEST`: a malformed request (empty target, `timeoutMs` not a positive integer, ...);
 * - `AGENT_PENDING_LIMIT`: the caller already has the maximum of async requests in flight;
 * - `AGENT_INBOX_FULL`: the caller's async inbox could not take one more reply (nothing is dropped: the
 *   request is refused before it is sent);
 * - `AGENT_TURN_FAILED`: the callee's turn failed, or ended waiting for approval (its error is carried);
 * - `AGENT_UNAVAILABLE`: the callee instance is stopped or crashed (orchestrator);
 * - `AGENT_MAILBOX_FULL`: the callee's mailbox is full (orchestrator);
 * - `AGENT_API_UNAVAILABLE`: no orchestrator is wired into this pipeline.
 *
 * @since 0.1.0
 * @category models
 */
export const AgentsApiErrorCode = Schema.Literal(
  "AGENT_NOT_FOUND",
  "AGENT_NOT_CALLABLE",
  "AGENT_SELF_CALL",
  "CIRCULAR_CALL_DETECTED",
  "AGENT_REQUEST_TIMEOUT",
  "AGENT_INVALID_REQUEST",
  "AGENT_PENDING_LIMIT",
  "AGENT_INBOX_FULL",
  "AGENT_TURN_FAILED",
  "AGENT_UNAVAILABLE",
  "AGENT_MAILBOX_FULL",
  "AGENT_API_UNAVAILABLE"
)

/**
 * @since 0.1.0
 * @category models
 */
export type AgentsApiErrorCode = typeof AgentsApiErrorCode.Type

/**
 * A failed agents API call: a code from {@link AgentsApiErrorCode}, a readable message, the target
 * and, for cycles, the call chain; `suggestion` says what to do instead. Tools see it as an error result
 * with the same code.
 *
 * @example
 * ```ts
 * import { Middleware } from "effect-swarm"
 * new Middleware.AgentsApiError({
 *   code: "CIRCULAR_CALL_DETECTED",
 *   message: "circular call: a@main -> b@main -> a@main",
 *   target: "a@main",
 *   chain: ["a@main", "b@main"]
 * })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class AgentsApiError extends Schema.TaggedError<AgentsApiError>("effect-swarm/AgentsApiError")(
  "AgentsApiError",
  {
    code: AgentsApiErrorCode,
    message: Schema.String,
    target: Schema.optional(Schema.String),
    chain: Schema.optional(Schema.Array(Schema.String)),
    suggestion: Schema.optional(Schema.String)
  }
) {}

/**
 * A request to another agent. `instanceKey` defaults to the caller's own key; `timeoutMs` (a positive
 * integer, default 60 000) bounds a synchronous wait and an async request alike; with `async: true`
 * the call returns at once with a correlation id and the reply arrives in the caller's next step.
 *
 * @since 0.1.0
 * @category models
 */
export interface AgentRequest {
  readonly target: string
  readonly input?: string | undefined
  readonly instanceKey?: string | undefined
  readonly timeoutMs?: number | undefined
  readonly async?: boolean | undefined
  readonly metadata?: Readonly<Record<string, unknown>> | undefined
}

/**
 * The answer to a request: the callee's reply text for a synchronous request (`response`), or only
 * the correlation id for an async one (`async: true`).
 *
 * @since 0.1.0
 * @category models
 */
export interface AgentResponse {
  /** `agent@instanceKey` of the callee. */
  readonly target: string
  readonly correlationId: string
  readonly async: boolean
  /** The callee's reply (its last assistant text); absent for async requests. */
  readonly response?: string | undefined
}

/**
 * An instance created with `spawn`.
 *
 * @since 0.1.0
 * @category models
 */
export interface SpawnedAgent {
  readonly target: string
  readonly instanceKey: string
  /** `false` when the instance existed already (spawn is idempotent per key). */
  readonly spawned: boolean
  readonly owner: string
}

/**
 * Who the caller may talk to.
 *
 * @since 0.1.0
 * @category models
 */
export interface AgentCatalog {
  readonly swarmName: string
  readonly entryAgent: string
  readonly selfAgent: string
  readonly availableAgents: ReadonlyArray<string>
  readonly callableAgents: ReadonlyArray<string>
}

/**
 * What middlewares (turn and step contexts), in-process tools (`ToolContext.runtime.agents`),
 * sandboxed tools (`ctx.callAgent`) and the built-in `agents` tool may ask other agents. The
 * orchestrator implements it (`AgentsApi` in effect-swarm's orchestrator area); without one
 * {@link agentsUnavailable} answers every call with `AGENT_API_UNAVAILABLE`.
 *
 * @since 0.1.0
 * @category models
 */
export interface AgentsApi {
  /** Sends input to an agent and waits for its reply, or (async) returns its correlation id at once. */
  readonly request: (request: AgentRequest) => Effect_.Effect<AgentResponse, AgentsApiError>
  /** Sends input to an agent without waiting for its turn; fails `AGENT_NOT_FOUND` for an unknown agent. */
  readonly send: (
    request: AgentRequest
  ) => Effect_.Effect<
    { readonly accepted: boolean; readonly target: string; readonly correlationId: string },
    AgentsApiError
  >
  /** Creates (or finds) an instance of a callable agent. */
  readonly spawn: (
    request: { readonly target: string; readonly instanceKey?: string | undefined }
  ) => Effect_.Effect<SpawnedAgent, AgentsApiError>
  /** The instances this caller spawned (`includeAll`: every instance spawned through the API). */
  readonly list: (
    options?: { readonly includeAll?: boolean | undefined }
  ) => Effect_.Effect<ReadonlyArray<SpawnedAgent>, AgentsApiError>
  /** The swarm's agents and the ones this caller may call. */
  readonly catalog: Effect_.Effect<AgentCatalog, AgentsApiError>
}

const unavailable = (target: string) =>
  Effect.fail(
    new AgentsApiError({
      code: "AGENT_API_UNAVAILABLE",
      message: `cannot reach agent '${target}': no orchestrator is wired into this pipeline`,
      target,
      suggestion: "run the agent through Orchestrator.layer, or provide an AgentsApi in the turn input"
    })
  )

/**
 * The agents API of a context where no orchestrator is wired: every call fails `AGENT_API_UNAVAILABLE`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const agentsUnavailable: AgentsApi = {
  request: (request) => unavailable(request.target),
  send: (request) => unavailable(request.target),
  spawn: (request) => unavailable(request.target),
  list: () => unavailable("*"),
  catalog: unavailable("*")
}

/**
 * Where an agents API call comes from: the running instance, its turn, the span of the run making the
 * call (a tool call's span for tools) and the chain of `agent@instance` that led to this turn (the
 * callers, oldest first, without this instance). The pipeline sets it for every turn, step and tool
 * call, so an implementation reads it instead of trusting arguments.
 *
 * @since 0.1.0
 * @category models
 */
export interface CallerContext {
  readonly agentName: string
  readonly instanceKey: string
  readonly turnId: string
  readonly trace: TraceContext
  readonly callChain: ReadonlyArray<string>
}

/**
 * The caller of the current fiber (`undefined` outside any turn).
 *
 * @since 0.1.0
 * @category models
 */
export const currentCaller: FiberRef.FiberRef<CallerContext | undefined> = FiberRef.unsafeMake<
  CallerContext | undefined
>(undefined)

declare module "../tool/ToolRegistry.js" {
  interface AgentToolRuntime {
    /** The agents API of the instance running the tool, when an orchestrator provides one. */
    readonly agents?: AgentsApi | undefined
  }
}

/**
 * The event that started a turn (goondan S2, loosely typed: the orchestrator owns the full shape).
 *
 * @since 0.1.0
 * @category models
 */
export interface InputEvent {
  readonly id?: string | undefined
  readonly type?: string | undefined
  readonly input?: string | undefined
  readonly instanceKey?: string | undefined
  readonly metadata?: Readonly<Record<string, unknown>> | undefined
  readonly source?: { readonly kind: string; readonly name: string } | undefined
  readonly replyTo?: { readonly target: string; readonly correlationId: string } | undefined
  readonly [key: string]: unknown
}

/**
 * What a middleware may know about where it runs (goondan P8): the agent, its swarm, the inbound event
 * and, for a turn started by another agent, the call chain.
 *
 * @since 0.1.0
 * @category models
 */
export interface RuntimeInfo {
  readonly agent: {
    readonly name: string
    readonly bundleRoot?: string | undefined
    readonly prompt?: { readonly system?: string | undefined } | undefined
  }
  readonly swarm?: {
    readonly swarmName: string
    readonly entryAgent: string
    readonly selfAgent: string
    readonly availableAgents: ReadonlyArray<string>
    readonly callableAgents: ReadonlyArray<string>
  } | undefined
  readonly inbound?: {
    readonly eventId: string
    readonly eventType: string
    readonly sourceKind: string
    readonly sourceName: string
    readonly createdAt: string
    readonly instanceKey?: string | undefined
    readonly eventMetadata?: Readonly<Record<string, unknown>> | undefined
  } | undefined
  readonly call?: {
    readonly callerAgent?: string | undefined
    readonly callerInstanceKey?: string | undefined
    readonly callerTurnId?: string | undefined
    readonly callSource?: string | undefined
    readonly callStack?: ReadonlyArray<string> | undefined
    readonly replyTo?: { readonly target: string; readonly correlationId: string } | undefined
  } | undefined
}

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
