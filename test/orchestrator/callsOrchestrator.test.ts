import { assert, describe } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import type { Model } from "effect-swarm"
import { AgentInstance, Orchestrator, Scripted } from "effect-swarm"
import { hangingModel } from "./callsKit.js"
import { baseLayer, loadCalls, scopedTest, text } from "./helpers.js"

const swarm = (models: Readonly<Record<string, Model.Service>>) =>
  Effect.gen(function*() {
    const bundle = yield* loadCalls
    const seen = new Map<string, AgentInstance.AgentInstance>()
    // Inter-agent calls are wired by the orchestrator itself (no AgentsTool.wire in user code).
    const orchestrator = yield* Orchestrator.makeInMemory(bundle, "team", {
      models,
      setup: (instance) => Effect.sync(() => void seen.set(instance.label, instance))
    })
    return { orchestrator, calls: { api: orchestrator.agentsApi! }, instances: seen }
  })

describe("inter-agent calls through the Orchestrator", () => {
  scopedTest(
    "lead asks worker with the agents tool; callableAgents from the Agent and the Swarm; cycle refused",
    () =>
      Effect.gen(function*() {
        const { instances, orchestrator } = yield* swarm({
          lead: yield* Scripted.make([
            { toolCalls: [{ name: "agents__request", arguments: { target: "worker", input: "count to 3" } }] },
            { text: "worker said: {{agents__request.response}}" }
          ]),
          worker: yield* Scripted.make([
            { toolCalls: [{ name: "agents__request", arguments: { target: "lead", input: "why?" } }] },
            { text: "1 2 3" }
          ]),
          auditor: yield* Scripted.make([{ text: "ok" }])
        })
        const result = yield* orchestrator.request("lead@t1", "go")
        assert.strictEqual(text(result), "worker said: 1 2 3")
        const worker = instances.get("worker@t1")!
        const messages = (yield* AgentInstance.conversation(worker)).messages
        assert.strictEqual(messages[0]?.source.type, "agent")
        const cycle = messages.find((m) => m.data.role === "tool")!
        assert.include(JSON.stringify(cycle.data.content), "CIRCULAR_CALL_DETECTED")
        assert.include(JSON.stringify(cycle.data.content), "lead@t1 -> worker@t1 -> lead@t1")
        // Only agents that may call others get the agents tool.
        yield* orchestrator.request("auditor@t1", "check")
        const auditor = instances.get("auditor@t1")!
        assert.deepStrictEqual(yield* auditor.tools.catalog, [])
        assert.include((yield* instances.get("lead@t1")!.tools.catalog).map((t) => t.name), "agents__request")
        assert.include((yield* worker.tools.catalog).map((t) => t.name), "agents__catalog")
        // ctx.runtime.swarm.callableAgents is the allow-list the tool enforces, not every other member.
        assert.deepStrictEqual(instances.get("lead@t1")!.runtime.swarm?.callableAgents, ["worker"])
        assert.deepStrictEqual(worker.runtime.swarm?.callableAgents, ["lead"])
        assert.deepStrictEqual(auditor.runtime.swarm?.callableAgents, [])
      }).pipe(Effect.provide(baseLayer))
  )

  scopedTest(
    "a request timeout through the orchestrator interrupts the callee's running turn",
    () =>
      Effect.gen(function*() {
        const hung = { value: false, calls: 0 }
        const { calls, orchestrator } = yield* swarm({ worker: hangingModel(hung) })
        const fiber = yield* Effect.fork(
          Effect.flip(
            calls.api.forInstance({ workspaceId: orchestrator.workspaceId, agentName: "lead", instanceKey: "t1" })
              .request({ target: "worker", input: "take forever", timeoutMs: 1_000 })
          )
        )
        while (hung.calls === 0) yield* Effect.yieldNow()
        yield* TestClock.adjust("1 second")
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(error.code, "AGENT_REQUEST_TIMEOUT")
        assert.isTrue(hung.value)
        const listed = (yield* orchestrator.list).find((i) => i.address === "worker@t1")
        assert.strictEqual(listed?.queued, 0)
      }).pipe(Effect.provide(baseLayer))
  )

  scopedTest("calls: false wires nothing: no agents API, no agents tool", () =>
    Effect.gen(function*() {
      const bundle = yield* loadCalls
      const seen = new Map<string, AgentInstance.AgentInstance>()
      const orchestrator = yield* Orchestrator.makeInMemory(bundle, "team", {
        models: { lead: yield* Scripted.make([{ text: "alone" }]) },
        calls: false,
        setup: (instance) => Effect.sync(() => void seen.set(instance.label, instance))
      })
      assert.isUndefined(orchestrator.agentsApi)
      const result = yield* orchestrator.request("lead@t1", "go")
      assert.strictEqual(text(result), "alone")
      assert.deepStrictEqual(yield* seen.get("lead@t1")!.tools.catalog, [])
    }).pipe(Effect.provide(baseLayer)))
})
