// Hostile review of inter-agent calls (issue 16), through the public API only: a durable orchestrator of
// the `team` fixture on real files, the scripted model (the only fake), every timer on the TestClock.
// Each test names the behaviour the docs promise (docs/orchestrator.md, "Inter-agent calls").
import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { Orchestrator, Scripted } from "effect-swarm"
import { durableContext, hanging, loadCalls, until } from "../orchestrator/helpers.js"

/** A durable orchestrator of the `team` swarm; `lead@t1` calls through the orchestrator's AgentsApi. */
const team = (worker: "echo" | "hang") =>
  Effect.gen(function*() {
    const { context } = yield* durableContext("es-review-calls-")
    const bundle = yield* loadCalls
    const model = worker === "hang" ? hanging : yield* Scripted.make(Array.from({ length: 20 }, () => ({ text: "ok" })))
    const orchestrator = yield* Orchestrator.make(bundle, "team", { models: { worker: model } }).pipe(
      Effect.provide(context)
    )
    const ref = { workspaceId: orchestrator.workspaceId, agentName: "lead", instanceKey: "t1" }
    return { orchestrator, ref, lead: orchestrator.agentsApi!.forInstance(ref) }
  })

describe("review: async callers of a stopped callee", () => {
  // KNOWN DEFECT (issue 16, open): skipped until fixed (as `.fails` CI's retry counted it flaky); enable with the fix.
  it.scoped.skip(
    "KNOWN DEFECT: stopping a callee answers the async requests it fails at once with AGENT_UNAVAILABLE, not a timeout 60 s later",
    () =>
      Effect.gen(function*() {
        const { lead, orchestrator, ref } = yield* team("hang")
        const api = orchestrator.agentsApi!
        yield* lead.request({ target: "worker", input: "one", async: true })
        yield* lead.request({ target: "worker", input: "two", async: true })
        yield* until(() =>
          Effect.map(orchestrator.list, (l) => l.some((i) => i.address === "worker@t1" && i.status === "processing"))
        )
        // "stop(address) refuses new messages and fails the queued ones": the queued request ("two") is
        // failed now, so its caller's inbox gets that failure now (no clock moves).
        yield* orchestrator.stop("worker@t1")
        // Event-loop turns (no clock, no sleep): the inbox's fsync completes in between.
        let replies = yield* api.pendingReplies(ref)
        for (let turn = 0; turn < 2_000 && replies.length === 0; turn++) {
          yield* Effect.async<void>((resume) => void setImmediate(() => resume(Effect.void)))
          replies = yield* api.pendingReplies(ref)
        }
        assert.isAtLeast(replies.length, 1, "no reply in lead@t1's inbox after worker@t1 was stopped")
        assert.include(JSON.stringify(replies), "AGENT_UNAVAILABLE")
        // What happens today: nothing until the deadline, then AGENT_REQUEST_TIMEOUT for both.
        yield* TestClock.adjust("61 seconds")
      }),
    30_000
  )
})
