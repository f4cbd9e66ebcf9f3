/**
 * What starts each run (the inputs, public through `Pipeline`) and the context object built from it and
 * its ids. One context per run, shared by every middleware and the core (see `Middleware`). The inputs are
 * public, so only the builders are marked internal, one by one (a file-level mark would strip this
 * module's first import from its declarations).
 */
import type * as Trace from "../../event/Trace.js"
import type { ToolCatalogItem } from "../../tool/ToolCatalog.js"
import type {
  AgentsApi,
  ConversationState,
  InputEvent,
  RuntimeInfo,
  StepContext,
  ToolCallContext,
  TurnContext
} from "../Middleware.js"
import { agentsUnavailable } from "./agentsApi.js"

/**
 * What starts a turn.
 *
 * @since 0.1.0
 * @category models
 */
export interface TurnInput {
  readonly agentName: string
  readonly instanceKey: string
  readonly turnId: string
  readonly conversation: ConversationState
  readonly inputEvent?: InputEvent | undefined
  readonly agents?: AgentsApi | undefined
  readonly runtime?: RuntimeInfo | undefined
  readonly metadata?: Record<string, unknown> | undefined
  /**
   * The caller's span when another agent or a tool started this turn: the turn joins the caller's
   * trace with the caller's span as parent. Without it the turn is a child of the current Effect span,
   * if any, or the root of a new trace.
   */
  readonly parentTrace?: Trace.TraceContext | undefined
}

/**
 * What starts a step: the turn it belongs to (the context the turn core received), its index
 * (0-based) and the tools offered.
 *
 * @since 0.1.0
 * @category models
 */
export interface StepInput {
  readonly turn: TurnContext
  readonly stepIndex: number
  readonly toolCatalog: ReadonlyArray<ToolCatalogItem>
  readonly metadata?: Record<string, unknown> | undefined
}

/**
 * What starts a tool call: the step it belongs to (the context the step core received) and the call.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolCallInput {
  readonly step: StepContext
  readonly toolCallId: string
  readonly toolName: string
  readonly args: Record<string, unknown>
  readonly metadata?: Record<string, unknown> | undefined
}

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
