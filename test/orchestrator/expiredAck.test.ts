// A message whose deadline passed while its instance was starting is acknowledged (taken out of the durable
// inbox) instead of run. A stop landing during that acknowledgement used to interrupt it: the message stayed
// in the inbox, and the restarted instance ran a message whose requester had been told it timed out.
import { assert, describe } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Fiber, Option, Scope, TestClock } from "effect"
import { Jsonl, Orchestrator } from "effect-swarm"
import {
  durableContext,
  echoModel,
  eventLoopTurn,
  gatedInboxTruncate,
  loadBundle,
  scopedTest,
  until,
  untilSleep
} from "./helpers.js"

describe("an expired message's acknowledgement", () => {
  scopedTest(
    "a stop landing while it is acknowledged waits for it: the restarted instance never runs the expired message",
    () =>
      Effect.gen(function*() {
        const { context } = yield* durableContext("es-expired-ack-")
        const bundle = yield* loadBundle
        const model = echoModel()
        // The instance's start waits for `starting`; the inbox's acknowledgement (its truncate) for `gate`.
        const starting = yield* Deferred.make<void>()
        let starts = 0
        const acknowledging = yield* Deferred.make<void>()
        const gate = yield* Deferred.make<void>()
        const gated = gatedInboxTruncate(acknowledging, gate)
        const first = yield* Scope.make()
        const orchestrator = yield* Orchestrator.make(bundle, "default", {
          models: { alpha: model.service, beta: model.service },
          setup: () => Effect.zipRight(Effect.sync(() => starts++), Deferred.await(starting))
        }).pipe(Effect.provide(context), Scope.extend(first))
        const start = yield* TestClock.currentTimeMillis
        const late = yield* Effect.fork(
          orchestrator.request("alpha@one", "late", { timeout: "3 seconds" }).pipe(
            Effect.provideService(Jsonl.DurableFile, gated)
          )
        )
        yield* until(() => Effect.succeed(starts === 1))
        yield* untilSleep(start + 3_000)
        yield* TestClock.adjust("3 seconds")
        const exit = yield* Fiber.await(late)
        const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
        assert.isTrue(Option.isSome(failure) && failure.value.code === "AGENT_REQUEST_TIMEOUT")
        // The instance finishes starting and acknowledges the expired message; a stop lands meanwhile.
        yield* Deferred.succeed(starting, undefined)
        yield* Deferred.await(acknowledging)
        const stopping = yield* Effect.fork(orchestrator.stop("alpha@one"))
        for (let i = 0; i < 20; i++) yield* eventLoopTurn
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(stopping)
        // The process ends; the next one reads the inbox back from its file.
        yield* Scope.close(first, Exit.void)
        const again = yield* Orchestrator.make(bundle, "default", {
          models: { alpha: model.service, beta: model.service }
        }).pipe(Effect.provide(context))
        const next = yield* again.request("alpha@one", "next")
        assert.strictEqual(next.finishReason, "text_response")
        // Before: the restarted instance found "late" still in its inbox and ran it first.
        assert.deepStrictEqual(model.calls, ["next"], "the expired message reached the model")
      }),
    30_000
  )
})
