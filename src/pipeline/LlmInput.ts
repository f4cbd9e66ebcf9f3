/**
 * The summary of the model input logged in `step.started.llmInputMessages` (goondan E4 and P11): at
 * most 64 messages (the most recent), each text piece capped at 2000 characters plus `...` with
 * `truncated: true`; tool calls and results JSON-stringified; `contentSource` is `verbatim` for plain
 * text and `summary` whenever tool parts, non-text parts or truncation are involved.
 *
 * Unlike the reference, every role is summarised (system and tool messages reach the model here), and
 * the summary is taken after the step middlewares ran, so what is logged is what the model gets.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import type { Message } from "../conversation/Message.js"
import { ContextView, type LlmInputMessage, type LlmInputPart } from "../event/RuntimeEvent.js"

/**
 * The most messages in a summary.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxMessages = 64

/**
 * The most characters of one text piece.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxChars = 2000

/**
 * The metadata key through which a step may supply its own summary (the reference's
 * `runtime.llmInputMessages`); it is sanitised, not trusted.
 *
 * @since 0.1.0
 * @category constants
 */
export const metadataKey = "runtime.llmInputMessages"

const cap = (s: string): { text: string; truncated: boolean } =>
  s.length > maxChars ? { text: s.slice(0, maxChars) + "...", truncated: true } : { text: s, truncated: false }

const stringify = (value: unknown): string => {
  if (typeof value === "string") return value
  try {
    return JSON.stringify(value) ?? "null"
  } catch {
    return String(value)
  }
}

// Messages are immutable values: summarise each one once. The summaries are frozen and remembered, so
// `sanitize` hands them on as they are instead of rebuilding every message's summary every step.
const cache = new WeakMap<Message, LlmInputMessage>()
const trusted = new WeakSet<object>()

const freeze = (summary: LlmInputMessage): LlmInputMessage => {
  if (summary.parts !== undefined) {
    for (const part of summary.parts) Object.freeze(part)
    Object.freeze(summary.parts)
  }
  trusted.add(Object.freeze(summary))
  return summary
}

const summarizeOne = (message: Message): LlmInputMessage => {
  const role = message.data.role
  const content = message.data.content
  if (typeof content === "string" && (message.data.toolCalls === undefined || message.data.toolCalls.length === 0)) {
    const { text, truncated } = cap(content)
    return truncated
      ? { role, content: text, contentSource: "summary", parts: [{ type: "text", text, truncated: true }] }
      : { role, content: text, contentSource: "verbatim", parts: [{ type: "text", text }] }
  }
  const parts: Array<LlmInputPart> = []
  const lines: Array<string> = []
  let summary = false
  const add = (part: LlmInputPart, line: string, truncated: boolean) => {
    parts.push(part)
    lines.push(line)
    if (truncated) summary = true
  }
  const items = typeof content === "string"
    ? content.length === 0 ? [] : [{ type: "text" as const, text: content }]
    : content
  for (const part of items) {
    switch (part.type) {
      case "text": {
        const { text, truncated } = cap(part.text)
        add(truncated ? { type: "text", text, truncated: true } : { type: "text", text }, text, truncated)
        break
      }
      case "tool-call": {
        const { text, truncated } = cap(stringify(part.input))
        summary = true
        add(
          truncated
            ? { type: "tool-call", toolCallId: part.toolCallId, toolName: part.toolName, input: text, truncated: true }
            : { type: "tool-call", toolCallId: part.toolCallId, toolName: part.toolName, input: text },
          `[tool-call:${part.toolName}] ${text}`,
          truncated
        )
        break
      }
      case "tool-result": {
        const { text, truncated } = cap(stringify(part.output))
        summary = true
        add(
          truncated
            ? {
              type: "tool-result",
              toolCallId: part.toolCallId,
              toolName: part.toolName,
              output: text,
              truncated: true
            }
            : { type: "tool-result", toolCallId: part.toolCallId, toolName: part.toolName, output: text },
          `[tool-result:${part.toolName}] ${text}`,
          truncated
        )
        break
      }
      default:
        summary = true
        lines.push(`[${part.type}]`)
    }
  }
  for (const call of message.data.toolCalls ?? []) {
    const { text, truncated } = cap(stringify(call.arguments))
    summary = true
    add(
      truncated
        ? { type: "tool-call", toolCallId: call.id, toolName: call.name, input: text, truncated: true }
        : { type: "tool-call", toolCallId: call.id, toolName: call.name, input: text },
      `[tool-call:${call.name}] ${text}`,
      truncated
    )
  }
  if (role === "tool" && typeof content === "string") summary = true
  return {
    role,
    content: lines.join("\n"),
    contentSource: summary ? "summary" : "verbatim",
    ...(parts.length === 0 ? {} : { parts })
  }
}

/**
 * Summarises the model input: the last {@link maxMessages} messages, after `first` when given (the
 * system prompt, which is not in the conversation: it then takes one of the {@link maxMessages}).
 * `undefined` when there are none.
 *
 * @example
 * ```ts
 * import { LlmInput } from "effect-swarm"
 * LlmInput.summarize(conversation.messages)
 * // [{ role: "user", content: "Fix this bug.", contentSource: "verbatim", parts: [{ type: "text", text: "Fix this bug." }] }]
 * ```
 *
 * @since 0.1.0
 * @category summarising
 */
export const summarize = (
  messages: ReadonlyArray<Message>,
  first?: Message | undefined
): ReadonlyArray<LlmInputMessage> | undefined => {
  const lead = first === undefined ? 0 : 1
  if (messages.length + lead === 0) return undefined
  const start = Math.max(0, messages.length - (maxMessages - lead))
  const out: Array<LlmInputMessage> = new Array(messages.length - start + lead)
  if (first !== undefined) out[0] = summaryOf(first)
  for (let i = start; i < messages.length; i++) out[i - start + lead] = summaryOf(messages[i]!)
  return out
}

const summaryOf = (message: Message): LlmInputMessage => {
  let summary = cache.get(message)
  if (summary === undefined) {
    summary = freeze(summarizeOne(message))
    cache.set(message, summary)
  }
  return summary
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const sanitizePart = (u: unknown): LlmInputPart | undefined => {
  if (!isRecord(u)) return undefined
  const truncated = u.truncated === true ? { truncated: true as const } : {}
  switch (u.type) {
    case "text":
      return typeof u.text === "string" ? { type: "text", text: u.text, ...truncated } : undefined
    case "tool-call":
      return typeof u.toolCallId === "string" && typeof u.toolName === "string" && typeof u.input === "string"
        ? { type: "tool-call", toolCallId: u.toolCallId, toolName: u.toolName, input: u.input, ...truncated }
        : undefined
    case "tool-result":
      return typeof u.toolCallId === "string" && typeof u.toolName === "string" && typeof u.output === "string"
        ? { type: "tool-result", toolCallId: u.toolCallId, toolName: u.toolName, output: u.output, ...truncated }
        : undefined
    default:
      return undefined
  }
}

/**
 * Sanitises a summary supplied through `metadata["runtime.llmInputMessages"]` as the reference does
 * (P11): items without a string `role` and `content` are dropped, `contentSource` is kept only when it
 * is `verbatim` or `summary`, and only well-formed parts are kept. `undefined` when nothing is left.
 *
 * @example
 * ```ts
 * import { LlmInput } from "effect-swarm"
 * LlmInput.sanitize([{ role: "user", content: "hi", contentSource: "bogus" }, { role: 1 }])
 * // [{ role: "user", content: "hi" }]
 * ```
 *
 * @since 0.1.0
 * @category summarising
 */
export const sanitize = (u: unknown): ReadonlyArray<LlmInputMessage> | undefined => {
  if (!Array.isArray(u)) return undefined
  const out: Array<LlmInputMessage> = []
  for (const item of u) {
    // A summary `summarize` made (frozen, so nothing changed it since) is valid as it is.
    if (isRecord(item) && trusted.has(item)) {
      out.push(item as unknown as LlmInputMessage)
      continue
    }
    if (!isRecord(item) || typeof item.role !== "string" || typeof item.content !== "string") continue
    const contentSource = item.contentSource === "verbatim" || item.contentSource === "summary"
      ? { contentSource: item.contentSource as "verbatim" | "summary" }
      : {}
    let parts: Array<LlmInputPart> | undefined
    if (Array.isArray(item.parts)) {
      parts = []
      for (const p of item.parts) {
        const part = sanitizePart(p)
        if (part !== undefined) parts.push(part)
      }
    }
    out.push({
      role: item.role,
      content: item.content,
      ...contentSource,
      ...(parts === undefined || parts.length === 0 ? {} : { parts })
    })
  }
  return out.length === 0 ? undefined : out
}

/**
 * The metadata key through which a step middleware (the context window) reports what it sent:
 * `step.started.context` (see `RuntimeEvent.ContextView`).
 *
 * @since 0.1.0
 * @category constants
 */
export const contextKey = "runtime.context"

const isContextView = Schema.is(ContextView)

/**
 * The context report supplied through `metadata["runtime.context"]`, when it has the
 * `RuntimeEvent.ContextView` shape; `undefined` otherwise.
 *
 * @example
 * ```ts
 * import { LlmInput } from "effect-swarm"
 * LlmInput.contextView({ strategy: "window" }) // undefined (sizes missing)
 * ```
 *
 * @since 0.1.0
 * @category summarising
 */
export const contextView = (u: unknown): ContextView | undefined => isContextView(u) ? u : undefined
