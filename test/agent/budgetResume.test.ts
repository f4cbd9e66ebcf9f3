/**
 * `maxToolCalls` counts a tool call once it starts, in a fresh turn and in a continued one alike (after an
 * approval decision, after a crash: here a turn interrupted mid-call and continued by a second instance opened
 * on the same files). A denied call never ran and does not count; a call a crash interrupted did start and
 * counts; a call the budget refused does not count. Before: a continued turn counted every tool result in the
 * log (denials included) and never counted the interrupted call it answered.
 */
import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Ref } from "effect"
import { AgentInstance, Policy } from "effect-swarm"
import type { ToolRegistry } from "effect-swarm"
import { TestAgent } from "effect-swarm/testing"
import { tempRoot } from "../workspace/helpers.js"

const counter = (ran: Ref.Ref<ReadonlyArray<string>>, name: string): ToolRegistry.ToolHandler => () =>
  Effect.as(Ref.update(ran, (names) => [...names, name]), "ok")

describe("maxToolCalls in a continued turn", () => {
  it.scoped("a denied call does not count: after a denial and a restart, the next approved call runs", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const ran = yield* Ref.make<ReadonlyArray<string>>([])
      const tools: ReadonlyArray<TestAgent.TestTool> = [
        { item: { name: "ops__deploy" }, needsApproval: true, handler: counter(ran, "deploy") },
        { item: { name: "ops__rollback" }, needsApproval: true, handler: counter(ran, "rollback") }
      ]
      const policy = Policy.resolve({ maxToolCalls: 1 })
      // First process: deploy waits, is denied; the continued turn writes the denial and asks the model, whose
      // next call (rollback) waits in turn.
      yield* Effect.scoped(Effect.gen(function*() {
        const agent = yield* TestAgent.make({
          storage: { root },
          tools,
          policy,
          script: [
            { toolCalls: [{ name: "ops__deploy", id: "c1", arguments: {} }] },
            { toolCalls: [{ name: "ops__rollback", id: "c2", arguments: {} }] }
          ]
        })
        yield* TestAgent.assertFinish(yield* agent.run("ship it"), "awaiting_approval")
        const paused = yield* AgentInstance.deny(agent.instance, "c1", "not today")
        yield* TestAgent.assertFinish(paused, "awaiting_approval")
      }))
      // Second process: the approved call is the turn's first that runs, within maxToolCalls 1.
      const agent = yield* TestAgent.make({ storage: { root }, tools, policy, script: [{ text: "rolled back" }] })
      const result = yield* AgentInstance.approve(agent.instance, "c2")
      // Before the fix: budget_exceeded, rollback answered E_BUDGET_EXCEEDED (the denial counted as a call).
      yield* TestAgent.assertFinish(result, "text_response")
      assert.deepStrictEqual(yield* Ref.get(ran), ["rollback"])
      const tools_ = (yield* agent.transcript).filter((l) => l.startsWith("tool "))
      assert.strictEqual(tools_.length, 2, tools_.join("\n"))
      assert.include(tools_[0]!, "E_TOOL_DENIED")
      assert.strictEqual(tools_[1], "tool ops__rollback: ok ok")
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("a call a crash interrupted counts: the continued turn's next call is over the budget, as in a fresh turn", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const ran = yield* Ref.make<ReadonlyArray<string>>([])
      const started = yield* Deferred.make<void>()
      const tools: ReadonlyArray<TestAgent.TestTool> = [
        {
          item: { name: "ops__deploy" },
          handler: () => Effect.zipRight(Deferred.succeed(started, undefined), Effect.never)
        },
        { item: { name: "ops__status" }, handler: counter(ran, "status") }
      ]
      const policy = Policy.resolve({ maxToolCalls: 1 })
      const script = [
        { toolCalls: [{ name: "ops__deploy", id: "c1", arguments: {} }] },
        { toolCalls: [{ name: "ops__status", id: "c2", arguments: {} }] },
        { text: "never" }
      ]
      // First process: the deploy starts, then the process goes away (its turn interrupted, left open).
      yield* Effect.scoped(Effect.gen(function*() {
        const agent = yield* TestAgent.make({ storage: { root }, tools, policy, script })
        const turn = yield* Effect.fork(agent.run("deploy"))
        yield* Deferred.await(started)
        yield* Fiber.interrupt(turn)
      }))
      // Second process: the deploy is answered as interrupted (not idempotent) and counts; status is refused.
      const agent = yield* TestAgent.make({ storage: { root }, tools, policy, script: script.slice(1) })
      yield* Effect.exit(agent.run("and then?"))
      const completed = (yield* agent.records).filter((r) => r.type === "turn.completed")
      // Before the fix: the status call ran (the interrupted deploy was not counted) and the turn ended normally.
      assert.deepStrictEqual(yield* Ref.get(ran), [])
      assert.deepStrictEqual(completed.map((r) => [r.finishReason, r.limit]).at(0), ["budget_exceeded", "maxToolCalls"])
      const lines = (yield* agent.transcript).filter((l) => l.startsWith("tool "))
      assert.include(lines[0]!, "tool ops__deploy: error")
      assert.include(lines[0]!, "E_TOOL_INTERRUPTED")
      assert.include(lines[1]!, "tool ops__status: error")
      assert.include(lines[1]!, "E_BUDGET_EXCEEDED")
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("a crash-interrupted step replays the budget: a call the budget refused is answered as refused, not interrupted", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const ran = yield* Ref.make<ReadonlyArray<string>>([])
      const started = yield* Deferred.make<void>()
      const tools: ReadonlyArray<TestAgent.TestTool> = [
        {
          item: { name: "ops__deploy" },
          handler: () => Effect.zipRight(Deferred.succeed(started, undefined), Effect.never)
        },
        { item: { name: "ops__notify" }, handler: counter(ran, "notify") }
      ]
      const policy = Policy.resolve({ maxToolCalls: 1 })
      const script = [
        {
          toolCalls: [{ name: "ops__deploy", id: "c1", arguments: {} }, {
            name: "ops__notify",
            id: "c2",
            arguments: {}
          }]
        },
        { text: "never" }
      ]
      yield* Effect.scoped(Effect.gen(function*() {
        const agent = yield* TestAgent.make({ storage: { root }, tools, policy, script })
        const turn = yield* Effect.fork(agent.run("deploy"))
        yield* Deferred.await(started)
        yield* Fiber.interrupt(turn)
      }))
      const agent = yield* TestAgent.make({ storage: { root }, tools, policy, script: script.slice(1) })
      yield* Effect.exit(agent.run("and then?"))
      const lines = (yield* agent.transcript).filter((l) => l.startsWith("tool "))
      assert.strictEqual(lines.length, 2, lines.join("\n"))
      assert.include(lines[0]!, "E_TOOL_INTERRUPTED")
      // notify never started (the first process refused it: the deploy had used the budget).
      assert.include(lines[1]!, "tool ops__notify: error")
      assert.include(lines[1]!, "E_BUDGET_EXCEEDED")
      assert.deepStrictEqual(yield* Ref.get(ran), [])
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})
