import { Effect } from "effect"
import { ToolExecutor, ToolRegistry } from "effect-swarm"
import * as path from "node:path"
import type * as McpClient from "../../src/mcp/McpClient.js"
import * as McpTools from "../../src/mcp/McpTools.js"

export const fixtureDir = path.resolve(__dirname, "../fixtures/mcp")

export const stdio = (
  overrides: Partial<Extract<McpClient.TransportOptions, { _tag: "stdio" }>> = {}
): McpClient.TransportOptions => ({
  _tag: "stdio",
  command: process.execPath,
  args: ["server.mjs"],
  cwd: fixtureDir,
  ...overrides
})

const context = {
  agentName: "coder",
  instanceKey: "default",
  turnId: "t1",
  trace: { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7" }
}

/** A registry and an executor with the client's tools attached; `call` goes through the executor. */
export const tools = (client: McpClient.McpClient, options?: McpTools.AttachOptions) =>
  Effect.gen(function*() {
    const registry = yield* ToolRegistry.make
    const executor = yield* ToolExecutor.make().pipe(Effect.provideService(ToolRegistry.ToolRegistry, registry))
    yield* McpTools.attach(client, registry, options)
    let n = 0
    const call = (toolName: string, args: unknown = {}) =>
      Effect.flatMap(registry.catalog, (catalog) =>
        executor.execute({ toolCallId: `call-${++n}`, toolName, args, catalog, context }))
    return {
      registry,
      executor,
      call,
      names: Effect.map(registry.catalog, (c) =>
        c.map((i) => i.name))
    }
  })
