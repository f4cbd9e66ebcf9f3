/**
 * The nine runtime events that make every turn observable, as effect `Schema`s with the reference's
 * payloads (goondan E1): `turn.started|completed|failed`, `step.started|completed|failed`,
 * `tool.called|completed|failed`.
 *
 * Every event carries `timestamp` (ISO 8601), `agentName`, `instanceKey`, `turnId`, and its place in
 * the trace: `traceId` (32 hex), `spanId` (16 hex) and `parentSpanId` (absent only for a root turn).
 * Unlike the reference, trace ids are W3C ids and a turn called by another agent or a tool has the
 * caller's span as parent.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { LlmInputMessage } from "./LlmInputRecord.js"
import { SpanId, TraceId } from "./Trace.js"

/**
 * The event types, in the reference's order.
 *
 * @since 0.1.0
 * @category constants
 */
export const types = [
  "turn.started",
  "turn.completed",
  "turn.failed",
  "step.started",
  "step.completed",
  "step.failed",
  "tool.called",
  "tool.completed",
  "tool.failed"
] as const

/**
 * @since 0.1.0
 * @category models
 */
export type Type = typeof types[number]

/**
 * Token usage of a step, summed over the steps of a turn.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TokenUsage = Schema.Struct({
  promptTokens: Schema.Number,
  completionTokens: Schema.Number,
  totalTokens: Schema.Number
}).annotations({ identifier: "TokenUsage" })

/**
 * @since 0.1.0
 * @category models
 */
export type TokenUsage = typeof TokenUsage.Type

/**
 * The model input summary's schemas (`LlmInputPart`, `LlmInputMessage`) live in `LlmInputRecord`, with how
 * `step.started` stores them; re-exported here.
 *
 * @since 0.1.0
 * @category schemas
 */
export { LlmInputMessage, LlmInputPart } from "./LlmInputRecord.js"

const base = {
  timestamp: Schema.String,
  agentName: Schema.String,
  instanceKey: Schema.String,
  turnId: Schema.String,
  traceId: TraceId,
  spanId: SpanId,
  parentSpanId: Schema.optional(SpanId)
}

const step = { stepId: Schema.String, stepIndex: Schema.Number }
const tool = { toolCallId: Schema.String, toolName: Schema.String, stepId: Schema.String }

/**
 * @since 0.1.0
 * @category schemas
 */
export const TurnStarted = Schema.Struct({ type: Schema.Literal("turn.started"), ...base }).annotations({
  identifier: "TurnStarted"
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const TurnCompleted = Schema.Struct({
  type: Schema.Literal("turn.completed"),
  ...base,
  stepCount: Schema.Number,
  duration: Schema.Number,
  tokenUsage: Schema.optional(TokenUsage),
  /**
   * Why the turn ended (added in record version 2; absent in older logs and from a pipeline run
   * outside the turn loop).
   */
  finishReason: Schema.optional(Schema.String),
  /** The budget limit that ended the turn, with `finishReason: "budget_exceeded"`. */
  limit: Schema.optional(Schema.String)
}).annotations({ identifier: "TurnCompleted" })

/**
 * @since 0.1.0
 * @category schemas
 */
export const TurnFailed = Schema.Struct({
  type: Schema.Literal("turn.failed"),
  ...base,
  stepCount: Schema.optional(Schema.Number),
  duration: Schema.Number,
  errorMessage: Schema.String
}).annotations({ identifier: "TurnFailed" })

/**
 * A span of the conversation the context window left out of a step's model input or folded into its
 * running summary: the first and last message ids, their seqs (absent for messages of a compacted base
 * snapshot) and how many messages it holds.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ContextRange = Schema.Struct({
  fromId: Schema.String,
  toId: Schema.String,
  fromSeq: Schema.optional(Schema.Number),
  toSeq: Schema.optional(Schema.Number),
  count: Schema.Number
}).annotations({ identifier: "ContextRange" })

/**
 * What the context window sent in a step (`step.started.context`): the strategy, the sizes (window,
 * budget after the reply reserve, the estimated input, the calibration factor applied to estimates),
 * how many messages the conversation has and how many were sent, and which range was left out,
 * summarised, or which tool results were truncated.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ContextView = Schema.Struct({
  strategy: Schema.String,
  windowTokens: Schema.Number,
  budgetTokens: Schema.Number,
  estimatedTokens: Schema.Number,
  calibration: Schema.Number,
  totalMessages: Schema.Number,
  sentMessages: Schema.Number,
  pinnedMessages: Schema.Number,
  omitted: Schema.optional(ContextRange),
  summarized: Schema.optional(ContextRange),
  truncated: Schema.optional(Schema.Array(Schema.Struct({
    id: Schema.String,
    seq: Schema.optional(Schema.Number),
    fromTokens: Schema.Number,
    toTokens: Schema.Number
  })))
}).annotations({ identifier: "ContextView" })

/**
 * @since 0.1.0
 * @category models
 */
export type ContextView = typeof ContextView.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const StepStarted = Schema.Struct({
  type: Schema.Literal("step.started"),
  ...base,
  ...step,
  llmInputMessages: Schema.optional(Schema.Array(LlmInputMessage)),
  context: Schema.optional(ContextView)
}).annotations({ identifier: "StepStarted" })

/**
 * @since 0.1.0
 * @category schemas
 */
export const StepCompleted = Schema.Struct({
  type: Schema.Literal("step.completed"),
  ...base,
  ...step,
  toolCallCount: Schema.Number,
  duration: Schema.Number,
  tokenUsage: Schema.optional(TokenUsage)
}).annotations({ identifier: "StepCompleted" })

/**
 * @since 0.1.0
 * @category schemas
 */
export const StepFailed = Schema.Struct({
  type: Schema.Literal("step.failed"),
  ...base,
  ...step,
  duration: Schema.Number,
  errorMessage: Schema.String
}).annotations({ identifier: "StepFailed" })

/**
 * @since 0.1.0
 * @category schemas
 */
export const ToolCalled = Schema.Struct({ type: Schema.Literal("tool.called"), ...base, ...tool }).annotations({
  identifier: "ToolCalled"
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const ToolCompleted = Schema.Struct({
  type: Schema.Literal("tool.completed"),
  ...base,
  ...tool,
  status: Schema.Literal("ok", "error"),
  duration: Schema.Number,
  errorCode: Schema.optional(Schema.String)
}).annotations({ identifier: "ToolCompleted" })

/**
 * @since 0.1.0
 * @category schemas
 */
export const ToolFailed = Schema.Struct({
  type: Schema.Literal("tool.failed"),
  ...base,
  ...tool,
  duration: Schema.Number,
  errorMessage: Schema.String
}).annotations({ identifier: "ToolFailed" })

/**
 * Any runtime event, discriminated by `type`. Decode persisted lines with it; the pipeline builds
 * events as plain values of this type (no per-event validation on the hot path).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { RuntimeEvent } from "effect-swarm"
 * const decode = Schema.decodeUnknownSync(Schema.parseJson(RuntimeEvent.RuntimeEvent))
 * const event = decode(line)
 * if (event.type === "turn.completed") console.log(event.stepCount, event.tokenUsage)
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export const RuntimeEvent = Schema.Union(
  TurnStarted,
  TurnCompleted,
  TurnFailed,
  StepStarted,
  StepCompleted,
  StepFailed,
  ToolCalled,
  ToolCompleted,
  ToolFailed
).annotations({ identifier: "RuntimeEvent" })

/**
 * @since 0.1.0
 * @category models
 */
export type RuntimeEvent = typeof RuntimeEvent.Type

/**
 * The event of one type.
 *
 * @since 0.1.0
 * @category models
 */
export type Of<T extends Type> = Extract<RuntimeEvent, { readonly type: T }>

/**
 * Whether a string is one of the nine event types.
 *
 * @example
 * ```ts
 * import { RuntimeEvent } from "effect-swarm"
 * RuntimeEvent.isType("tool.failed") // true
 * RuntimeEvent.isType("toolFailed") // false
 * ```
 *
 * @since 0.1.0
 * @category predicates
 */
export const isType = (s: string): s is Type => (types as ReadonlyArray<string>).includes(s)

// The turn-loop records (record version 2), documented where they are declared.
export {
  ApprovalRequested,
  ApprovalResolved,
  BudgetExceeded,
  LoopEvent,
  loopRecordVersion,
  ToolsDispatched,
  TurnAbandoned
} from "./internal/loopRecords.js"
