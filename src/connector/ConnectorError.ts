/**
 * The typed failures of connectors: an event the Connector does not declare (or with a property of the
 * wrong type), an event no ingress rule of the Connection routes, a connector module that does not load
 * or start, a connector that crashed, and a webhook signature that does not verify. Each names the
 * connection, the connector and what to change.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * An event a connector emitted does not match what its Connector resource declares (`spec.events`): the
 * event name is not declared, a declared property is missing or has another type, a property is not
 * declared, or the event has no instance key to route to.
 *
 * @example
 * ```ts
 * import { ConnectorError } from "effect-swarm"
 * const e = new ConnectorError.ConnectorEventInvalid({
 *   connection: "web", connector: "http", event: "ping", property: undefined,
 *   detail: "Connector/http declares no event \"ping\"", suggestion: "declared events: message"
 * })
 * e.message // "connection web: event \"ping\" ...
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectorEventInvalid
  extends Schema.TaggedError<ConnectorEventInvalid>("effect-swarm/ConnectorEventInvalid")("ConnectorEventInvalid", {
    connection: Schema.String,
    connector: Schema.String,
    event: Schema.String,
    /** The property at fault, when one is. */
    property: Schema.UndefinedOr(Schema.String),
    detail: Schema.String,
    suggestion: Schema.String
  })
{
  override get message(): string {
    const at = this.property === undefined ? "" : ` property ${JSON.stringify(this.property)}:`
    return `connection ${this.connection}: event ${
      JSON.stringify(this.event)
    } of Connector/${this.connector} is invalid:${at} ${this.detail} (${this.suggestion})`
  }
}

/**
 * The Connection has ingress rules and none of them matches the event: it is not delivered (the
 * reference dropped such events silently).
 *
 * @since 0.1.0
 * @category errors
 */
export class IngressNoMatch
  extends Schema.TaggedError<IngressNoMatch>("effect-swarm/IngressNoMatch")("IngressNoMatch", {
    connection: Schema.String,
    connector: Schema.String,
    event: Schema.String,
    properties: Schema.Record({ key: Schema.String, value: Schema.String }),
    /** The rules as `match` summaries, in order. */
    rules: Schema.Array(Schema.String)
  })
{
  override get message(): string {
    return `connection ${this.connection}: no ingress rule routes event ${JSON.stringify(this.event)} with ` +
      `properties ${JSON.stringify(this.properties)} (rules: ${this.rules.join("; ")}); add a rule without ` +
      `match (a catch-all) at the end of spec.ingress.rules, or emit an event a rule matches`
  }
}

/**
 * Why a connector did not start.
 *
 * - `E_CONNECTOR_IMPORT`: the entry module cannot be imported;
 * - `E_CONNECTOR_NO_RUN`: the module exports no `run` function (default export or named `run`);
 * - `E_CONNECTOR_BUILTIN_UNKNOWN`: `spec.builtin` names no registered built-in connector;
 * - `E_CONNECTOR_CONFIG`: a `spec.config` / `spec.secrets` / `verify.webhook.signingSecret` value does not
 *   resolve (a missing environment variable or secret), or a built-in's config value is invalid;
 * - `E_CONNECTOR_NOT_FOUND`: no Connection of that name for the Swarm.
 *
 * @since 0.1.0
 * @category models
 */
export const LoadCode = Schema.Literal(
  "E_CONNECTOR_IMPORT",
  "E_CONNECTOR_NO_RUN",
  "E_CONNECTOR_BUILTIN_UNKNOWN",
  "E_CONNECTOR_CONFIG",
  "E_CONNECTOR_NOT_FOUND"
)

/**
 * A connector did not start: see {@link LoadCode}.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectorLoadError
  extends Schema.TaggedError<ConnectorLoadError>("effect-swarm/ConnectorLoadError")("ConnectorLoadError", {
    code: LoadCode,
    connection: Schema.String,
    connector: Schema.String,
    /** The entry module or the YAML file at fault. */
    file: Schema.String,
    reason: Schema.String,
    suggestion: Schema.String
  })
{
  override get message(): string {
    return `[${this.code}] connection ${this.connection} (Connector/${this.connector}, ${this.file}): ${this.reason}. ${this.suggestion}`
  }
}

/**
 * A running connector failed (its `run` rejected or threw, or a built-in failed). The supervisor restarts
 * it with backoff; this error is what it logs and what the connection's status reports.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectorCrashed
  extends Schema.TaggedError<ConnectorCrashed>("effect-swarm/ConnectorCrashed")("ConnectorCrashed", {
    connection: Schema.String,
    connector: Schema.String,
    reason: Schema.String
  })
{
  override get message(): string {
    return `connection ${this.connection} (Connector/${this.connector}) crashed: ${this.reason}`
  }
}

/**
 * A webhook's signature is missing or does not verify against the Connection's
 * `verify.webhook.signingSecret` (or the connection has no signing secret to verify with), or its signed
 * timestamp is missing, malformed, stale or in the future (`timestampHeader` is set when the timestamp is
 * part of what is signed; see `Webhook`).
 *
 * @since 0.1.0
 * @category errors
 */
export class WebhookSignatureInvalid
  extends Schema.TaggedError<WebhookSignatureInvalid>("effect-swarm/WebhookSignatureInvalid")(
    "WebhookSignatureInvalid",
    {
      connection: Schema.String,
      /** The header the signature is read from. */
      header: Schema.String,
      /** The header the signed timestamp is read from, when the signature covers `<timestamp>.<body>`. */
      timestampHeader: Schema.optional(Schema.String),
      reason: Schema.String
    }
  )
{
  override get message(): string {
    const expected = this.timestampHeader === undefined ?
      `send ${this.header}: sha256=<hex HMAC-SHA256 of the raw request body with the connection's signing secret>` :
      `send ${this.timestampHeader}: <Unix time in seconds> and ${this.header}: sha256=<hex HMAC-SHA256 of ` +
      `"<timestamp>.<raw request body>" with the connection's signing secret>`
    return `connection ${this.connection}: webhook signature rejected: ${this.reason} (${expected})`
  }
}

/**
 * What `ctx.emit` / `ctx.request` fail with before the orchestrator is reached.
 *
 * @since 0.1.0
 * @category models
 */
export type RoutingError = ConnectorEventInvalid | IngressNoMatch
