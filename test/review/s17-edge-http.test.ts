/**
 * Review of the http connector (session 17, "edge"): connection cap, header / body timeouts, their config,
 * oversized headers and bodies, hostile paths. Real loopback sockets; the small timeouts configured are
 * Node's own socket timers, and no assertion depends on elapsed time.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Connectors, EventBus } from "effect-swarm"
import type { RuntimeEvent } from "effect-swarm"
import * as net from "node:net"
import { baseLayer, bundleOf, orchestratorOf, serve, webYaml } from "../connector/helpers.js"

/** A raw client: connects, writes `parts` (a function gets the socket for slow writes), collects the answer until the server closes. */
const raw = (url: string, write: (socket: net.Socket) => void) =>
  Effect.async<{ readonly answer: string; readonly socket: net.Socket }>((resume) => {
    const { hostname, port } = new URL(url)
    let answer = ""
    const socket = net.connect(Number(port), hostname, () => write(socket))
    socket.setEncoding("latin1")
    socket.on("data", (chunk: string) => (answer += chunk))
    socket.on("error", () => undefined)
    socket.on("close", () => resume(Effect.succeed({ answer, socket })))
    return Effect.sync(() => socket.destroy())
  })

/** Like {@link raw}, but done (the socket destroyed) as soon as the answer's head has arrived. */
const status = (url: string, write: (socket: net.Socket) => void) =>
  Effect.async<string>((resume) => {
    const { hostname, port } = new URL(url)
    let answer = ""
    const socket = net.connect(Number(port), hostname, () => write(socket))
    socket.setEncoding("latin1")
    socket.on("data", (chunk: string) => {
      answer += chunk
      if (answer.includes("\r\n\r\n")) socket.destroy()
    })
    socket.on("error", () => undefined)
    socket.on("close", () => resume(Effect.succeed(answer)))
    return Effect.sync(() => socket.destroy())
  })

/** A keep-alive connection that has been answered once (so the server holds it), left open. */
const held = (url: string) =>
  Effect.acquireRelease(
    Effect.async<net.Socket>((resume) => {
      const { host, hostname, port } = new URL(url)
      const socket = net.connect(Number(port), hostname, () =>
        socket.write(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\n\r\n`))
      socket.setEncoding("latin1")
      socket.once("data", (chunk: string) => {
        assert.match(chunk, /^HTTP\/1\.1 200/)
        resume(Effect.succeed(socket))
      })
    }),
    (socket) =>
      Effect.sync(() =>
        socket.destroy()
      )
  )

describe("review s17: the http connector's socket limits", () => {
  it.live(
    "headers sent too slowly get 408 and the connection is closed (Node's default waited 300 s)",
    () =>
      Effect.gen(function*() {
        const { url } = yield* serve({
          "connectors.yaml": webYaml({ config: { headersTimeoutMs: "200", requestTimeoutMs: "400" } })
        })
        const { host } = new URL(url)
        // The request line and one header, then nothing more.
        const { answer } = yield* raw(
          url,
          (s) => s.write(`POST /connections/web-in/events HTTP/1.1\r\nHost: ${host}\r\n`)
        )
        assert.match(answer, /^HTTP\/1\.1 408/)
        // A connection that sends nothing at all is cut the same way.
        const silent = yield* raw(url, () => undefined)
        assert.match(silent.answer, /^HTTP\/1\.1 408/)
      }).pipe(Effect.scoped, Effect.provide(baseLayer)),
    15_000
  )

  it.live("a body sent too slowly gets 408 and the connection is closed", () =>
    Effect.gen(function*() {
      const { url } = yield* serve({
        "connectors.yaml": webYaml({ config: { headersTimeoutMs: "200", requestTimeoutMs: "400" } })
      })
      const { host } = new URL(url)
      const { answer } = yield* raw(url, (s) =>
        s.write(
          `POST /connections/web-in/events HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n` +
            "Content-Length: 100\r\n\r\n{\"name\":"
        ))
      assert.match(answer, /^HTTP\/1\.1 408/)
    }).pipe(Effect.scoped, Effect.provide(baseLayer)), 15_000)

  it.live(
    "connections over maxConnections get a readable 503 and are closed; a freed slot serves again",
    () =>
      Effect.gen(function*() {
        const { url } = yield* serve({ "connectors.yaml": webYaml({ config: { maxConnections: "2" } }) })
        const { host } = new URL(url)
        const first = yield* held(url)
        yield* held(url)
        const refused = yield* raw(url, (s) => s.write(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\n\r\n`))
        assert.match(refused.answer, /^HTTP\/1\.1 503/)
        assert.include(refused.answer, "TooManyConnections")
        assert.include(refused.answer, "spec.config.maxConnections")
        assert.include(refused.answer, "maximum of 2 connections")
        // One held connection closes: the next client is served.
        yield* Effect.async<void>((resume) => {
          first.once("close", () => resume(Effect.void))
          first.destroy()
        })
        let served = ""
        for (let i = 0; i < 50 && !served.startsWith("HTTP/1.1 200"); i++) {
          served = (yield* raw(url, (s) =>
            s.write(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)))
            .answer
        }
        assert.match(served, /^HTTP\/1\.1 200/)
      }).pipe(Effect.scoped, Effect.provide(baseLayer)),
    15_000
  )

  it.live("a negative, NaN, empty or inconsistent limit is a typed config error naming the field", () =>
    Effect.gen(function*() {
      const failure = (config: Record<string, string>) =>
        Effect.gen(function*() {
          const bundle = yield* bundleOf({ "connectors.yaml": webYaml({ config }) })
          const connectors = yield* Connectors.run(bundle, yield* orchestratorOf(bundle))
          // The connection fails to start (a crash of the connector, in its status).
          for (let i = 0; i < 10_000; i++) {
            const [status] = yield* connectors.status
            if (status?.reason !== undefined) return status.reason
            yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
          }
          return "no failure"
        }).pipe(Effect.scoped)
      for (
        const [key, value] of [
          ["maxConnections", "-1"],
          ["headersTimeoutMs", "NaN"],
          ["requestTimeoutMs", "-5"],
          ["keepAliveTimeoutMs", ""],
          ["maxConnections", "0"]
        ] as const
      ) {
        const reason = yield* failure({ [key]: value })
        assert.include(reason, "E_CONNECTOR_CONFIG", `${key}: ${value}`)
        assert.include(reason, `spec.config.${key} must be an integer`)
      }
      const inconsistent = yield* failure({ headersTimeoutMs: "5000", requestTimeoutMs: "1000" })
      assert.include(inconsistent, "E_CONNECTOR_CONFIG")
      assert.include(inconsistent, "spec.config.headersTimeoutMs (5000) must not exceed")
    }).pipe(Effect.provide(baseLayer)))
})

describe("review s17: the http connector under attack", () => {
  it.live(
    "a 10 MB header gets 431; a 10 MB body over maxBodyBytes gets 413, declared or chunked",
    () =>
      Effect.gen(function*() {
        const { url } = yield* serve({ "connectors.yaml": webYaml({ maxBodyBytes: 2000 }) })
        const { host } = new URL(url)
        const events = "/connections/web-in/events"
        const big = "x".repeat(10 * 1024 * 1024)
        // Node refuses headers over 16 KiB itself.
        const header = yield* status(
          url,
          (s) => s.write(`POST ${events} HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${big}\r\nContent-Length: 2\r\n\r\n{}`)
        )
        assert.match(header, /^HTTP\/1\.1 431/)
        // A body over the limit is refused before it is read; what follows is read and dropped (within
        // requestTimeoutMs), not buffered.
        const declared = yield* status(url, (s) =>
          s.write(
            `POST ${events} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n` +
              `Content-Length: ${big.length}\r\n\r\n${big}`
          ))
        assert.match(declared, /^HTTP\/1\.1 413/)
        const chunked = yield* status(url, (s) => {
          s.write(
            `POST ${events} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n` +
              "Transfer-Encoding: chunked\r\n\r\n"
          )
          for (let i = 0; i < 10; i++) s.write(`100000\r\n${"y".repeat(0x100000)}\r\n`)
          s.write("0\r\n\r\n")
        })
        assert.match(chunked, /^HTTP\/1\.1 413/)
        // The server still answers.
        const health = yield* Effect.promise(() => fetch(`${url}/healthz`).then((r) => r.status))
        assert.strictEqual(health, 200)
      }).pipe(Effect.scoped, Effect.provide(baseLayer)),
    30_000
  )

  it.live(
    "an instance event stream for an address that is not one (a path, a traversal) is a 400, not a silent stream",
    () =>
      Effect.gen(function*() {
        const { url } = yield* serve({ "connectors.yaml": webYaml() })
        for (const address of ["..%2F..%2Fetc%2Fpasswd", "..%5C..%5Cwin", "front@", "@key", "fr%00ont@x"]) {
          const res = yield* Effect.promise(async () => {
            const r = await fetch(`${url}/instances/${address}/events`)
            const body = r.headers.get("content-type")?.includes("json") === true
              ? await r.json()
              : await r.body?.cancel()
            return { status: r.status, body: body as Record<string, unknown> | undefined }
          })
          assert.strictEqual(res.status, 400, address)
          assert.strictEqual(res.body?.error, "InvalidAgentAddress", address)
          assert.include(String(res.body?.message), "agent@instanceKey", address)
        }
      }).pipe(Effect.scoped, Effect.provide(baseLayer)),
    30_000
  )

  it.live(
    "an event stream whose client stops reading keeps only the latest events, not every one published",
    () =>
      Effect.gen(function*() {
        const { url } = yield* serve({ "connectors.yaml": webYaml() })
        const bus = yield* EventBus.EventBus
        const { host, hostname, port } = new URL(url)
        const socket = yield* Effect.acquireRelease(
          Effect.sync(() => net.connect(Number(port), hostname)),
          (s) => Effect.sync(() => s.destroy())
        )
        let received = ""
        let opened = false
        yield* Effect.async<void>((resume) => {
          socket.setEncoding("latin1")
          socket.on("data", (chunk: string) => {
            received += chunk
            if (!opened && received.includes("event: open")) {
              opened = true
              socket.pause()
              resume(Effect.void)
            }
          })
          socket.write(`GET /instances/front@k/events HTTP/1.1\r\nHost: ${host}\r\n\r\n`)
        })
        // 30,000 events of about 1 KB (30 MB, far more than the sockets' buffers) while the client reads nothing.
        const pad = "p".repeat(1000)
        const event = (turnId: string): RuntimeEvent.RuntimeEvent => ({
          type: "turn.started",
          timestamp: new Date(0).toISOString(),
          agentName: "front",
          instanceKey: "k",
          turnId,
          traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
          spanId: "00f067aa0ba902b7"
        })
        const total = 30_000
        for (let i = 0; i < total; i++) yield* bus.publish(event(`${pad}-${i}`))
        yield* bus.publish(event("last"))
        // The client reads again, up to the last event.
        // (Counted as it comes: the text itself is not kept.)
        let delivered = received.split("event: runtime").length - 1
        let tail = ""
        socket.removeAllListeners("data")
        yield* Effect.async<void>((resume) => {
          socket.on("data", (chunk: string) => {
            const text = tail + chunk
            delivered += text.split("event: runtime").length - tail.split("event: runtime").length
            tail = text.slice(-64)
            if (text.includes("\"turnId\":\"last\"")) resume(Effect.void)
          })
          socket.resume()
        })
        assert.isBelow(delivered, total)
      }).pipe(Effect.scoped, Effect.provide(baseLayer)),
    60_000
  )
})
