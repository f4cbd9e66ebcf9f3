/**
 * The typed failures of the orchestrator. Each carries an inter-agent `code` (the reference's `AGENT_*`
 * convention, one convention for every caller: middlewares, tools, the `agents` tool, the CLI).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { InvalidAgentAddress } from "./AgentAddress.js"

export {
  /**
   * @since 0.1.0
   * @category errors
   */
  InvalidAgentAddress
}

// Why an orchestrator does not start (documented where they are declared).
export { InvalidOption, type StartError, SwarmNotFound, WorkspaceLocked } from "./internal/startErrors.js"

/**
 * The address names an agent that is not in the Swarm.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Orchestrator } from "effect-swarm"
 * declare const orchestrator: Orchestrator.Service
 * const sent = orchestrator.send("nobody@1", "hi").pipe(
 *   Effect.catchTag("AgentNotFound", (e) => Effect.logWarning(e.message))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class AgentNotFound extends Schema.TaggedError<AgentNotFound>("effect-swarm/AgentNotFound")(
  "AgentNotFound",
  { agentName: Schema.String, swarm: Schema.String, known: Schema.Array(Schema.String) }
) {
  /** The inter-agent error code. */
  get code(): "AGENT_NOT_FOUND" {
    return "AGENT_NOT_FOUND"
  }
  override get message(): string {
    return `agent ${JSON.stringify(this.agentName)} is not in Swarm/${this.swarm}; ` +
      (this.known.length === 0 ? "the swarm lists no agents" : `known agents: ${this.known.join(", ")}`)
  }
}

/**
 * The instance does not take messages: it was stopped (`stop`), gave up after too many crashes
 * (`crashed`, see `policy.restart`), or the orchestrator is shutting down.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Orchestrator } from "effect-swarm"
 * const polite = Effect.flatMap(Orchestrator.Orchestrator, (o) => o.request("coder", "hi")).pipe(
 *   Effect.catchTag("AgentUnavailable", (e) => Effect.succeed(`${e.address} is ${e.status}: ${e.reason}`))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class AgentUnavailable extends Schema.TaggedError<AgentUnavailable>("effect-swarm/AgentUnavailable")(
  "AgentUnavailable",
  {
    address: Schema.String,
    status: Schema.Literal("stopped", "crashed", "shutting_down"),
    reason: Schema.String
  }
) {
  /** The inter-agent error code. */
  get code(): "AGENT_UNAVAILABLE" {
    return "AGENT_UNAVAILABLE"
  }
  override get message(): string {
    const hint = this.status === "shutting_down" ?
      "the orchestrator is shutting down" :
      `restart it with Orchestrator.restart(${JSON.stringify(this.address)})`
    return `${this.address} takes no messages (${this.status}: ${this.reason}); ${hint}`
  }
}

/**
 * The callee's turn failed (storage, model, pipeline, or its instance could not start); the detail is the
 * turn's error message. The instance itself keeps taking messages.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Orchestrator } from "effect-swarm"
 * const program = Effect.flatMap(Orchestrator.Orchestrator, (o) => o.request("coder", "hi")).pipe(
 *   Effect.catchTag("AgentTurnFailed", (e) => Effect.succeed(`${e.address}: ${e.errorTag}: ${e.detail}`))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class AgentTurnFailed extends Schema.TaggedError<AgentTurnFailed>("effect-swarm/AgentTurnFailed")(
  "AgentTurnFailed",
  { address: Schema.String, errorTag: Schema.String, detail: Schema.String }
) {
  /** The inter-agent error code. */
  get code(): "AGENT_TURN_FAILED" {
    return "AGENT_TURN_FAILED"
  }
  override get message(): string {
    return `${this.address}: the turn failed (${this.errorTag}): ${this.detail}`
  }
}

/**
 * The mailbox of the instance holds its maximum of queued messages; nothing was dropped, the new message
 * was refused. Retry later or raise `mailboxCapacity`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Orchestrator } from "effect-swarm"
 * const program = Effect.flatMap(Orchestrator.Orchestrator, (o) => o.send("coder", "hi")).pipe(
 *   Effect.catchTag("AgentMailboxFull", (e) => Effect.logWarning(`${e.address} holds ${e.capacity} messages`))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class AgentMailboxFull extends Schema.TaggedError<AgentMailboxFull>("effect-swarm/AgentMailboxFull")(
  "AgentMailboxFull",
  { address: Schema.String, capacity: Schema.Number }
) {
  /** The inter-agent error code. */
  get code(): "AGENT_MAILBOX_FULL" {
    return "AGENT_MAILBOX_FULL"
  }
  override get message(): string {
    return `${this.address}: its mailbox holds ${this.capacity} queued messages (the limit); the message was ` +
      `refused and nothing was dropped: retry later, or raise the Orchestrator's mailboxCapacity`
  }
}

/**
 * A request with a timeout got no reply in time: its message left the callee's mailbox, or its running
 * turn was interrupted (and recorded in the callee's log as abandoned with the reason).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Orchestrator } from "effect-swarm"
 * const program = Effect.flatMap(Orchestrator.Orchestrator, (o) => o.request("coder", "hi", { timeout: "30 seconds" })).pipe(
 *   Effect.catchTag("AgentRequestTimeout", (e) => Effect.succeed(`no reply from ${e.address} in ${e.timeoutMs} ms`))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class AgentRequestTimeout extends Schema.TaggedError<AgentRequestTimeout>("effect-swarm/AgentRequestTimeout")(
  "AgentRequestTimeout",
  { address: Schema.String, timeoutMs: Schema.Number }
) {
  /** The inter-agent error code. */
  get code(): "AGENT_REQUEST_TIMEOUT" {
    return "AGENT_REQUEST_TIMEOUT"
  }
  override get message(): string {
    return `request to ${this.address} timed out after ${this.timeoutMs}ms; its turn was cancelled`
  }
}

/**
 * `Orchestrator.request` was given a timeout that can never be met: zero, negative or NaN (a number of
 * milliseconds, or a Duration that decodes to zero). Nothing was sent. The reference silently replaced such
 * values; an infinite timeout is allowed and means none.
 *
 * @example
 * ```ts
 * import { OrchestratorError } from "effect-swarm"
 * const e = new OrchestratorError.InvalidRequestTimeout({ address: "coder@t1", given: "-1" })
 * e.code // "AGENT_INVALID_REQUEST"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidRequestTimeout
  extends Schema.TaggedError<InvalidRequestTimeout>("effect-swarm/InvalidRequestTimeout")(
    "InvalidRequestTimeout",
    { address: Schema.String, given: Schema.String }
  )
{
  /** The inter-agent error code. */
  get code(): "AGENT_INVALID_REQUEST" {
    return "AGENT_INVALID_REQUEST"
  }
  override get message(): string {
    return `request to ${this.address}: timeout ${this.given} can never be met (it is zero, negative or NaN); ` +
      `pass a positive duration such as "30 seconds", or omit it for no timeout`
  }
}

/**
 * The orchestrator could not make a message durable in the instance's inbox file
 * (`<instance>/inbox/messages.jsonl`): the message was not accepted (it is not queued either), so the
 * sender may retry.
 *
 * @example
 * ```ts
 * import { OrchestratorError } from "effect-swarm"
 * const e = new OrchestratorError.AgentInboxFailed({ address: "coder@t1", file: "/srv/swarm/.../inbox/messages.jsonl", detail: "ENOSPC" })
 * e.code // "AGENT_INBOX_FAILED"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class AgentInboxFailed extends Schema.TaggedError<AgentInboxFailed>("effect-swarm/AgentInboxFailed")(
  "AgentInboxFailed",
  { address: Schema.String, file: Schema.String, detail: Schema.String }
) {
  /** The inter-agent error code. */
  get code(): "AGENT_INBOX_FAILED" {
    return "AGENT_INBOX_FAILED"
  }
  override get message(): string {
    return `${this.address}: the message could not be written to its inbox ${this.file} (${this.detail}); ` +
      `it was not accepted: check the state root's disk and permissions, then send it again`
  }
}

/**
 * The instance died with its turn (its process exited, its storage failed, a defect): the orchestrator
 * restarts it with backoff and the next generation continues the turn from the log.
 *
 * @example
 * ```ts
 * import { OrchestratorError } from "effect-swarm"
 * const crash = new OrchestratorError.HostCrashed({ address: "coder@t1", generation: 1, detail: "exited with code 1" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class HostCrashed extends Schema.TaggedError<HostCrashed>("effect-swarm/HostCrashed")(
  "HostCrashed",
  { address: Schema.String, generation: Schema.Number, detail: Schema.String }
) {
  override get message(): string {
    return `${this.address} (generation ${this.generation}) crashed: ${this.detail}`
  }
}

/**
 * `AgentHost.byAgent` cannot combine its hosts: they keep the orchestrator's durable inbox under different
 * state roots (`roots`: host name -> root). Give every durable host the same `stateRoot`.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { AgentHost } from "effect-swarm"
 * const Host = AgentHost.byAgent({
 *   hosts: { coder: AgentHost.childProcess({ stateRoot: "/var/lib/a" }) },
 *   otherwise: AgentHost.childProcess({ stateRoot: "/var/lib/b" })
 * }).pipe(Layer.catchAll((e) => Layer.effectDiscard(Effect.logError(e.message))))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class HostConflict extends Schema.TaggedError<HostConflict>("effect-swarm/HostConflict")(
  "HostConflict",
  { roots: Schema.Record({ key: Schema.String, value: Schema.String }), suggestion: Schema.String }
) {
  override get message(): string {
    const roots = Object.entries(this.roots).map(([host, root]) => `${host}: ${root}`).join(", ")
    return `AgentHost.byAgent: the hosts keep their state under different roots (${roots}); ${this.suggestion}`
  }
}

/**
 * Every failure of an orchestrator call.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { OrchestratorError } from "effect-swarm"
 * import { Orchestrator } from "effect-swarm"
 * const code = (e: OrchestratorError.OrchestratorError) => `${e._tag}: ${e.message}`
 * const program = Effect.flatMap(Orchestrator.Orchestrator, (o) => o.request("coder", "hi")).pipe(Effect.mapError(code))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export type OrchestratorError =
  | InvalidAgentAddress
  | AgentNotFound
  | AgentUnavailable
  | AgentTurnFailed
  | AgentMailboxFull
  | AgentInboxFailed
  | AgentRequestTimeout
  | InvalidRequestTimeout
