/**
 * The typed failures of the orchestrator. Each carries an inter-agent `code` (the reference's `AGENT_*`
 * convention, one convention for every caller: middlewares, tools, the `agents` tool, the CLI).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import type { StorageIoError } from "../workspace/AtomicFile.js"
import { InvalidAgentAddress } from "./AgentAddress.js"

export {
  /**
   * @since 0.1.0
   * @category errors
   */
  InvalidAgentAddress
}

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
 * The bundle has no Swarm to run under that name (or none is named `default` and there are several).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Bundle, Orchestrator } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const program = Orchestrator.makeInMemory(bundle, "no-such-swarm").pipe(
 *   Effect.catchTag("SwarmNotFound", (e) => Effect.fail(e.message))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class SwarmNotFound extends Schema.TaggedError<SwarmNotFound>("effect-swarm/SwarmNotFound")(
  "SwarmNotFound",
  { swarm: Schema.optional(Schema.String), detail: Schema.String }
) {
  override get message(): string {
    return `cannot start the orchestrator: ${this.detail}`
  }
}

/**
 * An option given to `Orchestrator.make*` / `layer*` (or `AgentsApi.make`, `AgentsTool.wire`: then `where`
 * names it) in code cannot be met: a limit (`mailboxCapacity`, `calls.maxSpawned`, `calls.maxPendingAsync`,
 * `calls.maxInbox`) that is not a positive integer (NaN, 0, negative, fractional), or a
 * `calls.defaultTimeout` that is zero, negative, NaN or not a duration. Refused before anything starts,
 * never clamped or ignored.
 *
 * @example
 * ```ts
 * import { OrchestratorError } from "effect-swarm"
 * const e = new OrchestratorError.InvalidOption({ option: "calls.maxSpawned", given: "NaN", expected: "a positive integer" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidOption extends Schema.TaggedError<InvalidOption>("effect-swarm/InvalidOption")(
  "InvalidOption",
  {
    option: Schema.String,
    given: Schema.String,
    expected: Schema.String,
    /** What refused it, when not `Orchestrator.make*` (e.g. `AgentsApi.make`). */
    where: Schema.optional(Schema.String)
  }
) {
  override get message(): string {
    return `cannot ${
      this.where === undefined ? "start the orchestrator" : `run ${this.where}`
    }: option ${this.option} ` +
      `is ${this.given}; it must be ${this.expected}`
  }
}

/**
 * Another orchestrator runs the same workspace of this state root: the holder of its
 * `<root>/workspaces/<workspaceId>/orchestrator.lock` (another process, on this host or another, or another
 * orchestrator in this process, `pid` then being this process's). The orchestrator does not start, and has
 * written nothing. `pid` is -1 when the lock file cannot be read; `since` is when the holder took the lock.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Bundle, Orchestrator } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const program = Orchestrator.make(bundle, undefined).pipe(
 *   Effect.catchTag("WorkspaceLocked", (e) => Effect.logError(e.message))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class WorkspaceLocked extends Schema.TaggedError<WorkspaceLocked>("effect-swarm/WorkspaceLocked")(
  "WorkspaceLocked",
  {
    root: Schema.String,
    workspaceId: Schema.String,
    file: Schema.String,
    pid: Schema.Number,
    hostname: Schema.String,
    since: Schema.optional(Schema.String),
    /** True when the holder is another orchestrator of this process. */
    sameProcess: Schema.Boolean
  }
) {
  override get message(): string {
    const head = `cannot start the orchestrator: workspace ${JSON.stringify(this.workspaceId)} of the state root ` +
      `${this.root} is in use by `
    const since = this.since === undefined ? "" : `, running since ${this.since}`
    if (this.pid < 0) {
      return `${head}another orchestrator whose lock file ${this.file} cannot be read. If no orchestrator runs ` +
        `on this workspace, delete that file and start again.`
    }
    if (this.sameProcess) {
      return `${head}another orchestrator in this process${since} (lock file ${this.file}). Close that ` +
        `orchestrator's scope first, or give this one another state root or workspace (options.workspaceId).`
    }
    return `${head}another orchestrator: process ${this.pid} on host ${this.hostname}${since} (lock file ` +
      `${this.file}). Stop that process first, or give this one another state root (EFFECT_SWARM_HOME) or ` +
      `workspace. A lock left by a process that died on this host is taken over automatically.`
  }
}

/**
 * Why an orchestrator does not start: no such Swarm, an option that cannot be met, another orchestrator on
 * its workspace, or its lock could not be written under the state root.
 *
 * @example
 * ```ts
 * import type { OrchestratorError } from "effect-swarm"
 * const explain = (e: OrchestratorError.StartError) => `${e._tag}: ${e.message}`
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export type StartError = SwarmNotFound | InvalidOption | WorkspaceLocked | StorageIoError

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
