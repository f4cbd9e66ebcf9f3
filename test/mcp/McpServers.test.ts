import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { AgentInstance, Bundle, Scripted } from "effect-swarm"
import { TestAgent } from "effect-swarm/testing"
import * as path from "node:path"
import * as McpServers from "../../src/mcp/McpServers.js"
import { model, provideNode, writeBundle } from "../resource/helpers.js"
import { durableStores } from "../support/stores.js"
import { fixtureDir } from "./helpers.js"

const bundleFiles = (tools: string) => ({
  "model.yaml": model(),
  "mcp.yaml": `apiVersion: effect-swarm/v1
kind: McpServer
metadata: { name: files }
spec:
  stdio:
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(path.join(fixtureDir, "server.mjs"))}]
    env:
      GIVEN: { valueFrom: { env: FILES_TOKEN } }
  timeout: 20 seconds
`,
  "agent.yaml": `apiVersion: effect-swarm/v1
kind: Agent
metadata: { name: coder }
spec:
  modelConfig: { modelRef: Model/default }
  tools: ${tools}
`
})

const agentOf = (bundle: Bundle.Bundle) => Bundle.entriesOf(bundle, "Agent")[0]!

describe("McpServers: a bundle's MCP servers give agents their tools", () => {
  it.scoped("an agent's allow-list picks the tools; env comes from value sources", () =>
    provideNode(Effect.gen(function*() {
      const bundle = yield* Bundle.load(
        yield* writeBundle(bundleFiles(`[{ ref: McpServer/files, allow: [echo, env] }]`))
      )
      const servers = yield* McpServers.make
      const agent = yield* TestAgent.make({
        script: [{ toolCalls: [{ name: "files__env", id: "c1" }] }, { text: "done" }]
      })
      yield* servers.attachAgent(bundle, agentOf(bundle), agent.instance.tools)
      assert.deepStrictEqual((yield* agent.instance.tools.catalog).map((t) => t.name), ["files__echo", "files__env"])
      yield* agent.run("what is set?")
      yield* TestAgent.assertTranscript(agent, [
        "user: what is set?",
        "assistant: [calls files__env]",
        "tool files__env: ok GIVEN,HOME,PATH,TMPDIR",
        "assistant: done"
      ])
    })).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["FILES_TOKEN", "t"]])))))

  it.scoped("MCP tools run through the turn like any tool: events, catalog guard, and a list change seen on the next step", () =>
    provideNode(Effect.gen(function*() {
      const bundle = yield* Bundle.load(yield* writeBundle(bundleFiles("[McpServer/files]")))
      const servers = yield* McpServers.make
      const agent = yield* TestAgent.make({
        script: [
          { toolCalls: [{ name: "files__late", id: "c0" }] },
          { toolCalls: [{ name: "files__add_tool", id: "c1", arguments: { name: "late" } }] },
          { toolCalls: [{ name: "files__late", id: "c2" }] },
          { text: "done" }
        ]
      })
      yield* servers.attachAgent(bundle, agentOf(bundle), agent.instance.tools)
      yield* agent.run("add a tool, then use it")
      const transcript = yield* agent.transcript
      assert.match(transcript[2]!, /^tool files__late: error.*Tool Catalog/)
      assert.strictEqual(transcript[4], "tool files__add_tool: ok added late")
      assert.strictEqual(transcript[6], "tool files__late: ok late")
      const types = (yield* agent.events).map((e) => e.type)
      assert.strictEqual(types.filter((t) => t === "tool.called").length, 3)
    })).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["FILES_TOKEN", "t"]])))))

  it.scoped("a missing value source is a typed error naming the server and field", () =>
    provideNode(Effect.gen(function*() {
      const bundle = yield* Bundle.load(yield* writeBundle(bundleFiles("[McpServer/files]")))
      const servers = yield* McpServers.make
      const agent = yield* TestAgent.make({ script: [] })
      const error = yield* servers.attachAgent(bundle, agentOf(bundle), agent.instance.tools).pipe(Effect.flip)
      assert.strictEqual(error._tag, "McpConnectError")
      assert.match(
        error.message,
        /McpServer\/files: no value for McpServer\/files\.stdio\.env\.GIVEN: set one of FILES_TOKEN/
      )
    })).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))))
})

describe("AgentInstance.fromBundle and MCP servers (the ToolSources seam)", () => {
  const withStores = <A, E, R>(body: Effect.Effect<A, E, R>) =>
    Effect.gen(function*() {
      const { context } = yield* durableStores("effect-swarm-mcp-frombundle-")
      return yield* body.pipe(Effect.provide(context))
    })

  it.scoped("with McpServers.layer, the instance's registry holds the agent's MCP tools", () =>
    withStores(Effect.gen(function*() {
      const bundle = yield* Bundle.load(yield* writeBundle(bundleFiles(`[{ ref: McpServer/files, allow: [echo] }]`)))
      const instance = yield* AgentInstance.fromBundle(bundle, {
        agent: "coder",
        instanceKey: "k",
        model: yield* Scripted.make([{ text: "x" }])
      }).pipe(
        Effect.provide(McpServers.layer)
      )
      assert.deepStrictEqual((yield* instance.tools.catalog).map((t) => t.name), ["files__echo"])
    })).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["FILES_TOKEN", "t"]])))))

  it.scoped("without a tool source for McpServer, fromBundle refuses the agent (never silently short of tools)", () =>
    withStores(Effect.gen(function*() {
      const bundle = yield* Bundle.load(yield* writeBundle(bundleFiles("[McpServer/files]")))
      const error = yield* AgentInstance.fromBundle(bundle, {
        agent: "coder",
        instanceKey: "k",
        model: yield* Scripted.make([{ text: "x" }])
      }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "AgentConfigError")
      assert.match(error.message, /uses McpServer tools and no tool source for them is provided/)
    })))
})
