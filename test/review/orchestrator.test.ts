// Hostile review of the orchestrator (issue 16): Orchestrator.request with timeouts that are not ones.
// Public API, a durable orchestrator on real files, the echo model (the only fake), the TestClock.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Orchestrator } from "effect-swarm"
import { durableContext, echoModel, loadBundle } from "../orchestrator/helpers.js"

describe("review: Orchestrator.request timeouts", () => {
  it.scoped(
    "a request timeout of 0, -1 or NaN is refused with a typed error naming it; nothing is started (not AgentRequestTimeout after 0 ms)",
    () =>
      Effect.gen(function*() {
        const { context } = yield* durableContext("es-review-orch-")
        const bundle = yield* loadBundle
        const model = echoModel()
        const orchestrator = yield* Orchestrator.make(bundle, undefined, {
          models: { alpha: model.service, beta: model.service }
        }).pipe(Effect.provide(context))
        for (const timeout of [0, -1, Number.NaN]) {
          const error = yield* Effect.flip(orchestrator.request("beta@t", "hi", { timeout }))
          // issue 16: an invalid timeout is refused with a typed error (the reference silently replaced it).
          // Today: AgentRequestTimeout { timeoutMs: 0 }, as if the callee had been too slow.
          assert.notStrictEqual(error._tag, "AgentRequestTimeout", `timeout ${timeout}`)
        }
        assert.deepStrictEqual((yield* orchestrator.list).map((i) => i.address), [])
        assert.deepStrictEqual(model.calls, [])
      }),
    30_000
  )
})
