// Hostile review of issue 16, session 13: the stores' open instances (workspace/internal/openInstances.ts,
// shared by MessageStore and RuntimeEventLog). An instance opened (its writer lock taken) by a use that is
// interrupted before the entry is recorded must not keep its lock outside any entry: the next use would open
// it again and meet its own lock ("locked by another writer in this process") until the store closes.
import { assert, describe, it } from "@effect/vitest"
import { Clock, Deferred, Effect, Fiber } from "effect"
import * as OpenInstances from "../../src/workspace/internal/openInstances.js"

describe("open instances", () => {
  it.scoped("a use interrupted right after its open records the entry, so the lock it took is never orphaned", () =>
    Effect.gen(function*() {
      const instances = yield* OpenInstances.make<string>({ idleTimeout: undefined })
      let held = 0
      let opened = false
      // Stands for the writer lock: taken by the open, given back when the entry's scope closes.
      const open = Effect.acquireRelease(
        Effect.sync(() => {
          held++
          opened = true
          return "writer"
        }),
        () => Effect.sync(() => held--)
      )
      // The first clock read after the open (the entry's lastUsed) waits until the test lets it go: the
      // interrupt lands exactly between the open and the entry.
      const entered = yield* Deferred.make<void>()
      const gate = yield* Deferred.make<void>()
      const base = yield* Effect.clock
      const gated: Clock.Clock = {
        [Clock.ClockTypeId]: Clock.ClockTypeId,
        unsafeCurrentTimeMillis: () => base.unsafeCurrentTimeMillis(),
        unsafeCurrentTimeNanos: () => base.unsafeCurrentTimeNanos(),
        currentTimeMillis: Effect.suspend(() =>
          opened
            ? Effect.zipRight(
              Effect.zipRight(Deferred.succeed(entered, undefined), Deferred.await(gate)),
              base.currentTimeMillis
            )
            : base.currentTimeMillis
        ),
        currentTimeNanos: base.currentTimeNanos,
        sleep: (d) => base.sleep(d)
      }
      const use = instances.use("alpha@one", open, () => Effect.void, () => "closed" as const)
      const fiber = yield* Effect.fork(Effect.withClock(use, gated))
      yield* Deferred.await(entered)
      const interrupting = yield* Effect.fork(Fiber.interrupt(fiber))
      yield* Effect.yieldNow()
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(interrupting)
      // Before: the lock was held (1) by no entry (0) until the store closed.
      assert.deepStrictEqual({ held, entries: yield* instances.size }, { held: 1, entries: 1 })
      // The next use finds the entry: nothing opened twice.
      yield* instances.use("alpha@one", open, () => Effect.void, () => "closed" as const)
      assert.strictEqual(held, 1)
      yield* instances.release("alpha@one")
      assert.strictEqual(held, 0)
    }))
})
