/**
 * The `openai` provider: the OpenAI Responses API (`POST {endpoint}/responses`, default endpoint
 * `https://api.openai.com/v1`), stateless (`store: false`; every call sends the whole conversation).
 *
 * - The system prompt goes to `instructions`; assistant tool calls replay as `function_call` items and
 *   tool results as `function_call_output` items; tools are `{type: "function", name, parameters,
 *   strict: false}` with the catalog's schema unchanged (strict mode would reject most YAML schemas).
 * - Parameters: `temperature`, `maxTokens` (`max_output_tokens`), `topP`; the Responses API has no
 *   `stop`, `seed`, `topK` or penalties, so those are not sent. `providerOptions` are merged last
 *   (`reasoning`, `store`, `service_tier`, ...).
 * - Streaming reads the typed events (`response.output_text.delta`,
 *   `response.function_call_arguments.delta`, `response.completed`, ...).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as Stream from "effect/Stream"
import type { Json, MessageData } from "../../conversation/Message.js"
import * as A from "../internal/assemble.js"
import * as Http from "../internal/http.js"
import { dataUrl, encodeMessages, type Writers } from "../internal/openAiMessages.js"
import * as Streaming from "../internal/streaming.js"
import type { FinishReason, Request, Response, Service, StreamPart, ToolChoice, Usage } from "../Model.js"
import type { ModelError } from "../ModelError.js"

type Body = { [key: string]: Json }

const userContent = (data: MessageData): Json => {
  if (typeof data.content === "string") return data.content
  const parts: Array<Json> = []
  for (const part of data.content) {
    if (part.type === "text") parts.push({ type: "input_text", text: part.text })
    else if (part.type === "image") parts.push({ type: "input_image", image_url: dataUrl(part.image, part.mediaType) })
    else if (part.type === "file") {
      parts.push({
        type: "input_file",
        file_data: dataUrl(part.data, part.mediaType),
        ...(part.filename === undefined ? {} : { filename: part.filename })
      })
    }
  }
  return parts
}

const writers: Writers = {
  system: (out, text) => out.push({ role: "system", content: text }),
  assistant: (out, text, calls) => {
    if (text !== "") out.push({ role: "assistant", content: text })
    for (const c of calls) {
      out.push({ type: "function_call", call_id: c.id, name: c.name, arguments: A.argumentsText(c.arguments) })
    }
  },
  toolResult: (out, r) => out.push({ type: "function_call_output", call_id: r.id, output: r.output }),
  user: (out, data) => out.push({ role: "user", content: userContent(data) })
}

/** Our messages as Responses API input items. */
export const encodeInput = (request: Request): Array<Json> => encodeMessages(request, writers)

const toolChoice = (choice: ToolChoice): Json =>
  typeof choice === "string" ? choice : { type: "function", name: choice.tool }

/** The request body. */
export const encode = (model: string, request: Request, stream: boolean): Body => {
  const body: Body = { model }
  if (request.system !== undefined && request.system !== "") body.instructions = request.system
  body.input = encodeInput(request)
  const tools = request.tools ?? []
  if (tools.length > 0) {
    body.tools = tools.map((t) => ({
      type: "function",
      name: t.name,
      ...(t.description === undefined ? {} : { description: t.description }),
      parameters: A.parametersOf(t),
      strict: false
    }))
  }
  if (request.toolChoice !== undefined) body.tool_choice = toolChoice(request.toolChoice)
  const p = request.params
  if (p?.temperature !== undefined) body.temperature = p.temperature
  if (p?.maxTokens !== undefined) body.max_output_tokens = p.maxTokens
  if (p?.topP !== undefined) body.top_p = p.topP
  body.store = false
  if (stream) body.stream = true
  return p?.providerOptions === undefined ? body : { ...body, ...p.providerOptions }
}

/** `usage` as ours. */
export const decodeUsage = (u: Record<string, unknown> | undefined): Usage | undefined =>
  u === undefined ? undefined : A.usage({
    inputTokens: A.num(u, "input_tokens"),
    outputTokens: A.num(u, "output_tokens"),
    totalTokens: A.num(u, "total_tokens"),
    cachedInputTokens: A.num(A.obj(u, "input_tokens_details"), "cached_tokens"),
    reasoningTokens: A.num(A.obj(u, "output_tokens_details"), "reasoning_tokens")
  })

/** The finish reason of a response object: its `status` and `incomplete_details.reason`. */
export const finishReason = (response: unknown, hasToolCalls: boolean): { reason: FinishReason; raw: string } => {
  const status = A.str(response, "status") ?? "completed"
  if (status === "completed") return { reason: hasToolCalls ? "tool-calls" : "stop", raw: status }
  if (status === "incomplete") {
    const why = A.str(A.obj(response, "incomplete_details"), "reason")
    return {
      reason: why === "max_output_tokens" ? "length" : why === "content_filter" ? "content-filter" : "other",
      raw: `${status}:${why ?? "unknown"}`
    }
  }
  return { reason: status === "failed" ? "error" : "other", raw: status }
}

const failedError = (settings: Http.Settings, response: unknown, now: number): ModelError | undefined => {
  const error = A.obj(response, "error")
  if (error === undefined) return undefined
  const code = A.str(error, "code") ?? ""
  const status = code === "rate_limit_exceeded" ? 429 : code === "server_error" ? 500 : code === "" ? 500 : 400
  return Http.fromStatus(settings, status, {}, Http.safeJson({ error }), now)
}

/** A non-streamed response object as ours. */
export const decode = (
  settings: Http.Settings,
  body: unknown,
  now: number
): Effect.Effect<Response, ModelError> => {
  const output = A.arr(body, "output")
  if (output === undefined) {
    return Effect.fail(failedError(settings, body, now) ?? Http.protocolError(settings, "no output in the body", body))
  }
  const failed = A.str(body, "status") === "failed" ? failedError(settings, body, now) : undefined
  if (failed !== undefined) return Effect.fail(failed)
  let text = ""
  let reasoning = ""
  const toolCalls = []
  for (const item of output) {
    const type = A.str(item, "type")
    if (type === "message") {
      for (const part of A.arr(item, "content") ?? []) {
        if (A.str(part, "type") === "output_text") text += A.str(part, "text") ?? ""
        else if (A.str(part, "type") === "refusal") text += A.str(part, "refusal") ?? ""
      }
    } else if (type === "function_call") {
      toolCalls.push({
        id: A.str(item, "call_id") ?? A.str(item, "id") ?? "",
        name: A.str(item, "name") ?? "",
        arguments: A.parseArguments(A.str(item, "arguments") ?? "")
      })
    } else if (type === "reasoning") {
      for (const s of A.arr(item, "summary") ?? []) reasoning += A.str(s, "text") ?? ""
    }
  }
  const finish = finishReason(body, toolCalls.length > 0)
  return Effect.succeed(A.response({
    provider: settings.provider,
    text,
    reasoning,
    toolCalls,
    finishReason: finish.reason,
    rawFinishReason: finish.raw,
    usage: decodeUsage(A.obj(body, "usage")) ?? {},
    model: A.str(body, "model"),
    responseId: A.str(body, "id")
  }))
}

/** One streamed event into the accumulator. Returns an error for `error` / `response.failed`. */
export const decodeEvent = (
  settings: Http.Settings,
  acc: A.Accumulator,
  event: unknown,
  out: Array<StreamPart>,
  now: number
): ModelError | "done" | undefined => {
  const type = A.str(event, "type")
  switch (type) {
    case "response.created":
    case "response.in_progress": {
      const response = A.obj(event, "response")
      acc.responseId ??= A.str(response, "id")
      acc.model ??= A.str(response, "model")
      return undefined
    }
    case "response.output_item.added": {
      const item = A.obj(event, "item")
      if (A.str(item, "type") === "function_call") {
        acc.startCall(
          A.str(item, "id") ?? A.num(event, "output_index") ?? 0,
          A.str(item, "call_id"),
          A.str(item, "name"),
          out
        )
      }
      return undefined
    }
    case "response.output_text.delta":
      acc.addText(A.str(event, "delta") ?? "", out)
      return undefined
    case "response.reasoning_summary_text.delta":
      acc.addReasoning(A.str(event, "delta") ?? "", out)
      return undefined
    case "response.function_call_arguments.delta":
      acc.addArguments(A.str(event, "item_id") ?? A.num(event, "output_index") ?? 0, A.str(event, "delta") ?? "", out)
      return undefined
    case "response.function_call_arguments.done": {
      const args = A.str(event, "arguments")
      if (args !== undefined) acc.setArguments(A.str(event, "item_id") ?? A.num(event, "output_index") ?? 0, args)
      return undefined
    }
    case "response.completed":
    case "response.incomplete":
    case "response.failed": {
      const response = A.obj(event, "response")
      if (type === "response.failed") {
        return failedError(settings, response, now) ??
          Http.protocolError(settings, "response.failed without an error", event)
      }
      acc.responseId ??= A.str(response, "id")
      acc.model = A.str(response, "model") ?? acc.model
      const finish = finishReason(response, acc.calls.size > 0)
      acc.finishReason = finish.reason
      acc.rawFinishReason = finish.raw
      const usage = decodeUsage(A.obj(response, "usage"))
      if (usage !== undefined) acc.setUsage(usage, out)
      return "done"
    }
    case "error":
      return Http.fromStatus(
        settings,
        A.str(event, "code") === "rate_limit_exceeded" ? 429 : 500,
        {},
        Http.safeJson({ error: event }),
        now
      )
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
  const headers: Record<string, string> = config.apiKey === undefined ?
    {} :
    { authorization: `Bearer ${Redacted.value(config.apiKey)}` }
  const generate = Effect.fn("Model.generate")(function*(request: Request) {
    const body = yield* Http.json(
      config.transport,
      Http.post(config, "/responses", headers, encode(config.model, request, false))
    )
    const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
    return yield* decode(settings, body, now)
  })
  const stream = (request: Request): Stream.Stream<StreamPart, ModelError> =>
    Streaming.decode(
      settings,
      Http.stream(
        config.transport,
        Http.post(
          config,
          "/responses",
          { ...headers, accept: "text/event-stream" },
          encode(config.model, request, true)
        )
      ),
      (acc, event, out, now) => decodeEvent(settings, acc, event, out, now)
    )
  return { provider: settings.provider, model: config.model, generate, stream }
}
