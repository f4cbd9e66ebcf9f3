// Async requests wait on the orchestrator's deadline registry (one timer for every request), not a timer
// fiber each: three async requests with the same timeout leave one sleep on the TestClock, and when it
// passes each caller's inbox gets AGENT_REQUEST_TIMEOUT and the callee's turn is cancelled.
import { NodeContext } from "@effect/platform-node"
import { assert, describe } from "@effect/vitest"
import { Chunk, Effect, TestClock } from "effect"
import { durableContext, hanging, loadCalls, openDurable, scopedTest, until, untilSleep } from "./helpers.js"

describe("async requests on the deadline registry", () => {
  scopedTest(
    "three async requests share one timer; at the deadline each reply is a timeout and the callee's turn is cancelled",
    () =>
      Effect.gen(function*() {
        const { context } = yield* durableContext("es-orch-async-deadline-")
        const bundle = yield* loadCalls
        // Not woken by the replies (wakeOnReply.test.ts covers that): they are read where they wait.
        const { orchestrator } = yield* openDurable(bundle, "team", context, {
          models: { lead: hanging, worker: hanging },
          calls: { wakeOnReply: false }
        })
        const api = orchestrator.agentsApi!
        const lead = { workspaceId: orchestrator.workspaceId, agentName: "lead", instanceKey: "t1" }
        const start = yield* TestClock.currentTimeMillis
        for (const input of ["one", "two", "three"]) {
          yield* api.forInstance(lead).request({ target: "worker", input, async: true, timeoutMs: 7_000 })
        }
        assert.strictEqual(yield* api.pendingAsync(lead), 3)
        yield* untilSleep(start + 7_000)
        // One sleep towards the deadline (the registry's reaper), not one timer fiber per request.
        const sleeps = yield* TestClock.sleeps()
        assert.strictEqual(Chunk.size(Chunk.filter(sleeps, (t) => t === start + 7_000)), 1, JSON.stringify(sleeps))
        yield* TestClock.adjust("7 seconds")
        yield* until(() => Effect.map(api.pendingReplies(lead), (r) => r.length === 3))
        const replies = yield* api.pendingReplies(lead)
        assert.deepStrictEqual(replies.map((r) => r.status), ["timeout", "timeout", "timeout"])
        assert.isTrue(replies.every((r) => r.error?.code === "AGENT_REQUEST_TIMEOUT"))
        assert.include(replies[0]!.error!.message, "timed out after 7000ms")
        assert.strictEqual(yield* api.pendingAsync(lead), 0)
        // The worker's running turn was cancelled and its queue emptied: it answers the next message.
        const worker = (yield* orchestrator.list).find((i) => i.address === "worker@t1")
        assert.strictEqual(worker?.queued ?? 0, 0)
      }).pipe(Effect.provide(NodeContext.layer))
  )
})
