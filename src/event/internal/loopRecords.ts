/**
 * The records the turn loop writes beside the nine runtime events (record version 2): approvals requested and
 * resolved, tools dispatched after a pause, budgets exceeded, turns abandoned. Re-exported by `RuntimeEvent`.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

const loopBase = {
  timestamp: Schema.String,
  agentName: Schema.String,
  instanceKey: Schema.String,
  turnId: Schema.String,
  /** The record version: absent (1) in logs written before these records existed. */
  rv: Schema.optional(Schema.Number)
}

/**
 * A tool call that waits for a human decision: the turn ended as `awaiting_approval` with it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ApprovalRequested = Schema.Struct({
  type: Schema.Literal("approval.requested"),
  ...loopBase,
  stepIndex: Schema.Number,
  toolCallId: Schema.String,
  toolName: Schema.String,
  args: Schema.Unknown,
  reason: Schema.String
}).annotations({ identifier: "ApprovalRequested" })

/**
 * The decision on a pending tool call (`approve` or `deny`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ApprovalResolved = Schema.Struct({
  type: Schema.Literal("approval.resolved"),
  ...loopBase,
  toolCallId: Schema.String,
  approved: Schema.Boolean,
  reason: Schema.optional(Schema.String)
}).annotations({ identifier: "ApprovalResolved" })

/**
 * The tool calls of a step that paused for approval were dispatched (after every decision): from
 * here a restart treats them as possibly started.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolsDispatched = Schema.Struct({
  type: Schema.Literal("tools.dispatched"),
  ...loopBase,
  stepIndex: Schema.Number
}).annotations({ identifier: "ToolsDispatched" })

/**
 * A budget of the policy was exceeded; the turn ends with `finishReason: "budget_exceeded"`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BudgetExceeded = Schema.Struct({
  type: Schema.Literal("budget.exceeded"),
  ...loopBase,
  limit: Schema.Literal("maxStepsPerTurn", "maxToolCalls", "maxTokens", "maxWallTime"),
  value: Schema.Number,
  used: Schema.Number
}).annotations({ identifier: "BudgetExceeded" })

/**
 * A turn left open in the log (interrupted: a cancelled request, a crash) was closed without being
 * continued (`Turn.abandon`): its tool calls without a result (`toolCallIds`) are answered with
 * `E_TOOL_INTERRUPTED` naming the `reason`, and the next turn starts fresh.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TurnAbandoned = Schema.Struct({
  type: Schema.Literal("turn.abandoned"),
  ...loopBase,
  reason: Schema.String,
  stepCount: Schema.Number,
  toolCallIds: Schema.Array(Schema.String)
}).annotations({ identifier: "TurnAbandoned" })

/**
 * The records the turn loop writes synchronously (beside `turn.started|completed|failed`), before
 * anything that depends on them runs. Old logs, without them, still decode.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { RuntimeEvent } from "effect-swarm"
 * const isLoop = Schema.is(RuntimeEvent.LoopEvent)
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export const LoopEvent = Schema.Union(
  ApprovalRequested,
  ApprovalResolved,
  ToolsDispatched,
  BudgetExceeded,
  TurnAbandoned
)
  .annotations({ identifier: "LoopEvent" })

/**
 * @since 0.1.0
 * @category models
 */
export type LoopEvent = typeof LoopEvent.Type

/**
 * The current record version of turn-loop records (`rv`).
 *
 * @since 0.1.0
 * @category constants
 */
export const loopRecordVersion = 2
