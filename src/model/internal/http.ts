/**
 * The one HTTP path every provider adapter goes through: send, classify the status into a
 * {@link ModelError}, retry what is transient with exponential backoff and jitter (honouring
 * `retry-after` / `retry-after-ms`), time out each attempt, log each retry. Every wait runs on `Clock`.
 *
 * @internal
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { isRetryable, type ModelError, type ModelProtocolError, ModelUnavailable } from "../ModelError.js"
import { bounded, errorBody, readBody } from "./httpBody.js"
import {
  describe,
  fromStatus,
  protocolError,
  timeoutError,
  totalOf,
  totalTimeoutError,
  transportError
} from "./httpErrors.js"
import type { ProviderConfig, Settings, Transport } from "./httpSettings.js"

export {
  cutShort,
  errorStatus,
  fromStatus,
  protocolError,
  providerMessage,
  retryAfterMillis,
  safeJson,
  timeoutError,
  totalOf,
  totalTimeoutError
} from "./httpErrors.js"
export { defaults, type ProviderConfig, type Settings, type Transport } from "./httpSettings.js"

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
    catch: () => protocolError(settings, "the body is not JSON", body)
  })

/** `effect` within the whole call's bound ({@link totalOf}), on `Clock`: past it, `ModelTimeout` with `total`. */
export const withinCall = <A, E, R>(settings: Settings, effect: Effect.Effect<A, E, R>) =>
  Effect.timeoutFail(effect, { duration: totalOf(settings), onTimeout: () => totalTimeoutError(settings) })

/**
 * `stream` within the whole call's bound ({@link totalOf}), counted from its start on `Clock`: a server
 * trickling a byte now and then (each gap under the per-chunk timeout) is cut there with `ModelTimeout`.
 */
export const streamWithinCall = <A, E, R>(settings: Settings, stream: Stream.Stream<A, E, R>) =>
  Stream.interruptWhen(
    stream,
    Effect.flatMap(Effect.sleep(totalOf(settings)), () => Effect.fail(totalTimeoutError(settings)))
  )

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
    Effect.flatMap((response) => readBody(settings, response)),
    Effect.timeoutFail({ duration: settings.timeout, onTimeout: () => timeoutError(settings) }),
    Effect.flatMap((body) => parseJson(settings, body))
  )
  const call = Effect.retry(attempt, retryPolicy(settings))
  return worstCase(settings) <= Duration.toMillis(totalOf(settings)) ? call : withinCall(settings, call)
}

/**
 * The longest a `generate` call can take without a bound of its own: every attempt timing out, and the
 * longest wait before each retry (the jittered backoff, or a server's wait up to `maxRetryWait`). Within
 * `totalTimeout` (so with the defaults: 3 x 10 min + 2 x 1 min), the whole-call timer is not needed and
 * not started: a timer costs a fiber per call.
 */
const worstCase = (settings: Settings): number => {
  let total = (settings.maxRetries + 1) * Duration.toMillis(settings.timeout)
  for (let i = 0; i < settings.maxRetries; i++) {
    total += Math.max(Duration.toMillis(settings.baseDelay) * 2 ** i * 1.2, Duration.toMillis(settings.maxRetryWait))
  }
  return total
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
  return streamWithinCall(
    settings,
    Stream.unwrap(Effect.map(Effect.retry(attempt, retryPolicy(settings)), (response) =>
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
  )
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
