/**
 * Shared pieces of every adapter: reading our messages, parsing tool-call arguments without failing the
 * step, building the response in our `Message` shape, and accumulating a stream into that response.
 *
 * @internal
 */
import type { ContentPart, Json, Message, MessageData, ToolCall } from "../../conversation/Message.js"
import type { JsonSchema, ToolCatalogItem } from "../../tool/ToolCatalog.js"
import type { FinishReason, Request, Response, StreamPart, Usage } from "../Model.js"

/** The `data` of each message, and the system prompt first when there is one. */
export const messagesOf = (request: Request): ReadonlyArray<MessageData> => {
  const out: Array<MessageData> = []
  for (const m of request.messages) out.push("data" in m ? (m as Message).data : m as MessageData)
  return out
}

/** A tool's parameters schema as sent: the raw schema, `{type: "object"}` when the catalog has none. */
export const parametersOf = (tool: ToolCatalogItem): JsonSchema => tool.parameters ?? { type: "object", properties: {} }

/** Deeper arguments stay raw text: a value nested 100,000 levels parses, then overflows the stack when stringified. */
export const maxArgumentsDepth = 64

/** Whether JSON text nests deeper than {@link maxArgumentsDepth} (brackets inside strings do not count). */
const tooDeep = (text: string): boolean => {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92 /* "\\" */) i++
      else if (c === 34 /* '"' */) inString = false
    } else if (c === 34) inString = true
    else if (c === 123 || c === 91 /* "{" "[" */) {
      if (++depth > maxArgumentsDepth) return true
    } else if (c === 125 || c === 93 /* "}" "]" */) depth--
  }
  return false
}

/**
 * The model's argument text as our value: a JSON object when it is one, `{}` when empty, else the raw
 * text (invalid JSON, JSON that is not an object, or nested deeper than {@link maxArgumentsDepth}), so the
 * turn loop can answer with a tool error.
 */
export const parseArguments = (raw: string): Json => {
  const text = raw.trim()
  if (text === "") return {}
  if (text.charCodeAt(0) !== 123 /* "{" */ || tooDeep(text)) return raw
  try {
    const value = JSON.parse(text) as Json
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value : raw
  } catch {
    return raw
  }
}

/** Whether a parsed value nests deeper than {@link maxArgumentsDepth} (walked without recursion: it may be deep). */
export const nestsTooDeep = (value: unknown): boolean => {
  const stack: Array<readonly [object, number]> = typeof value === "object" && value !== null ? [[value, 1]] : []
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!
    if (depth > maxArgumentsDepth) return true
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === "object" && child !== null) stack.push([child, depth + 1])
    }
  }
  return false
}

/**
 * What stands for arguments that arrived as a value (Anthropic's non-streamed `tool_use.input`, an Ollama
 * arguments object, an `@effect/ai` call's params) nested deeper than {@link maxArgumentsDepth}: they cannot
 * be shown (stringifying them overflows the stack), so the call keeps this text and the turn loop answers it
 * with a tool error, as it does raw text that nests too deep.
 */
export const tooDeepArguments = `(the arguments nest deeper than ${maxArgumentsDepth} levels and were not kept)`

/** Arguments that arrived as an object: themselves, or {@link tooDeepArguments}. */
export const argumentsValue = (value: { readonly [key: string]: unknown }): Json =>
  nestsTooDeep(value) ? tooDeepArguments : value as Json

/** The longest tool name kept as the model wrote it: no provider accepts a tool longer than 128 characters. */
export const maxToolName = 256

// C0, DEL, C1, and the bidirectional embedding/override/isolate characters.

const controlInName = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g

/**
 * A tool name as the model sent it, made safe to carry into tool errors, runtime events, logs and
 * terminals: control characters shown as `\uXXXX` and a name longer than {@link maxToolName} cut there
 * (with the count of the rest). Neither can name a tool of any catalog, so the call still fails as
 * `E_TOOL_NOT_IN_CATALOG`, with an error the model can read whole.
 */
export const toolName = (raw: string): string => {
  const shown = raw.replace(controlInName, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`)
  return shown.length > maxToolName ? `${shown.slice(0, maxToolName)}...(${shown.length - maxToolName} more)` : shown
}

const replayable = /^[a-zA-Z0-9_-]{1,64}$/

/**
 * The name an earlier call is replayed under: as is when the step's catalog has it or it fits every
 * provider's pattern (`^[a-zA-Z0-9_-]{1,64}$`); else (a name the model made up: `multi_tool_use.parallel`,
 * an empty one) its characters outside the pattern become `_`, cut to 64. OpenAI rejects a request whose
 * history holds such a name (HTTP 400 `does not match pattern`), which failed every later step of the
 * conversation.
 */
export const replayName = (name: string, catalog: ReadonlySet<string>): string => {
  if (catalog.has(name) || replayable.test(name)) return name
  const safe = name.replace(/[^a-zA-Z0-9_-]/g, "_").slice(0, 64)
  return safe === "" ? "unnamed_tool" : safe
}

/** The names of a request's tools. */
export const catalogNames = (request: Request): ReadonlySet<string> => new Set((request.tools ?? []).map((t) => t.name))

/** Arguments as provider text: objects as JSON, raw text (a call that had invalid arguments) as it was. */
export const argumentsText = (args: Json): string => typeof args === "string" ? args : JSON.stringify(args)

/** Arguments as a provider object (Anthropic `input`): raw text is wrapped so it still replays. */
export const argumentsObject = (args: Json): { readonly [key: string]: Json } =>
  typeof args === "object" && args !== null && !Array.isArray(args) ?
    args as { readonly [key: string]: Json } :
    { _raw: args }

/** Assistant tool calls of a message: the `toolCalls` field and `tool-call` content parts. */
export const toolCallsOf = (data: MessageData): ReadonlyArray<ToolCall> => {
  const calls: Array<ToolCall> = [...(data.toolCalls ?? [])]
  if (typeof data.content !== "string") {
    for (const part of data.content) {
      if (part.type === "tool-call") {
        if (calls.some((c) => c.id === part.toolCallId)) continue
        calls.push({ id: part.toolCallId, name: part.toolName, arguments: part.input })
      }
    }
  }
  return calls
}

/** A tool result's text: strings as they are, other JSON stringified. */
export const outputText = (output: Json | ReadonlyArray<ContentPart>): string =>
  typeof output === "string" ? output : JSON.stringify(output)

/** The text of the non-tool parts of a content. */
export const textOf = (content: MessageData["content"]): string =>
  typeof content === "string" ?
    content :
    content.flatMap((p) => p.type === "text" ? [p.text] : []).join("\n")

/** One tool result to send: from a `tool` message, or a `tool-result` part. */
export interface ToolResult {
  readonly id: string
  readonly name: string
  readonly output: string
  readonly isError: boolean
}

/** The tool results a message carries. */
export const toolResultsOf = (data: MessageData): ReadonlyArray<ToolResult> => {
  const results: Array<ToolResult> = []
  if (typeof data.content !== "string") {
    for (const part of data.content) {
      if (part.type === "tool-result") {
        results.push({
          id: part.toolCallId,
          name: part.toolName,
          output: outputText(part.output),
          isError: part.isError === true
        })
      }
    }
  }
  if (data.role === "tool" && data.toolCallId !== undefined && results.length === 0) {
    results.push({
      id: data.toolCallId,
      name: data.toolName ?? "",
      output: textOf(data.content),
      isError: data.isError === true
    })
  }
  return results
}

/** The response's parts, in our shape. */
export interface Parts {
  readonly provider: string
  readonly text: string
  readonly reasoning: string
  /** Provider fields kept on the reasoning part so it can be replayed (Anthropic's `signature`). */
  readonly reasoningExtra?: { readonly [key: string]: Json } | undefined
  readonly toolCalls: ReadonlyArray<ToolCall>
  readonly finishReason: FinishReason
  readonly rawFinishReason: string | undefined
  readonly usage: Usage
  readonly model: string | undefined
  readonly responseId: string | undefined
}

/** Builds the response. Tool calls present with a `stop` finish (Ollama, some gpt-4o replies) mean `tool-calls`. */
export const response = (input: Parts): Response => {
  const parts = input.toolCalls.some((c) => toolName(c.name) !== c.name) ?
    { ...input, toolCalls: input.toolCalls.map((c) => ({ ...c, name: toolName(c.name) })) } :
    input
  const finishReason = parts.toolCalls.length > 0 && parts.finishReason === "stop" ? "tool-calls" : parts.finishReason
  const content: MessageData["content"] = parts.reasoning === "" ?
    parts.text :
    [
      { type: "reasoning", text: parts.reasoning, ...parts.reasoningExtra },
      ...(parts.text === "" ? [] : [{ type: "text" as const, text: parts.text }])
    ]
  const message: MessageData = parts.toolCalls.length > 0 ?
    { role: "assistant", content, toolCalls: parts.toolCalls } :
    { role: "assistant", content }
  return {
    message,
    text: parts.text,
    toolCalls: parts.toolCalls,
    finishReason,
    usage: parts.usage,
    metadata: {
      provider: parts.provider,
      ...(parts.model === undefined ? {} : { model: parts.model }),
      ...(parts.responseId === undefined ? {} : { responseId: parts.responseId }),
      ...(parts.rawFinishReason === undefined ? {} : { rawFinishReason: parts.rawFinishReason })
    }
  }
}

/** Drops undefined usage fields. */
export const usage = (u: { [K in keyof Usage]: number | undefined }): Usage => {
  const out: { -readonly [K in keyof Usage]: number } = {}
  for (const key in u) {
    const value = u[key as keyof Usage]
    if (typeof value === "number" && Number.isFinite(value)) out[key as keyof Usage] = value
  }
  return out
}

/** A number field of an unknown object. */
export const num = (o: unknown, key: string): number | undefined => {
  if (typeof o !== "object" || o === null) return undefined
  const v = (o as Record<string, unknown>)[key]
  return typeof v === "number" ? v : undefined
}

/** A string field of an unknown object. */
export const str = (o: unknown, key: string): string | undefined => {
  if (typeof o !== "object" || o === null) return undefined
  const v = (o as Record<string, unknown>)[key]
  return typeof v === "string" ? v : undefined
}

/** An object field of an unknown object. */
export const obj = (o: unknown, key: string): Record<string, unknown> | undefined => {
  if (typeof o !== "object" || o === null) return undefined
  const v = (o as Record<string, unknown>)[key]
  return typeof v === "object" && v !== null && !Array.isArray(v) ? v as Record<string, unknown> : undefined
}

/** An array field of an unknown object. */
export const arr = (o: unknown, key: string): ReadonlyArray<unknown> | undefined => {
  if (typeof o !== "object" || o === null) return undefined
  const v = (o as Record<string, unknown>)[key]
  return Array.isArray(v) ? v : undefined
}

interface PendingCall {
  id: string
  /** The provider sent the id (it is not a fallback). */
  given: boolean
  name: string
  args: string
}

/**
 * Accumulates stream deltas into the final response. Tool calls are keyed by the provider's index (or
 * block / item id); an id the provider never sends is `fallbackId(n)`.
 */
export class Accumulator {
  text = ""
  reasoning = ""
  reasoningExtra: { [key: string]: Json } = {}
  readonly calls = new Map<string | number, PendingCall>()
  /** Where a provider index's deltas go once a second call arrived at that index (see {@link keyFor}). */
  private readonly moved = new Map<number, string>()
  usage: Usage = {}
  finishReason: FinishReason = "other"
  rawFinishReason: string | undefined = undefined
  model: string | undefined = undefined
  responseId: string | undefined = undefined
  constructor(readonly provider: string, readonly fallbackId: (n: number) => string) {}

  addText(text: string, out: Array<StreamPart>) {
    if (text === "") return
    this.text += text
    out.push({ _tag: "TextDelta", text })
  }

  addReasoning(text: string, out: Array<StreamPart>) {
    if (text === "") return
    this.reasoning += text
    out.push({ _tag: "ReasoningDelta", text })
  }

  /** The key of the call whose deltas arrive at `index` now. */
  keyOf(index: number): string | number {
    return this.moved.get(index) ?? index
  }

  /**
   * The key of a call announced at the provider's `index` with `id`: a call of its own when the index
   * already holds a call with another id the provider gave (a server numbering every call 0, or a replayed
   * block index), so two calls are never merged into one with both argument texts run together.
   */
  keyFor(index: number, id: string | undefined): string | number {
    const key = this.keyOf(index)
    const call = this.calls.get(key)
    if (call === undefined || !call.given || id === undefined || id === "" || id === call.id) return key
    const fresh = `${index}#${this.calls.size}`
    this.moved.set(index, fresh)
    return fresh
  }

  /** Starts (or continues) the call under `key`; returns its position. */
  startCall(key: string | number, id: string | undefined, name: string | undefined, out: Array<StreamPart>): number {
    const existing = this.calls.get(key)
    if (existing !== undefined) {
      if (name !== undefined && name !== "" && existing.name === "") existing.name = name
      return this.indexOf(key)
    }
    const index = this.calls.size
    const call: PendingCall = {
      id: id !== undefined && id !== "" ? id : this.fallbackId(index),
      given: id !== undefined && id !== "",
      name: name ?? "",
      args: ""
    }
    this.calls.set(key, call)
    out.push({ _tag: "ToolCallStart", index, id: call.id, name: toolName(call.name) })
    return index
  }

  addArguments(key: string | number, chunk: string, out: Array<StreamPart>) {
    if (chunk === "") return
    const call = this.calls.get(key)
    if (call === undefined) return
    call.args += chunk
    out.push({ _tag: "ToolCallDelta", index: this.indexOf(key), argumentsDelta: chunk })
  }

  /** Replaces a call's arguments (a provider that sends the whole arguments again when the call is done). */
  setArguments(key: string | number, args: string) {
    const call = this.calls.get(key)
    if (call !== undefined) call.args = args
  }

  setUsage(usage: Usage, out: Array<StreamPart>) {
    this.usage = { ...this.usage, ...usage }
    out.push({ _tag: "Usage", usage: this.usage })
  }

  private indexOf(key: string | number): number {
    let i = 0
    for (const k of this.calls.keys()) {
      if (k === key) return i
      i++
    }
    return -1
  }

  finish(): Response {
    const toolCalls: Array<ToolCall> = []
    for (const call of this.calls.values()) {
      toolCalls.push({ id: call.id, name: call.name, arguments: parseArguments(call.args) })
    }
    return response({
      provider: this.provider,
      text: this.text,
      reasoning: this.reasoning,
      reasoningExtra: this.reasoningExtra,
      toolCalls,
      finishReason: this.finishReason,
      rawFinishReason: this.rawFinishReason,
      usage: this.usage,
      model: this.model,
      responseId: this.responseId
    })
  }
}
