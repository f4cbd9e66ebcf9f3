/**
 * What a provider says back, made safe to keep in an error: an error body may echo the key we sent
 * (`Incorrect API key provided: sk-...`), carry a bearer token, hold control sequences a terminal would obey,
 * or be tens of kilobytes of text. Everything a provider wrote that reaches a `ModelError` (and so logs,
 * span events and the journal) goes through {@link scrub}.
 *
 * @internal
 */
import * as Redacted from "effect/Redacted"

/** The most characters of a provider's text an error keeps. */
export const maxProviderText = 1000

/** Tokens that look like credentials, whoever they belong to: OpenAI/Anthropic `sk-`, Groq `gsk_`, Google `AIza`. */
const keyLike = /\b(?:sk-|gsk_|AIza)[A-Za-z0-9_-]{8,}/g
const bearer = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}/gi

// C0 but \t and \n, DEL, C1, and the bidirectional embedding/override/isolate characters.

const control = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g

/** The secrets a provider's requests carry: its key and the values of credential-looking headers. */
export const secretsOf = (
  apiKey: Redacted.Redacted<string> | undefined,
  headers: Readonly<Record<string, string>>
): ReadonlyArray<Redacted.Redacted<string>> => {
  const out: Array<Redacted.Redacted<string>> = apiKey === undefined ? [] : [apiKey]
  for (const [name, value] of Object.entries(headers)) {
    if (/auth|key|token|secret|cookie|password/i.test(name) && value.trim().length >= 6) {
      out.push(Redacted.make(value.trim()))
    }
  }
  return out
}

/**
 * `text` with the configured secrets and anything credential-looking replaced by `[redacted]`, control
 * characters shown as `\uXXXX`, and at most {@link maxProviderText} characters (`limit`) kept.
 */
export const scrub = (
  text: string,
  secrets: ReadonlyArray<Redacted.Redacted<string>> | undefined,
  limit: number = maxProviderText
): string => {
  let out = text
  for (const secret of secrets ?? []) {
    const value = Redacted.value(secret)
    if (value.length >= 4) out = out.split(value).join("[redacted]")
  }
  out = out
    .replace(keyLike, "[redacted]")
    .replace(bearer, "$1 [redacted]")
    .replace(control, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`)
  return out.length > limit ? `${out.slice(0, limit)}... (${out.length - limit} more characters)` : out
}
