/**
 * Webhook signatures: HMAC-SHA256 of the raw request body with a shared secret, sent as
 * `sha256=<hex>` (GitHub's `X-Hub-Signature-256` format; a bare hex digest is accepted too), compared in
 * constant time. The `http` connector reads it from the {@link header} header; custom connectors call
 * `ctx.verifyWebhook(body, signature)`.
 *
 * What it does not do: replay protection (a captured request with its signature can be sent again);
 * put a timestamp or a nonce in the signed body and check it in the connector when that matters.
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
 * The signature of a body: `sha256=<hex HMAC-SHA256(secret, body)>`.
 *
 * @example
 * ```ts
 * import { Webhook } from "effect-swarm"
 * const signature = Webhook.sign("s3cret", "{\"name\":\"message\"}") // "sha256=..."
 * ```
 *
 * @since 0.1.0
 * @category signing
 */
export const sign = (secret: string, body: string | Uint8Array): string =>
  `sha256=${crypto.createHmac("sha256", secret).update(body).digest("hex")}`

/**
 * Checks a signature against a body in constant time (the digests are compared with
 * `crypto.timingSafeEqual`; only the signature's format is checked before).
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
export const verify = (secret: string, body: string | Uint8Array, signature: string | undefined): Verification => {
  if (signature === undefined || signature.trim().length === 0) {
    return { ok: false, reason: "the request has no signature" }
  }
  const hex = signature.trim().replace(/^sha256=/i, "")
  if (!/^[0-9a-f]{64}$/i.test(hex)) {
    return { ok: false, reason: "the signature is not sha256=<64 hex digits>" }
  }
  const expected = crypto.createHmac("sha256", secret).update(body).digest()
  const given = Buffer.from(hex, "hex")
  return crypto.timingSafeEqual(expected, given) ?
    { ok: true } :
    { ok: false, reason: "the signature does not match the body (wrong secret, or the body was changed)" }
}
