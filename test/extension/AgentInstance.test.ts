import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Option } from "effect"
import {
  AgentInstance,
  Bundle,
  EventBus,
  ExtensionState,
  Instances,
  Message,
  MessageStore,
  RuntimeEventLog,
  Scripted,
  Turn,
  WorkspacePaths
} from "effect-swarm"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const typed = path.resolve(here, "../fixtures/bundles/extensions/extensions/typed.ts")
const counter = path.resolve(here, "../fixtures/bundles/agent/extensions/counter.mjs")
const extensionsBundle = path.resolve(here, "../fixtures/bundles/extensions")

class Root extends Context.Tag("test/Root")<Root, string>() {}

/** Runs `body` on durable stores on a temporary state root (its path is `Root`). */
const withStores = <A, E, R>(body: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const root = yield* fs.makeTempDirectoryScoped({ prefix: "es-ext-agent-" })
    const layer = Layer.mergeAll(
      MessageStore.layer({ root }),
      RuntimeEventLog.layer({ root }),
      Instances.layer({ root }),
      ExtensionState.layer({ root }),
      EventBus.layer(),
      Layer.succeed(Root, root)
    ).pipe(Layer.provideMerge(NodeContext.layer))
    return yield* body.pipe(Effect.provide(yield* Layer.build(layer)))
  }).pipe(Effect.provide(NodeContext.layer))

const toolOutput = (messages: ReadonlyArray<Message.Message>) =>
  JSON.stringify(messages.find((m) => m.data.role === "tool")?.data.content)

const stateOf = (agent: AgentInstance.AgentInstance, name: string) =>
  Effect.map(Effect.flatMap(ExtensionState.ExtensionState, (s) => s.get(agent.ref, name)), Option.getOrUndefined)

describe("extensions loaded into an agent instance", () => {
  it.scoped("an in-memory instance loads its extensions: the model is offered and calls an extension tool", () =>
    Effect.gen(function*() {
      const model = yield* Scripted.make([
        { toolCalls: [{ name: "typed__echo", arguments: { text: "hi" } }] },
        { text: "done" }
      ])
      const ref = { workspaceId: "ws", agentName: "typed", instanceKey: "one" }
      const instance = yield* AgentInstance.makeInMemory({
        ref,
        model,
        extensions: [{ name: "typed", entry: typed, config: { prefix: "t" } }]
      })
      const result = yield* Turn.run(instance, "echo something")
      assert.strictEqual(result.finishReason, "text_response")
      const messages = (yield* AgentInstance.conversation(instance)).messages
      const tool = messages.find((m) => m.data.role === "tool")!
      const part = (tool.data.content as ReadonlyArray<{ readonly output?: unknown }>)[0]!
      // The toolCall middleware stamped the arguments; the handler saw them and its turn.
      assert.deepStrictEqual((part.output as { args: unknown }).args, { text: "hi", stamped: "t" })
      assert.strictEqual(Message.text(messages.at(-1)!.data), "done")
    }).pipe(Effect.provide(Layer.mergeAll(EventBus.layer(), NodeContext.layer))))

  it.scoped("an extension's middleware and tool run in the turns of the instance it is loaded into, not another's", () =>
    withStores(Effect.gen(function*() {
      const script = [{ toolCalls: [{ name: "counter__get" }] }, { text: "done" }]
      const open = (instanceKey: string, withExtension: boolean) =>
        Effect.flatMap(Scripted.make(script), (model) =>
          AgentInstance.make({
            ref: { workspaceId: "ws", agentName: "a", instanceKey },
            model,
            ...(withExtension ? { extensions: [{ name: "counter", entry: counter, config: {} }] } : {})
          }))
      const withIt = yield* open("with", true)
      const without = yield* open("without", false)
      yield* Turn.run(withIt, "count")
      yield* Turn.run(without, "count")
      // The tool ran where the extension is loaded, and saw the state its turn middleware set.
      assert.include(toolOutput((yield* AgentInstance.conversation(withIt)).messages), "{\"started\":1}")
      // The other instance has neither the tool nor the middleware.
      assert.include(toolOutput((yield* AgentInstance.conversation(without)).messages), "E_TOOL_NOT_IN_CATALOG")
      assert.deepStrictEqual((yield* without.tools.catalog).map((t) => t.name), [])
      // Saved at the end of the turn by the loop (the scope is still open), only for the one instance.
      assert.deepStrictEqual(yield* stateOf(withIt, "counter"), { started: 1 })
      assert.isUndefined(yield* stateOf(without, "counter"))
    })))

  it.scoped("the state is saved after a failed turn too (before the instance is disposed)", () =>
    withStores(Effect.gen(function*() {
      const agent = yield* AgentInstance.make({
        ref: { workspaceId: "ws", agentName: "a", instanceKey: "failing" },
        model: yield* Scripted.make([]), // no step: the model call fails
        extensions: [{ name: "counter", entry: counter, config: {} }]
      })
      const error = yield* Effect.flip(Turn.run(agent, "fail"))
      assert.strictEqual(error._tag, "ModelProtocolError")
      assert.deepStrictEqual(yield* stateOf(agent, "counter"), { started: 1 })
    })))

  it.scoped("a state that cannot be saved fails the turn with a typed ExtensionStateError", () =>
    withStores(Effect.gen(function*() {
      const agent = yield* AgentInstance.make({
        ref: { workspaceId: "ws", agentName: "a", instanceKey: "unsaved" },
        model: yield* Scripted.make([{ text: "fine" }]),
        extensions: [{ name: "counter", entry: counter, config: {} }]
      })
      // The state file's place is taken by a directory: the atomic write cannot replace it.
      const fs = yield* FileSystem.FileSystem
      const root = yield* Root
      yield* fs.makeDirectory(WorkspacePaths.instance(root, agent.ref).extension("counter"), { recursive: true })
      const error = yield* Effect.flip(Turn.run(agent, "hi"))
      assert.strictEqual(error._tag, "StorageIoError")
      assert.include(error.message, "counter")
      // The turn itself completed and is in the log.
      const messages = (yield* AgentInstance.conversation(agent)).messages
      assert.strictEqual(Message.text(messages.at(-1)!.data), "fine")
    })))

  it.scoped("fromBundle: a throwing register is an ExtensionLoadError naming the extension, with a suggestion", () =>
    withStores(Effect.gen(function*() {
      const bundle = yield* Bundle.load(extensionsBundle)
      const model = yield* Scripted.make([])
      const error = yield* Effect.flip(AgentInstance.fromBundle(bundle, { agent: "partial", instanceKey: "p", model }))
      assert.strictEqual(error._tag, "ExtensionLoadError")
      if (error._tag !== "ExtensionLoadError") return
      assert.strictEqual(error.extension, "throws")
      assert.strictEqual(error.code, "E_EXT_INIT")
      assert.include(error.message, "missing API key")
      assert.isTrue(error.suggestion.length > 0)
    })))

  it.scoped("a durable instance given extensions without an ExtensionState service is E_EXT_NO_STATE", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* fs.makeTempDirectoryScoped({ prefix: "es-ext-nostate-" })
      const stores = yield* Layer.build(
        Layer.mergeAll(
          MessageStore.layer({ root }),
          RuntimeEventLog.layer({ root }),
          Instances.layer({ root }),
          EventBus.layer()
        ).pipe(Layer.provideMerge(NodeContext.layer))
      )
      const error = yield* Effect.flip(
        AgentInstance.make({
          ref: { workspaceId: "ws", agentName: "a", instanceKey: "k" },
          model: yield* Scripted.make([]),
          extensions: [{ name: "counter", entry: counter, config: {} }]
        }).pipe(Effect.provide(stores))
      )
      assert.strictEqual(error._tag, "ExtensionLoadError")
      if (error._tag !== "ExtensionLoadError") return
      assert.strictEqual(error.code, "E_EXT_NO_STATE")
      assert.include(error.suggestion, "ExtensionState.layer")
    }).pipe(Effect.provide(NodeContext.layer)))
})
