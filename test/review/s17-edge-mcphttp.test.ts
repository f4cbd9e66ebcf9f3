/**
 * Review of the MCP client over Streamable HTTP (session 17, "edge"): a hand-written server on loopback that
 * answers a call with more than the client reads.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as McpClient from "../../src/mcp/McpClient.js"
import { tools } from "../mcp/helpers.js"

/** A raw JSON-RPC over HTTP MCP server: `huge` answers with 11 MiB of JSON, `echo` with its text. */
const serve = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly server: http.Server }>((resume) => {
    const server = http.createServer((req, res) => {
      if (req.method !== "POST") return void res.writeHead(405).end()
      let raw = ""
      req.setEncoding("utf8")
      req.on("data", (chunk: string) => (raw += chunk))
      req.on("end", () => {
        const message = JSON.parse(raw) as { id?: number; method: string; params?: any }
        if (message.id === undefined) return void res.writeHead(202).end()
        const answer = (result: unknown) => {
          res.writeHead(200, { "content-type": "application/json" })
          res.end(JSON.stringify({ jsonrpc: "2.0", id: message.id, result }))
        }
        switch (message.method) {
          case "initialize":
            return answer({
              protocolVersion: message.params.protocolVersion,
              capabilities: { tools: {} },
              serverInfo: { name: "greedy", version: "1.0.0" }
            })
          case "tools/list":
            return answer({
              tools: [{ name: "huge", inputSchema: { type: "object" } }, {
                name: "echo",
                inputSchema: { type: "object" }
              }]
            })
          case "tools/call":
            return answer({
              content: [{
                type: "text",
                text: message.params.name === "huge" ? "x".repeat(11 * 1024 * 1024) : "echo"
              }]
            })
          default:
            return answer({})
        }
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resume(Effect.succeed({ url: `http://127.0.0.1:${port}/mcp`, server }))
    })
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
)

describe("review s17: an MCP server over HTTP that answers without end", () => {
  it.live(
    "an answer of more than 10 MiB is not read to its end: the call fails typed, the next one is served",
    () =>
      Effect.gen(function*() {
        const { url } = yield* serve
        const client = yield* McpClient.make({
          name: "greedy",
          transport: { _tag: "http", url },
          timeout: "30 seconds"
        })
        const { call } = yield* tools(client)
        const result = yield* call("greedy__huge")
        assert.strictEqual(result.status, "error")
        assert.strictEqual(result.error?.code, "E_MCP_PROTOCOL")
        assert.include(result.error?.message, "more than 10 MiB")
        assert.strictEqual((yield* call("greedy__echo")).output, "echo")
      }).pipe(Effect.scoped),
    60_000
  )
})
