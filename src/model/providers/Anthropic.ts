/**
 * The `anthropic` provider: the Anthropic Messages API (`POST {endpoint}/messages`, default endpoint
 * `https://api.anthropic.com/v1`, headers `x-api-key` and `anthropic-version: 2023-06-01`).
 *
 * - The system prompt (and any system message of the conversation) goes to `system`; assistant tool
 *   calls replay as `tool_use` blocks and tool results as `tool_result` blocks of a user message;
 *   consecutive messages of one role are merged into one turn, as the API expects alternating turns.
 * - Tools are `{name, description, input_schema}` with the catalog's schema unchanged; tool choice maps
 *   to `auto` / `any` / `none` / `{type: "tool", name}`.
 * - `maxTokens` is required by the API: 4096 when the Agent does not set it. `stop` is
 *   `stop_sequences`; `seed` and penalties do not exist in this API and are not sent.
 * - `providerOptions.cache_control` (for example `{type: "ephemeral"}`) marks three cache breakpoints:
 *   the system prompt, the last tool, and the last block of the last message. Other `providerOptions`
 *   keys are merged into the body (`thinking`, `metadata`, ...).
 * - Extended thinking (`providerOptions.thinking`): thinking text becomes a reasoning part that keeps
 *   its `signature`, and is sent back as a `thinking` block, as the API requires within a tool-use loop.
 *   `redacted_thinking` blocks are not kept.
 * - Usage: `inputTokens` counts every input token (uncached + cache read + cache write),
 *   `cachedInputTokens` the cache reads, `cacheWriteInputTokens` the cache writes.
 * - `overloaded_error` (HTTP 529, or an `error` event inside a stream) is `ModelUnavailable`: retried
 *   when it is the response status.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as Stream from "effect/Stream"
import type { Json, MessageData } from "../../conversation/Message.js"
import * as A from "../internal/assemble.js"
import * as Http from "../internal/http.js"
import * as Streaming from "../internal/streaming.js"
import type { FinishReason, Request, Response, Service, StreamPart, ToolChoice, Usage } from "../Model.js"
import type { ModelError } from "../ModelError.js"

type Body = { [key: string]: Json }
type Block = { [key: string]: Json }

/** The API version header we speak. */
export const apiVersion = "2023-06-01"

/** The `max_tokens` sent when the Agent sets none (the API requires one). */
export const defaultMaxTokens = 4096

const mediaSource = (data: string, mediaType: string | undefined): Json =>
  /^https?:/.test(data) ?
    { type: "url", url: data } :
    { type: "base64", media_type: mediaType ?? "image/png", data: data.replace(/^data:[^,]*,/, "") }

const userBlocks = (data: MessageData): Array<Block> => {
  const blocks: Array<Block> = []
  for (const r of A.toolResultsOf(data)) {
    blocks.push({ type: "tool_result", tool_use_id: r.id, content: r.output, ...(r.isError ? { is_error: true } : {}) })
  }
  if (typeof data.content === "string") {
    if (data.role === "user" && data.content !== "") blocks.push({ type: "text", text: data.content })
    return blocks
  }
  for (const part of data.content) {
    if (part.type === "text" && part.text !== "") blocks.push({ type: "text", text: part.text })
    else if (part.type === "image") blocks.push({ type: "image", source: mediaSource(part.image, part.mediaType) })
    else if (part.type === "file") blocks.push({ type: "document", source: mediaSource(part.data, part.mediaType) })
  }
  return blocks
}

const assistantBlocks = (data: MessageData, catalog: ReadonlySet<string>): Array<Block> => {
  const blocks: Array<Block> = []
  // Thinking comes back first, with its signature: the API requires it in a tool-use loop with thinking on.
  if (typeof data.content !== "string") {
    for (const part of data.content) {
      if (part.type === "reasoning" && typeof part.signature === "string") {
        blocks.push({ type: "thinking", thinking: part.text, signature: part.signature })
      }
    }
  }
  const text = A.textOf(data.content)
  if (text !== "") blocks.push({ type: "text", text })
  for (const c of A.toolCallsOf(data)) {
    blocks.push({
      type: "tool_use",
      id: c.id,
      name: A.replayName(c.name, catalog),
      input: A.argumentsObject(c.arguments)
    })
  }
  return blocks
}

/** Our messages as alternating Messages API turns, and the system text they carry. */
export const encodeMessages = (
  request: Request
): { system: Array<string>; messages: Array<{ role: string; content: Array<Block> }> } => {
  const system: Array<string> = []
  if (request.system !== undefined && request.system !== "") system.push(request.system)
  const messages: Array<{ role: string; content: Array<Block> }> = []
  const catalog = A.catalogNames(request)
  for (const data of A.messagesOf(request)) {
    if (data.role === "system") {
      system.push(A.textOf(data.content))
      continue
    }
    const role = data.role === "assistant" ? "assistant" : "user"
    const blocks = role === "assistant" ? assistantBlocks(data, catalog) : userBlocks(data)
    if (blocks.length === 0) continue
    const last = messages[messages.length - 1]
    if (last !== undefined && last.role === role) last.content.push(...blocks)
    else messages.push({ role, content: blocks })
  }
  return { system, messages }
}

const toolChoice = (choice: ToolChoice): Json =>
  choice === "auto" ?
    { type: "auto" } :
    choice === "required" ?
    { type: "any" } :
    choice === "none" ?
    { type: "none" } :
    { type: "tool", name: choice.tool }

/** The request body. */
export const encode = (model: string, request: Request, stream: boolean): Body => {
  const { cache_control: cacheControl, ...options } = request.params?.providerOptions ?? {}
  const { messages, system } = encodeMessages(request)
  const body: Body = { model, max_tokens: request.params?.maxTokens ?? defaultMaxTokens }
  if (system.length > 0) {
    const text = system.join("\n\n")
    body.system = cacheControl === undefined ? text : [{ type: "text", text, cache_control: cacheControl }]
  }
  if (cacheControl !== undefined && messages.length > 0) {
    const last = messages[messages.length - 1]!.content
    last[last.length - 1] = { ...last[last.length - 1]!, cache_control: cacheControl }
  }
  body.messages = messages
  const tools = request.tools ?? []
  if (tools.length > 0) {
    body.tools = tools.map((t, i) => ({
      name: t.name,
      ...(t.description === undefined ? {} : { description: t.description }),
      input_schema: A.parametersOf(t),
      ...(cacheControl !== undefined && i === tools.length - 1 ? { cache_control: cacheControl } : {})
    }))
  }
  if (request.toolChoice !== undefined) body.tool_choice = toolChoice(request.toolChoice)
  const p = request.params
  if (p?.temperature !== undefined) body.temperature = p.temperature
  if (p?.topP !== undefined) body.top_p = p.topP
  if (p?.topK !== undefined) body.top_k = p.topK
  if (p?.stop !== undefined) body.stop_sequences = [...p.stop]
  if (stream) body.stream = true
  return { ...body, ...options }
}

/** A `stop_reason` as ours. */
export const finishReason = (raw: string | undefined): FinishReason => {
  switch (raw) {
    case "end_turn":
    case "stop_sequence":
    case "pause_turn":
      return "stop"
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length"
    case "tool_use":
      return "tool-calls"
    case "refusal":
      return "content-filter"
    default:
      return "other"
  }
}

/** `usage` as ours. */
export const decodeUsage = (u: Record<string, unknown> | undefined): Usage | undefined => {
  if (u === undefined) return undefined
  const input = A.num(u, "input_tokens")
  const read = A.num(u, "cache_read_input_tokens")
  const write = A.num(u, "cache_creation_input_tokens")
  const output = A.num(u, "output_tokens")
  // Only counts that can be counts are summed: an invalid one is reported (and counted as 0) on its own.
  const count = (n: number | undefined) => n !== undefined && n >= 0 && Number.isFinite(n) ? n : 0
  const allInput = input === undefined ? undefined : input + count(read) + count(write)
  return A.usage({
    inputTokens: allInput,
    outputTokens: output,
    totalTokens: allInput === undefined || output === undefined ? undefined : allInput + output,
    cachedInputTokens: read,
    cacheWriteInputTokens: write
  })
}

/** A non-streamed message as ours. */
export const decode = (settings: Http.Settings, body: unknown, now = 0): Effect.Effect<Response, ModelError> => {
  const content = A.arr(body, "content")
  if (content === undefined) {
    // An error object in a 200 body (`{type: "error", error: {type: "overloaded_error"}}`) is that error.
    return Effect.fail(
      A.obj(body, "error") === undefined ?
        Http.protocolError(settings, "no content in the body", body) :
        Http.fromStatus(settings, Http.errorStatus(body), {}, Http.safeJson(body), now)
    )
  }
  let text = ""
  let reasoning = ""
  let signature: string | undefined
  const toolCalls = []
  for (const block of content) {
    const type = A.str(block, "type")
    if (type === "text") text += A.str(block, "text") ?? ""
    else if (type === "thinking") {
      reasoning += A.str(block, "thinking") ?? ""
      signature = A.str(block, "signature") ?? signature
    } else if (type === "tool_use") {
      const input = A.obj(block, "input")
      toolCalls.push({
        id: A.str(block, "id") ?? "",
        name: A.str(block, "name") ?? "",
        arguments: input === undefined ? {} : A.argumentsValue(input)
      })
    }
  }
  const raw = A.str(body, "stop_reason")
  return Effect.succeed(A.response({
    provider: settings.provider,
    text,
    reasoning,
    reasoningExtra: signature === undefined ? undefined : { signature },
    toolCalls,
    finishReason: finishReason(raw),
    rawFinishReason: raw,
    usage: decodeUsage(A.obj(body, "usage")) ?? {},
    model: A.str(body, "model"),
    responseId: A.str(body, "id")
  }))
}

const streamError = (settings: Http.Settings, event: unknown, now: number): ModelError => {
  const type = A.str(A.obj(event, "error"), "type")
  const status = type === "overloaded_error"
    ? 529
    : type === "rate_limit_error"
    ? 429
    : type === "api_error"
    ? 500
    : 400
  return Http.fromStatus(settings, status, {}, Http.safeJson(event), now)
}

/** One streamed event into the accumulator. */
export const decodeEvent = (
  settings: Http.Settings,
  acc: A.Accumulator,
  event: unknown,
  out: Array<StreamPart>,
  now: number
): ModelError | "done" | undefined => {
  switch (A.str(event, "type")) {
    case "message_start": {
      const message = A.obj(event, "message")
      acc.responseId = A.str(message, "id")
      acc.model = A.str(message, "model")
      const usage = decodeUsage(A.obj(message, "usage"))
      if (usage !== undefined) acc.setUsage(usage, out)
      return undefined
    }
    case "content_block_start": {
      const block = A.obj(event, "content_block")
      const type = A.str(block, "type")
      if (type === "tool_use") {
        const id = A.str(block, "id")
        acc.startCall(acc.keyFor(A.num(event, "index") ?? 0, id), id, A.str(block, "name"), out)
      } else if (type === "text") acc.addText(A.str(block, "text") ?? "", out)
      return undefined
    }
    case "content_block_delta": {
      const delta = A.obj(event, "delta")
      const type = A.str(delta, "type")
      if (type === "text_delta") acc.addText(A.str(delta, "text") ?? "", out)
      else if (type === "thinking_delta") acc.addReasoning(A.str(delta, "thinking") ?? "", out)
      else if (type === "signature_delta") {
        acc.reasoningExtra.signature = String(acc.reasoningExtra.signature ?? "") + (A.str(delta, "signature") ?? "")
      } else if (type === "input_json_delta") {
        acc.addArguments(acc.keyOf(A.num(event, "index") ?? 0), A.str(delta, "partial_json") ?? "", out)
      }
      return undefined
    }
    case "message_delta": {
      const raw = A.str(A.obj(event, "delta"), "stop_reason")
      if (raw !== undefined) {
        acc.rawFinishReason = raw
        acc.finishReason = finishReason(raw)
      }
      const output = A.num(A.obj(event, "usage"), "output_tokens")
      if (output !== undefined) {
        const input = acc.usage.inputTokens
        acc.setUsage({ outputTokens: output, ...(input === undefined ? {} : { totalTokens: input + output }) }, out)
      }
      return undefined
    }
    case "message_stop":
      return "done"
    case "error":
      return streamError(settings, event, now)
    default:
      return undefined
  }
}

/**
 * Builds the provider.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (config: Http.ProviderConfig): Service => {
  const settings = config.transport.settings
  const headers: Record<string, string> = {
    "anthropic-version": apiVersion,
    ...(config.apiKey === undefined ? {} : { "x-api-key": Redacted.value(config.apiKey) })
  }
  const generate = Effect.fn("Model.generate")(function*(request: Request) {
    const body = yield* Http.json(
      config.transport,
      Http.post(config, "/messages", headers, encode(config.model, request, false))
    )
    return yield* decode(settings, body, yield* Effect.clockWith((c) => c.currentTimeMillis))
  })
  const stream = (request: Request): Stream.Stream<StreamPart, ModelError> =>
    Streaming.decode(
      settings,
      Http.stream(
        config.transport,
        Http.post(config, "/messages", { ...headers, accept: "text/event-stream" }, encode(config.model, request, true))
      ),
      (acc, event, out, now) => decodeEvent(settings, acc, event, out, now)
    )
  return { provider: settings.provider, model: config.model, generate, stream }
}
