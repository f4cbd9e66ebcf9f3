import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import { Effect, Layer } from "effect"
import { Bundle } from "effect-swarm"
import * as ChildProcess from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as McpServe from "../../src/mcp/McpServe.js"
import * as McpServers from "../../src/mcp/McpServers.js"
import { storesLayer } from "../support/stores.js"

const repo = path.resolve(__dirname, "../..")
const swarmDir = path.join(repo, "test/fixtures/mcp/swarm")

const tempRoot = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "effect-swarm-mcp-serve-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** An SDK client connected over `transport`, closed with the scope. */
const connect = (transport: Transport) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new Client({ name: "test", version: "1.0.0" })
      await client.connect(transport)
      return client
    }),
    (client) => Effect.promise(() => client.close())
  )

type McpClient = Effect.Effect.Success<ReturnType<typeof connect>>

const text = (result: Awaited<ReturnType<McpClient["callTool"]>>) =>
  (result.content as Array<{ type: string; text?: string }>).map((c) => c.text ?? "").join("")

/** What every transport must do: list one tool per agent, run turns, report progress and errors. */
const exercise = (client: McpClient) =>
  Effect.gen(function*() {
    const { tools } = yield* Effect.promise(() => client.listTools())
    assert.deepStrictEqual(tools.map((t) => t.name), ["alpha", "beta"])
    assert.strictEqual(tools[0]!.description, "Adds numbers and says the sum")
    assert.deepStrictEqual(tools[0]!.inputSchema.required, ["input"])
    const progress: Array<string> = []
    const alpha = yield* Effect.promise(() =>
      client.callTool({ name: "alpha", arguments: { input: "add 40 and 2" } }, undefined, {
        onprogress: (p) => progress.push(p.message ?? "")
      })
    )
    assert.strictEqual(text(alpha), "The sum is 42.")
    assert.notStrictEqual(alpha.isError, true)
    // Two steps and a tool call: progress on each.
    assert.includeMembers(progress, ["step 1 started", "calling calc__add", "calc__add done", "step 2 started"])
    const beta = yield* Effect.promise(() => client.callTool({ name: "beta", arguments: { input: "hi" } }))
    assert.strictEqual(text(beta), "beta here")
    const unknown = yield* Effect.promise(() => client.callTool({ name: "gamma", arguments: { input: "hi" } }))
    assert.isTrue(unknown.isError)
    assert.match(text(unknown), /no agent "gamma" in this swarm; agents: alpha, beta/)
  })

describe("serving a swarm over MCP", () => {
  it.live("McpServe over Streamable HTTP on loopback (port 0), driven by the SDK client", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const stores = Layer.merge(storesLayer(root), McpServers.layer.pipe(Layer.provide(NodeContext.layer)))
      yield* Effect.gen(function*() {
        const bundle = yield* Bundle.load(swarmDir)
        const served = yield* McpServe.make({ bundle, swarm: "team" })
        const { url } = yield* McpServe.listenHttp(served.create, { port: 0 })
        assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/)
        yield* exercise(yield* connect(new StreamableHTTPClientTransport(new URL(url))))
      }).pipe(Effect.provide(stores))
    }).pipe(Effect.scoped))

  it.live(
    "`effect-swarm mcp <dir> --swarm team` over stdio, spawned by the SDK's stdio client",
    () =>
      Effect.gen(function*() {
        const root = yield* tempRoot
        const transport = new StdioClientTransport({
          command: path.join(repo, "node_modules/.bin/tsx"),
          args: ["src/cli/bin.ts", "mcp", swarmDir, "--swarm", "team"],
          cwd: repo,
          env: { PATH: process.env.PATH ?? "", EFFECT_SWARM_HOME: root },
          stderr: "pipe"
        })
        yield* exercise(yield* connect(transport))
      }).pipe(Effect.scoped),
    120_000
  )

  it.live(
    "`effect-swarm mcp <dir> --http 0` serves Streamable HTTP and prints its URL on stderr",
    () =>
      Effect.gen(function*() {
        const root = yield* tempRoot
        const child = yield* Effect.acquireRelease(
          Effect.sync(() =>
            ChildProcess.spawn(
              path.join(repo, "node_modules/.bin/tsx"),
              ["src/cli/bin.ts", "mcp", swarmDir, "--swarm", "team", "--http", "0"],
              {
                cwd: repo,
                env: { PATH: process.env.PATH ?? "", EFFECT_SWARM_HOME: root },
                stdio: ["ignore", "pipe", "pipe"]
              }
            )
          ),
          (child) =>
            Effect.async<void>((resume) => {
              if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
              child.once("exit", () => resume(Effect.void))
              child.kill("SIGTERM")
            })
        )
        const url = yield* Effect.async<string>((resume) => {
          let seen = ""
          child.stderr!.on("data", (chunk: Buffer) => {
            seen += chunk.toString("utf8")
            const found = /at (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(seen)
            if (found !== null) resume(Effect.succeed(found[1]!))
          })
        })
        yield* exercise(yield* connect(new StreamableHTTPClientTransport(new URL(url))))
      }).pipe(Effect.scoped),
    120_000
  )
})
