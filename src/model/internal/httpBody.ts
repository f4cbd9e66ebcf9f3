/**
 * Reading a response body within bounds: the whole body of a `generate` call (at once when its length is
 * declared and trusted, else counted as it arrives), a stream's bytes counted against
 * `maxResponseBytes`, and the start of an error response's body for its message.
 *
 * @internal
 */
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { ModelProtocolError, ModelUnavailable } from "../ModelError.js"
import { describe } from "./httpErrors.js"
import { defaults, type Settings } from "./httpSettings.js"

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
export const bounded = <E, R>(
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
export const errorBody = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<string> => {
  let total = 0
  return response.stream.pipe(
    Stream.takeUntil((chunk) => (total += chunk.byteLength) >= maxErrorBody),
    Stream.runCollect,
    Effect.map((chunks) => utf8(chunks)),
    Effect.orElseSucceed(() => "")
  )
}

/**
 * The whole body of a response as text, within `settings.maxResponseBytes`; a connection dropped while
 * reading it is `ModelUnavailable`.
 */
export const readBody = (
  settings: Settings,
  response: HttpClientResponse.HttpClientResponse
): Effect.Effect<string, ModelProtocolError | ModelUnavailable> => {
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
}
