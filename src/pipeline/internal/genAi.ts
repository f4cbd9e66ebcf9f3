/**
 * OpenTelemetry GenAI semantic-convention attributes on the turn, step and tool-call spans. Written
 * straight onto the span object, and only onto a real span (an installed tracer, see
 * `Options.tracerSpans`): without a tracer this costs one property check. Contents (tool arguments and
 * results) only when {@link captureContent} is on.
 *
 * @internal
 */
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import type * as Tracer from "effect/Tracer"
import type { TokenUsage } from "../../event/RuntimeEvent.js"
import type { ToolCallResult } from "../../tool/ToolExecutor.js"
import type { StepResult, ToolCallContext, TurnContext, TurnResult } from "../Middleware.js"

/**
 * Whether spans carry contents (model input and output messages, tool arguments and results). Off by
 * default; `Observability.layer({ captureContent: true })` or
 * `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true` turns it on.
 *
 * @internal
 */
export const captureContent: FiberRef.FiberRef<boolean> = FiberRef.unsafeMake(false)

/** At most this many characters of one content attribute are exported. @internal */
export const maxContent = 16_384

/** A value as the JSON text of a content attribute, capped at {@link maxContent}. @internal */
export const contentText = (value: unknown): string => {
  let text: string
  try {
    text = typeof value === "string" ? value : JSON.stringify(value) ?? "undefined"
  } catch {
    text = String(value)
  }
  return text.length > maxContent ? text.slice(0, maxContent) + "... (truncated)" : text
}

type Value = string | number | boolean | undefined

// Callers check `span._tag` first, so no attribute object is built for a span nothing records (the
// default: no tracer installed), which was several objects per step.
const set = (span: Tracer.AnySpan, attributes: Record<string, Value>) => {
  if (span._tag !== "Span") return
  for (const key in attributes) {
    const value = attributes[key]
    if (value !== undefined) span.attribute(key, value)
  }
}

const usage = (u: TokenUsage | undefined): Record<string, Value> =>
  u === undefined
    ? {}
    : { "gen_ai.usage.input_tokens": u.promptTokens, "gen_ai.usage.output_tokens": u.completionTokens }

/**
 * The most characters of a tool name kept in a tool-call span's name (the model chooses the name; a real one
 * is far shorter). The `gen_ai.tool.name` attribute is cut the same way by the observability layer.
 *
 * @internal
 */
export const maxToolName = 256

/** The turn span's name, as the GenAI conventions name an agent invocation. @internal */
export const turnSpanName = (agentName: string): string => `invoke_agent ${agentName}`

/**
 * The tool-call span's name, as the GenAI conventions name a tool execution: `execute_tool {tool name}`,
 * the name cut at {@link maxToolName} characters.
 *
 * @internal
 */
export const toolSpanName = (toolName: string): string =>
  toolName.length > maxToolName
    ? `execute_tool ${toolName.slice(0, maxToolName)}... (${toolName.length} characters)`
    : `execute_tool ${toolName}`

/** @internal */
export const turnStarted = (span: Tracer.AnySpan, ctx: TurnContext) =>
  span._tag !== "Span" ? undefined : set(span, {
    "gen_ai.operation.name": "invoke_agent",
    "gen_ai.agent.name": ctx.agentName,
    "gen_ai.conversation.id": `${ctx.agentName}@${ctx.instanceKey}`,
    "effect_swarm.turn.id": ctx.turnId
  })

/** @internal */
export const turnEnded = <E>(
  span: Tracer.AnySpan,
  exit: Exit.Exit<TurnResult, E>,
  steps: number,
  tokens: TokenUsage | undefined
) =>
  span._tag !== "Span" ? undefined : set(span, {
    "effect_swarm.turn.steps": steps,
    ...usage(tokens),
    ...(Exit.isSuccess(exit)
      ? {
        "effect_swarm.turn.finish_reason": exit.value.finishReason,
        "effect_swarm.turn.limit": exit.value.limit,
        "error.type": exit.value.finishReason === "error" ? exit.value.error?.code ?? "turn_error" : undefined
      }
      : { "error.type": "turn_failed" })
  })

/** @internal */
export const stepStarted = (span: Tracer.AnySpan, agentName: string, stepIndex: number, stepId: string) =>
  span._tag !== "Span" ? undefined : set(span, {
    "gen_ai.agent.name": agentName,
    "effect_swarm.step.index": stepIndex,
    "effect_swarm.step.id": stepId
  })

/** The step metadata key under which the turn loop names a corrective retry (empty or malformed output). */
const retryKey = "runtime.modelRetryKind"

/** @internal */
export const stepEnded = <E>(span: Tracer.AnySpan, exit: Exit.Exit<StepResult, E>, tokens: TokenUsage | undefined) =>
  span._tag !== "Span" ? undefined : set(span, {
    ...usage(tokens),
    ...(Exit.isSuccess(exit)
      ? {
        "effect_swarm.step.tool_calls": exit.value.toolCalls.length,
        "effect_swarm.step.retry": typeof exit.value.metadata[retryKey] === "string"
          ? exit.value.metadata[retryKey] as string
          : undefined
      }
      : { "error.type": "step_failed" })
  })

/** @internal */
export const toolStarted = (span: Tracer.AnySpan, ctx: ToolCallContext) =>
  span._tag !== "Span" ? undefined : set(span, {
    "gen_ai.operation.name": "execute_tool",
    "gen_ai.tool.name": ctx.toolName,
    "gen_ai.tool.call.id": ctx.toolCallId,
    "gen_ai.tool.type": "function",
    "gen_ai.agent.name": ctx.agentName
  })

/** The tool's arguments as the middlewares left them (content: only when captured). @internal */
export const toolArguments = (span: Tracer.AnySpan, ctx: ToolCallContext) =>
  span._tag !== "Span" ? undefined : set(span, { "gen_ai.tool.call.arguments": contentText(ctx.args) })

/** @internal */
export const toolEnded = <E>(span: Tracer.AnySpan, exit: Exit.Exit<ToolCallResult, E>, capture: boolean) =>
  span._tag !== "Span" ? undefined : set(
    span,
    Exit.isSuccess(exit)
      ? {
        "effect_swarm.tool.status": exit.value.status,
        "error.type": exit.value.status === "error" ? exit.value.error?.code ?? "E_TOOL_ERROR" : undefined,
        "gen_ai.tool.call.result": capture
          ? contentText(exit.value.status === "ok" ? exit.value.output : exit.value.error?.message)
          : undefined
      }
      : { "effect_swarm.tool.status": "failed", "error.type": "tool_failed" }
  )
