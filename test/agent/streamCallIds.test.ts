/**
 * A model that gives two calls of one response the same id: the written step renames the repeats (be995fe,
 * internal/callIds.ts); a caller streaming the turn (`onDelta`) sees the same ids in its `ToolCallStart` parts,
 * so it can match the deltas to the calls and results it reads from the log. Before: the stream showed the
 * model's repeated ids.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Turn } from "effect-swarm"
import { TestAgent } from "effect-swarm/testing"

describe("streamed tool call ids", () => {
  for (
    const ids of [
      ["c1", "c1"],
      // A later call whose own id is what a repeat would be renamed to: still one id per call, the same in both.
      ["c1", "c1", "c1_2", "c2"]
    ]
  ) {
    it.scoped(`the ToolCallStart parts carry the ids of the written step (${ids.join(", ")})`, () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.make({
          tools: [{ item: { name: "a__b" }, handler: () => Effect.succeed("ran") }],
          script: [{ toolCalls: ids.map((id, n) => ({ name: "a__b", id, arguments: { n } })) }, { text: "done" }]
        })
        const streamed: Array<string> = []
        const result = yield* Turn.run(agent.instance, {
          text: "go",
          onDelta: (_, part) => Effect.sync(() => part._tag === "ToolCallStart" && streamed.push(part.id))
        })
        yield* TestAgent.assertFinish(result, "text_response")
        const messages = yield* agent.messages
        const written = messages.flatMap((m) => (m.data.toolCalls ?? []).map((c) => c.id))
        const results = messages.flatMap((m) => m.data.role === "tool" ? [m.data.toolCallId] : [])
        assert.strictEqual(new Set(written).size, ids.length, JSON.stringify(written))
        assert.deepStrictEqual(streamed, written)
        assert.deepStrictEqual(results, written)
        assert.strictEqual(written[0], "c1")
      }))
  }
})
