/**
 * The `http` built-in connector (`spec.builtin: http`), on `@effect/platform`'s HttpServer (Node).
 *
 * Routes (one server per Connection):
 * - `POST /connections/<connection>/events`: an event as JSON (`{ "name", "text" | "message",
 *   "properties", "instanceKey" }`), checked against the Connector's declared events and routed by the
 *   Connection's ingress rules. By default the answer is `202 { accepted }` once the Orchestrator accepted
 *   it; `?wait=reply` answers `200 { reply }` when the turn ends; `?wait=stream` (or
 *   `Accept: text/event-stream`) answers with server-sent events: `accepted`, `delta` (`{ text }`) as the
 *   reply is generated, then `reply` (or `error`).
 * - `GET /instances/<agent@instanceKey>/events`: server-sent events for one instance: `runtime` (every
 *   runtime event of the instance: turns, steps, tool calls) and `delta` / `reply` / `error` for the
 *   turns this connection started.
 * - `GET /healthz`: `200 { status: "ok", connection }`.
 *
 * Errors are JSON `{ error, message }`: 400 for an invalid event, JSON or instance address, 401 for a rejected signature,
 * 403 for a request from a web page, 404 for another path or connection name, 413 for a body over the limit, 422 for an event no ingress
 * rule routes, 503 when the instance's mailbox is full or the instance is stopped.
 *
 * Signatures: when the Connection has `verify.webhook.signingSecret`, every POST must carry
 * `x-effect-swarm-timestamp: <Unix time in seconds>` and `x-effect-swarm-signature: sha256=<hex
 * HMAC-SHA256 of "<timestamp>.<raw body>">` (see `Webhook`), compared in constant time; a timestamp more
 * than `replayToleranceSeconds` from the server's `Clock` (stale: a replay; or in the future) is refused
 * like a bad signature: 401 with the reason, before the body is parsed. `replayToleranceSeconds: 0` turns
 * the timestamp off (the signature covers the body alone; a captured request can be replayed). An
 * instance's event stream (`GET /instances/.../events`) needs the same headers, signing the path as sent
 * (without the query) in place of a body.
 *
 * Event streams (`?wait=stream`, `GET /instances/.../events`) send a comment line (`: heartbeat`) every
 * `heartbeatSeconds` on the `Clock`, so proxies that close idle connections keep them open.
 *
 * Requests from web pages are refused with 403: one with an `Origin` header other than the server's own
 * address (`ForbiddenOrigin`: a page the user visits could otherwise post events, since a `text/plain`
 * form needs no CORS preflight), and, on a loopback `host`, one whose `Host` is not a loopback name or one
 * of `allowedHosts` (`ForbiddenHost`: DNS rebinding).
 *
 * Connection `spec.config`: `port` (default 8787; `0` picks a free port, announced in the connection's
 * status as `url`), `host` (default `127.0.0.1`), `allowedHosts` (comma-separated names a loopback-bound
 * server answers to besides `localhost` and `127.0.0.1`, e.g. a reverse proxy's), `maxBodyBytes` (default 1048576),
 * `replayToleranceSeconds` (default 300; 0: off), `heartbeatSeconds` (default 15; 0: off), and the socket limits:
 * `maxConnections` (default 512, keep-alive connections included; one more is answered `503 { error:
 * "TooManyConnections" }` and closed before its request is read), `headersTimeoutMs` (default 10000: a connection
 * whose request headers are not complete by then, an idle new one included, gets 408 and is closed),
 * `requestTimeoutMs` (default 30000: the same for the whole request, body included; not the response, so replies
 * and event streams are not cut) and `keepAliveTimeoutMs` (default 65000). Each is an integer; anything else (a
 * negative number, `NaN`, a header timeout above the request timeout) fails the connection with
 * `E_CONNECTOR_CONFIG` naming the field. Headers are capped by Node at 16 KiB (431).
 *
 * @since 0.1.0
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as PubSub from "effect/PubSub"
import type * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import * as http from "node:http"
import type { Builtin } from "./Connector.js"
import { ConnectorCrashed, ConnectorLoadError } from "./ConnectorError.js"
import * as Internal from "./internal/http.js"
import * as Limits from "./internal/httpLimits.js"

/**
 * The defaults of the connector's config.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults = {
  port: 8787,
  host: "127.0.0.1",
  maxBodyBytes: 1024 * 1024,
  replayToleranceSeconds: 300,
  heartbeatSeconds: 15,
  /** Open connections (keep-alive ones included); one more is answered 503 and closed. */
  maxConnections: 512,
  /** From a connection's first byte (or its opening) to the end of the request's headers; then 408. */
  headersTimeoutMs: 10_000,
  /** From a request's first byte to the end of its body; then 408. Never shorter than `headersTimeoutMs`. */
  requestTimeoutMs: 30_000,
  /** An idle keep-alive connection is closed after this (above the 60 s of common proxies, so none reuses a closing one). */
  keepAliveTimeoutMs: 65_000
} as const

const configError = (rt: Parameters<Builtin>[0], reason: string, suggestion: string) =>
  Effect.fail(
    new ConnectorLoadError({
      code: "E_CONNECTOR_CONFIG",
      connection: rt.connection,
      connector: rt.connector,
      file: `Connection/${rt.connection}`,
      reason,
      suggestion
    })
  )

const integer = (
  rt: Parameters<Builtin>[0],
  key: string,
  fallback: number,
  min: number,
  max: number
): Effect.Effect<number, ConnectorLoadError> => {
  const raw = rt.config[key]
  if (raw === undefined) return Effect.succeed(fallback)
  const n = raw.trim() === "" ? Number.NaN : Number(raw)
  return Number.isInteger(n) && n >= min && n <= max ?
    Effect.succeed(n) :
    configError(
      rt,
      `spec.config.${key} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`,
      `e.g. ${key}: { value: "${fallback}" }`
    )
}

/**
 * The `http` connector.
 *
 * @example
 * ```yaml
 * kind: Connector
 * metadata: { name: webhook }
 * spec:
 *   builtin: http
 *   events:
 *     - name: message
 *       properties: { user: { type: string } }
 * ---
 * kind: Connection
 * metadata: { name: web }
 * spec:
 *   connectorRef: Connector/webhook
 *   config: { port: { value: "8080" } }
 *   verify: { webhook: { signingSecret: { valueFrom: { env: WEBHOOK_SECRET } } } }
 *   ingress:
 *     rules:
 *       - route: { instanceKeyProperty: user, instanceKeyPrefix: "web-" }
 * ```
 *
 * @since 0.1.0
 * @category connectors
 */
export const connector: Builtin = (rt) =>
  Effect.gen(function*() {
    const port = yield* integer(rt, "port", defaults.port, 0, 65535)
    const maxBodyBytes = yield* integer(rt, "maxBodyBytes", defaults.maxBodyBytes, 1, 1024 * 1024 * 1024)
    const replayToleranceSeconds = yield* integer(
      rt,
      "replayToleranceSeconds",
      defaults.replayToleranceSeconds,
      0,
      7 * 24 * 3600
    )
    const heartbeatSeconds = yield* integer(rt, "heartbeatSeconds", defaults.heartbeatSeconds, 0, 3600)
    const host = rt.config.host ?? defaults.host
    const allowedHosts = (rt.config.allowedHosts ?? "").split(",").map((name) => name.trim().toLowerCase())
      .filter((name) => name.length > 0)
    const limits: Limits.Limits = {
      maxConnections: yield* integer(rt, "maxConnections", defaults.maxConnections, 1, 1_000_000),
      headersTimeoutMs: yield* integer(rt, "headersTimeoutMs", defaults.headersTimeoutMs, 1, 3_600_000),
      requestTimeoutMs: yield* integer(rt, "requestTimeoutMs", defaults.requestTimeoutMs, 1, 3_600_000),
      keepAliveTimeoutMs: yield* integer(rt, "keepAliveTimeoutMs", defaults.keepAliveTimeoutMs, 1, 3_600_000)
    }
    if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
      return yield* configError(
        rt,
        `spec.config.headersTimeoutMs (${limits.headersTimeoutMs}) must not exceed spec.config.requestTimeoutMs ` +
          `(${limits.requestTimeoutMs}): the request's time includes its headers`,
        `raise requestTimeoutMs or lower headersTimeoutMs`
      )
    }
    // Node's own socket timers (its defaults let a client dribble headers or a body for 300 s), and the cap on
    // connections. Idle keep-alive sockets stay open 65 s by default (Node's 5 s races clients reusing a socket as
    // the server closes it, seen as ECONNRESET under bursts).
    const nodeServer = http.createServer({ connectionsCheckingInterval: Limits.checkingInterval(limits) })
    Limits.apply(nodeServer, limits)
    const server = yield* NodeHttpServer.make(() => nodeServer, { port, host }).pipe(
      Effect.mapError((e) =>
        new ConnectorCrashed({
          connection: rt.connection,
          connector: rt.connector,
          reason: `cannot listen on ${host}:${port} (${String(e.cause)})`
        })
      )
    )
    // Runs before the server's own close (finalizers run in reverse): event streams end, connections drop.
    const closing = yield* Deferred.make<void>()
    yield* Effect.addFinalizer(() =>
      Effect.zipRight(Deferred.succeed(closing, undefined), Effect.sync(() => nodeServer.closeAllConnections()))
    )
    const replies = yield* Effect.acquireRelease(
      PubSub.unbounded<{ readonly address: string; readonly event: string; readonly data: unknown }>(),
      PubSub.shutdown
    )
    const fibers = yield* FiberSet.make()
    // Requests are traces of their own (or continue their traceparent), not children of the connector's span.
    yield* server.serve(
      Internal.app({
        rt,
        maxBodyBytes,
        replies,
        closing,
        fibers,
        replayToleranceSeconds,
        heartbeatSeconds,
        host,
        allowedHosts
      })
    ).pipe(
      Effect.mapInputContext((context: Context.Context<Scope.Scope>) => Context.omit(Tracer.ParentSpan)(context))
    )
    const address = server.address
    const url = address._tag === "TcpAddress" ? `http://${address.hostname}:${address.port}` : address.path
    yield* rt.announce({ url })
    yield* Effect.logInfo(`http connector listening on ${url}`).pipe(
      Effect.annotateLogs({ connection: rt.connection, connector: rt.connector })
    )
    return yield* Effect.never
  })
