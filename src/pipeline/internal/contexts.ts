/**
 * The context object of each run, built from its input and its ids. One object per run, shared by every
 * middleware and the core (see `Middleware`).
 *
 * @internal
 */
import type * as Trace from "../../event/Trace.js"
import type { StepContext, ToolCallContext, TurnContext } from "../Middleware.js"
import type { StepInput, ToolCallInput, TurnInput } from "../Pipeline.js"
import { agentsUnavailable } from "./agentsApi.js"

/** @internal */
export const turn = (input: TurnInput, trace: Trace.TraceContext): TurnContext => {
  const conversation = input.conversation
  return {
    kind: "turn",
    agentName: input.agentName,
    instanceKey: input.instanceKey,
    turnId: input.turnId,
    trace,
    traceId: trace.traceId,
    metadata: input.metadata ?? {},
    inputEvent: input.inputEvent ?? {},
    conversation,
    emitMessageEvent: conversation.emit,
    agents: input.agents ?? agentsUnavailable,
    runtime: input.runtime ?? { agent: { name: input.agentName } }
  }
}

/** @internal */
export const step = (input: StepInput, trace: Trace.TraceContext): StepContext => {
  const turn = input.turn
  const stepIndex = input.stepIndex
  const stepId = `${turn.turnId}-step-${stepIndex}`
  return {
    kind: "step",
    agentName: turn.agentName,
    instanceKey: turn.instanceKey,
    turnId: turn.turnId,
    trace,
    traceId: trace.traceId,
    metadata: input.metadata ?? {},
    turn,
    stepIndex,
    stepId,
    conversation: turn.conversation,
    emitMessageEvent: turn.emitMessageEvent,
    agents: turn.agents,
    runtime: turn.runtime,
    toolCatalog: input.toolCatalog.slice()
  }
}

/** @internal */
export const toolCall = (input: ToolCallInput, trace: Trace.TraceContext): ToolCallContext => {
  const step = input.step
  return {
    kind: "toolCall",
    agentName: step.agentName,
    instanceKey: step.instanceKey,
    turnId: step.turnId,
    trace,
    traceId: trace.traceId,
    metadata: input.metadata ?? {},
    stepIndex: step.stepIndex,
    stepId: step.stepId,
    toolName: input.toolName,
    toolCallId: input.toolCallId,
    runtime: step.runtime,
    args: input.args
  }
}
