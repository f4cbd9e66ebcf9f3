/**
 * The `effect-ai` provider: a bridge from any `@effect/ai` `LanguageModel` layer (Google, Bedrock,
 * OpenRouter, the OpenAI and Anthropic packages, ...) to our {@link Model} service, for users who bring
 * one. `@effect/ai` (^0.37) is an optional peer dependency: only this module imports it, and it is not
 * in the package barrel; import it as `effect-swarm/model/providers/EffectAi`.
 *
 * What the bridge does and costs (measured in BENCHMARKS.md, `model`):
 * - Messages are built as `Prompt.Message` values (no decoding); tools are `@effect/ai` `Tool`s whose
 *   parameters schema carries the catalog's raw JSON Schema (providers send it unchanged), built once
 *   per catalog item and cached. Tool calls are handed back unexecuted (`disableToolCallResolution`).
 * - **Per-step cost**: `@effect/ai` 0.37 rebuilds and compiles its response decoder for the toolkit on
 *   every call, about 0.4 ms per tool (8 tools ≈ 4 ms, 32 tools ≈ 15 ms), against tens of
 *   microseconds for our own adapters.
 * - **Unknown tool names and non-object arguments fail the whole call inside `@effect/ai`** (its
 *   decoder); the bridge reports that as `ModelProtocolError` instead of returning the call.
 * - Call parameters (`temperature`, `maxTokens`, ...) are not forwarded: `@effect/ai` takes them in
 *   its provider layer's config (for example `OpenAiLanguageModel.layer({ model, config })`).
 * - Errors are mapped to ours (`HttpResponseError` by status, with the same rules as the HTTP path)
 *   and go through the same retry policy and per-call timeout.
 * - `stream` is `@effect/ai`'s `streamText` turned into our parts (text, reasoning, tool-call argument
 *   deltas, usage, `Finish`), under the same idle timeout; a stream is not retried once started.
 *
 * @since 0.1.0
 */
import type * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as Tool from "@effect/ai/Tool"
import type * as Toolkit from "@effect/ai/Toolkit"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { Json, MessageData, ToolCall } from "../../conversation/Message.js"
import type { ToolCatalogItem } from "../../tool/ToolCatalog.js"
import * as A from "../internal/assemble.js"
import * as Http from "../internal/http.js"
import * as Streaming from "../internal/streaming.js"
import { guard } from "../internal/usage.js"
import {
  Model,
  type Request,
  type Response as ModelResponse,
  type Service,
  type StreamPart,
  type ToolChoice
} from "../Model.js"
import { type ModelError, ModelProtocolError, ModelUnavailable } from "../ModelError.js"

const passthrough = Schema.Struct({}, Schema.Record({ key: Schema.String, value: Schema.Unknown }))

const makeTool = (item: ToolCatalogItem) => {
  const schema = A.parametersOf(item)
  // `@effect/ai` uses a jsonSchema annotation verbatim only when it has a type (else it merges it).
  const jsonSchema = "type" in schema || "oneOf" in schema || "anyOf" in schema || "$ref" in schema ?
    schema :
    { type: "object", ...schema }
  return Tool.make(item.name, item.description === undefined ? {} : { description: item.description })
    .setParameters(passthrough.annotations({ jsonSchema }))
}

/**
 * An `@effect/ai` tool built from a catalog item.
 *
 * @since 0.1.0
 * @category models
 */
export type BridgeTool = ReturnType<typeof makeTool>

const tools = new WeakMap<ToolCatalogItem, BridgeTool>()

const toolOf = (item: ToolCatalogItem): BridgeTool => {
  let tool = tools.get(item)
  if (tool === undefined) {
    tool = makeTool(item)
    tools.set(item, tool)
  }
  return tool
}

const toolkitOf = (catalog: ReadonlyArray<ToolCatalogItem>): Toolkit.WithHandler<Record<string, BridgeTool>> => {
  const record: Record<string, BridgeTool> = {}
  for (const item of catalog) record[item.name] = toolOf(item)
  return { tools: record, handle: (name) => Effect.dieMessage(`tool ${String(name)} is run by the turn loop`) }
}

const userParts = (data: MessageData): Array<Prompt.UserMessagePart> => {
  if (typeof data.content === "string") return [Prompt.makePart("text", { text: data.content })]
  const parts: Array<Prompt.UserMessagePart> = []
  for (const part of data.content) {
    if (part.type === "text") parts.push(Prompt.makePart("text", { text: part.text }))
    else if (part.type === "image") {
      parts.push(Prompt.makePart("file", { mediaType: part.mediaType ?? "image/png", data: part.image }))
    } else if (part.type === "file") {
      parts.push(Prompt.makePart("file", {
        mediaType: part.mediaType,
        data: part.data,
        ...(part.filename === undefined ? {} : { fileName: part.filename })
      }))
    }
  }
  return parts
}

/** Our request as an `@effect/ai` prompt (constructed, not decoded). */
export const promptOf = (request: Request): Prompt.Prompt => {
  const messages: Array<Prompt.Message> = []
  if (request.system !== undefined && request.system !== "") {
    messages.push(Prompt.makeMessage("system", { content: request.system }))
  }
  for (const data of A.messagesOf(request)) {
    switch (data.role) {
      case "system":
        messages.push(Prompt.makeMessage("system", { content: A.textOf(data.content) }))
        break
      case "assistant": {
        const content: Array<Prompt.AssistantMessagePart> = []
        const text = A.textOf(data.content)
        if (text !== "") content.push(Prompt.makePart("text", { text }))
        for (const c of A.toolCallsOf(data)) {
          content.push(
            Prompt.makePart("tool-call", { id: c.id, name: c.name, params: c.arguments, providerExecuted: false })
          )
        }
        messages.push(Prompt.makeMessage("assistant", { content }))
        break
      }
      case "tool":
      case "user": {
        const results = A.toolResultsOf(data)
        if (results.length > 0) {
          messages.push(Prompt.makeMessage("tool", {
            content: results.map((r) =>
              Prompt.makePart("tool-result", {
                id: r.id,
                name: r.name,
                result: r.output,
                isFailure: r.isError,
                providerExecuted: false
              })
            )
          }))
        }
        if (data.role === "user") {
          const parts = userParts(
            typeof data.content === "string"
              ? data
              : { ...data, content: data.content.filter((p) => p.type !== "tool-result") }
          )
          if (parts.length > 0) messages.push(Prompt.makeMessage("user", { content: parts }))
        }
        break
      }
    }
  }
  return Prompt.fromMessages(messages)
}

const toolChoiceOf = (choice: ToolChoice | undefined) =>
  choice === undefined ? undefined : typeof choice === "string" ? choice : { tool: choice.tool }

/** An `@effect/ai` error as ours. */
export const fromAiError = (settings: Http.Settings, error: AiError.AiError, now: number): ModelError => {
  switch (error._tag) {
    case "HttpResponseError":
      return error.reason === "StatusCode" ?
        Http.fromStatus(settings, error.response.status, error.response.headers, error.body ?? error.message, now) :
        new ModelProtocolError({ provider: settings.provider, detail: error.message })
    case "HttpRequestError":
      return new ModelUnavailable({ provider: settings.provider, providerMessage: error.message })
    case "MalformedInput":
    case "MalformedOutput":
    case "UnknownError":
      return new ModelProtocolError({ provider: settings.provider, detail: error.message })
  }
}

/** The bridge's settings: retries and timeout as for the HTTP providers. */
export interface Options {
  readonly model?: string | undefined
  readonly maxRetries?: number | undefined
  readonly timeout?: Duration.DurationInput | undefined
  /** A whole call, a stream included (default: an hour, or `timeout` when larger). */
  readonly totalTimeout?: Duration.DurationInput | undefined
}

/**
 * Builds the bridge over the `LanguageModel` in context.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as EffectAi from "effect-swarm/model/providers/EffectAi"
 * // with an @effect/ai LanguageModel layer provided:
 * const model = EffectAi.make({ model: "gemini-2.5-flash" })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options?: Options): Effect.Effect<Service, never, LanguageModel.LanguageModel> =>
  Effect.gen(function*() {
    const lm = yield* LanguageModel.LanguageModel
    const settings: Http.Settings = {
      provider: "effect-ai",
      maxRetries: options?.maxRetries ?? Http.defaults.maxRetries,
      timeout: options?.timeout === undefined ? Http.defaults.timeout : Duration.decode(options.timeout),
      totalTimeout: options?.totalTimeout === undefined ? undefined : Duration.decode(options.totalTimeout),
      baseDelay: Http.defaults.baseDelay,
      maxRetryWait: Http.defaults.maxRetryWait,
      keyHint: "the @effect/ai provider layer's key"
    }
    const call = (request: Request): Effect.Effect<ModelResponse, ModelError> =>
      Effect.gen(function*() {
        const choice = toolChoiceOf(request.toolChoice)
        const catalog = request.tools ?? []
        const result = yield* lm.generateText({
          prompt: promptOf(request),
          toolkit: toolkitOf(catalog),
          disableToolCallResolution: true,
          ...(choice === undefined ? {} : { toolChoice: choice })
        }).pipe(
          Effect.catchAll((error) =>
            Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.fail(fromAiError(settings, error, now)))
          )
        )
        let model: string | undefined
        let responseId: string | undefined
        let reasoning = ""
        for (const part of result.content) {
          if (part.type === "response-metadata") {
            model = Option.getOrUndefined(part.modelId)
            responseId = Option.getOrUndefined(part.id)
          } else if (part.type === "reasoning") reasoning += part.text
        }
        const toolCalls: Array<ToolCall> = result.toolCalls.map((c) => ({
          id: c.id,
          name: c.name,
          arguments: typeof c.params === "object" && c.params !== null && A.nestsTooDeep(c.params) ?
            A.tooDeepArguments :
            c.params as Json
        }))
        const reason = result.finishReason
        return A.response({
          provider: settings.provider,
          text: result.text,
          reasoning,
          toolCalls,
          finishReason: reason === "pause" ? "stop" : reason === "unknown" ? "other" : reason,
          rawFinishReason: reason,
          usage: A.usage({
            inputTokens: result.usage.inputTokens,
            outputTokens: result.usage.outputTokens,
            totalTokens: result.usage.totalTokens,
            cachedInputTokens: result.usage.cachedInputTokens,
            reasoningTokens: result.usage.reasoningTokens
          }),
          model: model ?? options?.model,
          responseId
        })
      }).pipe(
        Effect.timeoutFail({ duration: settings.timeout, onTimeout: () => Http.timeoutError(settings) }),
        Effect.retry(Http.retryPolicy(settings)),
        (effect) => Http.withinCall(settings, effect)
      )
    const generate = Effect.fn("Model.generate")(function*(request: Request) {
      return yield* call(request)
    })
    const stream = (request: Request): Stream.Stream<StreamPart, ModelError> =>
      Stream.unwrap(Effect.map(Streaming.fallbackIds, (ids) => {
        const acc = new A.Accumulator(settings.provider, ids)
        let finished = false
        const choice = toolChoiceOf(request.toolChoice)
        const onPart = (part: Response.StreamPart<Record<string, BridgeTool>>): Array<StreamPart> => {
          const out: Array<StreamPart> = []
          switch (part.type) {
            case "response-metadata":
              acc.model = Option.getOrUndefined(part.modelId) ?? acc.model
              acc.responseId = Option.getOrUndefined(part.id) ?? acc.responseId
              break
            case "text-delta":
              acc.addText(part.delta, out)
              break
            case "reasoning-delta":
              acc.addReasoning(part.delta, out)
              break
            case "tool-params-start":
              acc.startCall(part.id, part.id, part.name, out)
              break
            case "tool-params-delta":
              acc.addArguments(part.id, part.delta, out)
              break
            case "tool-call":
              acc.startCall(part.id, part.id, part.name, out)
              acc.setArguments(
                part.id,
                typeof part.params === "object" && part.params !== null && A.nestsTooDeep(part.params) ?
                  A.tooDeepArguments :
                  JSON.stringify(part.params)
              )
              break
            case "finish":
              finished = true
              acc.rawFinishReason = part.reason
              acc.finishReason = part.reason === "pause" ? "stop" : part.reason === "unknown" ? "other" : part.reason
              acc.setUsage(
                A.usage({
                  inputTokens: part.usage.inputTokens,
                  outputTokens: part.usage.outputTokens,
                  totalTokens: part.usage.totalTokens,
                  cachedInputTokens: part.usage.cachedInputTokens,
                  reasoningTokens: part.usage.reasoningTokens
                }),
                out
              )
              break
          }
          return out
        }
        return lm.streamText({
          prompt: promptOf(request),
          toolkit: toolkitOf(request.tools ?? []),
          disableToolCallResolution: true,
          ...(choice === undefined ? {} : { toolChoice: choice })
        }).pipe(
          Stream.catchAll((error) =>
            Stream.fromEffect(
              Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.fail(fromAiError(settings, error, now)))
            )
          ),
          Stream.timeoutFail(() => Http.timeoutError(settings), settings.timeout),
          (parts) => Http.streamWithinCall(settings, parts),
          Stream.mapConcat(onPart),
          Stream.concat(Stream.suspend(() =>
            finished ?
              Stream.succeed<StreamPart>({ _tag: "Finish", response: acc.finish() }) :
              Stream.fail(Http.cutShort(settings))
          ))
        )
      }))
    return guard(
      {
        provider: settings.provider,
        model: options?.model ?? "effect-ai",
        generate,
        stream
      } satisfies Service
    )
  })

/**
 * The {@link Model} layer over the `LanguageModel` in context.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import * as EffectAi from "effect-swarm/model/providers/EffectAi"
 * declare const GeminiLayer: Layer.Layer<import("@effect/ai/LanguageModel").LanguageModel>
 * const ModelLive = EffectAi.layer({ model: "gemini-2.5-flash" }).pipe(Layer.provide(GeminiLayer))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<Model, never, LanguageModel.LanguageModel> =>
  Layer.effect(Model, make(options))
