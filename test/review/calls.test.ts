// Hostile review of inter-agent calls (issue 16), through the public API only: a durable orchestrator of
// the `team` fixture on real files, the scripted model (the only fake), every timer on the TestClock.
// Each test names the behaviour the docs promise (docs/orchestrator.md, "Inter-agent calls").
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { callOutcome, team } from "../orchestrator/helpers.js"

describe("review: inter-agent calls with hostile arguments", () => {
  it.scoped(
    "request and send refuse an input that is not a string with AGENT_INVALID_REQUEST (no defect)",
    () =>
      Effect.gen(function*() {
        const { lead } = yield* team("echo")
        // ctx.agents and ToolContext.runtime.agents are called from untyped JS tools and extensions too.
        const input = 42 as unknown as string
        assert.strictEqual(yield* callOutcome(lead.request({ target: "worker", input })), "AGENT_INVALID_REQUEST")
        assert.strictEqual(
          yield* callOutcome(lead.request({ target: "worker", input: { text: "hi" } as unknown as string })),
          "AGENT_INVALID_REQUEST"
        )
        assert.strictEqual(yield* callOutcome(lead.send({ target: "worker", input })), "AGENT_INVALID_REQUEST")
        assert.strictEqual(
          yield* callOutcome(lead.request({ target: "worker", input, async: true, instanceKey: "a1" })),
          "AGENT_INVALID_REQUEST"
        )
      }),
    30_000
  )

  it.scoped(
    "request and send refuse instance keys that AgentAddress refuses (control characters, > 256 characters), like spawn",
    () =>
      Effect.gen(function*() {
        const { lead, orchestrator } = yield* team("echo")
        for (const instanceKey of ["a\u0000b", "line\nbreak", "k".repeat(300)]) {
          // spawn refuses them; request and send must too, or they create an instance that
          // Orchestrator.stop / restart cannot address (InvalidAgentAddress).
          assert.strictEqual(yield* callOutcome(lead.spawn({ target: "worker", instanceKey })), "AGENT_INVALID_REQUEST")
          assert.strictEqual(
            yield* callOutcome(lead.request({ target: "worker", input: "hi", instanceKey })),
            "AGENT_INVALID_REQUEST",
            `request with instanceKey ${JSON.stringify(instanceKey.slice(0, 20))}`
          )
          assert.strictEqual(
            yield* callOutcome(lead.send({ target: "worker", input: "hi", instanceKey })),
            "AGENT_INVALID_REQUEST",
            `send with instanceKey ${JSON.stringify(instanceKey.slice(0, 20))}`
          )
        }
        // Nothing was created at an address the orchestrator cannot stop.
        for (const info of yield* orchestrator.list) {
          assert.isTrue(Exit.isSuccess(yield* Effect.exit(orchestrator.stop(info.address))), info.address.slice(0, 40))
        }
      }),
    30_000
  )
})
