/**
 * The agents API seen from a run: what middlewares and tools may ask other agents, its errors, and the
 * caller of the current fiber. Re-exported by `Middleware`.
 *
 * @internal
 */
import type * as Effect_ from "effect/Effect"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Schema from "effect/Schema"
import type { TraceContext } from "../../event/Trace.js"

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
 * - `AGENT_SPAWN_LIMIT`: the caller has spawned its maximum of distinct instances (`maxSpawned`);
 * - `AGENT_TURN_FAILED`: the callee's turn failed, or ended waiting for approval (its error is carried);
 * - `AGENT_UNAVAILABLE`: the callee instance is stopped or crashed (orchestrator);
 * - `AGENT_MAILBOX_FULL`: the callee's mailbox is full (orchestrator);
 * - `AGENT_INBOX_FAILED`: the message could not be made durable in the callee's inbox file (not accepted),
 *   or the caller's own inbox files (async requests and replies, spawn records) cannot be read or written
 *   (the message names the file, or `file:line` for a corrupt record);
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
  "AGENT_SPAWN_LIMIT",
  "AGENT_TURN_FAILED",
  "AGENT_UNAVAILABLE",
  "AGENT_MAILBOX_FULL",
  "AGENT_INBOX_FAILED",
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

declare module "../../tool/ToolRegistry.js" {
  interface AgentToolRuntime {
    /** The agents API of the instance running the tool, when an orchestrator provides one. */
    readonly agents?: AgentsApi | undefined
  }
}
