/**
 * The orchestrator service's shape (`Orchestrator.Service`) and the models its methods take and return;
 * re-exported with their documentation by `Orchestrator.ts`.
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type { TurnResult } from "../../pipeline/Middleware.js"
import type * as Bundle from "../../resource/Bundle.js"
import type * as Resource from "../../resource/Resource.js"
import type * as AgentAddress from "../AgentAddress.js"
import type * as AgentsApi from "../AgentsApi.js"
import type { OrchestratorError, SwarmNotFound } from "../OrchestratorError.js"
import type * as Lifecycle from "./lifecycle.js"
import type { TurnInput } from "./mailbox.js"
import type * as Reload from "./reload.js"
import type { InstanceStatus } from "./slot.js"

export interface InstanceInfo {
  readonly address: string
  readonly agentName: string
  readonly instanceKey: string
  readonly status: InstanceStatus
  /** Why it is `stopped` or `crashed`. */
  readonly reason: string | undefined
  /** Messages waiting in its mailbox (the running one excluded). */
  readonly queued: number
  /** Restarts so far (after crashes, and by `restart`). */
  readonly restarts: number
  /** Crashes in the current row (see `Supervision`). */
  readonly consecutiveCrashes: number
  /** In backoff: when the next start is due (ms since the epoch, on `Clock`). */
  readonly nextStartAt: number | undefined
  /** The generation of the running instance (starts so far; 0 before the first). */
  readonly generation: number
  /** The process id of a child-process instance while it runs. */
  readonly pid: number | undefined
}

export interface KnownAgent {
  readonly name: string
  readonly resource: Resource.AgentResource
}

export type Address = string | AgentAddress.AgentAddress

export interface RequestOptions {
  /** How long to wait for the reply (default: no limit). */
  readonly timeout?: Duration.DurationInput | undefined
}

export interface Service {
  readonly swarm: string
  readonly workspaceId: string
  /** The agents of the Swarm, in its `spec.agents` order. */
  readonly agents: ReadonlyArray<KnownAgent>
  /** The Swarm's entry agent. */
  readonly entryAgent: string
  /** The inter-agent calls API the orchestrator wired (see `Options.calls`); absent when it wired none. */
  readonly agentsApi: AgentsApi.Service | undefined
  /**
   * Enqueues a turn input in the instance's mailbox (creating the instance on its first message) and
   * returns once it is accepted. The turn's outcome is not reported (fire and forget).
   */
  readonly send: (address: Address, input: string | TurnInput) => Effect.Effect<void, OrchestratorError>
  /**
   * Enqueues a turn input like `send` and returns once it is accepted, with an effect that waits for that
   * turn's result (for callers that acknowledge first and answer later, such as connectors' `onReply`).
   * Interrupting the returned effect stops waiting; it does not cancel the turn, unless
   * `cancelOnInterrupt` is set (then it cancels it like an interrupted `request`).
   */
  readonly submit: (
    address: Address,
    input: string | TurnInput,
    options?: { readonly cancelOnInterrupt?: boolean | undefined }
  ) => Effect.Effect<Effect.Effect<TurnResult, OrchestratorError>, OrchestratorError>
  /**
   * Enqueues a turn input and waits for that turn's result. Interrupting the waiting fiber removes the
   * message from the mailbox if its turn has not started, or interrupts the turn if it runs. With
   * `timeout`, the same happens when it passes (on `Clock`) and the request fails with
   * `AgentRequestTimeout` (`AGENT_REQUEST_TIMEOUT`); this costs less than `Effect.timeout` around the call
   * (one timer fiber per orchestrator, no fiber per request). A zero, negative or NaN timeout is refused
   * with `InvalidRequestTimeout` (`AGENT_INVALID_REQUEST`) and nothing is sent; an infinite one is no timeout.
   */
  readonly request: (
    address: Address,
    input: string | TurnInput,
    options?: RequestOptions
  ) => Effect.Effect<TurnResult, OrchestratorError>
  /** The instances created so far. */
  readonly list: Effect.Effect<ReadonlyArray<InstanceInfo>>
  /** Restarts one instance: a running turn is interrupted and continued from its log by the new worker. */
  readonly restart: (address: Address) => Effect.Effect<void, OrchestratorError>
  /** Stops one instance: queued messages fail with `AGENT_UNAVAILABLE`; `restart` brings it back. */
  readonly stop: (address: Address) => Effect.Effect<void, OrchestratorError>
  /**
   * Shuts every instance down gracefully (closing the scope does this with `orchestrator_shutdown`): new
   * messages are refused, queued ones stay in the durable inbox for the next start (their requesters get
   * `AGENT_UNAVAILABLE` / `shutting_down`), in-flight turns get the grace period, then are interrupted.
   */
  readonly shutdown: (reason?: Lifecycle.ShutdownReason) => Effect.Effect<void>
  /**
   * Releases an idle instance now (what idle release does after `lifecycle.idleSeconds`): its worker and
   * resources are closed; the next message reopens it from its log. False when it is busy or unknown.
   */
  readonly release: (address: Address) => Effect.Effect<boolean, OrchestratorError>
  /**
   * Applies a new version of the bundle without stopping the Swarm: only the instances of the agents named
   * in `changed` restart (reason `config_change`): each one's turn in flight gets the grace period to finish
   * (past it, it is interrupted, recorded as interrupted and its requester gets `AGENT_TURN_FAILED`), its
   * queued messages are kept and go to the new generation in order, and messages sent meanwhile are
   * accepted. Other instances keep running with their mailboxes. Agents new in the Swarm become
   * addressable; instances of agents no longer in it are stopped. The Swarm's policy (grace period,
   * supervision, lifecycle) stays the one the orchestrator started with. Fails with `SwarmNotFound` (and
   * changes nothing) when the new bundle has no Swarm of this name.
   */
  readonly reload: (
    bundle: Bundle.Bundle,
    changed: ReadonlyArray<string>
  ) => Effect.Effect<Reload.Report, SwarmNotFound>
}
