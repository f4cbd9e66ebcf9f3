/**
 * The errors a model call can fail with. Every error names the provider, carries the provider's own
 * message where there is one, and says what to do about it.
 *
 * - {@link ModelRateLimited} and {@link ModelUnavailable} are retried by the shared HTTP path before they
 *   reach the caller (see {@link isRetryable}); the others never are.
 * - {@link ModelConfigError} is raised when the layer is built, never at the first call.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

const suffix = (suggestion: string | undefined) => suggestion === undefined ? "" : ` (${suggestion})`

/**
 * The provider refused the credentials (HTTP 401 or 403).
 *
 * @example
 * ```ts
 * import { ModelError } from "effect-swarm"
 * new ModelError.ModelAuthFailed({ provider: "openai", status: 401, providerMessage: "Incorrect API key", suggestion: "check OPENAI_API_KEY" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ModelAuthFailed extends Schema.TaggedError<ModelAuthFailed>("effect-swarm/ModelAuthFailed")(
  "ModelAuthFailed",
  {
    provider: Schema.String,
    status: Schema.Number,
    providerMessage: Schema.String,
    suggestion: Schema.String
  }
) {
  override get message(): string {
    return `${this.provider}: authentication failed (HTTP ${this.status}): ${this.providerMessage}${
      suffix(this.suggestion)
    }`
  }
}

/**
 * The provider is rate limiting us (HTTP 429) and the retries ran out, or the wait it asked for is longer
 * than we are willing to sleep. `retryAfterMillis` is the wait the server asked for, when it said.
 *
 * @example
 * ```ts
 * import { ModelError } from "effect-swarm"
 * new ModelError.ModelRateLimited({ provider: "anthropic", status: 429, providerMessage: "slow down", retryAfterMillis: 20000 })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ModelRateLimited extends Schema.TaggedError<ModelRateLimited>("effect-swarm/ModelRateLimited")(
  "ModelRateLimited",
  {
    provider: Schema.String,
    status: Schema.Number,
    providerMessage: Schema.String,
    retryAfterMillis: Schema.optional(Schema.Number),
    /** The account is out of quota (OpenAI `insufficient_quota`): waiting does not help. */
    quotaExceeded: Schema.optional(Schema.Boolean)
  }
) {
  override get message(): string {
    const wait = this.retryAfterMillis === undefined ? "" : `; the server asks to wait ${this.retryAfterMillis} ms`
    const what = this.quotaExceeded === true ?
      "check the account's plan and billing" :
      "lower the request rate or raise spec.options.maxRetries"
    return `${this.provider}: rate limited (HTTP ${this.status}): ${this.providerMessage}${wait} (${what})`
  }
}

/**
 * The provider could not serve the request: 5xx, 529 overloaded, 408, a connection reset or a stream
 * cut short. Retried before it reaches the caller.
 *
 * @example
 * ```ts
 * import { ModelError } from "effect-swarm"
 * new ModelError.ModelUnavailable({ provider: "anthropic", status: 529, providerMessage: "Overloaded" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ModelUnavailable extends Schema.TaggedError<ModelUnavailable>("effect-swarm/ModelUnavailable")(
  "ModelUnavailable",
  {
    provider: Schema.String,
    /** The HTTP status; absent when the connection failed or dropped. */
    status: Schema.optional(Schema.Number),
    providerMessage: Schema.String,
    retryAfterMillis: Schema.optional(Schema.Number)
  }
) {
  override get message(): string {
    const status = this.status === undefined ? "connection failed" : `HTTP ${this.status}`
    return `${this.provider}: unavailable (${status}): ${this.providerMessage} (retry later, or check the endpoint)`
  }
}

/**
 * The provider rejected the request (400, 404, 413, 422 and other 4xx). `contextTooLong` says the
 * conversation no longer fits the model's context window.
 *
 * @example
 * ```ts
 * import { ModelError } from "effect-swarm"
 * const e = new ModelError.ModelBadRequest({ provider: "openai", status: 400, providerMessage: "maximum context length is 128000 tokens", contextTooLong: true })
 * e.contextTooLong // true
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ModelBadRequest extends Schema.TaggedError<ModelBadRequest>("effect-swarm/ModelBadRequest")(
  "ModelBadRequest",
  {
    provider: Schema.String,
    status: Schema.Number,
    providerMessage: Schema.String,
    contextTooLong: Schema.Boolean
  }
) {
  override get message(): string {
    const hint = this.contextTooLong ?
      "the conversation is longer than the model's context window: compact or truncate it" :
      this.status === 404 ?
      "check the model name and the endpoint" :
      this.status >= 300 && this.status < 400 ?
      "set spec.endpoint to the URL the server redirects to, if you trust it: the key is never sent along a redirect" :
      "check the call parameters and the tool schemas"
    return `${this.provider}: request rejected (HTTP ${this.status}): ${this.providerMessage} (${hint})`
  }
}

/**
 * A request took longer than the per-attempt timeout (`spec.options.timeout`), or the whole call longer than
 * `spec.options.totalTimeout` (`total`), and was interrupted.
 *
 * @example
 * ```ts
 * import { ModelError } from "effect-swarm"
 * new ModelError.ModelTimeout({ provider: "openai-compatible", timeoutMillis: 60000 })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ModelTimeout extends Schema.TaggedError<ModelTimeout>("effect-swarm/ModelTimeout")("ModelTimeout", {
  provider: Schema.String,
  timeoutMillis: Schema.Number,
  /**
   * The whole call took longer than `spec.options.totalTimeout` (every attempt and wait of `generate`, a
   * stream from the request to its end); absent: one attempt, or one gap between stream chunks, took longer
   * than `spec.options.timeout`.
   */
  total: Schema.optional(Schema.Boolean)
}) {
  override get message(): string {
    return this.total === true ?
      `${this.provider}: the call did not finish within ${this.timeoutMillis} ms (spec.options.totalTimeout; raise ` +
      `it for very long answers, or check the endpoint: it may be sending a trickle of bytes)` :
      `${this.provider}: no answer within ${this.timeoutMillis} ms (raise spec.options.timeout, or check the endpoint)`
  }
}

/**
 * The provider answered with a body we cannot read (not JSON, or not the documented shape).
 *
 * @example
 * ```ts
 * import { ModelError } from "effect-swarm"
 * new ModelError.ModelProtocolError({ provider: "openai-compatible", detail: "the body is not JSON", body: "<html>" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ModelProtocolError extends Schema.TaggedError<ModelProtocolError>("effect-swarm/ModelProtocolError")(
  "ModelProtocolError",
  {
    provider: Schema.String,
    detail: Schema.String,
    /** The start of the body we could not read (at most 500 characters). */
    body: Schema.optional(Schema.String)
  }
) {
  override get message(): string {
    const body = this.body === undefined ? "" : `; body starts with ${JSON.stringify(this.body.slice(0, 200))}`
    // A scripted model has no endpoint: its failures are the script's.
    const hint = this.provider === "scripted" ? "" : " (check that the endpoint speaks this provider's API)"
    return `${this.provider}: unreadable response: ${this.detail}${body}${hint}`
  }
}

/**
 * The Model resource cannot be turned into a working model: an unknown provider, a missing API key
 * (naming the environment variable), a bad option. Raised when the layer is built.
 *
 * @example
 * ```ts
 * import { ModelError } from "effect-swarm"
 * new ModelError.ModelConfigError({ model: "gpt", field: "spec.apiKey", detail: "OPENAI_API_KEY is not set", suggestion: "export OPENAI_API_KEY=..." })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ModelConfigError extends Schema.TaggedError<ModelConfigError>("effect-swarm/ModelConfigError")(
  "ModelConfigError",
  {
    /** The Model resource's name. */
    model: Schema.String,
    field: Schema.String,
    detail: Schema.String,
    suggestion: Schema.optional(Schema.String)
  }
) {
  override get message(): string {
    return `Model/${this.model} ${this.field}: ${this.detail}${suffix(this.suggestion)}`
  }
}

/**
 * Any error of a model call.
 *
 * @since 0.1.0
 * @category errors
 */
export type ModelError =
  | ModelAuthFailed
  | ModelRateLimited
  | ModelUnavailable
  | ModelBadRequest
  | ModelTimeout
  | ModelProtocolError

/**
 * The schema of {@link ModelError} (errors are written to the journal).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ModelError = Schema.Union(
  ModelAuthFailed,
  ModelRateLimited,
  ModelUnavailable,
  ModelBadRequest,
  ModelTimeout,
  ModelProtocolError
)

/**
 * Whether the shared HTTP path retries this error: rate limits (unless the quota is exhausted) and
 * unavailability.
 *
 * @example
 * ```ts
 * import { ModelError } from "effect-swarm"
 * ModelError.isRetryable(new ModelError.ModelUnavailable({ provider: "x", status: 503, providerMessage: "" })) // true
 * ```
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryable = (error: ModelError): error is ModelRateLimited | ModelUnavailable =>
  error._tag === "ModelUnavailable" || (error._tag === "ModelRateLimited" && error.quotaExceeded !== true)
