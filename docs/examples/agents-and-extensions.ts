// docs/agents-and-extensions.md: an Agent of a bundle as a durable instance (model, prompt, tools,
// extensions from the bundle), one turn through the turn -> step -> toolCall onion.
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
  RuntimeConfig,
  RuntimeEventLog,
  ToolRuntime,
  Turn
} from "effect-swarm"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "effect-swarm-doc-"))
const Stores = Layer.mergeAll(
  MessageStore.layer({ root }),
  RuntimeEventLog.layer({ root }),
  Instances.layer({ root }),
  ExtensionState.layer({ root }),
  EventBus.layer(),
  ToolRuntime.layer.pipe(Layer.provide(RuntimeConfig.layer("node")))
).pipe(Layer.provideMerge(NodeContext.layer))

const program = Effect.gen(function*() {
  const bundle = yield* Bundle.load("test/fixtures/bundles/agent", { stateRoot: root })
  const agent = yield* AgentInstance.fromBundle(bundle, { agent: "worker", instanceKey: "docs" })
  // A middleware of your own, around every tool call of this instance.
  yield* agent.pipeline.register(
    "toolCall",
    (ctx, next) => Effect.tap(next, (result) => Console.log(`tool ${ctx.toolName}: ${result.status}`))
  )
  const result = yield* Turn.run(agent, "say hi")
  const reply = result.responseMessage === undefined ? "" : Message.text(result.responseMessage.data)
  yield* Console.log(`${result.finishReason}: ${reply}`)
})

program.pipe(
  Effect.scoped,
  Effect.provide(Stores),
  Effect.ensuring(Effect.sync(() => fs.rmSync(root, { recursive: true, force: true }))),
  Effect.runPromise
)
