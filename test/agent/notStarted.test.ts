/**
 * A fork of a turn paused for an approval (cut after the step's assistant message, before its approval
 * request): its next use requests the approval again and answers the step's non-idempotent calls at once,
 * since a decision must not run them (e9696de). Those calls never started (a step runs none of its calls before
 * every decision): their answer says so, instead of "interrupted while it ran", and they do not count toward
 * maxToolCalls.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Ref } from "effect"
import { AgentInstance, Policy, Turn } from "effect-swarm"
import type { ToolRegistry } from "effect-swarm"
import { TestAgent } from "effect-swarm/testing"

const counter = (ran: Ref.Ref<ReadonlyArray<string>>, name: string): ToolRegistry.ToolHandler => () =>
  Effect.as(Ref.update(ran, (names) => [...names, name]), "ok")

describe("a call of a paused step that never started", () => {
  it.scoped("is answered as not run (it never started), names what waits, and does not count toward maxToolCalls", () =>
    Effect.gen(function*() {
      const ran = yield* Ref.make<ReadonlyArray<string>>([])
      const agent = yield* TestAgent.make({
        storage: "temp",
        policy: Policy.resolve({ maxToolCalls: 1 }),
        tools: [
          { item: { name: "ops__deploy" }, needsApproval: true, handler: counter(ran, "deploy") },
          { item: { name: "chat__notify" }, handler: counter(ran, "notify") }
        ],
        script: [
          {
            toolCalls: [{ name: "ops__deploy", id: "c1", arguments: {} }, {
              name: "chat__notify",
              id: "c2",
              arguments: {}
            }]
          },
          { text: "deployed" }
        ]
      })
      yield* TestAgent.assertFinish(yield* agent.run("deploy and tell the team"), "awaiting_approval")
      const [turn] = yield* AgentInstance.history(agent.instance)
      const fork = yield* AgentInstance.fork(agent.instance, turn!.lastSeq!, "what-if")
      yield* fork.tools.register({ name: "ops__deploy" }, counter(ran, "deploy"))
      yield* fork.tools.register({ name: "chat__notify" }, counter(ran, "notify"))
      const waiting = yield* Effect.flip(Turn.run(fork, "go on"))
      assert.strictEqual(waiting._tag, "AwaitingApproval")
      const messages = yield* Effect.map(fork.state.conversation.pipe(Ref.get), (c) => c.messages)
      const notify = messages.find((m) => m.data.role === "tool" && m.data.toolCallId === "c2")
      const text = JSON.stringify(notify?.data.content)
      // Before the fix: "The call of chat__notify was interrupted (the agent stopped while it ran) ... it may or
      // may not have taken effect" although it never started.
      assert.notInclude(text, "while it ran")
      assert.notInclude(text, "may or may not")
      assert.include(text, "The call of chat__notify was not run: its step stopped before any of its calls started")
      assert.include(text, "while ops__deploy waited for approval")
      assert.include(text, "Call chat__notify again if it is still needed")
      assert.deepStrictEqual(yield* Ref.get(ran), [])
      // The approved deploy is the turn's first call that runs: within maxToolCalls 1.
      yield* TestAgent.assertFinish(yield* AgentInstance.approve(fork, "c1"), "text_response")
      assert.deepStrictEqual(yield* Ref.get(ran), ["deploy"])
    }))
})
