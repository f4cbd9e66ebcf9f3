/**
 * A loopback HTTP server that replays provider wire formats: each request gets the next scripted reply
 * (a JSON body, an SSE body written in small pieces, a connection dropped mid-body, or no answer at all),
 * and every request is recorded (method, path, headers, body) so tests assert the exact bytes we send.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as fs from "node:fs"
import * as http from "node:http"
import type * as net from "node:net"
import * as path from "node:path"

export interface Reply {
  readonly status?: number
  readonly headers?: Record<string, string>
  /** The body; an SSE body is written in pieces of `split` bytes (default: whole). */
  readonly body?: string
  readonly split?: number
  /** After writing the body (or its first `dropAfter` bytes), destroy the socket. */
  readonly drop?: boolean
  readonly dropAfter?: number
  /** Never answer (a slow server); with `body`, write it then keep the response open. */
  readonly hang?: boolean
}

export interface Recorded {
  readonly method: string
  readonly path: string
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
  readonly json: unknown
}

export interface Server {
  readonly url: string
  readonly requests: Array<Recorded>
  /** How many requests' connections closed before we finished answering (aborted by the client). */
  readonly aborted: () => number
  readonly push: (...replies: ReadonlyArray<Reply>) => void
}

const fixturesDir = path.join(import.meta.dirname, "fixtures")

/** A fixture's text: `fixture("openai-compatible", "text.json")`. */
export const fixture = (provider: string, name: string): string =>
  fs.readFileSync(path.join(fixturesDir, provider, name), "utf8")

/** A JSON reply from a fixture. */
export const json = (provider: string, name: string, status = 200, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { "content-type": "application/json", ...headers },
  body: fixture(provider, name)
})

/** An SSE reply from a fixture, written 7 bytes at a time (events cross write boundaries). */
export const sse = (provider: string, name: string, extra: Partial<Reply> = {}): Reply => ({
  status: 200,
  headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
  body: fixture(provider, name),
  split: 7,
  ...extra
})

export const make = (...initial: ReadonlyArray<Reply>): Effect.Effect<Server, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ server: http.Server; state: Server; sockets: Set<net.Socket> }>((resume) => {
      const queue: Array<Reply> = [...initial]
      const requests: Array<Recorded> = []
      const sockets = new Set<net.Socket>()
      let aborted = 0
      const server = http.createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (c: Buffer) => chunks.push(c))
        req.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8")
          let parsed: unknown = undefined
          try {
            parsed = JSON.parse(body)
          } catch {
            parsed = undefined
          }
          requests.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, body, json: parsed })
          const reply = queue.shift() ?? { status: 500, body: "{\"error\":{\"message\":\"no scripted reply left\"}}" }
          let finished = false
          res.on("close", () => {
            if (!finished) aborted++
          })
          res.writeHead(reply.status ?? 200, reply.headers ?? { "content-type": "application/json" })
          if (reply.hang === true && reply.body === undefined) {
            res.flushHeaders()
            return
          }
          const text = reply.body ?? ""
          const limit = reply.dropAfter ?? text.length
          const bytes = Buffer.from(text.slice(0, limit), "utf8")
          const split = reply.split ?? bytes.length
          const writeFrom = (offset: number) => {
            if (offset >= bytes.length) {
              if (reply.drop === true) {
                finished = true
                req.socket.destroy()
              } else if (reply.hang !== true) {
                finished = true
                res.end()
              }
              return
            }
            res.write(
              bytes.subarray(offset, offset + Math.max(1, split)),
              () => setImmediate(() => writeFrom(offset + split))
            )
          }
          writeFrom(0)
        })
      })
      server.on("connection", (socket) => {
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address() as net.AddressInfo
        resume(Effect.succeed({
          server,
          sockets,
          state: {
            url: `http://127.0.0.1:${address.port}/v1`,
            requests,
            aborted: () => aborted,
            push: (...replies) => queue.push(...replies)
          }
        }))
      })
    }),
    ({ server, sockets }) =>
      Effect.async<void>((resume) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ state }) => state))

/** Lets pending I/O callbacks run (the client reading a response), without sleeping. */
export const tick: Effect.Effect<void> = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/**
 * Yields to the event loop until `check` holds. The bound is real time (`boundMs`, checked with
 * `performance.now`, never slept on), not a count of turns: on a loaded CI machine 50,000 turns passed before
 * a loopback response was read, and the test failed with "condition never held".
 */
export const waitUntil = <E, R>(check: Effect.Effect<boolean, E, R>, boundMs = 30_000): Effect.Effect<void, E, R> =>
  Effect.gen(function*() {
    const deadline = performance.now() + boundMs
    while (performance.now() < deadline) {
      if (yield* check) return
      yield* tick
    }
    return yield* Effect.dieMessage(`condition never held within ${boundMs} ms`)
  })

/**
 * Waits until a retry is asleep on the TestClock: a sleep due within two minutes (per-attempt timeouts
 * are registered as sleeps too, ten minutes away, as soon as a request starts).
 */
export const retrySleeping: Effect.Effect<void> = waitUntil(
  Effect.gen(function*() {
    const now = yield* TestClock.currentTimeMillis
    const sleeps = yield* TestClock.sleeps()
    return Array.from(sleeps).some((t) => t - now <= 120_000)
  })
)

/**
 * Waits until a sleep due exactly `ms` from now is pending on the TestClock: a retry's backoff whose wait is
 * known (a `retry-after` header). Other timers on the same clock (the stores' idle-file timers, per-attempt
 * timeouts) are due at other times, so advancing the clock by `ms` after this cannot leave the retry asleep.
 */
export const sleepingFor = (ms: number): Effect.Effect<void> =>
  waitUntil(
    Effect.gen(function*() {
      const now = yield* TestClock.currentTimeMillis
      const sleeps = yield* TestClock.sleeps()
      return Array.from(sleeps).some((t) => t - now === ms)
    })
  )
