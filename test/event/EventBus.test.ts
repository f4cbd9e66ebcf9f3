import { assert, describe, it } from "@effect/vitest"
import { Chunk, Deferred, Effect, Fiber, Option, Queue, Scope, Stream } from "effect"
import { EventBus } from "effect-swarm"
import type { RuntimeEvent } from "effect-swarm"

const event = (n: number): RuntimeEvent.RuntimeEvent => ({
  type: "turn.started",
  timestamp: new Date(n).toISOString(),
  agentName: "a",
  instanceKey: "i",
  turnId: `t${n}`,
  traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
  spanId: "00f067aa0ba902b7"
})

describe("EventBus", () => {
  it.scoped("delivers to every subscriber in publish order", () =>
    Effect.gen(function*() {
      const bus = yield* EventBus.make()
      const a = yield* bus.subscribe
      const b = yield* bus.subscribe
      for (let i = 0; i < 3; i++) yield* bus.publish(event(i))
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Queue.takeAll(a)).map((e) => e.turnId), ["t0", "t1", "t2"])
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Queue.takeAll(b)).map((e) => e.turnId), ["t0", "t1", "t2"])
    }))

  it.live("streams events published while it runs", () =>
    Effect.gen(function*() {
      const bus = yield* EventBus.make()
      const fiber = yield* Effect.fork(Stream.runCollect(Stream.take(bus.stream, 2)))
      // The stream subscribes when it starts running: publish until it has taken two.
      let i = 0
      while (Option.isNone(yield* Fiber.poll(fiber))) {
        yield* bus.publish(event(i++))
        yield* Effect.sleep("1 millis")
      }
      const got = Chunk.toReadonlyArray(yield* Fiber.join(fiber)).map((e) => Number(e.turnId.slice(1)))
      assert.strictEqual(got[1], got[0]! + 1)
    }).pipe(Effect.scoped))

  it.scoped("with a capacity, a subscriber that falls behind loses its oldest events, not the publisher's time", () =>
    Effect.gen(function*() {
      const bus = yield* EventBus.make({ capacity: 2 })
      const q = yield* bus.subscribe
      for (let i = 0; i < 5; i++) yield* bus.publish(event(i))
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Queue.takeAll(q)).map((e) => e.turnId), ["t3", "t4"])
    }))

  it.effect("an attached sink gets every event, including those queued when its scope closes", () =>
    Effect.gen(function*() {
      const got: Array<string> = []
      yield* Effect.scoped(Effect.gen(function*() {
        const bus = yield* EventBus.make()
        yield* Effect.scoped(
          Effect.gen(function*() {
            yield* EventBus.attach((events) => Effect.sync(() => got.push(...events.map((e) => e.turnId))))
            // Published without yielding: the sink fiber has not run yet when the scope closes.
            for (let i = 0; i < 4; i++) yield* bus.publish(event(i))
          }).pipe(Effect.provideService(EventBus.EventBus, bus))
        )
      }))
      assert.deepStrictEqual(got, ["t0", "t1", "t2", "t3"])
    }))

  it.effect("a batch the sink is writing when its scope closes is finished, not dropped", () =>
    Effect.gen(function*() {
      const got: Array<string> = []
      const started = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const closing = yield* Deferred.make<void>()
      const bus = yield* EventBus.make().pipe(Scope.extend(yield* Scope.make()))
      const closed = yield* Effect.scoped(
        Effect.gen(function*() {
          yield* EventBus.attach((events) =>
            Deferred.succeed(started, undefined).pipe(
              Effect.zipRight(Deferred.await(release)),
              Effect.zipRight(Effect.sync(() => got.push(...events.map((e) => e.turnId))))
            )
          )
          // Runs first when the scope closes, before the sink's fiber is interrupted.
          yield* Effect.addFinalizer(() => Deferred.succeed(closing, undefined))
          yield* bus.publish(event(1))
          yield* Deferred.await(started)
        }).pipe(Effect.provideService(EventBus.EventBus, bus))
      ).pipe(Effect.fork)
      // The scope is closing while the sink is mid-batch; only then let the sink finish.
      yield* Deferred.await(closing)
      for (let i = 0; i < 5; i++) yield* Effect.yieldNow()
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(closed)
      assert.deepStrictEqual(got, ["t1"])
    }))

  it.effect("a failing sink is logged and keeps receiving later batches", () =>
    Effect.gen(function*() {
      const batches: Array<number> = []
      yield* Effect.scoped(Effect.gen(function*() {
        const bus = yield* EventBus.make()
        yield* Effect.scoped(
          Effect.gen(function*() {
            yield* EventBus.attach(
              (events) =>
                Effect.sync(() => batches.push(events.length)).pipe(Effect.zipRight(Effect.fail("disk full" as const))),
              {
                maxBatch: 1
              }
            )
            for (let i = 0; i < 3; i++) yield* bus.publish(event(i))
            for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
          }).pipe(Effect.provideService(EventBus.EventBus, bus))
        )
      }))
      assert.deepStrictEqual(batches, [1, 1, 1])
    }))
})
