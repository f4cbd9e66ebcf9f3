// docs/mcp.md: an Agent of a bundle gets the tools of an MCP server (docs/examples/mcp/server.mjs, a child
// process over stdio) in its catalog, and one turn calls one of them through the usual tool path.
import { NodeContext } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import {
  AgentInstance,
  Bundle,
  EventBus,
  ExtensionState,
  Instances,
  Message,
  MessageStore,
  RuntimeEventLog,
  Turn
} from "effect-swarm"
import * as McpServers from "effect-swarm/mcp/McpServers"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "effect-swarm-doc-"))
const Live = Layer.mergeAll(
  MessageStore.layer({ root }),
  RuntimeEventLog.layer({ root }),
  Instances.layer({ root }),
  ExtensionState.layer({ root }),
  EventBus.layer(),
  McpServers.layer // one client per McpServer resource, connected on first use
).pipe(Layer.provideMerge(NodeContext.layer))

const program = Effect.gen(function*() {
  const bundle = yield* Bundle.load("docs/examples/mcp", { stateRoot: root })
  const agent = yield* AgentInstance.fromBundle(bundle, { agent: "writer", instanceKey: "docs" })
  // MCP tool names become `{server}__{tool}`, mapped reversibly: "word.count" -> "words__word_x002ecount".
  yield* Console.log(`catalog: ${(yield* agent.tools.catalog).map((t) => t.name).join(", ")}`)
  yield* agent.pipeline.register(
    "toolCall",
    (ctx, next) =>
      Effect.tap(next, (result) => Console.log(`${ctx.toolName}: ${result.status} ${JSON.stringify(result.output)}`))
  )
  const result = yield* Turn.run(agent, "How many words in 'one two three four'?")
  yield* Console.log(`reply: ${result.responseMessage === undefined ? "" : Message.text(result.responseMessage.data)}`)
})

program.pipe(
  Effect.scoped,
  Effect.provide(Live),
  Effect.ensuring(Effect.sync(() => fs.rmSync(root, { recursive: true, force: true }))),
  Effect.runPromise
)
