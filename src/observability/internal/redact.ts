/**
 * What a span says about an error, made safe to export: the text of its events (log lines written inside
 * the span, such as the model client's retry warning with the provider's error message, and recorded
 * exceptions) and its status message, with credentials redacted and each value bounded. A provider's error
 * body can echo the key it was sent (`Incorrect API key provided: sk-...`), and a body can be any size.
 *
 * Redacted: `Bearer` and `Basic` credentials, `sk-...` keys (OpenAI, Anthropic), Google `AIza...` keys, and
 * the values of `api_key` / `x-api-key` / `key` / `access_token` / `token` parameters and fields.
 *
 * @internal
 */
import type { Attributes, AttributeValue } from "@opentelemetry/api"
import type { Span, TimedEvent } from "@opentelemetry/sdk-trace-base"

/** The most characters of one event name, event attribute or status message exported. @internal */
export const maxText = 1_024

/** The most characters of a stack trace or a rendered cause (they start with the message). @internal */
export const maxStack = 4_096

const stackKeys = new Set(["exception.stacktrace", "effect.cause"])

/** The marker a redacted credential is replaced with. @internal */
export const marker = "[redacted]"

const patterns: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b(Bearer|Basic)(\s+)[A-Za-z0-9._~+/=-]+/gi, `$1$2${marker}`],
  [/\bsk-[A-Za-z0-9_-]{6,}/g, `sk-${marker}`],
  [/\bAIza[0-9A-Za-z_-]{10,}/g, marker],
  [
    /\b((?:x-)?api[_-]?key|access[_-]?token|token|key)(["']?\s*[:=]\s*["']?)[^\s"'&,;}]+/gi,
    `$1$2${marker}`
  ]
]

/**
 * `value` with credentials redacted, cut at `max` characters (after redacting, so no part of a credential
 * survives the cut) with the original length.
 *
 * @internal
 */
export const text = (value: string, max: number = maxText): string => {
  let out = value
  for (const [pattern, replacement] of patterns) out = out.replace(pattern, replacement)
  return out.length > max ? `${out.slice(0, max)}... (${out.length} characters)` : out
}

const cleanValue = (key: string, value: AttributeValue | undefined): AttributeValue | undefined => {
  const max = stackKeys.has(key) ? maxStack : maxText
  if (typeof value === "string") return text(value, max)
  if (Array.isArray(value) && value.some((v) => typeof v === "string")) {
    return value.map((v) => typeof v === "string" ? text(v, max) : v) as AttributeValue
  }
  return value
}

const cleanEvent = (event: TimedEvent): TimedEvent => {
  const name = text(event.name)
  let attributes: Attributes | undefined
  if (event.attributes !== undefined) {
    for (const key in event.attributes) {
      const value = event.attributes[key]
      const cleaned = cleanValue(key, value)
      if (cleaned !== value) {
        attributes ??= { ...event.attributes }
        attributes[key] = cleaned
      }
    }
  }
  if (name === event.name && attributes === undefined) return event
  return attributes === undefined ? { ...event, name } : { ...event, name, attributes }
}

/**
 * Redacts and bounds the span's event names and string event attributes and its status message, in place:
 * called by a span processor's `onEnding`, before any exporter reads the span.
 *
 * @internal
 */
export const span = (span: Span): void => {
  const events = span.events
  for (let i = 0; i < events.length; i++) events[i] = cleanEvent(events[i]!)
  const message = span.status.message
  if (message !== undefined && message.length > 0) {
    const cleaned = text(message)
    if (cleaned !== message) span.setStatus({ ...span.status, message: cleaned })
  }
}
