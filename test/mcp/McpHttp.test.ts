import { assert, describe, it } from "@effect/vitest"
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import { Effect } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as McpClient from "../../src/mcp/McpClient.js"
// @ts-expect-error the fixture is plain JavaScript
import { makeServer } from "../fixtures/mcp/tools.mjs"
import { tools } from "./helpers.js"

/** The fixture server over Streamable HTTP on loopback (port 0), stateless: one server per request. */
const serve = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly seen: Array<string | undefined>; readonly server: http.Server }>(
    (resume) => {
      const seen: Array<string | undefined> = []
      const server = http.createServer((req, res) => {
        seen.push(req.headers.authorization)
        if (req.method !== "POST") {
          res.writeHead(405).end()
          return
        }
        const mcp = makeServer()
        const transport = new StreamableHTTPServerTransport({})
        res.on("close", () => {
          void transport.close()
          void mcp.close()
        })
        void mcp.connect(transport).then(() => transport.handleRequest(req, res))
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}/mcp`, seen, server }))
      })
    }
  ),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
    })
)

describe("McpClient over Streamable HTTP (the SDK fixture server on loopback)", () => {
  it.live("lists, calls, structured results and errors; headers reach the server", () =>
    Effect.gen(function*() {
      const { seen, url } = yield* serve
      const client = yield* McpClient.make({
        name: "remote",
        transport: { _tag: "http", url, headers: { Authorization: "Bearer t0ken" } }
      })
      const { call, names } = yield* tools(client)
      assert.includeMembers(yield* names, ["remote__echo", "remote__add", "remote__read_x002efile"])
      assert.strictEqual((yield* call("remote__echo", { text: "over http" })).output, "echo: over http")
      assert.deepStrictEqual((yield* call("remote__add", { a: 1, b: 2 })).output, {
        text: "3",
        structuredContent: { sum: 3 }
      })
      const failed = yield* call("remote__fail", { message: "quota exhausted" })
      assert.strictEqual(failed.error?.code, "E_MCP_TOOL_ERROR")
      assert.strictEqual(failed.error?.message, "quota exhausted")
      assert.isTrue(seen.length > 0 && seen.every((h) => h === "Bearer t0ken"))
    }).pipe(Effect.scoped))

  it.live("an unreachable server fails make with a typed error", () =>
    Effect.gen(function*() {
      const { server, url } = yield* serve
      yield* Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
      })
      const error = yield* McpClient.make({ name: "gone", transport: { _tag: "http", url } }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "McpConnectError")
      assert.match(error.message, /McpServer\/gone: the MCP handshake failed/)
    }).pipe(Effect.scoped))
})
