/**
 * What a failed exchange means: a non-2xx status (with the provider's message, `retry-after` and the
 * context-window wording) or a transport failure as a {@link ModelError}, and the protocol, timeout and
 * cut-short errors every adapter raises.
 *
 * @internal
 */
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as Duration from "effect/Duration"
import {
  ModelAuthFailed,
  ModelBadRequest,
  type ModelError,
  ModelProtocolError,
  ModelRateLimited,
  ModelTimeout,
  ModelUnavailable
} from "../ModelError.js"
import { defaults, type Settings } from "./httpSettings.js"
import { scrub } from "./scrub.js"

/** How much of an unreadable body an error quotes. */
export const maxBodyInError = 500

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
  const { code, message: said } = providerMessage(body)
  const message = scrub(said, settings.secrets)
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
    contextTooLong: status === 413 || contextTooLong.test(said) || (code !== undefined && contextTooLong.test(code))
  })
}

export const transportError = (settings: Settings, error: HttpClientError.HttpClientError): ModelError =>
  error._tag === "RequestError" && error.reason !== "Transport" ?
    new ModelProtocolError({
      provider: settings.provider,
      detail: `cannot send the request: ${scrub(error.message, settings.secrets)}`
    }) :
    new ModelUnavailable({ provider: settings.provider, providerMessage: scrub(describe(error), settings.secrets) })

export const describe = (error: HttpClientError.HttpClientError): string => {
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

const errorTypes: Record<string, number> = {
  overloaded_error: 529,
  rate_limit_error: 429,
  rate_limit_exceeded: 429,
  insufficient_quota: 429,
  api_error: 500,
  server_error: 500,
  authentication_error: 401,
  invalid_api_key: 401,
  permission_error: 403,
  not_found_error: 404,
  model_not_found: 404,
  request_too_large: 413,
  invalid_request_error: 400
}

/**
 * The HTTP status an error object inside a 200 body stands for (`{type: "error", error: {type}}` from
 * Anthropic, `{error: {code, type}}` from OpenAI and proxies): a numeric `code` of 400-599, else its
 * `type` / `code` known to the three APIs, else 502 (the endpoint passed on an error it did not name).
 */
export const errorStatus = (body: unknown): number => {
  const error = typeof body === "object" && body !== null ? (body as { error?: unknown }).error : undefined
  const e = typeof error === "object" && error !== null ? error as { code?: unknown; type?: unknown } : {}
  if (typeof e.code === "number" && e.code >= 400 && e.code <= 599) return e.code
  for (const name of [e.type, e.code]) {
    if (typeof name === "string" && Object.hasOwn(errorTypes, name)) return errorTypes[name]!
  }
  return 502
}

/** The bound on a whole call: `settings.totalTimeout`, else the default, or the per-attempt timeout when larger. */
export const totalOf = (settings: Settings): Duration.Duration =>
  settings.totalTimeout ?? Duration.max(defaults.totalTimeout, settings.timeout)

/** The error of a call that did not finish within {@link totalOf}. */
export const totalTimeoutError = (settings: Settings): ModelTimeout =>
  new ModelTimeout({ provider: settings.provider, timeoutMillis: Duration.toMillis(totalOf(settings)), total: true })

/** A parsed body as JSON text for an error; a value nested too deep to stringify is described instead. */
export const safeJson = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return "(a value nested too deep to show)"
  }
}

/** A body that is valid JSON but not the documented shape. */
export const protocolError = (settings: Settings, detail: string, body?: unknown): ModelProtocolError =>
  new ModelProtocolError({
    provider: settings.provider,
    detail,
    ...(body === undefined ? {} : {
      body: scrub(
        (typeof body === "string" ? body : safeJson(body)).slice(0, 64 * 1024),
        settings.secrets,
        maxBodyInError
      )
    })
  })

/** A stream that ended before the provider said it was done. */
export const cutShort = (settings: Settings): ModelUnavailable =>
  new ModelUnavailable({
    provider: settings.provider,
    providerMessage: "the stream ended before the model finished (connection dropped)"
  })
