import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { AgentInstance, Turn } from "effect-swarm"
import { TestAgent } from "effect-swarm/testing"
import { tempRoot } from "../workspace/helpers.js"

const echo: TestAgent.TestTool = {
  item: { name: "echo__say" },
  handler: (args) => Effect.succeed({ said: args.text ?? null })
}

describe("history and fork", () => {
  it.scoped("history lists the turns and their steps with seqs", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.make({
        tools: [echo],
        script: [
          { toolCalls: [{ name: "echo__say", id: "c1", arguments: { text: "a" } }] },
          { text: "first" },
          { text: "second" }
        ]
      })
      const first = yield* agent.run("one")
      yield* agent.run("two")
      const turns = yield* AgentInstance.history(agent.instance)
      assert.deepStrictEqual(
        turns.map((t) => ({ input: t.input, firstSeq: t.firstSeq, lastSeq: t.lastSeq, finishReason: t.finishReason })),
        [
          { input: "one", firstSeq: 1, lastSeq: 4, finishReason: "text_response" },
          { input: "two", firstSeq: 5, lastSeq: 6, finishReason: "text_response" }
        ]
      )
      assert.strictEqual(turns[0]!.turnId, first.turnId)
      assert.deepStrictEqual(turns[0]!.steps, [
        { stepIndex: 0, seq: 2, toolCalls: [{ id: "c1", name: "echo__say", resultSeq: 3 }] },
        { stepIndex: 1, seq: 4, toolCalls: [] }
      ])
    }))

  it.scoped("fork starts a new durable instance from the conversation at a seq; the original is untouched", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const agent = yield* TestAgent.make({
        storage: { root },
        script: [{ text: "first" }, { text: "second" }, { text: "other way" }]
      })
      yield* agent.run("one")
      yield* agent.run("two")
      const before = yield* agent.transcript
      const [turn1] = yield* AgentInstance.history(agent.instance)
      const forked = yield* AgentInstance.fork(agent.instance, turn1!.lastSeq!, "what-if")
      assert.strictEqual(forked.label, "agent@what-if")
      const result = yield* Turn.run(forked, "three")
      assert.strictEqual(TestAgent.replyText(result), "other way")
      const forkedLines = (yield* AgentInstance.conversation(forked)).messages.map((m) =>
        `${m.data.role}: ${typeof m.data.content === "string" ? m.data.content : ""}`
      )
      assert.deepStrictEqual(forkedLines, ["user: one", "assistant: first", "user: three", "assistant: other way"])
      assert.deepStrictEqual(yield* agent.transcript, before)
      // Bad points are typed errors.
      const beyond = yield* Effect.flip(AgentInstance.fork(agent.instance, 99, "x"))
      assert.strictEqual(beyond._tag, "ForkError")
      assert.include(beyond.message, "the log ends at seq 4")
      const taken = yield* Effect.flip(AgentInstance.fork(agent.instance, 2, "what-if"))
      assert.include(taken.message, "agent@what-if already exists")
      // A fork at seq 0 writes nothing: a second one into the same new key is refused all the same.
      yield* AgentInstance.fork(agent.instance, 0, "empty")
      const again = yield* Effect.flip(AgentInstance.fork(agent.instance, 0, "empty"))
      assert.strictEqual(again._tag, "ForkError")
      assert.include(again.message, "agent@empty already exists; fork into a new instance key")
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})
