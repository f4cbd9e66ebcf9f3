/**
 * The typed failures of the turn loop and of an agent instance.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * Reading or writing the instance's log failed (messages, runtime records or metadata). The turn stops
 * there: what was written before stays, and the next use of the instance continues from it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentError } from "effect-swarm"
 * declare const turn: Effect.Effect<string, AgentError.TurnStorageError>
 * turn.pipe(Effect.catchTag("TurnStorageError", (e) => Effect.succeed(e.message)))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class TurnStorageError extends Schema.TaggedError<TurnStorageError>("effect-swarm/TurnStorageError")(
  "TurnStorageError",
  {
    instance: Schema.String,
    operation: Schema.String,
    detail: Schema.String,
    cause: Schema.optional(Schema.Defect)
  }
) {
  override get message(): string {
    return `${this.instance}: ${this.operation} failed: ${
      this.detail.replace(/\.+$/, "")
    }. The turn stopped; what was written ` +
      `before stays, and the next run of the instance continues from it (check the state root's disk and permissions).`
  }
}

/**
 * A new input arrived while tool calls of the instance's open turn still wait for a decision.
 *
 * @since 0.1.0
 * @category errors
 */
export class AwaitingApproval extends Schema.TaggedError<AwaitingApproval>("effect-swarm/AwaitingApproval")(
  "AwaitingApproval",
  { instance: Schema.String, turnId: Schema.String, toolCallIds: Schema.Array(Schema.String) }
) {
  override get message(): string {
    return `${this.instance}: turn ${this.turnId} waits for approval of ${this.toolCallIds.join(", ")}; ` +
      `approve or deny them (AgentInstance.approve / deny) before sending new input`
  }
}

/**
 * `approve` / `deny` named a tool call that does not wait for a decision.
 *
 * @since 0.1.0
 * @category errors
 */
export class ApprovalNotPending extends Schema.TaggedError<ApprovalNotPending>("effect-swarm/ApprovalNotPending")(
  "ApprovalNotPending",
  { instance: Schema.String, toolCallId: Schema.String, pending: Schema.Array(Schema.String) }
) {
  override get message(): string {
    return `${this.instance}: tool call ${this.toolCallId} does not wait for approval` +
      (this.pending.length === 0 ? " (nothing does)" : `; pending: ${this.pending.join(", ")}`)
  }
}

/**
 * `fork` cannot start from the requested point.
 *
 * @since 0.1.0
 * @category errors
 */
export class ForkError extends Schema.TaggedError<ForkError>("effect-swarm/ForkError")(
  "ForkError",
  { instance: Schema.String, atSeq: Schema.Number, detail: Schema.String }
) {
  override get message(): string {
    return `${this.instance}: cannot fork at seq ${this.atSeq}: ${this.detail}`
  }
}

/**
 * `AgentInstance.fromBundle` cannot build an instance for the requested agent: no such Agent or Swarm in
 * the bundle, or a sandboxed tool without a `ToolRuntime` to run it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentError } from "effect-swarm"
 * declare const open: Effect.Effect<void, AgentError.AgentConfigError>
 * open.pipe(Effect.catchTag("AgentConfigError", (e) => Effect.logError(`${e.field}: ${e.suggestion}`)))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class AgentConfigError extends Schema.TaggedError<AgentConfigError>("effect-swarm/AgentConfigError")(
  "AgentConfigError",
  {
    agent: Schema.String,
    /** The bundle file (or root) the problem is in. */
    file: Schema.String,
    /** The field of the resource or option concerned (`spec.tools`, `options.swarm`, ...). */
    field: Schema.String,
    detail: Schema.String,
    suggestion: Schema.String
  }
) {
  override get message(): string {
    return `Agent/${this.agent} (${this.file}, ${this.field}): ${this.detail}. ${this.suggestion}`
  }
}

/**
 * A budget policy given in code (`options.policy`, `Policy.resolve`) has a value no turn can run under: a
 * limit that is not a positive integer (0, negative, fractional, NaN), a wall time that is not a positive
 * duration. Resources are checked by their schema when the bundle loads; this is the same check for code.
 *
 * @example
 * ```ts
 * import { AgentError } from "effect-swarm"
 * const error = new AgentError.PolicyError({
 *   field: "maxToolCalls",
 *   value: "0",
 *   detail: "must be a positive integer",
 *   suggestion: "remove the limit for no limit; a turn that must not call tools gets no tools"
 * })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class PolicyError extends Schema.TaggedError<PolicyError>("effect-swarm/PolicyError")(
  "PolicyError",
  {
    /** The policy field (`maxStepsPerTurn`, `maxToolCalls`, `maxTokens`, `maxWallTime`, `toolConcurrency`, `groupCommit`). */
    field: Schema.String,
    /** The value given, as text. */
    value: Schema.String,
    detail: Schema.String,
    suggestion: Schema.String
  }
) {
  override get message(): string {
    return `policy.${this.field} ${this.detail}, got ${this.value}. ${this.suggestion}`
  }
}
