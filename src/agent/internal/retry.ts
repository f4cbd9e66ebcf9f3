/**
 * Empty or malformed model output (goondan R9/R10): classified, answered with a corrective user message,
 * retried at most twice, then the turn ends with a clear reason.
 */
import type { Message } from "../../conversation/Message.js"
import type { Response } from "../../model/Model.js"

export type Kind = "empty_output" | "malformed_tool_calls"

export const maxRetries = 2

/** The step metadata key that tells middlewares a retry was asked for. */
export const metadataKey = "runtime.modelRetryKind"

const lastWasToolResult = (messages: ReadonlyArray<Message>) => {
  const last = messages.at(-1)
  return last !== undefined && last.data.role === "tool"
}

/**
 * `malformed_tool_calls` when the model said it called tools and none came; `empty_output` when it
 * said nothing at all, except right after tool results (a model may end a turn that way).
 */
export const classify = (response: Response, messages: ReadonlyArray<Message>): Kind | undefined => {
  if (response.finishReason === "tool-calls" && response.toolCalls.length === 0) return "malformed_tool_calls"
  if (response.toolCalls.length === 0 && response.text.trim() === "") {
    return lastWasToolResult(messages) ? undefined : "empty_output"
  }
  return undefined
}

export const corrective = (kind: Kind): string =>
  kind === "empty_output"
    ? "Your previous response was empty. Respond with text or at least one tool call."
    : "Your previous response announced tool calls but contained none that could be read. " +
      "Call tools with their arguments as one JSON object matching the tool's parameters schema, or answer in text."

export const failure = (kind: Kind) =>
  kind === "empty_output"
    ? {
      code: "E_MODEL_EMPTY_OUTPUT",
      message: `The model returned an empty response ${maxRetries + 1} times in a row; the turn ended. ` +
        "Try again, or make the prompt more specific."
    }
    : {
      code: "E_MODEL_MALFORMED_OUTPUT",
      message: `The model returned unreadable tool calls ${maxRetries + 1} times in a row; the turn ended. ` +
        "Try again later, or use a model with reliable tool calling."
    }
