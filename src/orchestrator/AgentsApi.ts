/**
 * Inter-agent calls: `request` (sync, or async with the reply delivered into the caller's next step),
 * `send`, `spawn`, `list` and `catalog`, with one error convention ({@link Middleware.AgentsApiError}
 * and its `AGENT_*` codes). The same API answers middlewares (`ctx.agents`), in-process tools
 * (`ToolContext.runtime.agents`), sandboxed tools (`ctx.callAgent`, through {@link nativeTools}) and the
 * built-in `agents` tool (see `AgentsTool`).
 *
 * Every request carries a correlation id and the call chain (`agent@instance` of every caller that led
 * to it). Before anything is sent: the target must be an agent of the swarm (`AGENT_NOT_FOUND`) that
 * the caller may call (`callableAgents`, `AGENT_NOT_CALLABLE`); `timeoutMs` must be a positive integer
 * (`AGENT_INVALID_REQUEST`; default 60 000); an omitted `instanceKey` is the caller's own; a request to
 * the caller's own instance is `AGENT_SELF_CALL`, one to an instance already in the chain
 * `CIRCULAR_CALL_DETECTED` (with the chain). A timed-out request interrupts the wait, which cancels the
 * callee's turn (or removes it from the callee's mailbox). The callee's turn continues the caller's
 * trace and writes only its own conversation; its input message is linked to the caller by the
 * correlation id (`source: { type: "agent", kind: "request", ... }`).
 *
 * Async requests run in this service's scope, not the caller's turn: their replies are put in the
 * caller's durable inbox the moment they arrive and moved into the caller's conversation at its next
 * step, also after the caller crashed and came back. At most `maxPendingAsync` (100) async requests per
 * caller are in flight, and at most `maxInbox` (256) replies wait undelivered: beyond either limit a new
 * async request is refused (`AGENT_PENDING_LIMIT` / `AGENT_INBOX_FULL`), nothing is dropped.
 *
 * `spawn` records what each caller spawned (with a state root: `<caller>/inbox/spawned.jsonl`, durable, read
 * back after a restart); `list` reads those records. `spawned` is `true` only for the first spawn of an
 * address in the workspace (not spawned by any caller before, unknown to the router, no directory on the
 * state root). A caller spawns at most `maxSpawned` (1000) distinct addresses (`AGENT_SPAWN_LIMIT`).
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as Turn from "../agent/Turn.js"
import type * as Middleware from "../pipeline/Middleware.js"
import type * as NativeTools from "../sandbox/NativeTools.js"
import type { InstanceRef } from "../workspace/WorkspacePaths.js"
import * as Calls from "./internal/calls.js"
import type * as Inbox from "./internal/callsInbox.js"
import * as CallsService from "./internal/callsService.js"
import type { InvalidOption } from "./OrchestratorError.js"

/**
 * Where calls go: the orchestrator's mailboxes. `request` enqueues a turn and waits for its result
 * (interrupting the wait cancels the callee's turn); `send` enqueues and returns once accepted;
 * `spawn` answers whether the router lacks the instance (`true`: unknown to it; the API's spawn records
 * and the state root decide the rest).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { AgentsApi } from "effect-swarm"
 * declare const router: AgentsApi.Router
 * const reply = router.request("worker", "t1", { text: "count to 3" })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Router {
  readonly request: (
    agentName: string,
    instanceKey: string,
    input: Turn.Input
  ) => Effect.Effect<Middleware.TurnResult, Middleware.AgentsApiError>
  readonly send: (
    agentName: string,
    instanceKey: string,
    input: Turn.Input
  ) => Effect.Effect<void, Middleware.AgentsApiError>
  readonly spawn: (agentName: string, instanceKey: string) => Effect.Effect<boolean, Middleware.AgentsApiError>
  /**
   * Enqueues a turn and returns once it is accepted (durably, with a state root), with an effect that
   * waits for its result; interrupting that wait cancels the turn like `request`. Async requests use it so
   * the callee holds the message before the caller gets the correlation id (without it they enqueue in
   * the background through `request`).
   */
  readonly submit?: (
    agentName: string,
    instanceKey: string,
    input: Turn.Input
  ) => Effect.Effect<Effect.Effect<Middleware.TurnResult, Middleware.AgentsApiError>, Middleware.AgentsApiError>
  /**
   * `submit` with the deadline enforced by the router itself (`timeoutMs` from acceptance), like
   * `requestWithin`: async requests use it instead of a timer fiber per request.
   */
  readonly submitWithin?: (
    agentName: string,
    instanceKey: string,
    input: Turn.Input,
    timeoutMs: number
  ) => Effect.Effect<Effect.Effect<Middleware.TurnResult, Middleware.AgentsApiError>, Middleware.AgentsApiError>
  /**
   * `request` with the deadline enforced by the router itself: after `timeoutMs` it cancels the callee's
   * turn (or unqueues it) and fails with `AGENT_REQUEST_TIMEOUT`. The orchestrator's router does this with
   * one timer for all requests; without it the API wraps `request` in `Effect.timeoutFail` (a timer fiber
   * and a forked request per call).
   */
  readonly requestWithin?: (
    agentName: string,
    instanceKey: string,
    input: Turn.Input,
    timeoutMs: number
  ) => Effect.Effect<Middleware.TurnResult, Middleware.AgentsApiError>
  /**
   * Told that an async reply for the instance is in its inbox: the orchestrator's router gives an idle
   * (or released) caller one wake-up turn with the reply (see `Orchestrator.Options.calls.wakeOnReply`).
   */
  readonly wake?: (agentName: string, instanceKey: string) => Effect.Effect<void>
}

/**
 * Who may call whom (resolve it with {@link policyOf}).
 *
 * @example
 * ```ts
 * import { AgentsApi } from "effect-swarm"
 * const policy: AgentsApi.CallPolicy = AgentsApi.policyOf({ swarmName: "team", entryAgent: "lead", agents: ["lead", "worker"] })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type CallPolicy = Calls.CallPolicy

/**
 * @example
 * ```ts
 * import type { AgentsApi } from "effect-swarm"
 * declare const router: AgentsApi.Router
 * declare const policy: AgentsApi.CallPolicy
 * const options: AgentsApi.Options = { router, policy, root: "/srv/swarm", maxPendingAsync: 20 }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly router: Router
  readonly policy: CallPolicy
  /** Where async replies wait: on files under this state root (durable), or in memory when absent. */
  readonly root?: string | undefined
  /** Default 60 seconds. */
  readonly defaultTimeout?: Duration.DurationInput | undefined
  /** Async requests in flight per caller instance. Default 100. */
  readonly maxPendingAsync?: number | undefined
  /** Undelivered async replies per caller instance. Default 256. */
  readonly maxInbox?: number | undefined
  /**
   * Distinct instances one caller may spawn (its spawn records, kept under the state root). Default 1000;
   * beyond it `spawn` fails `AGENT_SPAWN_LIMIT`.
   */
  readonly maxSpawned?: number | undefined
}

/**
 * An async reply as it waits in the caller's inbox.
 *
 * @example
 * ```ts
 * import { AgentsTool } from "effect-swarm"
 * import type { AgentsApi } from "effect-swarm"
 * declare const reply: AgentsApi.Reply
 * const text = AgentsTool.replyText(reply) // what the caller's model reads
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Reply = Inbox.Reply

/**
 * How a callee's turn ended, for {@link Service.replyFromCallee}.
 *
 * @example
 * ```ts
 * import type { AgentsApi } from "effect-swarm"
 * const failed: AgentsApi.CalleeOutcome = { _tag: "Failed", code: "AGENT_TURN_FAILED", message: "the tool crashed" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type CalleeOutcome =
  | { readonly _tag: "Completed"; readonly result: Middleware.TurnResult }
  | { readonly _tag: "Failed"; readonly code: Middleware.AgentsApiErrorCode; readonly message: string }

/**
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentsApi } from "effect-swarm"
 * const ask = Effect.flatMap(AgentsApi.AgentsApi, (api) =>
 *   api.forInstance({ workspaceId: "w", agentName: "lead", instanceKey: "t1" }).request({ target: "worker", input: "hi" }))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The agents API of one instance: the caller is this instance (its chain and span come from the fiber). */
  readonly forInstance: (ref: InstanceRef) => Middleware.AgentsApi
  /** The agents an agent may call (empty: no `agents` tool, every call refused). */
  readonly callable: (agentName: string) => ReadonlyArray<string>
  /**
   * Async replies that wait for the instance's next step. These three fail with `AGENT_INBOX_FAILED` (naming
   * `file:line`) when the instance's `requests.jsonl` / `replies.jsonl` cannot be read or has a corrupt line.
   */
  readonly pendingReplies: (ref: InstanceRef) => Effect.Effect<ReadonlyArray<Reply>, Middleware.AgentsApiError>
  /** Marks replies as written into the instance's conversation. */
  readonly markDelivered: (
    ref: InstanceRef,
    correlationIds: ReadonlyArray<string>
  ) => Effect.Effect<void, Middleware.AgentsApiError>
  /** Async requests of the instance still in flight (recorded, no reply yet; also those of a previous process). */
  readonly pendingAsync: (ref: InstanceRef) => Effect.Effect<number, Middleware.AgentsApiError>
  /**
   * How many async replies wait for the instance, synchronously (one lookup; no expiry sweep): `undefined`
   * when not known without reading its inbox (use `pendingReplies`). Optional: a bridge may not know.
   */
  readonly repliesWaiting?: (ref: InstanceRef) => number | undefined
  /**
   * The callee's side of an async request: when a turn whose input carries the caller of an async request
   * (its metadata) is over, the reply goes into that caller's inbox (before the callee's message is
   * acknowledged). The orchestrator calls it for every turn; turns that answer no async request are ignored.
   * This is what keeps a reply when the caller's process died while the callee ran. (Optional: a child
   * process's bridge to the parent's API has none; the parent's orchestrator answers for it.)
   */
  readonly replyFromCallee?: (
    metadata: Readonly<Record<string, unknown>> | undefined,
    callee: { readonly agentName: string; readonly instanceKey: string },
    outcome: CalleeOutcome
  ) => Effect.Effect<void>
  /** The host side of `ctx.callAgent` in sandboxed tools (a synchronous request from the running tool call). */
  readonly nativeTools: (workspaceId: string) => NativeTools.Service
}

/**
 * The service tag.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentsApi } from "effect-swarm"
 * const callable = Effect.map(AgentsApi.AgentsApi, (api) => api.callable("lead"))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class AgentsApi extends Context.Tag("effect-swarm/AgentsApi")<AgentsApi, Service>() {}

/**
 * The default request timeout: 60 seconds (the reference's).
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { AgentsApi } from "effect-swarm"
 * Duration.toMillis(AgentsApi.defaultTimeout) // 60000
 * ```
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultTimeout: Duration.Duration = Duration.millis(Calls.defaultTimeoutMs)

/**
 * What {@link policyOf} resolves a call policy from: the swarm, its entry agent, its agents, each Agent's
 * `spec.callableAgents` and the Swarm's.
 *
 * @example
 * ```ts
 * import type { AgentsApi } from "effect-swarm"
 * const options: AgentsApi.PolicyOptions = { swarmName: "team", entryAgent: "lead", agents: ["lead", "coder"] }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type PolicyOptions = Calls.PolicyOptions

/**
 * The call policy of a swarm: its agents, and for each the agents it may call (the Swarm's
 * `spec.callableAgents` entry, else the Agent's own `spec.callableAgents`; `"*"` is every other member).
 *
 * @example
 * ```ts
 * import { AgentsApi } from "effect-swarm"
 * const policy = AgentsApi.policyOf({
 *   swarmName: "team", entryAgent: "lead", agents: ["lead", "coder"],
 *   agentCallable: { lead: ["coder"] }
 * })
 * policy.callable("lead") // ["coder"]
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const policyOf = (options: PolicyOptions): CallPolicy => Calls.policyOf(options)

/**
 * Builds the service; async requests live as long as the scope. A limit that is not a positive integer (or
 * Infinity), or a default timeout that is not a positive, finite duration, fails with `InvalidOption`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentsApi } from "effect-swarm"
 * declare const router: AgentsApi.Router
 * const policy = AgentsApi.policyOf({ swarmName: "team", entryAgent: "lead", agents: ["lead", "worker"], agentCallable: { lead: ["worker"] } })
 * const program = Effect.gen(function*() {
 *   const api = yield* AgentsApi.make({ router, policy })
 *   return yield* api.forInstance({ workspaceId: "w", agentName: "lead", instanceKey: "t1" }).catalog
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<Service, InvalidOption, Scope.Scope | FileSystem.FileSystem> => CallsService.make(options)

/**
 * The service as a layer.
 *
 * @example
 * ```ts
 * import { AgentsApi } from "effect-swarm"
 * declare const router: AgentsApi.Router
 * const policy = AgentsApi.policyOf({ swarmName: "team", entryAgent: "lead", agents: ["lead", "worker"] })
 * const AgentsApiLive = AgentsApi.layer({ router, policy, root: "/srv/swarm" })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<AgentsApi, InvalidOption, FileSystem.FileSystem> =>
  Layer.scoped(AgentsApi, make(options))
