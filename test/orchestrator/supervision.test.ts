import { assert, describe, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Fiber, TestClock } from "effect"
import type { Orchestrator } from "effect-swarm"
import { Supervision } from "effect-swarm"
import { baseLayer, echoModel, info, inMemory, scopedTest, text, until } from "./helpers.js"

const find = (orchestrator: Orchestrator.Service, address: string) =>
  Effect.map(orchestrator.list, (all) => all.find((i) => i.address === address))

/** A model that dies (a defect: its instance crashes) on the calls `crashOn` says, else echoes. */
const crashing = (crashOn: (call: number) => boolean) => {
  let calls = 0
  let crashes = 0
  const model = echoModel(() =>
    Effect.suspend(() => {
      calls++
      if (!crashOn(calls)) return Effect.void
      crashes++
      return Effect.die(new Error(`model crash ${crashes}`))
    })
  )
  return { ...model, crashes: () => crashes }
}

describe("Supervision", () => {
  it("backoff: crashes up to the threshold restart at once, then initial * 2^(n - threshold - 1) up to max", () => {
    const s = Supervision.defaults
    assert.deepStrictEqual(
      [1, 2, 5, 6, 7, 8, 13, 14, 30].map((n) => Supervision.backoffMillis(n, s)),
      [0, 0, 0, 1000, 2000, 4000, 128000, 256000, 300000]
    )
    const custom = Supervision.fromPolicy({
      supervision: { crashThreshold: 0, initialBackoffSeconds: 0.5, maxBackoffSeconds: 2 },
      restart: { maxRestarts: 3, withinSeconds: 10 }
    })
    assert.deepStrictEqual([1, 2, 3, 4].map((n) => Supervision.backoffMillis(n, custom)), [500, 1000, 2000, 2000])
    assert.strictEqual(custom.maxRestarts, 3)
    assert.strictEqual(Duration.toMillis(custom.within), 10000)
  })

  scopedTest(
    "a crash loop backs off on the Clock, then the restarted instance continues the turn from its log",
    () =>
      Effect.gen(function*() {
        const model = crashing((n) => n <= 7)
        const orchestrator = yield* inMemory({ alpha: model.service, beta: model.service }, {
          supervision: { maxRestarts: 100 }
        })
        const reply = yield* Effect.fork(orchestrator.request("alpha@one", "boom"))
        // Crashes 1-5 restart at once; crash 6 waits 1 s in crashLoopBackOff.
        yield* until(() => Effect.map(find(orchestrator, "alpha@one"), (i) => i?.status === "crashLoopBackOff"))
        let current = yield* info(orchestrator, "alpha@one")
        assert.strictEqual(current.consecutiveCrashes, 6)
        assert.strictEqual(current.nextStartAt, 1000)
        yield* TestClock.adjust("999 millis")
        assert.strictEqual(model.crashes(), 6)
        yield* TestClock.adjust("1 millis")
        // Crash 7 waits 2 s.
        yield* until(() => Effect.map(info(orchestrator, "alpha@one"), (i) => i.consecutiveCrashes === 7))
        current = yield* info(orchestrator, "alpha@one")
        assert.strictEqual(current.nextStartAt, 3000)
        yield* TestClock.adjust("2 seconds")
        const result = yield* Fiber.join(reply)
        assert.strictEqual(text(result), "echo: boom")
        // One user message, one answer: the turn was continued, never started again.
        assert.strictEqual(model.calls.filter((c) => c === "boom").length, 8)
        current = yield* info(orchestrator, "alpha@one")
        assert.strictEqual(current.status, "idle")
        assert.strictEqual(current.restarts, 7)
      }).pipe(Effect.provide(baseLayer))
  )

  scopedTest("the crash count starts again after healthy uptime", () =>
    Effect.gen(function*() {
      // Calls 1-5 crash (restarted at once), call 6 answers; later call 7 crashes once more.
      const model = crashing((n) => n <= 5 || n === 7)
      const orchestrator = yield* inMemory({ alpha: model.service, beta: model.service }, {
        supervision: { maxRestarts: 100 }
      })
      assert.strictEqual(text(yield* orchestrator.request("alpha@one", "first")), "echo: first")
      assert.strictEqual((yield* info(orchestrator, "alpha@one")).consecutiveCrashes, 5)
      yield* TestClock.adjust("60 seconds")
      // A crash after a minute of uptime is the first of a new row: restarted at once, no backoff (without
      // the reset it would be crash 6 and wait 1 s, and this request would not complete without the clock).
      assert.strictEqual(text(yield* orchestrator.request("alpha@one", "second")), "echo: second")
      const current = yield* info(orchestrator, "alpha@one")
      assert.strictEqual(current.consecutiveCrashes, 1)
      assert.strictEqual(current.status, "idle")
    }).pipe(Effect.provide(baseLayer)))

  scopedTest(
    "the restart-intensity limit stops a hopeless instance as crashed with a reason; restart revives it",
    () =>
      Effect.gen(function*() {
        const model = crashing(() => true)
        const orchestrator = yield* inMemory({ alpha: model.service, beta: model.service }, {
          supervision: { maxRestarts: 3, within: Duration.seconds(10) }
        })
        const boom = yield* Effect.fork(orchestrator.request("alpha@one", "boom"))
        const later = yield* Effect.fork(orchestrator.request("alpha@one", "later"))
        // Crashes 1-3 are restarted at once; crash 4 within 10 s is one restart too many.
        for (const fiber of [boom, later]) {
          const failed = yield* Effect.flip(Fiber.join(fiber))
          assert.strictEqual(failed._tag, "AgentUnavailable")
          if (failed._tag === "AgentUnavailable") assert.strictEqual(failed.code, "AGENT_UNAVAILABLE")
        }
        const current = yield* info(orchestrator, "alpha@one")
        assert.strictEqual(current.status, "crashed")
        assert.include(current.reason, "policy.restart allows 3 restarts")
        const refused = yield* Effect.flip(orchestrator.send("alpha@one", "more"))
        assert.strictEqual(refused._tag, "AgentUnavailable")
        if (refused._tag === "AgentUnavailable") assert.strictEqual(refused.status, "crashed")
        assert.strictEqual(model.crashes(), 4)
        assert.deepStrictEqual(model.calls, ["boom", "boom", "boom", "boom"])
        yield* orchestrator.restart("alpha@one")
        // Revived with nothing queued, it waits for its next message as any idle instance does.
        assert.strictEqual((yield* info(orchestrator, "alpha@one")).status, "idle")
      }).pipe(Effect.provide(baseLayer))
  )

  scopedTest(
    "the restart race: concurrent restarts during a turn continue it once, keep the mailbox order, lose nothing",
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
        const busy = yield* Effect.fork(orchestrator.request("alpha@one", "busy"))
        yield* until(() => Effect.succeed(model.calls.length === 1))
        yield* orchestrator.send("alpha@one", "m1")
        yield* orchestrator.send("alpha@one", "m2")
        yield* until(() => Effect.map(find(orchestrator, "alpha@one"), (i) => i?.status === "processing"))
        yield* Effect.all([orchestrator.restart("alpha@one"), orchestrator.restart("alpha@one")], {
          concurrency: "unbounded"
        })
        // The old generation's turn was interrupted: releasing it now reaches nobody.
        yield* Deferred.succeed(gate, undefined)
        assert.strictEqual(text(yield* Fiber.join(busy)), "echo: busy")
        assert.strictEqual(text(yield* orchestrator.request("alpha@one", "m3")), "echo: m3")
        assert.deepStrictEqual(model.calls, ["busy", "busy", "m1", "m2", "m3"])
        const current = yield* info(orchestrator, "alpha@one")
        assert.strictEqual(current.restarts, 2)
        assert.strictEqual(current.status, "idle")
      }).pipe(Effect.provide(baseLayer))
  )

  scopedTest(
    "a crash of one instance leaves the others serving (reference architecture 3-4)",
    () =>
      Effect.gen(function*() {
        const alpha = crashing((n) => n <= 7)
        const beta = echoModel()
        const orchestrator = yield* inMemory({ alpha: alpha.service, beta: beta.service }, {
          supervision: { maxRestarts: 100 }
        })
        const crashed = yield* Effect.fork(orchestrator.request("alpha@one", "boom"))
        // alpha crashes into crashLoopBackOff (the 6th crash waits 1 s on the Clock) ...
        yield* until(() => Effect.map(find(orchestrator, "alpha@one"), (i) => i?.status === "crashLoopBackOff"))
        // ... while beta answers at once, with no restart of its own.
        assert.strictEqual(text(yield* orchestrator.request("beta@one", "hi")), "echo: hi")
        const b = yield* info(orchestrator, "beta@one")
        assert.strictEqual(b.status, "idle")
        assert.strictEqual(b.restarts, 0)
        assert.strictEqual(b.consecutiveCrashes, 0)
        // alpha comes back on the Clock and finishes its turn.
        yield* TestClock.adjust("1 second")
        yield* until(() => Effect.map(info(orchestrator, "alpha@one"), (i) => i.consecutiveCrashes === 7))
        yield* TestClock.adjust("2 seconds")
        assert.strictEqual(text(yield* Fiber.join(crashed)), "echo: boom")
        assert.strictEqual(alpha.crashes(), 7)
      }).pipe(Effect.provide(baseLayer))
  )
})
