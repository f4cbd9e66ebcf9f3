/**
 * What the shared HTTP path is configured with: a provider's {@link Settings} (retries, timeouts, limits),
 * their defaults, and the client and endpoint an adapter is built from.
 *
 * @internal
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Duration from "effect/Duration"
import type * as Redacted from "effect/Redacted"

/** How a provider's requests are sent. */
export interface Settings {
  readonly provider: string
  /** Retries after the first attempt (`spec.options.maxRetries`, default 2). */
  readonly maxRetries: number
  /** Per attempt: up to the response headers and, for `generate`, the whole body; idle time between stream chunks. */
  readonly timeout: Duration.Duration
  /**
   * The whole call: every attempt and retry wait of `generate`, a stream from the request to its last byte
   * (`spec.options.totalTimeout`). Absent: {@link defaults}.totalTimeout, or `timeout` when that is larger.
   */
  readonly totalTimeout?: Duration.Duration | undefined
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
  /** The key and credential-looking header values: never repeated in an error (see `scrub.ts`). */
  readonly secrets?: ReadonlyArray<Redacted.Redacted<string>> | undefined
}

/** Defaults of {@link Settings}. */
export const defaults = {
  maxRetries: 2,
  timeout: Duration.minutes(10),
  /** An hour: a long reasoning answer streams for tens of minutes; a server trickling bytes stops here. */
  totalTimeout: Duration.minutes(60),
  baseDelay: Duration.seconds(1),
  maxRetryWait: Duration.minutes(1),
  /** 64 MiB: a 128k-token answer streamed one token per SSE event is about 30 MiB. */
  maxResponseBytes: 64 * 1024 * 1024
} as const

/** A client with its settings. */
export interface Transport {
  readonly client: HttpClient.HttpClient
  readonly settings: Settings
}

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
