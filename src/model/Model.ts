/**
 * The step-level model service: one call per step of the turn loop. A request carries the system
 * prompt, our conversation messages, the step's tool catalog (raw JSON Schemas, never compiled per call),
 * the Agent's call parameters and an optional tool choice; a response carries the assistant message in
 * our `Message` shape, the finish reason, token usage and provider metadata.
 *
 * - A tool call whose arguments are not a JSON object keeps its raw text as `arguments` (a string), so
 *   the turn loop can answer it with a tool error; an unknown tool name is returned as is (control
 *   characters escaped, cut at 256 characters), and replayed under a name every provider accepts.
 * - `stream` gives deltas and ends with a `Finish` part holding the response `generate` would return.
 * - Providers: `openai-compatible` (Chat Completions), `openai` (Responses), `anthropic` (Messages),
 *   `effect-ai` (any `@effect/ai` `LanguageModel`) and `scripted`; see {@link layer}.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Stream from "effect/Stream"
import type { Json, Message, MessageData, ToolCall } from "../conversation/Message.js"
import * as Bundle from "../resource/Bundle.js"
import type * as ValueSource from "../resource/ValueSource.js"
import type { ToolCatalog } from "../tool/ToolCatalog.js"
import { buildService } from "./internal/build.js"
import { knownProviders, readPrice } from "./internal/config.js"
import { ModelConfigError, type ModelError } from "./ModelError.js"
import * as Scripted from "./providers/Scripted.js"

/**
 * The Agent's call parameters (`spec.modelConfig.params`). Each provider sends what its API knows and
 * ignores the rest; `providerOptions` is merged into the request body as is (for example Anthropic
 * `cache_control`, OpenAI `reasoning`, OpenRouter `provider`).
 *
 * @since 0.1.0
 * @category models
 */
export interface CallParams {
  readonly temperature?: number | undefined
  readonly maxTokens?: number | undefined
  readonly topP?: number | undefined
  readonly topK?: number | undefined
  readonly stop?: ReadonlyArray<string> | undefined
  readonly seed?: number | undefined
  readonly frequencyPenalty?: number | undefined
  readonly presencePenalty?: number | undefined
  readonly providerOptions?: { readonly [key: string]: Json } | undefined
}

/**
 * Which tools the model may call: any (`auto`, the default), none, at least one, or one named tool.
 *
 * @since 0.1.0
 * @category models
 */
export type ToolChoice = "auto" | "none" | "required" | { readonly tool: string }

/**
 * One model call.
 *
 * @example
 * ```ts
 * import { Model } from "effect-swarm"
 * const request: Model.Request = {
 *   system: "You are terse.",
 *   messages: [{ role: "user", content: "Weather in Oslo?" }],
 *   tools: [{ name: "weather__get", parameters: { type: "object", properties: { city: { type: "string" } } } }]
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Request {
  readonly system?: string | undefined
  /** Conversation messages (or their `data`), oldest first. System messages here are sent as well. */
  readonly messages: ReadonlyArray<Message | MessageData>
  readonly tools?: ToolCatalog | undefined
  readonly params?: CallParams | undefined
  readonly toolChoice?: ToolChoice | undefined
}

/**
 * Why the model stopped.
 *
 * @since 0.1.0
 * @category models
 */
export type FinishReason = "stop" | "length" | "tool-calls" | "content-filter" | "error" | "other"

/**
 * Token usage, as far as the provider reports it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Usage {
  readonly inputTokens?: number | undefined
  readonly outputTokens?: number | undefined
  readonly totalTokens?: number | undefined
  /** Input tokens served from the provider's prompt cache. */
  readonly cachedInputTokens?: number | undefined
  /** Anthropic: input tokens written to the prompt cache. */
  readonly cacheWriteInputTokens?: number | undefined
  readonly reasoningTokens?: number | undefined
}

/**
 * What the provider said about the response.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResponseMetadata {
  readonly provider: string
  /** The model version that answered. */
  readonly model?: string | undefined
  readonly responseId?: string | undefined
  /** The provider's own finish reason, before normalisation. */
  readonly rawFinishReason?: string | undefined
}

/**
 * The result of a model call.
 *
 * @since 0.1.0
 * @category models
 */
export interface Response {
  /** The assistant message: text content (or reasoning and text parts) and `toolCalls`. */
  readonly message: MessageData
  readonly text: string
  readonly toolCalls: ReadonlyArray<ToolCall>
  readonly finishReason: FinishReason
  readonly usage: Usage
  readonly metadata: ResponseMetadata
}

/**
 * A piece of a streamed response. Tool calls are announced with `ToolCallStart` (by `index`, in order)
 * and their argument text arrives in `ToolCallDelta`s; the stream always ends with `Finish`.
 *
 * @since 0.1.0
 * @category models
 */
export type StreamPart =
  | { readonly _tag: "TextDelta"; readonly text: string }
  | { readonly _tag: "ReasoningDelta"; readonly text: string }
  | { readonly _tag: "ToolCallStart"; readonly index: number; readonly id: string; readonly name: string }
  | { readonly _tag: "ToolCallDelta"; readonly index: number; readonly argumentsDelta: string }
  | { readonly _tag: "Usage"; readonly usage: Usage }
  | { readonly _tag: "Finish"; readonly response: Response }

/**
 * The service: `generate` and `stream` one step. Methods have no requirements.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The provider name (`openai-compatible`, `openai`, `anthropic`, `effect-ai`, `scripted`). */
  readonly provider: string
  /** The model name sent to the provider. */
  readonly model: string
  /**
   * The Model resource's `spec.price` (per million tokens): the model-call span carries it as
   * `effect_swarm.price.input_per_million` / `effect_swarm.price.output_per_million`, which the
   * observability layer turns into a cost when its own `prices` table has no entry for the model.
   */
  readonly price?: Price | undefined
  readonly generate: (request: Request) => Effect.Effect<Response, ModelError>
  readonly stream: (request: Request) => Stream.Stream<StreamPart, ModelError>
}

/**
 * The step-level model service.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Model } from "effect-swarm"
 * const program = Effect.gen(function*() {
 *   const model = yield* Model.Model
 *   const response = yield* model.generate({ messages: [{ role: "user", content: "hi" }] })
 *   return response.text
 * })
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class Model extends Context.Tag("effect-swarm/Model")<Model, Service>() {}

/**
 * The providers {@link layer} knows.
 *
 * @since 0.1.0
 * @category constants
 */
export const providers = knownProviders

/**
 * What a model costs, in US dollars per million tokens (a Model resource's `spec.price`).
 *
 * @example
 * ```ts
 * import { Model } from "effect-swarm"
 * const price: Model.Price = { inputPerMillion: 0.4, outputPerMillion: 1.6 }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Price {
  readonly inputPerMillion: number
  readonly outputPerMillion: number
  readonly currency?: "USD" | undefined
}

/**
 * The parts of a Model resource {@link layer} reads (a loaded Bundle's `Resource.ModelResource` fits).
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelResource {
  readonly metadata: { readonly name: string }
  readonly spec: {
    readonly provider: string
    /** Required for every provider but `scripted`. */
    readonly model?: string | undefined
    readonly apiKey?: ValueSource.ValueSource | undefined
    readonly endpoint?: string | undefined
    readonly options?: { readonly [key: string]: unknown } | undefined
    /** What the provider charges per million tokens (see {@link Price}). */
    readonly price?: Price | undefined
    /** The `scripted` provider's steps (a file path is read by the Bundle: use {@link layerFromBundle}). */
    readonly script?: string | ReadonlyArray<Scripted.ScriptStep> | undefined
  }
}

/**
 * Options of {@link layer} and {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface LayerOptions {
  /** The script of a `scripted` model (until the resource carries one, or to override it). */
  readonly script?: ReadonlyArray<Scripted.ScriptStep> | undefined
  /** The HTTP client; defaults to the `HttpClient` in context, else the platform's fetch client. */
  readonly httpClient?: HttpClient.HttpClient | undefined
  /**
   * The most bytes one response may have (a `generate` body, or a whole stream); more fails the call with
   * `ModelProtocolError`. Default 64 MiB.
   */
  readonly maxResponseBytes?: number | undefined
}

/**
 * Builds the service a Model resource describes. Everything that can be wrong with the resource (an
 * unknown provider, a missing key, a missing endpoint, a bad option) fails here with
 * `ModelConfigError`, never at the first call.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Model } from "effect-swarm"
 * const model = Model.make({
 *   metadata: { name: "local" },
 *   spec: { provider: "openai-compatible", model: "llama3.1", endpoint: "http://localhost:11434/v1" }
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (resource: ModelResource, options?: LayerOptions): Effect.Effect<Service, ModelConfigError> =>
  Effect.gen(function*() {
    const price = yield* readPrice(resource)
    const service = yield* buildService(resource, options)
    return price === undefined ? service : { ...service, price }
  })

/**
 * The {@link Model} layer of a Model resource (see {@link make}).
 *
 * @example
 * ```ts
 * import { Model } from "effect-swarm"
 * const ModelLive = Model.layer({
 *   metadata: { name: "gpt" },
 *   spec: { provider: "openai", model: "gpt-4.1", apiKey: { _tag: "Env", env: "OPENAI_API_KEY", required: true } }
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (resource: ModelResource, options?: LayerOptions): Layer.Layer<Model, ModelConfigError> =>
  Layer.effect(Model, make(resource, options))

/**
 * Builds the service of the Model resource `name` of a loaded bundle; a `scripted` model gets the
 * bundle's validated script (inline or read from its file).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Bundle, Model } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const model = Model.fromBundle(bundle, "default-model")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromBundle = (
  bundle: Bundle.Bundle,
  name: string,
  options?: LayerOptions & { readonly scope?: string | undefined }
): Effect.Effect<Service, ModelConfigError> => {
  const entry = Bundle.find(bundle, "Model", name, options?.scope)
  if (entry === undefined) {
    const known = [...bundle.byIdentity.values()].flatMap((e) =>
      e.resource.kind === "Model" ? [e.resource.metadata.name] : []
    )
    return Effect.fail(
      new ModelConfigError({
        model: name,
        field: "metadata.name",
        detail: "the bundle has no Model of that name",
        suggestion: known.length === 0 ? "declare a Model resource" : `one of ${known.join(", ")}`
      })
    )
  }
  const script = options?.script ?? Bundle.modelScript(bundle, name, options?.scope)
  return make(entry.resource, { ...options, ...(script === undefined ? {} : { script }) })
}

/**
 * The {@link Model} layer of the Model resource `name` of a loaded bundle (see {@link fromBundle}).
 *
 * @example
 * ```ts
 * import { Bundle, Model } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const ModelLive = Model.layerFromBundle(bundle, "default-model")
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromBundle = (
  bundle: Bundle.Bundle,
  name: string,
  options?: LayerOptions & { readonly scope?: string | undefined }
): Layer.Layer<Model, ModelConfigError> => Layer.effect(Model, fromBundle(bundle, name, options))

/**
 * A scripted {@link Model} layer, for tests and demos.
 *
 * @example
 * ```ts
 * import { Model } from "effect-swarm"
 * const ModelTest = Model.scripted([
 *   { match: "weather", toolCalls: [{ name: "weather__get", arguments: { city: "Oslo" } }] },
 *   { text: "Sunny." }
 * ])
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const scripted = (
  steps: ReadonlyArray<Scripted.ScriptStep>,
  options?: { readonly model?: string | undefined }
): Layer.Layer<Model, ModelConfigError> => Layer.effect(Model, Scripted.make(steps, options))
