import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer, Option } from "effect"
import {
  AgentInstance,
  Bundle,
  ExtensionState,
  Instances,
  Message,
  RuntimeConfig,
  Scripted,
  ToolRuntime,
  Turn
} from "effect-swarm"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { durableStores } from "../support/stores.js"

const bundleDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/bundles/agent")

/** The workspace stores on a temporary state root, the bus, the platform. */
const stores = durableStores("es-from-bundle-")

describe("AgentInstance.fromBundle", () => {
  it.scoped("wires the Agent as the bundle says: model, system prompt, policy Swarm -> Agent, tools, extensions", () =>
    Effect.gen(function*() {
      const { context, root } = yield* stores
      const bundle = yield* Bundle.load(bundleDir)
      const agent = yield* AgentInstance.fromBundle(bundle, { agent: "worker", instanceKey: "t1" }).pipe(
        Effect.provide(context)
      )
      // The workspace comes from the Swarm; the policy is the Swarm's with the Agent's maxToolCalls over it.
      assert.deepStrictEqual(agent.ref, { workspaceId: "crew", agentName: "worker", instanceKey: "t1" })
      assert.strictEqual(agent.policy.maxStepsPerTurn, 6)
      assert.strictEqual(agent.policy.maxToolCalls, 5)
      assert.strictEqual(agent.policy.toolConcurrency, 2)
      assert.strictEqual(agent.system?.trim(), "You are the worker. Be brief.")
      assert.strictEqual(agent.model.provider, "scripted")
      assert.deepStrictEqual(agent.toolSettings("ops__deploy"), { idempotent: undefined, needsApproval: true })
      assert.strictEqual(agent.runtime.swarm?.swarmName, "crew")
      assert.deepStrictEqual(agent.runtime.swarm?.callableAgents, ["sandboxed"])
      // The Agent's tools and its extension's tool are in this instance's own registry.
      const names = (yield* agent.tools.catalog).map((t) => t.name).sort()
      assert.deepStrictEqual(names, ["ops__deploy", "ops__echo", "recorder__count"])

      // The bundle's scripted model runs the turn; the in-process tool runs; the extension counts the turn.
      const result = yield* Turn.run(agent, "echo please")
      assert.strictEqual(result.finishReason, "text_response")
      assert.strictEqual(Message.text(result.responseMessage!.data), "done")
      const messages = (yield* AgentInstance.conversation(agent)).messages
      const tool = messages.find((m) => m.data.role === "tool")!
      assert.include(JSON.stringify(tool.data.content), "\"echoed\":\"hi\"")
      const state = yield* Effect.flatMap(ExtensionState.ExtensionState, (s) => s.get(agent.ref, "recorder")).pipe(
        Effect.provide(context)
      )
      assert.deepStrictEqual(Option.getOrUndefined(state), { turns: 1, label: "worker" })
      assert.isTrue(root.length > 0)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a turn that ends awaiting approval leaves the instance awaiting_approval in Instances.list", () =>
    Effect.gen(function*() {
      const { context } = yield* stores
      const bundle = yield* Bundle.load(bundleDir)
      const model = yield* Scripted.make([
        { toolCalls: [{ name: "ops__deploy", id: "d1", arguments: { env: "prod" } }] },
        { text: "deployed" }
      ])
      const agent = yield* AgentInstance.fromBundle(bundle, { agent: "worker", instanceKey: "t2", model }).pipe(
        Effect.provide(context)
      )
      const status = Effect.flatMap(Instances.Instances, (i) => i.list("crew")).pipe(
        Effect.map((l) => l.instances.map((m) => [m.instanceKey, m.status])),
        Effect.provide(context)
      )
      const paused = yield* Turn.run(agent, "deploy")
      assert.strictEqual(paused.finishReason, "awaiting_approval")
      assert.deepStrictEqual(yield* status, [["t2", "awaiting_approval"]])
      const done = yield* AgentInstance.approve(agent, "d1")
      assert.strictEqual(done.finishReason, "text_response")
      assert.deepStrictEqual(yield* status, [["t2", "idle"]])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a fork of a bundle instance is opened from the bundle too (tools and extensions registered)", () =>
    Effect.gen(function*() {
      const { context } = yield* stores
      const bundle = yield* Bundle.load(bundleDir)
      const model = yield* Scripted.make([{ text: "one" }, { text: "two" }])
      const agent = yield* AgentInstance.fromBundle(bundle, { agent: "worker", instanceKey: "t3", model }).pipe(
        Effect.provide(context)
      )
      yield* Turn.run(agent, "first")
      const [turn] = yield* AgentInstance.history(agent)
      const forked = yield* AgentInstance.fork(agent, turn!.lastSeq!, "t3-fork")
      assert.deepStrictEqual((yield* forked.tools.catalog).map((t) => t.name).sort(), [
        "ops__deploy",
        "ops__echo",
        "recorder__count"
      ])
      assert.strictEqual((yield* Turn.run(forked, "second")).finishReason, "text_response")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("bad requests are typed AgentConfigErrors naming the field, with a suggestion", () =>
    Effect.gen(function*() {
      const { context } = yield* stores
      const bundle = yield* Bundle.load(bundleDir)
      const unknown = yield* Effect.flip(
        AgentInstance.fromBundle(bundle, { agent: "nobody", instanceKey: "x" }).pipe(Effect.provide(context))
      )
      assert.strictEqual(unknown._tag, "AgentConfigError")
      assert.include(unknown.message, "options.agent")
      assert.include(unknown.message, "worker")
      // A sandboxed tool without a ToolRuntime in context.
      const noRuntime = yield* Effect.flip(
        AgentInstance.fromBundle(bundle, { agent: "sandboxed", instanceKey: "x" }).pipe(Effect.provide(context))
      )
      assert.strictEqual(noRuntime._tag, "AgentConfigError")
      assert.include(noRuntime.message, "Tool/calc")
      assert.include(noRuntime.message, "ToolRuntime.layer")
      const badSwarm = yield* Effect.flip(
        AgentInstance.fromBundle(bundle, { agent: "worker", instanceKey: "x", swarm: "nope" }).pipe(
          Effect.provide(context)
        )
      )
      assert.strictEqual(badSwarm._tag, "AgentConfigError")
      assert.include(badSwarm.message, "crew")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped(
    "a sandboxed tool of the Agent runs in a subprocess through the ToolRuntime in context",
    () =>
      Effect.gen(function*() {
        const { context } = yield* stores
        const bundle = yield* Bundle.load(bundleDir)
        const model = yield* Scripted.make([
          { toolCalls: [{ name: "calc__add", arguments: { a: 2, b: 3 } }] },
          { text: "five" }
        ])
        const runtime = yield* Layer.build(ToolRuntime.layer.pipe(Layer.provide(RuntimeConfig.layer("node"))))
        const agent = yield* AgentInstance.fromBundle(bundle, { agent: "sandboxed", instanceKey: "s", model }).pipe(
          Effect.provide(context),
          Effect.provide(runtime)
        )
        const result = yield* Turn.run(agent, "add")
        assert.strictEqual(result.finishReason, "text_response")
        const tool = (yield* AgentInstance.conversation(agent)).messages.find((m) => m.data.role === "tool")!
        assert.include(JSON.stringify(tool.data.content), "\"sum\":5")
      }).pipe(Effect.provide(NodeContext.layer)),
    { timeout: Duration.toMillis("60 seconds") }
  )
})
