import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { AgentInstance, EventBus, Extension, ExtensionState, Message, Scripted, Turn } from "effect-swarm"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const entry = path.resolve(here, "../fixtures/bundles/extensions/extensions/typed.ts")

// The seam as the agent's instance uses it: the environment on the instance's own pipeline and registry,
// `saveState` after each turn.
describe("Extension with AgentInstance and Turn.run", () => {
  it.scoped("the model is offered and calls an extension tool; middlewares of both styles run in the turn", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* fs.makeTempDirectoryScoped({ prefix: "effect-swarm-ext-agent-" })
      const model = yield* Scripted.make([
        { toolCalls: [{ name: "typed__echo", arguments: { text: "hi" } }] },
        { text: "done" }
      ])
      const ref = { workspaceId: "ws", agentName: "typed", instanceKey: "one" }
      const instance = yield* AgentInstance.makeInMemory({ ref, model })
      const env = yield* Extension.load({
        extensions: [{ name: "typed", entry, config: { prefix: "t" } }],
        instance: ref,
        pipeline: instance.pipeline,
        registry: instance.tools
      }).pipe(Effect.provideService(ExtensionState.ExtensionState, yield* ExtensionState.make({ root })))
      const result = yield* Turn.run(instance, "echo something")
      assert.strictEqual(result.finishReason, "text_response")
      assert.deepStrictEqual(yield* env.saveState, [])
      const messages = (yield* AgentInstance.conversation(instance)).messages
      const tool = messages.find((m) => m.data.role === "tool")!
      const part = (tool.data.content as ReadonlyArray<{ readonly output?: unknown }>)[0]!
      // The toolCall middleware stamped the arguments; the handler saw them and its turn.
      assert.deepStrictEqual((part.output as { args: unknown }).args, { text: "hi", stamped: "t" })
      assert.strictEqual(Message.text(messages.at(-1)!.data), "done")
      assert.isTrue(Option.isSome(Option.fromNullable(instance.tools.unsafeGet("typed__echo"))))
    }).pipe(Effect.provide(Layer.mergeAll(EventBus.layer(), NodeContext.layer))))
})
