/**
 * Review of MCP both ways (session 16): what an attacker or a new user tried, with real servers on
 * loopback and the SDK's own client (fakes only at the LLM boundary: the fixture swarm's scripted model).
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Exit, Fiber, Layer, TestClock } from "effect"
import { Bundle } from "effect-swarm"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import * as McpClient from "../../src/mcp/McpClient.js"
import * as McpServe from "../../src/mcp/McpServe.js"
import * as McpServers from "../../src/mcp/McpServers.js"
import { stdio } from "../mcp/helpers.js"
import { storesLayer } from "../support/stores.js"

const swarmDir = path.resolve(__dirname, "../fixtures/mcp/swarm")

const tempRoot = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "effect-swarm-s16-mcp-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** One POST with exactly these headers (fetch would not let a test set Host). */
const post = (url: string, headers: Record<string, string>, body: string) =>
  Effect.async<{ readonly status: number; readonly body: string }>((resume) => {
    const req = http.request(url, { method: "POST", headers }, (res) => {
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => (text += chunk))
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, body: text })))
    })
    req.on("error", (e) => resume(Effect.die(e)))
    req.end(body)
    return Effect.sync(() => req.destroy())
  })

/** A served swarm over Streamable HTTP on port 0, with its state under a temporary root. */
const served = <A, E>(body: (url: string) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const root = yield* tempRoot
    const stores = Layer.merge(storesLayer(root), McpServers.layer.pipe(Layer.provide(NodeContext.layer)))
    return yield* Effect.gen(function*() {
      const bundle = yield* Bundle.load(swarmDir)
      const server = yield* McpServe.make({ bundle, swarm: "team" })
      const { url } = yield* McpServe.listenHttp(server.create, { port: 0 })
      return yield* body(url)
    }).pipe(Effect.provide(stores))
  }).pipe(Effect.scoped)

const callBeta = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "tools/call",
  params: { name: "beta", arguments: { input: "hi" } }
})
const jsonHeaders = { "content-type": "application/json", accept: "application/json, text/event-stream" }

describe("review s16: effect-swarm mcp --http", () => {
  it.live("a web page that rebinds its DNS name to 127.0.0.1 cannot call the agents (403, no turn)", () =>
    served((url) =>
      Effect.gen(function*() {
        const port = new URL(url).port
        const rebound = yield* post(url, { ...jsonHeaders, host: `evil.example:${port}` }, callBeta)
        assert.strictEqual(rebound.status, 403)
        assert.include(rebound.body, "evil.example")
        const page = yield* post(url, { ...jsonHeaders, origin: "https://evil.example" }, callBeta)
        assert.strictEqual(page.status, 403)
        // An MCP client (no Origin, a loopback Host) is served: the turn runs and answers.
        const client = yield* post(url, { ...jsonHeaders, host: `localhost:${port}` }, callBeta)
        assert.strictEqual(client.status, 200)
        assert.include(client.body, "beta here")
      })
    ))
})

/** Lets the event loop run the real I/O (the server process, its pipes); no time passes. */
const io = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/** Waits (real I/O turns, bounded) until a fiber sleeps on the TestClock; fails if none ever does. */
const untilTimer = Effect.gen(function*() {
  for (let i = 0; i < 5000; i++) {
    if (Chunk.size(yield* TestClock.sleeps()) > 0) return
    yield* io
  }
  return yield* Effect.die(new Error("no timer: the client's start waits without a bound"))
})

describe("review s16: an MCP server that lies", () => {
  it.scoped("one that never answers the handshake fails the start typed after the timeout (it hung forever)", () =>
    Effect.gen(function*() {
      const start = yield* Effect.fork(McpClient.make({
        name: "mute",
        transport: stdio({ args: ["liar.mjs"], env: { LIAR_MODE: "silent" } }),
        timeout: "5 seconds"
      }))
      yield* untilTimer
      yield* TestClock.adjust("5 seconds")
      const exit = yield* Fiber.await(start)
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? exit.cause.toString() : ""
      assert.include(error, "McpServer/mute: no answer to the MCP handshake (initialize) within 5s")
      assert.include(error, "spec.timeout")
    }))

  it.live(
    "one whose tool list never ends (a nextCursor on every page) fails the start typed, not by running out of memory",
    () =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(
          McpClient.make({
            name: "pager",
            transport: stdio({ args: ["liar.mjs"], env: { LIAR_MODE: "pages" } }),
            timeout: "60 seconds"
          }).pipe(Effect.timeout("30 seconds"))
        )
        assert.isTrue(Exit.isFailure(exit))
        const error = Exit.isFailure(exit) ? exit.cause.toString() : ""
        assert.include(error, "McpServer/pager: listing its tools failed")
        assert.include(error, "more than 1000 pages")
      }).pipe(Effect.scoped),
    60_000
  )
})
