// The orchestrator tests' scope helper (helpers.ts: scopedTest / onTestClock): a TestClock test that fails
// partway, with a turn in flight, reports its failure at once. Under plain it.scoped the scope's close waits
// out the shutdown grace period (30 s) on a TestClock that nothing advances any more, and the test hangs
// until vitest's timeout, which is what gets reported instead of the assertion.
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Option, Scope, TestClock } from "effect"
import { Orchestrator } from "effect-swarm"
import { durableContext, echoModel, loadBundle, onTestClock, scopedTest, until, untilSleep } from "./helpers.js"

/** A durable orchestrator with a turn that never ends on alpha@one (it will need the grace period). */
const turnInFlight = Effect.gen(function*() {
  const { context } = yield* durableContext("es-orch-clock-")
  const bundle = yield* loadBundle
  const model = echoModel(() => Effect.never)
  const orchestrator = yield* Orchestrator.make(bundle, "default", {
    models: { alpha: model.service, beta: model.service }
  }).pipe(Effect.provide(context))
  yield* orchestrator.send("alpha@one", "stuck")
  yield* until(() => Effect.succeed(model.calls.length === 1))
  return orchestrator
})

describe("closing a TestClock test's scope", () => {
  it.effect("a failing assertion with a turn in flight ends at once with the assertion's message, the grace period driven", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(onTestClock(Effect.gen(function*() {
        yield* turnInFlight
        assert.strictEqual("actual", "expected", "the assertion that fails partway")
      })))
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) assert.include(Cause.pretty(exit.cause), "the assertion that fails partway")
      // The close ended because the helper drove the clock past the 30 s grace period.
      assert.isAtLeast(yield* TestClock.currentTimeMillis, 30_000)
    }))

  it.effect("without the helper the same close waits on the TestClock for as long as nobody advances it", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      yield* Scope.extend(turnInFlight, scope)
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* untilSleep(30_000)
      // Nothing but the clock can end it: the grace period's sleep is all that is left.
      for (let i = 0; i < 100; i++) yield* Effect.yieldNow()
      assert.isTrue(Option.isNone(yield* Fiber.poll(closing)))
      yield* TestClock.adjust("30 seconds")
      yield* Fiber.join(closing)
    }))

  scopedTest(
    "scopedTest: a passing body with a turn still in flight closes by driving the clock",
    () => Effect.asVoid(turnInFlight)
  )
})
