// Hostile review of the turn loop (issue 15): a tool handler registered from plain JavaScript that
// returns a Promise (or any non-Effect) instead of an Effect. Public API only (TestAgent, the instance's
// own registry); the scripted model is the only fake.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import type { ToolRegistry } from "effect-swarm"
import { TestAgent } from "effect-swarm/testing"

describe("review: a tool handler that does not return an Effect", () => {
  it.scoped(
    "a registered handler returning a Promise is a tool error the model reads, not a dead turn",
    () =>
      Effect.gen(function*() {
        // What a JS extension or tool author writes; the ToolExecutor reports a handler that throws as an
        // error result ("a handler bug, reported like a throw"), but one returning a Promise kills the turn
        // with `TypeError: handled.pipe is not a function` (ToolExecutor.ts, `handled.pipe(...)`).
        const handler = (() => Promise.resolve("done")) as unknown as ToolRegistry.ToolHandler
        const agent = yield* TestAgent.make({
          tools: [{ item: { name: "js__tool" }, handler }],
          script: [{ toolCalls: [{ name: "js__tool", id: "j1" }] }, { text: "after the tool" }]
        })
        const exit = yield* Effect.exit(agent.run("go"))
        assert.isTrue(Exit.isSuccess(exit), Exit.isFailure(exit) ? String(exit.cause).slice(0, 200) : "")
        const lines = yield* agent.transcript
        assert.include(lines.find((l) => l.startsWith("tool js__tool")) ?? "(no tool result)", "js__tool")
        assert.strictEqual(lines.at(-1), "assistant: after the tool")
      }),
    30_000
  )
})
