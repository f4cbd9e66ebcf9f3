import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Stream } from "effect"
import { AgentInstance, Message, Turn } from "effect-swarm"
import { TestAgent } from "effect-swarm/testing"

describe("Turn.stream", () => {
  it.scoped("streams each step's deltas (Model.stream), then the result; messages are written as with run", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.make({
        storage: "temp",
        tools: [{ item: { name: "t__echo", parameters: { type: "object" } }, handler: (args) => Effect.succeed(args) }],
        script: [
          { toolCalls: [{ name: "t__echo", id: "c1", arguments: { x: 1 } }] },
          { text: "all done here" }
        ]
      })
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(Turn.stream(agent.instance, "go")))
      const last = events.at(-1)!
      assert.strictEqual(last._tag, "Done")
      if (last._tag !== "Done") return
      assert.strictEqual(last.result.finishReason, "text_response")
      assert.strictEqual(Message.text(last.result.responseMessage!.data), "all done here")
      const deltas = events.flatMap((e) => e._tag === "Delta" ? [e] : [])
      // Step 0 announced the tool call and streamed its arguments; step 1 streamed the text.
      assert.isTrue(
        deltas.some((d) => d.stepIndex === 0 && d.part._tag === "ToolCallStart" && d.part.name === "t__echo")
      )
      const text = deltas.flatMap((d) => d.stepIndex === 1 && d.part._tag === "TextDelta" ? [d.part.text] : []).join("")
      assert.strictEqual(text, "all done here")
      // Write-ahead as with Turn.run: input, assistant (call), tool result, assistant (text).
      assert.deepStrictEqual(
        (yield* AgentInstance.conversation(agent.instance)).messages.map((m) => m.data.role),
        ["user", "assistant", "tool", "assistant"]
      )
    }))

  it.scoped("a failing turn fails the stream with its typed error", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.make({ script: [] })
      const error = yield* Effect.flip(Stream.runDrain(Turn.stream(agent.instance, "go")))
      assert.strictEqual(error._tag, "ModelProtocolError")
    }))
})
