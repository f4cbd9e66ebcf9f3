// Second hostile review of supervision and shutdown (issue 16, session 11), through the public API only:
// in-memory orchestrators of the `default` fixture (alpha, beta), the echo model
// (the only fake), every timer on the TestClock.
import { assert, describe } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, TestClock } from "effect"
import type { Orchestrator as O } from "effect-swarm"
import { baseLayer, echoModel, inMemory, scopedTest, until } from "../orchestrator/helpers.js"

const find = (orchestrator: O.Service, address: string) =>
  Effect.map(orchestrator.list, (all) => all.find((i) => i.address === address))

describe("review s11: supervision", () => {
  for (const order of ["restart, stop", "stop, restart"] as const) {
    scopedTest(
      `concurrent ${order} during a turn: the status it ends in is the truth (stopped runs nothing, else it serves)`,
      () =>
        Effect.gen(function*() {
          const gate = yield* Deferred.make<void>()
          let first = true
          const model = echoModel((t) =>
            t === "busy" && first
              ? Effect.sync(() => (first = false)).pipe(Effect.zipRight(Deferred.await(gate)))
              : Effect.void
          )
          const orchestrator = yield* inMemory({ alpha: model.service, beta: model.service })
          const busy = yield* Effect.fork(Effect.exit(orchestrator.request("alpha@one", "busy")))
          yield* until(() => Effect.succeed(model.calls.length === 1))
          const queued = yield* Effect.fork(Effect.exit(orchestrator.request("alpha@one", "m1")))
          const ops = order === "restart, stop"
            ? [orchestrator.restart("alpha@one"), orchestrator.stop("alpha@one")]
            : [orchestrator.stop("alpha@one"), orchestrator.restart("alpha@one")]
          yield* Effect.all(ops, { concurrency: "unbounded" })
          yield* Deferred.succeed(gate, undefined)
          const status = (yield* find(orchestrator, "alpha@one"))!.status
          // Let whatever worker exists run (no clock moves: nothing here waits on time).
          for (let i = 0; i < 200; i++) yield* Effect.yieldNow()
          const next = yield* Effect.exit(orchestrator.request("alpha@one", "m2").pipe(Effect.timeout("1 second")))
          if (status === "stopped") {
            // Stopped: the queued request was failed, nothing of alpha@one ran after the stop.
            assert.isTrue(Exit.isFailure(yield* Fiber.join(queued)), "the queued request of a stopped instance")
            assert.isTrue(Exit.isFailure(next), "a request to a stopped instance")
            assert.deepStrictEqual(model.calls, ["busy"], `status ${status}, model calls ${model.calls.join(",")}`)
          } else {
            assert.isTrue(Exit.isSuccess(next), `status ${status}: m2 not served`)
          }
          yield* Fiber.join(busy)
        }).pipe(Effect.provide(baseLayer)),
      30_000
    )
  }
})

/** A model that dies (its instance crashes) on `boom`, else echoes; counts its calls. */
const dying = () => echoModel((t) => t === "boom" ? Effect.die(new Error("model crash")) : Effect.void)

describe("review s11: stop and restart during crashLoopBackOff", () => {
  scopedTest(
    "stop during crashLoopBackOff: the pending backoff never starts the instance again; it stays stopped",
    () =>
      Effect.gen(function*() {
        const model = dying()
        const orchestrator = yield* inMemory({ alpha: model.service, beta: model.service }, {
          supervision: { maxRestarts: 100 }
        })
        const reply = yield* Effect.fork(Effect.exit(orchestrator.request("alpha@one", "boom")))
        yield* until(() => Effect.map(find(orchestrator, "alpha@one"), (i) => i?.status === "crashLoopBackOff"))
        const calls = model.calls.length
        yield* orchestrator.stop("alpha@one")
        assert.isTrue(Exit.isFailure(yield* Fiber.join(reply)))
        yield* TestClock.adjust("10 minutes")
        for (let i = 0; i < 100; i++) yield* Effect.yieldNow()
        const info = yield* find(orchestrator, "alpha@one")
        assert.strictEqual(info?.status, "stopped", JSON.stringify(info))
        assert.strictEqual(model.calls.length, calls, "the stopped instance ran a model call")
      }).pipe(Effect.provide(baseLayer)),
    30_000
  )

  scopedTest(
    "restart during crashLoopBackOff starts one worker now; the old backoff timer starts nothing more",
    () =>
      Effect.gen(function*() {
        let healthy = false
        const model = echoModel((t) => t === "boom" && !healthy ? Effect.die(new Error("model crash")) : Effect.void)
        const orchestrator = yield* inMemory({ alpha: model.service, beta: model.service }, {
          supervision: { maxRestarts: 100 }
        })
        const reply = yield* Effect.fork(orchestrator.request("alpha@one", "boom"))
        yield* until(() => Effect.map(find(orchestrator, "alpha@one"), (i) => i?.status === "crashLoopBackOff"))
        healthy = true
        const before = (yield* find(orchestrator, "alpha@one"))!
        yield* orchestrator.restart("alpha@one")
        // The restart continues the turn at once (no clock moves).
        const result = yield* Fiber.join(reply)
        assert.strictEqual(result.finishReason, "text_response")
        const after = (yield* find(orchestrator, "alpha@one"))!
        assert.strictEqual(after.generation, before.generation + 1)
        yield* TestClock.adjust("10 minutes")
        for (let i = 0; i < 100; i++) yield* Effect.yieldNow()
        const later = (yield* find(orchestrator, "alpha@one"))!
        assert.strictEqual(later.generation, after.generation, JSON.stringify(later))
        assert.strictEqual(later.status, "idle")
      }).pipe(Effect.provide(baseLayer)),
    30_000
  )
})
