// Second hostile review (issue 16, session 11): two orchestrators on one state root, as two processes
// would be. Public API only: durable orchestrators of the `default` fixture on real files, the echo model
// (the only fake), the TestClock.
// Failed before the fix (the instance crash-looped on InstanceLocked, the request waited); see isCrash in
// src/orchestrator/internal/hostInProcess.ts.
import { assert, describe } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Option, TestClock } from "effect"
import { Orchestrator } from "effect-swarm"
import { baseLayer, durableContext, echoModel, loadBundle, scopedTest, text, until } from "../orchestrator/helpers.js"
import { storesLayer } from "../support/stores.js"

describe("review s11: one workspace, two orchestrators", () => {
  scopedTest(
    "a request to an instance another orchestrator holds (its writer lock) fails typed; it is not a crash retried forever",
    () =>
      Effect.gen(function*() {
        const { context, root } = yield* durableContext("es-review-s11-two-")
        const bundle = yield* loadBundle
        const model = echoModel()
        const first = yield* Orchestrator.make(bundle, undefined, {
          models: { alpha: model.service, beta: model.service }
        }).pipe(Effect.provide(context))
        assert.strictEqual(text(yield* first.request("alpha@one", "hello")), "echo: hello")
        // The second one has its own stores on the same files, as another process would.
        const other = yield* Layer.build(storesLayer(root))
        const second = yield* Orchestrator.make(bundle, undefined, {
          models: { alpha: model.service, beta: model.service }
        }).pipe(Effect.provide(other))
        const pending = yield* Effect.fork(Effect.exit(second.request("alpha@one", "intruder")))
        yield* until(() => Effect.map(second.list, (l) => l.length > 0))
        // Two minutes: well inside the first one's hold of the lock (MessageStore idleTimeout 5 minutes).
        yield* TestClock.adjust("2 minutes")
        const polled = yield* Fiber.poll(pending)
        const listed = JSON.stringify(yield* second.list)
        yield* Fiber.interrupt(pending)
        // Today: still waiting, the instance in crashLoopBackOff after ~10 InstanceLocked "crashes".
        assert.isTrue(Option.isSome(polled), `the request still waits after 2 minutes: ${listed}`)
        const exit = Option.getOrThrow(polled)
        assert.isTrue(Exit.isSuccess(exit) && Exit.isFailure(exit.value), `not a typed failure: ${String(exit)}`)
        assert.notInclude(model.calls, "intruder")
        // The refusal names the lock and its holder, so the user knows another process holds the instance.
        const failure = Exit.isSuccess(exit) && Exit.isFailure(exit.value) ? String(exit.value.cause) : ""
        assert.include(failure, "locked for writing", failure)
        assert.include(failure, "writer.lock", failure)
        assert.deepStrictEqual((yield* second.list).map((i) => i.status), ["idle"], "no crash loop")
      }).pipe(Effect.provide(baseLayer)),
    60_000
  )
})
