/**
 * Webhook signatures: HMAC-SHA256 with a shared secret, sent as `sha256=<hex>` (GitHub's
 * `X-Hub-Signature-256` format; a bare hex digest is accepted too), compared in constant time. The `http`
 * connector reads it from the {@link header} header; custom connectors call
 * `ctx.verifyWebhook(body, signature, { timestamp })`.
 *
 * Replay protection: the sender puts the current Unix time in seconds in the {@link timestampHeader} header
 * and signs `<timestamp>.<raw body>` (so the timestamp cannot be swapped); the receiver refuses a timestamp
 * more than a tolerance (default {@link defaultTolerance}, 5 minutes) away from its `Clock`, in the past
 * (a captured request sent again later) or in the future (a wrong clock). A replay inside the window is not
 * detected: put an event id in the body and drop duplicates where that matters. Without a timestamp
 * ({@link verify}, or the `http` connector with `replayToleranceSeconds: 0`) the signature covers the body
 * alone and a captured request can be sent again at any time.
 *
 * @since 0.1.0
 */
import * as crypto from "node:crypto"
import type { Verification } from "./Connector.js"

/**
 * The header the `http` connector reads the signature from.
 *
 * @since 0.1.0
 * @category constants
 */
export const header = "x-effect-swarm-signature"

/**
 * The header the `http` connector reads the signed timestamp from: the Unix time in seconds when the
 * request was signed.
 *
 * @example
 * ```ts
 * import { Webhook } from "effect-swarm"
 * // A sender puts the signing time beside the signature:
 * const headers = { [Webhook.timestampHeader]: String(Math.floor(Date.now() / 1000)) }
 * ```
 *
 * @since 0.1.0
 * @category constants
 */
export const timestampHeader = "x-effect-swarm-timestamp"

/**
 * How far a signed timestamp may be from the receiver's clock, by default: 300 seconds, either way.
 *
 * @example
 * ```ts
 * import { Webhook } from "effect-swarm"
 * // A Connection's `replayToleranceSeconds` overrides it; "0" turns replay protection off.
 * const window = `${Webhook.defaultTolerance} s` // "300 s"
 * ```
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultTolerance = 300

const digest = (secret: string, body: string | Uint8Array, timestamp: string | undefined) => {
  const hmac = crypto.createHmac("sha256", secret)
  if (timestamp !== undefined) hmac.update(`${timestamp}.`)
  return hmac.update(body).digest()
}

/**
 * The signature of a body: `sha256=<hex HMAC-SHA256(secret, body)>`; with a `timestamp` (Unix seconds, as
 * sent in {@link timestampHeader}), of `<timestamp>.<body>`.
 *
 * @example
 * ```ts
 * import { Webhook } from "effect-swarm"
 * const body = "{\"name\":\"message\"}"
 * const timestamp = String(Math.floor(Date.now() / 1000))
 * const headers = {
 *   [Webhook.header]: Webhook.sign("s3cret", body, timestamp),
 *   [Webhook.timestampHeader]: timestamp
 * }
 * ```
 *
 * @since 0.1.0
 * @category signing
 */
export const sign = (secret: string, body: string | Uint8Array, timestamp?: string | number): string =>
  `sha256=${digest(secret, body, timestamp === undefined ? undefined : String(timestamp)).toString("hex")}`

const check = (
  secret: string,
  body: string | Uint8Array,
  signature: string | undefined,
  timestamp: string | undefined
): Verification => {
  if (signature === undefined || signature.trim().length === 0) {
    return { ok: false, reason: "the request has no signature" }
  }
  const hex = signature.trim().replace(/^sha256=/i, "")
  if (!/^[0-9a-f]{64}$/i.test(hex)) {
    return { ok: false, reason: "the signature is not sha256=<64 hex digits>" }
  }
  const given = Buffer.from(hex, "hex")
  return crypto.timingSafeEqual(digest(secret, body, timestamp), given) ?
    { ok: true } :
    {
      ok: false,
      reason: timestamp === undefined ?
        "the signature does not match the body (wrong secret, or the body was changed)" :
        "the signature does not match <timestamp>.<body> (wrong secret, or the body or timestamp was changed)"
    }
}

/**
 * Checks a signature of the body alone against a body in constant time (the digests are compared with
 * `crypto.timingSafeEqual`; only the signature's format is checked before). No replay protection: see
 * {@link verifyTimestamped}.
 *
 * @example
 * ```ts
 * import { Webhook } from "effect-swarm"
 * Webhook.verify("s3cret", "body", Webhook.sign("s3cret", "body")) // { ok: true }
 * Webhook.verify("s3cret", "body", "sha256=00") // { ok: false, reason: "..." }
 * ```
 *
 * @since 0.1.0
 * @category signing
 */
export const verify = (secret: string, body: string | Uint8Array, signature: string | undefined): Verification =>
  check(secret, body, signature, undefined)

/**
 * Checks a signature of `<timestamp>.<body>` in constant time, then that the timestamp (Unix seconds) is
 * within `toleranceSeconds` (default {@link defaultTolerance}) of `nowMillis` (the receiver's `Clock`): a
 * missing or malformed timestamp, a stale one (older than the window: a replay, or a request delayed too
 * long) and one from the future are refused with a reason saying which and by how much.
 *
 * @example
 * ```ts
 * import { Webhook } from "effect-swarm"
 * const now = Date.now()
 * const t = String(Math.floor(now / 1000) - 600)
 * Webhook.verifyTimestamped("s3cret", "body", Webhook.sign("s3cret", "body", t), t, { nowMillis: now })
 * // { ok: false, reason: "the timestamp is 600 s old; ..." }
 * ```
 *
 * @since 0.1.0
 * @category signing
 */
export const verifyTimestamped = (
  secret: string,
  body: string | Uint8Array,
  signature: string | undefined,
  timestamp: string | undefined,
  options: { readonly nowMillis: number; readonly toleranceSeconds?: number | undefined }
): Verification => {
  const tolerance = options.toleranceSeconds ?? defaultTolerance
  if (timestamp === undefined || timestamp.trim().length === 0) {
    return {
      ok: false,
      reason: `the request has no ${timestampHeader} header (the Unix time in seconds, signed with the body)`
    }
  }
  const t = timestamp.trim()
  if (!/^\d{1,15}$/.test(t)) {
    return { ok: false, reason: `the ${timestampHeader} header is not a Unix time in seconds: ${JSON.stringify(t)}` }
  }
  const signed = check(secret, body, signature, t)
  if (!signed.ok) return signed
  const age = Math.floor(options.nowMillis / 1000) - Number(t)
  if (age > tolerance) {
    return {
      ok: false,
      reason: `the timestamp is ${age} s old; requests signed more than ${tolerance} s ago are refused ` +
        "(a replayed request, or one delayed too long: sign it again when sending)"
    }
  }
  if (-age > tolerance) {
    return {
      ok: false,
      reason: `the timestamp is ${-age} s in the future; more than ${tolerance} s ahead is refused ` +
        "(check the sender's clock)"
    }
  }
  return { ok: true }
}
