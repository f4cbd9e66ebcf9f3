/**
 * The `http` connector's socket limits: a cap on concurrent connections (one over it is answered 503 and
 * closed, before any request is parsed) and Node's own header, request and keep-alive timers.
 */
import type * as http from "node:http"
import type * as net from "node:net"

/** The limits, validated by the connector (milliseconds; a count). */
export interface Limits {
  readonly maxConnections: number
  readonly headersTimeoutMs: number
  readonly requestTimeoutMs: number
  readonly keepAliveTimeoutMs: number
}

/**
 * How often Node checks its header and request timers: often enough that a timeout is honoured within a
 * tenth of itself (Node's default is 30 s, which let a 10 s header timeout stretch to 40 s), at most 1 s.
 */
export const checkingInterval = (limits: Limits): number =>
  Math.max(25, Math.min(1000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 10)))

/** The raw answer of a connection over the cap (no request has been parsed; the socket is closed after it). */
const busy = (max: number): string => {
  const body = JSON.stringify({
    error: "TooManyConnections",
    message: `this server already holds its maximum of ${max} connections (spec.config.maxConnections); ` +
      "retry shortly, or reuse a keep-alive connection"
  })
  return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n" +
    `Connection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
}

/**
 * Applies `limits` to `server` (before it listens): Node's timers, and the connection cap in front of the
 * server's own connection handler.
 */
export const apply = (server: http.Server, limits: Limits): void => {
  server.headersTimeout = limits.headersTimeoutMs
  server.requestTimeout = limits.requestTimeoutMs
  server.keepAliveTimeout = limits.keepAliveTimeoutMs
  const handlers = server.listeners("connection") as Array<(socket: net.Socket) => void>
  server.removeAllListeners("connection")
  let open = 0
  const answer = busy(limits.maxConnections)
  server.on("connection", (socket: net.Socket) => {
    if (open >= limits.maxConnections) {
      // Whatever the client sends is read and dropped (an unread request would turn the close into a reset
      // that can lose the answer); one that never closes its side is dropped after a second.
      socket.on("error", () => undefined)
      socket.setTimeout(1000, () => socket.destroy())
      socket.resume()
      socket.end(answer)
      return
    }
    open++
    socket.once("close", () => open--)
    for (const handler of handlers) handler.call(server, socket)
  })
}
