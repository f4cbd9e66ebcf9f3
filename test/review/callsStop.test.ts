// Hostile review of inter-agent calls (issue 16), through the public API only: a durable orchestrator of
// the `team` fixture on real files, the scripted model (the only fake), every timer on the TestClock.
// Each test names the behaviour the docs promise (docs/orchestrator.md, "Inter-agent calls").
import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { team, until } from "../orchestrator/helpers.js"

describe("review: async callers of a stopped callee", () => {
  it.scoped(
    "stopping a callee answers its async requests (queued and in flight) at once with AGENT_UNAVAILABLE, not a timeout 60 s later",
    () =>
      Effect.gen(function*() {
        const { lead, orchestrator, ref } = yield* team("hang")
        const api = orchestrator.agentsApi!
        const one = yield* lead.request({ target: "worker", input: "one", async: true })
        const two = yield* lead.request({ target: "worker", input: "two", async: true })
        yield* until(() =>
          Effect.map(orchestrator.list, (l) => l.some((i) => i.address === "worker@t1" && i.status === "processing"))
        )
        // "stop(address) refuses new messages and fails the queued ones": the queued request ("two") and the
        // one whose turn stop interrupts ("one") are answered now, in the caller's inbox (no clock moves).
        yield* orchestrator.stop("worker@t1")
        // Event-loop turns (no clock, no sleep): the inbox's fsync completes in between.
        let replies = yield* api.pendingReplies(ref)
        for (let turn = 0; turn < 2_000 && replies.length < 2; turn++) {
          yield* Effect.async<void>((resume) => void setImmediate(() => resume(Effect.void)))
          replies = yield* api.pendingReplies(ref)
        }
        const byId = new Map(replies.map((r) => [r.correlationId, r]))
        for (const id of [one.correlationId, two.correlationId]) {
          const reply = byId.get(id!)
          assert.isDefined(reply, `no reply for ${id} in lead@t1's inbox after worker@t1 was stopped`)
          assert.strictEqual(reply!.status, "error")
          assert.strictEqual(reply!.error?.code, "AGENT_UNAVAILABLE")
          assert.include(reply!.error?.message ?? "", "worker@t1")
        }
        // Nothing is outstanding: the deadline has nothing left to expire.
        assert.strictEqual(yield* api.pendingAsync(ref), 0)
        yield* TestClock.adjust("61 seconds")
        // The deadline passes: no second answer (the first reply of a correlation id wins, none is left to expire).
        assert.notInclude(JSON.stringify(yield* api.pendingReplies(ref)), "AGENT_REQUEST_TIMEOUT")
      }),
    30_000
  )
})
