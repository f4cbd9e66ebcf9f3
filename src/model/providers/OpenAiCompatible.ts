/**
 * The `openai-compatible` provider: OpenAI Chat Completions (`POST {endpoint}/chat/completions`), the API
 * llama.cpp, Ollama, vLLM, LM Studio, OpenRouter, Groq and Together speak. The key is optional.
 *
 * Quirks handled (each has a fixture in test/model/fixtures/openai-compatible):
 * - tool calls without an id, or with an empty one (llama.cpp, Ollama streaming, vLLM streaming, LM
 *   Studio): a fresh `call_…` id is assigned;
 * - tool-call arguments in one chunk (Ollama) or many (OpenAI, vLLM), or as a JSON object instead of a
 *   string;
 * - `finish_reason: "stop"` with tool calls (Ollama, some OpenAI models) reads as `tool-calls`;
 * - usage in a last chunk with no choices (`stream_options.include_usage`), or under `x_groq.usage` (Groq);
 * - reasoning text in `reasoning_content` (llama.cpp, vLLM, DeepSeek) or `reasoning` (OpenRouter, Ollama);
 * - SSE comment lines (`: OPENROUTER PROCESSING`) and an `error` object inside a 200 stream (OpenRouter).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as Stream from "effect/Stream"
import type { Json, MessageData } from "../../conversation/Message.js"
import * as A from "../internal/assemble.js"
import * as Http from "../internal/http.js"
import { dataUrl, encodeMessages as encodeWith, type Writers } from "../internal/openAiMessages.js"
import * as Streaming from "../internal/streaming.js"
import type { CallParams, FinishReason, Request, Response, Service, StreamPart, ToolChoice, Usage } from "../Model.js"
import type { ModelError } from "../ModelError.js"

type Body = { [key: string]: Json }

const userContent = (data: MessageData): Json => {
  if (typeof data.content === "string") return data.content
  const parts: Array<Json> = []
  let onlyText = true
  for (const part of data.content) {
    if (part.type === "text") parts.push({ type: "text", text: part.text })
    else if (part.type === "image") {
      onlyText = false
      parts.push({ type: "image_url", image_url: { url: dataUrl(part.image, part.mediaType) } })
    } else if (part.type === "file") {
      onlyText = false
      parts.push({
        type: "file",
        file: {
          file_data: dataUrl(part.data, part.mediaType),
          ...(part.filename === undefined ? {} : { filename: part.filename })
        }
      })
    }
  }
  // Plain text as a string: older llama.cpp and Ollama builds reject content arrays.
  return onlyText ? A.textOf(data.content) : parts
}

const writers: Writers = {
  system: (out, text) => out.push({ role: "system", content: text }),
  assistant: (out, text, calls) =>
    out.push(
      calls.length === 0 ? { role: "assistant", content: text } : {
        role: "assistant",
        content: text === "" ? null : text,
        tool_calls: calls.map((c) => ({
          id: c.id,
          type: "function",
          function: { name: c.name, arguments: A.argumentsText(c.arguments) }
        }))
      }
    ),
  toolResult: (out, r) => out.push({ role: "tool", tool_call_id: r.id, content: r.output }),
  user: (out, data) => out.push({ role: "user", content: userContent(data) })
}

/** Our messages as Chat Completions messages; the system prompt first. */
export const encodeMessages = (request: Request): Array<Json> =>
  encodeWith(
    request,
    writers,
    request.system !== undefined && request.system !== "" ? [{ role: "system", content: request.system }] : []
  )

const toolChoice = (choice: ToolChoice): Json =>
  typeof choice === "string" ? choice : { type: "function", function: { name: choice.tool } }

const params = (body: Body, p: CallParams | undefined) => {
  if (p === undefined) return
  if (p.temperature !== undefined) body.temperature = p.temperature
  if (p.maxTokens !== undefined) body.max_tokens = p.maxTokens
  if (p.topP !== undefined) body.top_p = p.topP
  if (p.topK !== undefined) body.top_k = p.topK
  if (p.stop !== undefined) body.stop = [...p.stop]
  if (p.seed !== undefined) body.seed = p.seed
  if (p.frequencyPenalty !== undefined) body.frequency_penalty = p.frequencyPenalty
  if (p.presencePenalty !== undefined) body.presence_penalty = p.presencePenalty
}

/** The request body. `providerOptions` are merged last, so they can set any field. */
export const encode = (model: string, request: Request, stream: boolean): Body => {
  const body: Body = { model, messages: encodeMessages(request) }
  const tools = request.tools ?? []
  if (tools.length > 0) {
    body.tools = tools.map((t) => ({
      type: "function",
      function: {
        name: t.name,
        ...(t.description === undefined ? {} : { description: t.description }),
        parameters: A.parametersOf(t)
      }
    }))
  }
  if (request.toolChoice !== undefined) body.tool_choice = toolChoice(request.toolChoice)
  params(body, request.params)
  if (stream) {
    body.stream = true
    body.stream_options = { include_usage: true }
  }
  return request.params?.providerOptions === undefined ? body : { ...body, ...request.params.providerOptions }
}

/** A Chat Completions `finish_reason` (and what compatible servers send instead) as ours. */
export const finishReason = (raw: string | undefined): FinishReason => {
  switch (raw) {
    case "stop":
    case "end_turn":
    case "stop_sequence":
    case "eos":
      return "stop"
    case "length":
    case "max_tokens":
      return "length"
    case "tool_calls":
    case "function_call":
    case "tool_call":
    case "tool_use":
      return "tool-calls"
    case "content_filter":
      return "content-filter"
    case "error":
      return "error"
    default:
      return "other"
  }
}

/** `usage` (or Groq's `x_groq.usage`) as ours. */
export const decodeUsage = (u: Record<string, unknown> | undefined): Usage | undefined =>
  u === undefined ? undefined : A.usage({
    inputTokens: A.num(u, "prompt_tokens"),
    outputTokens: A.num(u, "completion_tokens"),
    totalTokens: A.num(u, "total_tokens"),
    cachedInputTokens: A.num(A.obj(u, "prompt_tokens_details"), "cached_tokens"),
    reasoningTokens: A.num(A.obj(u, "completion_tokens_details"), "reasoning_tokens")
  })

const argsOf = (fn: Record<string, unknown> | undefined): string => {
  const args = fn?.arguments
  if (typeof args === "string") return args
  if (args === undefined || args === null) return ""
  return typeof args === "object" && A.nestsTooDeep(args) ? A.tooDeepArguments : JSON.stringify(args)
}

/** An `error` object inside a 200 body (OpenRouter): classified by its numeric `code` when it has one. */
const embeddedError = (settings: Http.Settings, body: unknown, now: number): ModelError | undefined => {
  const error = A.obj(body, "error")
  if (error === undefined) return undefined
  const code = A.num(error, "code")
  return Http.fromStatus(settings, code ?? 502, {}, Http.safeJson(body), now)
}

/** A non-streamed response body as ours. */
export const decode = (
  settings: Http.Settings,
  body: unknown,
  fallbackId: (n: number) => string,
  now: number
): Effect.Effect<Response, ModelError> => {
  const choice = A.arr(body, "choices")?.[0]
  const message = A.obj(choice, "message")
  if (message === undefined) {
    return Effect.fail(
      embeddedError(settings, body, now) ?? Http.protocolError(settings, "no choices[0].message in the body", body)
    )
  }
  const content = message.content
  const toolCalls = (A.arr(message, "tool_calls") ?? []).map((c, i) => {
    const fn = A.obj(c, "function")
    const id = A.str(c, "id")
    return {
      id: id === undefined || id === "" ? fallbackId(i) : id,
      name: A.str(fn, "name") ?? "",
      arguments: A.parseArguments(argsOf(fn))
    }
  })
  const raw = A.str(choice, "finish_reason")
  return Effect.succeed(A.response({
    provider: settings.provider,
    text: typeof content === "string" ? content : "",
    reasoning: A.str(message, "reasoning_content") ?? A.str(message, "reasoning") ?? "",
    toolCalls,
    finishReason: finishReason(raw),
    rawFinishReason: raw,
    usage: decodeUsage(A.obj(body, "usage")) ?? {},
    model: A.str(body, "model"),
    responseId: A.str(body, "id")
  }))
}

/** One streamed chunk into the accumulator; the parts to emit. */
export const decodeChunk = (acc: A.Accumulator, chunk: unknown, out: Array<StreamPart>): void => {
  acc.responseId ??= A.str(chunk, "id")
  acc.model ??= A.str(chunk, "model")
  const choice = A.arr(chunk, "choices")?.[0]
  const delta = A.obj(choice, "delta")
  if (delta !== undefined) {
    const reasoning = A.str(delta, "reasoning_content") ?? A.str(delta, "reasoning")
    if (reasoning !== undefined) acc.addReasoning(reasoning, out)
    const content = A.str(delta, "content")
    if (content !== undefined) acc.addText(content, out)
    const calls = A.arr(delta, "tool_calls") ?? []
    for (let i = 0; i < calls.length; i++) {
      const call = calls[i]
      const fn = A.obj(call, "function")
      const id = A.str(call, "id")
      // Without an index, a call with a new id starts a call and one without continues the last.
      const index = A.num(call, "index")
      const key = index !== undefined ?
        acc.keyFor(index, id) :
        (id !== undefined && id !== "" ? id : lastKey(acc) ?? i)
      acc.startCall(key, id, A.str(fn, "name"), out)
      acc.addArguments(key, argsOf(fn), out)
    }
  }
  const raw = A.str(choice, "finish_reason")
  if (raw !== undefined) {
    acc.rawFinishReason = raw
    acc.finishReason = finishReason(raw)
  }
  const usage = decodeUsage(A.obj(chunk, "usage")) ?? decodeUsage(A.obj(A.obj(chunk, "x_groq"), "usage"))
  if (usage !== undefined) acc.setUsage(usage, out)
}

const lastKey = (acc: A.Accumulator): string | number | undefined => {
  let last: string | number | undefined
  for (const k of acc.calls.keys()) last = k
  return last
}

/**
 * Decodes a Chat Completions SSE stream: deltas, then `Finish`. A stream that ends without `[DONE]` or
 * a finish reason was cut short (`ModelUnavailable`).
 */
export const decodeStream = <R>(
  settings: Http.Settings,
  bytes: Stream.Stream<Uint8Array, ModelError, R>
): Stream.Stream<StreamPart, ModelError, R> =>
  Streaming.decode(settings, bytes, (acc, chunk, out, now) => {
    const error = embeddedError(settings, chunk, now)
    if (error !== undefined) return error
    decodeChunk(acc, chunk, out)
    return undefined
  }, { doneData: "[DONE]", finished: (acc) => acc.rawFinishReason !== undefined })

/**
 * Builds the provider.
 *
 * @example
 * ```ts
 * // Usually built from a Model resource through Model.layer; by hand:
 * // OpenAiCompatible.make({ model: "llama3.1", baseUrl: "http://localhost:11434/v1", apiKey: undefined, headers: {}, transport })
 * ```
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
      Http.post(config, "/chat/completions", headers, encode(config.model, request, false))
    )
    const ids = yield* Streaming.fallbackIds
    const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
    return yield* decode(settings, body, ids, now)
  })
  const stream = (request: Request): Stream.Stream<StreamPart, ModelError> =>
    decodeStream(
      settings,
      Http.stream(
        config.transport,
        Http.post(
          config,
          "/chat/completions",
          { ...headers, accept: "text/event-stream" },
          encode(config.model, request, true)
        )
      )
    )
  return { provider: settings.provider, model: config.model, generate, stream }
}
