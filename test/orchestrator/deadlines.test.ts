import { assert, describe } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Fiber, Option, TestClock } from "effect"
import type { OrchestratorError } from "effect-swarm"
import { baseLayer, echoModel, inMemory, scopedTest, until } from "./helpers.js"

/** Yields until `fiber` is done, then its exit (the expiry runs on the reaper's fiber, not the caller's). */
const exitOf = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) =>
  Effect.gen(function*() {
    yield* until(() => Effect.map(Fiber.poll(fiber), (o) => o._tag === "Some"))
    return yield* Fiber.await(fiber)
  })

/** The timeout of an `AgentRequestTimeout` failure (undefined for any other exit). */
const timedOutAfter = (exit: Exit.Exit<unknown, OrchestratorError.OrchestratorError>) => {
  if (Exit.isSuccess(exit)) return undefined
  const failure = Cause.failureOption(exit.cause)
  return Option.isSome(failure) && failure.value._tag === "AgentRequestTimeout" ? failure.value.timeoutMs : undefined
}

describe("Orchestrator.request with a timeout (one deadline registry, on the Clock)", () => {
  scopedTest(
    "a running turn past its deadline is interrupted and the requester gets AGENT_REQUEST_TIMEOUT",
    () =>
      Effect.gen(function*() {
        const model = echoModel((t) => t === "slow" ? Effect.sleep("1 hour") : Effect.void)
        const orchestrator = yield* inMemory({ alpha: model.service, beta: model.service })
        const slow = yield* Effect.fork(orchestrator.request("alpha@one", "slow", { timeout: "5 seconds" }))
        yield* until(() => Effect.succeed(model.calls.length === 1))
        yield* TestClock.adjust("4999 millis")
        assert.isTrue((yield* Fiber.poll(slow))._tag === "None", "not before its deadline")
        yield* TestClock.adjust("1 millis")
        const exit = yield* exitOf(slow)
        assert.strictEqual(timedOutAfter(exit), 5000)
        const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
        assert.isTrue(Option.isSome(failure))
        if (Option.isSome(failure)) {
          assert.strictEqual(failure.value.code, "AGENT_REQUEST_TIMEOUT")
          assert.include(failure.value.message, "alpha@one timed out after 5000ms")
        }
        // The turn was interrupted: the instance serves the next message (the slow turn is not continued).
        const next = yield* orchestrator.request("alpha@one", "next", { timeout: "5 seconds" })
        assert.strictEqual(next.finishReason, "text_response")
        assert.deepStrictEqual(model.calls, ["slow", "next"])
      }).pipe(Effect.provide(baseLayer))
  )

  scopedTest(
    "a shorter deadline registered after a longer one expires first; a queued request leaves the mailbox unseen",
    () =>
      Effect.gen(function*() {
        const gate = yield* Deferred.make<void>()
        const model = echoModel((t) => t === "slow" ? Deferred.await(gate) : Effect.void)
        const orchestrator = yield* inMemory({ alpha: model.service, beta: model.service })
        // Busy until the gate opens, with no deadline of its own.
        yield* orchestrator.send("alpha@one", "slow")
        yield* until(() => Effect.succeed(model.calls.length === 1))
        const long = yield* Effect.fork(orchestrator.request("alpha@one", "long", { timeout: "10 seconds" }))
        yield* until(() => Effect.map(orchestrator.list, (l) => l[0]?.queued === 1))
        const short = yield* Effect.fork(orchestrator.request("alpha@one", "short", { timeout: "2 seconds" }))
        yield* until(() => Effect.map(orchestrator.list, (l) => l[0]?.queued === 2))
        yield* TestClock.adjust("2 seconds")
        assert.strictEqual(timedOutAfter(yield* exitOf(short)), 2000)
        assert.isTrue((yield* Fiber.poll(long))._tag === "None", "the 10 s request still waits")
        assert.strictEqual((yield* orchestrator.list)[0]?.queued, 1, "the expired request left the mailbox")
        yield* TestClock.adjust("8 seconds")
        assert.strictEqual(timedOutAfter(yield* exitOf(long)), 10_000)
        assert.strictEqual((yield* orchestrator.list)[0]?.queued, 0)
        yield* Deferred.succeed(gate, undefined)
        yield* until(() => Effect.map(orchestrator.list, (l) => l[0]?.status === "idle"))
        assert.deepStrictEqual(model.calls, ["slow"], "the callee never saw the expired requests")
      }).pipe(Effect.provide(baseLayer))
  )

  scopedTest(
    "a reply before the deadline wins; the settled deadline fires nothing later",
    () =>
      Effect.gen(function*() {
        const model = echoModel()
        const orchestrator = yield* inMemory({ alpha: model.service, beta: model.service })
        for (let i = 0; i < 50; i++) {
          const r = yield* orchestrator.request("alpha@one", `m${i}`, { timeout: "1 second" })
          assert.strictEqual(r.finishReason, "text_response")
        }
        yield* TestClock.adjust("1 hour")
        const after = yield* orchestrator.request("alpha@one", "after", { timeout: "1 second" })
        assert.strictEqual(after.finishReason, "text_response")
        assert.strictEqual(model.calls.length, 51)
      }).pipe(Effect.provide(baseLayer))
  )
})
