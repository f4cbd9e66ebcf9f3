/**
 * The `http` connector's request handling: routes, bodies, signatures, replies and event streams.
 */
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import type * as http from "node:http"
import * as AgentAddress from "../../orchestrator/AgentAddress.js"
import type { OrchestratorError } from "../../orchestrator/OrchestratorError.js"
import type { Accepted, Reply, Runtime } from "../Connector.js"
import * as Webhook from "../Webhook.js"
import * as BrowserGuard from "./browserGuard.js"

/** What the handler needs besides the request. */
export interface Handler {
  readonly rt: Runtime
  readonly maxBodyBytes: number
  /** Reply text deltas and replies of the turns this connection started, per `agent@instanceKey`. */
  readonly replies: PubSub.PubSub<{ readonly address: string; readonly event: string; readonly data: unknown }>
  /** Completed when the connector stops: event streams end. */
  readonly closing: Deferred.Deferred<void>
  /** Where reply waits of accepted (not awaited) events run. */
  readonly fibers: FiberSet.FiberSet<unknown, unknown>
  /** Seconds a signed timestamp may be from the Clock; 0: no timestamp, the signature covers the body alone. */
  readonly replayToleranceSeconds: number
  /** How often an event stream sends a comment line when nothing else is sent; 0: never. */
  readonly heartbeatSeconds: number
  /** The address the server is bound to (a loopback one answers only loopback names and `allowedHosts`). */
  readonly host: string
  /** More `Host` names a loopback-bound server answers to (lower case, no port). */
  readonly allowedHosts: ReadonlyArray<string>
}

const encoder = new TextEncoder()

const problem = (status: number, error: string, message: string) =>
  HttpServerResponse.unsafeJson({ error, message }, { status })

const sse = (event: string, data: unknown): Uint8Array =>
  encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)

/** The comment line an event stream sends every `heartbeatSeconds` (clients ignore it; proxies see traffic). */
export const heartbeat = encoder.encode(": heartbeat\n\n")

// Every `heartbeatSeconds` on the Clock, a comment line, for as long as `stream` runs.
const sseResponse = (h: Handler, stream: Stream.Stream<Uint8Array>) =>
  HttpServerResponse.stream(
    h.heartbeatSeconds === 0 ? stream : Stream.merge(
      stream,
      Stream.repeatEffect(Effect.as(Effect.sleep(Duration.seconds(h.heartbeatSeconds)), heartbeat)),
      { haltStrategy: "left" }
    ),
    {
      contentType: "text/event-stream",
      headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
    }
  )

const statusOf = (tag: string): number => {
  switch (tag) {
    case "ConnectorEventInvalid":
    case "InvalidAgentAddress":
      return 400
    case "IngressNoMatch":
    case "AgentNotFound":
      return 422
    case "AgentMailboxFull":
    case "AgentUnavailable":
      return 503
    default:
      return 500
  }
}

const failure = (e: { readonly _tag: string; readonly message: string }) => problem(statusOf(e._tag), e._tag, e.message)

const readBody = (h: Handler, request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function*() {
    const length = Number(request.headers["content-length"] ?? "0")
    if (Number.isFinite(length) && length > h.maxBodyBytes) {
      return yield* Effect.fail(
        problem(
          413,
          "PayloadTooLarge",
          `the body is ${length} bytes; this connection accepts at most ${h.maxBodyBytes}`
        )
      )
    }
    return yield* readLimited(NodeHttpServerRequest.toIncomingMessage(request), h.maxBodyBytes)
  })

// The body as UTF-8, at most `max` bytes. Past it (a chunked body, or one longer than it declared) the answer is a
// 413 and the rest is read and dropped as it comes (within the server's requestTimeout), so the client reads the
// answer; the platform's own limit destroyed the socket, and the client got a reset instead of a 413.
const readLimited = (req: http.IncomingMessage, max: number) =>
  Effect.async<string, HttpServerResponse.HttpServerResponse>((resume) => {
    const chunks: Array<Buffer> = []
    let bytes = 0
    const stop = () => {
      req.off("data", onData)
      req.off("end", onEnd)
      req.off("error", onError)
      req.on("error", () => undefined)
    }
    const onData = (chunk: Buffer) => {
      bytes += chunk.length
      if (bytes <= max) return void chunks.push(chunk)
      stop()
      chunks.length = 0
      req.resume()
      resume(
        Effect.fail(
          problem(413, "PayloadTooLarge", `the body is longer than this connection accepts: at most ${max} bytes`)
        )
      )
    }
    const onEnd = () => {
      stop()
      resume(Effect.succeed(Buffer.concat(chunks).toString("utf8")))
    }
    const onError = (error: Error) => {
      stop()
      resume(Effect.fail(problem(400, "BodyUnreadable", `the body could not be read (${error.message})`)))
    }
    req.on("data", onData)
    req.once("end", onEnd)
    req.once("error", onError)
    return Effect.sync(stop)
  })

// With a signing secret, `signed` (the raw body of a POST; the path of a GET) must carry the request's signature.
const verify = (h: Handler, request: HttpServerRequest.HttpServerRequest, signed: string) =>
  h.rt.verifiesWebhooks ?
    h.rt.verifyWebhook(
      signed,
      request.headers[Webhook.header],
      h.replayToleranceSeconds === 0 ? undefined : {
        timestamp: request.headers[Webhook.timestampHeader],
        toleranceSeconds: h.replayToleranceSeconds
      }
    ).pipe(Effect.mapError((e) => problem(401, e._tag, e.message))) :
    Effect.void

const postEvent = (h: Handler, request: HttpServerRequest.HttpServerRequest, url: URL) =>
  Effect.gen(function*() {
    const raw = yield* readBody(h, request)
    yield* verify(h, request, raw)
    const event = yield* Effect.try({
      try: () => JSON.parse(raw) as unknown,
      catch: (e) =>
        problem(
          400,
          "InvalidJson",
          `the body is not JSON (${e instanceof Error ? e.message : String(e)}); send ` +
            `{"name":"<event>","text":"...","properties":{...},"instanceKey":"..."}`
        )
    })
    const wait = url.searchParams.get("wait") ??
      (request.headers.accept?.includes("text/event-stream") === true ? "stream" : undefined)
    const publish = (address: string, name: string, data: unknown) =>
      Effect.asVoid(PubSub.publish(h.replies, { address, event: name, data }))
    // This response's own stream (wait=stream): written to as the turn runs, ended by `null`.
    const own = yield* Queue.unbounded<Uint8Array | null>()
    const tell = (address: string, name: string, data: unknown) =>
      Effect.zipRight(
        publish(address, name, data),
        wait === "stream" ? Queue.offer(own, sse(name, data)) : Effect.void
      )
    const [accepted, reply] = yield* h.rt.submit(event, {
      onDelta: (text, to) => tell(to.address, "delta", { text })
    }).pipe(Effect.mapError(failure))
    // The reply is waited for in the connector's fiber set, not in this request's fiber: a client that
    // disconnects interrupts only its own wait below; the turn goes on, is recorded, and its reply still
    // reaches the instance's event stream.
    const settled = yield* Deferred.make<Reply, OrchestratorError>()
    yield* FiberSet.run(
      h.fibers,
      reply.pipe(
        Effect.tap((r) => tell(r.address, "reply", r)),
        Effect.tapError((e) => tell(accepted.address, "error", { error: e._tag, message: e.message })),
        Effect.exit,
        Effect.flatMap((exit) => Deferred.done(settled, exit)),
        Effect.ensuring(Queue.offer(own, null)),
        Effect.interruptible
      )
    )
    if (wait === "reply") {
      const answer: Reply = yield* Deferred.await(settled).pipe(
        Effect.mapError(failure),
        Effect.onInterrupt(() =>
          Effect.logInfo(
            `http connector: stopped waiting for the reply of ${accepted.address} (the client disconnected or the ` +
              "connector stops); the turn goes on"
          )
        )
      )
      return HttpServerResponse.unsafeJson({ reply: answer })
    }
    if (wait === "stream") {
      return sseResponse(
        h,
        Stream.concat(
          Stream.make(sse("accepted", accepted)),
          Stream.fromQueue(own).pipe(
            Stream.takeWhile((x): x is Uint8Array => x !== null)
          )
        ).pipe(Stream.interruptWhen(Deferred.await(h.closing)))
      )
    }
    return HttpServerResponse.unsafeJson({ accepted } satisfies { accepted: Accepted }, { status: 202 })
  })

/** The events an instance's event stream holds for a client that does not read them (oldest dropped past it). */
export const maxBufferedEvents = 256

const instanceEvents = (h: Handler, address: string) => {
  const at = address.indexOf("@")
  const agentName = at < 0 ? address : address.slice(0, at)
  const instanceKey = at < 0 ? "default" : address.slice(at + 1)
  const label = `${agentName}@${instanceKey}`
  // Both subscriptions are in place before `open` is sent: an event published once the client has seen
  // `open` is in the stream (before, they subscribed after it, and an event in between was lost).
  // The subscriptions are drained as events come, whether or not the client reads: a client that stops reading
  // (its socket full) keeps only the latest `maxBufferedEvents` of its instance, oldest dropped. Before, its
  // unbounded subscription kept every runtime event of every instance for as long as it stayed connected.
  const events = Stream.unwrapScoped(Effect.gen(function*() {
    const runtime = yield* h.rt.subscribeRuntimeEvents
    const replies = yield* PubSub.subscribe(h.replies)
    const buffered = yield* Queue.sliding<Uint8Array>(maxBufferedEvents)
    yield* Stream.merge(
      Stream.fromQueue(runtime).pipe(
        Stream.filter((e) => e.agentName === agentName && e.instanceKey === instanceKey),
        Stream.map((e) => sse("runtime", e))
      ),
      Stream.fromQueue(replies).pipe(
        Stream.filter((m) => m.address === label),
        Stream.map((m) => sse(m.event, m.data))
      )
    ).pipe(Stream.runForEach((chunk) => Queue.offer(buffered, chunk)), Effect.forkScoped)
    return Stream.concat(Stream.make(sse("open", { instance: label })), Stream.fromQueue(buffered))
  }))
  return sseResponse(h, events.pipe(Stream.interruptWhen(Deferred.await(h.closing))))
}

/** The connector's HTTP app. */
export const app = (h: Handler) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    // A web page must not reach this server: no cross-origin requests, no DNS rebinding.
    const refused = BrowserGuard.check(
      { host: request.headers.host, origin: request.headers.origin },
      h.host,
      h.allowedHosts
    )
    if (refused !== undefined) return problem(403, refused.error, refused.message)
    const url = new URL(request.url, "http://localhost")
    const segments = url.pathname.split("/").filter((p) => p.length > 0)
    const parts: Array<string> = []
    for (const segment of segments) {
      try {
        parts.push(decodeURIComponent(segment))
      } catch {
        return problem(
          400,
          "InvalidPath",
          `the path segment ${JSON.stringify(segment.slice(0, 200))} is not valid percent-encoding (a % must be ` +
            "followed by two hex digits of UTF-8); encode the agent@instanceKey with encodeURIComponent"
        )
      }
    }
    if (request.method === "GET" && url.pathname === "/healthz") {
      return HttpServerResponse.unsafeJson({ status: "ok", connection: h.rt.connection })
    }
    if (parts[0] === "connections" && parts[2] === "events" && parts.length === 3) {
      if (parts[1] !== h.rt.connection) {
        return problem(
          404,
          "ConnectionNotFound",
          `this server serves connection ${h.rt.connection}: POST /connections/${h.rt.connection}/events`
        )
      }
      if (request.method !== "POST") return problem(405, "MethodNotAllowed", "POST events to this path")
      // HttpApp runs handlers uninterruptibly: waiting for a reply must stay interruptible, so a client that
      // disconnects stops the wait (the turn goes on) and the connector's shutdown never waits for a turn.
      return yield* Effect.merge(Effect.interruptible(postEvent(h, request, url)))
    }
    if (request.method === "GET" && parts[0] === "instances" && parts[2] === "events" && parts.length === 3) {
      // The stream carries the instance's conversation (model inputs, tool calls, replies): with a signing
      // secret it is as protected as the POSTs, the signature covering the path as sent.
      // An address that names no instance (a path, `..`, an empty side) is refused, not served as a stream that
      // never carries an event.
      return yield* verify(h, request, url.pathname).pipe(
        Effect.zipRight(Effect.mapError(AgentAddress.parse(parts[1]!), (e) => problem(400, e._tag, e.message))),
        Effect.map((address) => instanceEvents(h, AgentAddress.format(address))),
        Effect.merge
      )
    }
    return problem(
      404,
      "NotFound",
      `no route ${request.method} ${url.pathname}; routes: GET /healthz, POST /connections/${h.rt.connection}/events, ` +
        "GET /instances/<agent@instanceKey>/events"
    )
  }).pipe(
    Effect.catchAllCause((cause) =>
      Effect.as(
        Effect.logError("http connector: request failed", cause),
        problem(500, "InternalError", "the request failed; see the server log")
      )
    )
  )
