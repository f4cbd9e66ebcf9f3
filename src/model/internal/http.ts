/**
 * The one HTTP path every provider adapter goes through: send, classify the status into a
 * {@link ModelError}, retry what is transient with exponential backoff and jitter (honouring
 * `retry-after` / `retry-after-ms`), time out each attempt, log each retry. Every wait runs on `Clock`.
 *
 * @internal
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import {
  isRetryable,
  ModelAuthFailed,
  ModelBadRequest,
  type ModelError,
  ModelProtocolError,
  ModelRateLimited,
  ModelTimeout,
  ModelUnavailable
} from "../ModelError.js"

/** How a provider's requests are sent. */
export interface Settings {
  readonly provider: string
  /** Retries after the first attempt (`spec.options.maxRetries`, default 2). */
  readonly maxRetries: number
  /** Per attempt: up to the response headers and, for `generate`, the whole body; idle time between stream chunks. */
  readonly timeout: Duration.Duration
  /** The first backoff delay; doubled per retry, with jitter. */
  readonly baseDelay: Duration.Duration
  /** A server asking for a longer wait than this is not waited for: the error reaches the caller. */
  readonly maxRetryWait: Duration.Duration
  /** The env var or field the key came from, for the auth error's suggestion. */
  readonly keyHint: string
  /**
   * The most bytes one response body may have (a `generate` body, a whole stream); more is
   * `ModelProtocolError`. Absent: {@link defaults}.maxResponseBytes.
   */
  readonly maxResponseBytes?: number | undefined
}

/** Defaults of {@link Settings}. */
export const defaults = {
  maxRetries: 2,
  timeout: Duration.minutes(10),
  baseDelay: Duration.seconds(1),
  maxRetryWait: Duration.minutes(1),
  /** 64 MiB: a 128k-token answer streamed one token per SSE event is about 30 MiB. */
  maxResponseBytes: 64 * 1024 * 1024
} as const

/** What is read of an error response's body for its message: the rest is dropped unread. */
const maxErrorBody = 64 * 1024

const tooLarge = (settings: Settings, limit: number) =>
  new ModelProtocolError({
    provider: settings.provider,
    detail: `the response body is larger than ${limit} bytes, the most a model response may have; the endpoint ` +
      `sent more without ending (check that spec.endpoint is a model server; Model.make's maxResponseBytes raises ` +
      `the limit)`
  })

/**
 * The body's bytes, failing with `ModelProtocolError` past `settings.maxResponseBytes` (a hostile or broken
 * endpoint cannot fill memory with an endless body or an SSE line that never ends).
 */
const bounded = <E, R>(
  settings: Settings,
  bytes: Stream.Stream<Uint8Array, E, R>
): Stream.Stream<Uint8Array, E | ModelProtocolError, R> => {
  const limit = settings.maxResponseBytes ?? defaults.maxResponseBytes
  return Stream.suspend(() => {
    let total = 0
    return Stream.mapChunksEffect(bytes, (chunks) => {
      for (const chunk of chunks) total += chunk.byteLength
      return total > limit ? Effect.fail(tooLarge(settings, limit)) : Effect.succeed(chunks)
    })
  })
}

/** The body's declared length when it can be trusted as a bound (an uncompressed body), else `undefined`. */
const declaredLength = (headers: Readonly<Record<string, string>>): number | undefined => {
  const encoding = headers["content-encoding"]
  if (encoding !== undefined && encoding.trim().toLowerCase() !== "identity") return undefined
  const length = headers["content-length"]
  if (length === undefined || !/^\d+$/.test(length.trim())) return undefined
  const n = Number(length.trim())
  return Number.isSafeInteger(n) ? n : undefined
}

const utf8 = (chunks: Iterable<Uint8Array>): string => {
  const decoder = new TextDecoder()
  let text = ""
  for (const chunk of chunks) text += decoder.decode(chunk, { stream: true })
  return text + decoder.decode()
}

/** The start of an error response's body (at most {@link maxErrorBody} bytes), or "" when it cannot be read. */
const errorBody = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<string> => {
  let total = 0
  return response.stream.pipe(
    Stream.takeUntil((chunk) => (total += chunk.byteLength) >= maxErrorBody),
    Stream.runCollect,
    Effect.map((chunks) => utf8(chunks)),
    Effect.orElseSucceed(() => "")
  )
}

/** A client with its settings. */
export interface Transport {
  readonly client: HttpClient.HttpClient
  readonly settings: Settings
}

const maxBodyInError = 500

const contextTooLong =
  /context[ _-]?(?:length|window|size)|maximum context|too many tokens|prompt is too long|input is too long|reduce the length|exceeds? the (?:model's )?(?:maximum|context)|context_length_exceeded|string_above_max_length/i

/** The provider's message in an error body: OpenAI/Anthropic `error.message`, Ollama `error`, else the text. */
export const providerMessage = (body: string): { message: string; code: string | undefined } => {
  try {
    const json: unknown = JSON.parse(body)
    if (typeof json === "object" && json !== null) {
      const error = (json as { error?: unknown }).error
      if (typeof error === "string") return { message: error, code: undefined }
      if (typeof error === "object" && error !== null) {
        const e = error as { message?: unknown; code?: unknown; type?: unknown }
        const code = typeof e.code === "string" ? e.code : typeof e.type === "string" ? e.type : undefined
        if (typeof e.message === "string") return { message: e.message, code }
      }
      const message = (json as { message?: unknown }).message
      if (typeof message === "string") return { message, code: undefined }
    }
  } catch {
    // not JSON: the text itself
  }
  const text = body.trim()
  return { message: text.length === 0 ? "(empty body)" : text.slice(0, maxBodyInError), code: undefined }
}

/**
 * The wait a response asks for: `retry-after-ms` (milliseconds), else `retry-after` in seconds or as an
 * HTTP date (relative to `now`).
 */
export const retryAfterMillis = (headers: Readonly<Record<string, string>>, now: number): number | undefined => {
  const ms = headers["retry-after-ms"]
  if (ms !== undefined) {
    const n = Number(ms)
    if (ms.trim() !== "" && Number.isFinite(n) && n >= 0) return n
  }
  const after = headers["retry-after"]
  if (after === undefined || after.trim() === "") return undefined
  const seconds = Number(after)
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined
  const date = Date.parse(after)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** Where a redirect points, without credentials, query or fragment (they may carry secrets). */
const redirectTarget = (location: string | undefined): string => {
  if (location === undefined || location.trim() === "") return "(no location header)"
  try {
    const url = new URL(location, "http://relative.invalid")
    return url.host === "relative.invalid" ? url.pathname : `${url.protocol}//${url.host}${url.pathname}`
  } catch {
    return "(an unreadable location header)"
  }
}

/** The error of a non-2xx response. */
export const fromStatus = (
  settings: Settings,
  status: number,
  headers: Readonly<Record<string, string>>,
  body: string,
  now: number
): ModelError => {
  const provider = settings.provider
  const { code, message } = providerMessage(body)
  const wait = retryAfterMillis(headers, now)
  const retryAfter = wait === undefined ? {} : { retryAfterMillis: wait }
  if (status >= 300 && status < 400) {
    return new ModelBadRequest({
      provider,
      status,
      providerMessage: `the endpoint redirects to ${redirectTarget(headers["location"])}; redirects are not followed`,
      contextTooLong: false
    })
  }
  if (status === 401 || status === 403) {
    return new ModelAuthFailed({
      provider,
      status,
      providerMessage: message,
      suggestion: status === 401 ?
        `check the API key (${settings.keyHint})` :
        `the key (${settings.keyHint}) is not allowed to use this model or endpoint`
    })
  }
  if (status === 429) {
    const quota = code === "insufficient_quota"
    return new ModelRateLimited({
      provider,
      status,
      providerMessage: message,
      ...retryAfter,
      ...(quota ? { quotaExceeded: true } : {})
    })
  }
  if (status === 408 || status === 409 || status >= 500) {
    return new ModelUnavailable({ provider, status, providerMessage: message, ...retryAfter })
  }
  return new ModelBadRequest({
    provider,
    status,
    providerMessage: message,
    contextTooLong: status === 413 || contextTooLong.test(message) || (code !== undefined && contextTooLong.test(code))
  })
}

const transportError = (settings: Settings, error: HttpClientError.HttpClientError): ModelError =>
  error._tag === "RequestError" && error.reason !== "Transport" ?
    new ModelProtocolError({ provider: settings.provider, detail: `cannot send the request: ${error.message}` }) :
    new ModelUnavailable({ provider: settings.provider, providerMessage: describe(error) })

const describe = (error: HttpClientError.HttpClientError): string => {
  const cause = error.cause as { message?: unknown; code?: unknown; cause?: { code?: unknown } } | undefined
  const code = typeof cause?.code === "string" ? cause.code : typeof cause?.cause?.code === "string" ?
    cause.cause.code :
    undefined
  const text = typeof cause?.message === "string" ? cause.message : error.message
  return code === undefined ? text : `${text} (${code})`
}

/** The timeout error of a provider. */
export const timeoutError = (settings: Settings): ModelTimeout =>
  new ModelTimeout({ provider: settings.provider, timeoutMillis: Duration.toMillis(settings.timeout) })

/**
 * Executes without following redirects: fetch follows 301/302/303 to any host and keeps every header but
 * `authorization` (Anthropic's `x-api-key`, `spec.options.headers`), so a redirecting endpoint would hand the
 * key to another host. Any `RequestInit` the caller provides is kept; only `redirect` is forced.
 */
const execute = (client: HttpClient.HttpClient, request: HttpClientRequest.HttpClientRequest) =>
  Effect.flatMap(Effect.serviceOption(FetchHttpClient.RequestInit), (init) =>
    Effect.provideService(
      client.execute(request),
      FetchHttpClient.RequestInit,
      { ...(init._tag === "Some" ? init.value : {}), redirect: "manual" }
    ))

/** One attempt: send and check the status; an error status reads the body for the provider's message. */
const send = (transport: Transport, request: HttpClientRequest.HttpClientRequest) =>
  Effect.flatMap(
    Effect.mapError(execute(transport.client, request), (e) => transportError(transport.settings, e)),
    (response): Effect.Effect<HttpClientResponse.HttpClientResponse, ModelError> =>
      response.status >= 200 && response.status < 300 ?
        Effect.succeed(response) :
        Effect.flatMap(
          Effect.zip(errorBody(response), Clock.currentTimeMillis),
          ([body, now]) => Effect.fail(fromStatus(transport.settings, response.status, response.headers, body, now))
        )
  )

/**
 * A `effect_swarm.model.retry` event on the current span (the model call's), which the observability
 * layer counts into the `effect_swarm.model.http_retries` metric. Nothing without a span.
 */
const retryEvent = (attributes: Record<string, string | number>) =>
  Effect.flatMap(Effect.option(Effect.currentSpan), (span) =>
    span._tag === "None"
      ? Effect.void
      : Effect.map(Clock.currentTimeNanos, (now) => span.value.event("effect_swarm.model.retry", now, attributes)))

/**
 * The retry policy: exponential from `baseDelay` with jitter, at most `maxRetries` retries, only for
 * retryable errors, waiting exactly what the server asked for when it said (unless it asked for more than
 * `maxRetryWait`, which ends the retries). Each retry is logged with the provider, status and wait.
 */
export const retryPolicy = (settings: Settings): Schedule.Schedule<unknown, ModelError> =>
  Schedule.exponential(settings.baseDelay, 2).pipe(
    Schedule.jittered,
    Schedule.intersect(Schedule.recurs(settings.maxRetries)),
    Schedule.zipRight(Schedule.identity<ModelError>()),
    Schedule.whileInput((error: ModelError) => {
      if (!isRetryable(error)) return false
      const asked = error.retryAfterMillis
      return asked === undefined || asked <= Duration.toMillis(settings.maxRetryWait)
    }),
    Schedule.modifyDelayEffect((error, delay) => {
      const asked = isRetryable(error) ? error.retryAfterMillis : undefined
      const wait = asked === undefined ? delay : Duration.millis(asked)
      const status = error._tag === "ModelUnavailable" || error._tag === "ModelRateLimited" ?
        error.status ?? "connection" :
        "?"
      return Effect.as(
        Effect.logWarning(`model call failed, retrying in ${Duration.format(wait)}`).pipe(
          Effect.annotateLogs({
            provider: settings.provider,
            status,
            waitMillis: Duration.toMillis(wait),
            error: error.message
          }),
          Effect.zipRight(retryEvent({
            "gen_ai.provider.name": settings.provider,
            "http.response.status_code": String(status),
            "error.type": error._tag,
            "effect_swarm.retry.wait_ms": Duration.toMillis(wait)
          }))
        ),
        wait
      )
    })
  )

const parseJson = (settings: Settings, body: string): Effect.Effect<unknown, ModelProtocolError> =>
  Effect.try({
    try: () => JSON.parse(body) as unknown,
    catch: () =>
      new ModelProtocolError({
        provider: settings.provider,
        detail: "the body is not JSON",
        body: body.slice(0, maxBodyInError)
      })
  })

/**
 * Sends a request and parses the JSON body. Each attempt (headers and body) is bounded by the timeout;
 * transient failures are retried.
 */
export const json = (
  transport: Transport,
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<unknown, ModelError> => {
  const settings = transport.settings
  const attempt = send(transport, request).pipe(
    Effect.flatMap((response) => {
      const dropped = (e: HttpClientError.ResponseError) =>
        new ModelUnavailable({
          provider: settings.provider,
          status: response.status,
          providerMessage: `the connection dropped while reading the body: ${describe(e)}`
        })
      // A declared length on a body that is not compressed bounds what is read (HTTP framing stops there):
      // read it at once, without a stream's machinery per chunk (~1 ms a call). A compressed body may inflate
      // past its declared length, and a chunked one declares none: those are counted as they arrive.
      const declared = declaredLength(response.headers)
      if (declared !== undefined) {
        const limit = settings.maxResponseBytes ?? defaults.maxResponseBytes
        return declared > limit ? Effect.fail(tooLarge(settings, limit)) : Effect.mapError(response.text, dropped)
      }
      return bounded(settings, Stream.mapError(response.stream, dropped)).pipe(
        Stream.runCollect,
        Effect.map((chunks) => utf8(chunks))
      )
    }),
    Effect.timeoutFail({ duration: settings.timeout, onTimeout: () => timeoutError(settings) }),
    Effect.flatMap((body) => parseJson(settings, body))
  )
  return Effect.retry(attempt, retryPolicy(settings))
}

/**
 * Sends a request and streams the body. Reaching the response headers is bounded by the timeout and
 * retried; once bytes flow, a gap longer than the timeout fails with `ModelTimeout` and a dropped
 * connection with `ModelUnavailable` (a stream is never replayed after it started). Interrupting the
 * stream aborts the request.
 */
export const stream = (
  transport: Transport,
  request: HttpClientRequest.HttpClientRequest
): Stream.Stream<Uint8Array, ModelError> => {
  const settings = transport.settings
  const attempt = send(transport, request).pipe(
    Effect.timeoutFail({ duration: settings.timeout, onTimeout: () => timeoutError(settings) })
  )
  return Stream.unwrap(Effect.map(Effect.retry(attempt, retryPolicy(settings)), (response) =>
    response.stream.pipe(
      Stream.mapError((e): ModelError =>
        new ModelUnavailable({
          provider: settings.provider,
          status: response.status,
          providerMessage: `the stream was cut short: ${describe(e)}`
        })
      ),
      (bytes) => bounded(settings, bytes),
      Stream.timeoutFail(() => timeoutError(settings), settings.timeout)
    )))
}

/** A body that is valid JSON but not the documented shape. */
export const protocolError = (settings: Settings, detail: string, body?: unknown): ModelProtocolError =>
  new ModelProtocolError({
    provider: settings.provider,
    detail,
    ...(body === undefined ? {} : { body: (typeof body === "string" ? body : JSON.stringify(body)).slice(0, 500) })
  })

/** What an HTTP adapter is built from. */
export interface ProviderConfig {
  readonly model: string
  /** The base URL, without a trailing slash (`https://api.openai.com/v1`). */
  readonly baseUrl: string
  readonly apiKey: Redacted.Redacted<string> | undefined
  /** Extra headers (`spec.options.headers`). */
  readonly headers: Readonly<Record<string, string>>
  readonly transport: Transport
}

/** A JSON POST to `path` under the base URL. */
export const post = (
  config: ProviderConfig,
  path: string,
  headers: Readonly<Record<string, string>>,
  body: unknown
): HttpClientRequest.HttpClientRequest =>
  HttpClientRequest.post(config.baseUrl + path).pipe(
    HttpClientRequest.setHeaders({ accept: "application/json", ...headers, ...config.headers }),
    HttpClientRequest.bodyText(JSON.stringify(body), "application/json")
  )

/** A stream that ended before the provider said it was done. */
export const cutShort = (settings: Settings): ModelUnavailable =>
  new ModelUnavailable({
    provider: settings.provider,
    providerMessage: "the stream ended before the model finished (connection dropped)"
  })
