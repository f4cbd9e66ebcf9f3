/**
 * The runtime events of steps and tool calls, four per step with one tool call: each built as one object
 * literal (no spread of a head object, see `run.head`), from the run's context, ids and times.
 *
 * @internal
 */
import type * as Types from "effect/Types"
import type { LlmInputMessage, Of, TokenUsage } from "../../event/RuntimeEvent.js"
import type * as Trace from "../../event/Trace.js"
import type { ToolCallResult } from "../../tool/ToolExecutor.js"
import * as LlmInput from "../LlmInput.js"
import type { StepContext, StepResult, ToolCallContext } from "../Middleware.js"
import { isoAt } from "./run.js"

/**
 * `step.started`, with the model's input as the step's core gets it (`undefined` for a step that never
 * reached the core) and the context window's view when the step's metadata carries one.
 *
 * @internal
 */
export const stepStarted = (
  ctx: StepContext,
  trace: Trace.TraceContext,
  millis: number,
  llmInputMessages: ReadonlyArray<LlmInputMessage> | undefined
): Of<"step.started"> => {
  const context = LlmInput.contextView(ctx.metadata[LlmInput.contextKey])
  const event: Types.Mutable<Of<"step.started">> = {
    type: "step.started",
    timestamp: isoAt(millis),
    agentName: ctx.agentName,
    instanceKey: ctx.instanceKey,
    turnId: ctx.turnId,
    traceId: trace.traceId,
    spanId: trace.spanId,
    parentSpanId: trace.parentSpanId,
    stepId: ctx.stepId,
    stepIndex: ctx.stepIndex,
    llmInputMessages
  }
  if (context !== undefined) event.context = context
  return event
}

/** @internal */
export const stepCompleted = (
  ctx: StepContext,
  trace: Trace.TraceContext,
  millis: number,
  result: StepResult,
  duration: number,
  tokenUsage: TokenUsage | undefined
): Of<"step.completed"> => ({
  type: "step.completed",
  timestamp: isoAt(millis),
  agentName: ctx.agentName,
  instanceKey: ctx.instanceKey,
  turnId: ctx.turnId,
  traceId: trace.traceId,
  spanId: trace.spanId,
  parentSpanId: trace.parentSpanId,
  stepId: ctx.stepId,
  stepIndex: ctx.stepIndex,
  toolCallCount: result.toolCalls.length,
  duration,
  tokenUsage
})

/** @internal */
export const toolCalled = (ctx: ToolCallContext, trace: Trace.TraceContext, millis: number): Of<"tool.called"> => ({
  type: "tool.called",
  timestamp: isoAt(millis),
  agentName: ctx.agentName,
  instanceKey: ctx.instanceKey,
  turnId: ctx.turnId,
  traceId: trace.traceId,
  spanId: trace.spanId,
  parentSpanId: trace.parentSpanId,
  toolCallId: ctx.toolCallId,
  toolName: ctx.toolName,
  stepId: ctx.stepId
})

/** `tool.completed`, for every result (`status: "error"` included). @internal */
export const toolCompleted = (
  ctx: ToolCallContext,
  trace: Trace.TraceContext,
  millis: number,
  result: ToolCallResult,
  duration: number
): Of<"tool.completed"> => ({
  type: "tool.completed",
  timestamp: isoAt(millis),
  agentName: ctx.agentName,
  instanceKey: ctx.instanceKey,
  turnId: ctx.turnId,
  traceId: trace.traceId,
  spanId: trace.spanId,
  parentSpanId: trace.parentSpanId,
  toolCallId: ctx.toolCallId,
  toolName: ctx.toolName,
  stepId: ctx.stepId,
  status: result.status,
  duration,
  errorCode: result.error?.code
})
