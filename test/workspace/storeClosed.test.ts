import { FileSystem } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Either, Exit, Scope, Stream } from "effect"
import { MessageEvent, MessageStore, RuntimeEventLog } from "effect-swarm"
import { FsLive, msg, ref, tempRoot } from "./helpers.js"

// A store (or log) kept by a caller after its layer's scope closed used to reopen the instance on the next
// call, take the lock into a scope that was already closed (released at once) and write without holding it.
describe("a store used after its scope closed", () => {
  it.scoped("MessageStore: every operation fails with StoreClosed naming the instance; nothing is written", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      const storeScope = yield* Scope.make()
      const store = yield* MessageStore.make({ root }).pipe(Scope.extend(storeScope))
      yield* store.append(ref, [MessageEvent.append(msg("a", "1"))])
      yield* Scope.close(storeScope, Exit.void)
      const eventsFile = store.paths(ref).events
      const before = yield* fs.readFileString(eventsFile)

      const append = yield* Effect.either(store.append(ref, [MessageEvent.append(msg("b", "2"))]))
      assert.isTrue(Either.isLeft(append))
      if (Either.isLeft(append)) {
        assert.strictEqual(append.left._tag, "StoreClosed")
        assert.include(append.left.message, "coder@thread:42")
        assert.include(append.left.message, "scope")
      }
      const others: ReadonlyArray<Effect.Effect<unknown, MessageStore.MessageStoreError>> = [
        store.load(ref),
        store.compact(ref),
        store.repair(ref),
        Stream.runCollect(store.events(ref))
      ]
      for (const op of others) {
        const result = yield* Effect.either(op)
        assert.isTrue(Either.isLeft(result) && result.left._tag === "StoreClosed")
      }
      // Nothing was written, no lock left behind, the instance is not open again.
      assert.strictEqual(yield* fs.readFileString(eventsFile), before)
      assert.isFalse(yield* fs.exists(store.paths(ref).lock))
      assert.strictEqual(yield* store.openInstances, 0)
      yield* store.release(ref) // a no-op, never a failure
      // The data is intact for a live store.
      const live = yield* MessageStore.make({ root })
      assert.strictEqual((yield* live.load(ref)).messages.length, 1)
    }).pipe(Effect.provide(FsLive)))

  it.scoped("RuntimeEventLog: append, read and repair fail with StoreClosed; nothing is written", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const logScope = yield* Scope.make()
      const log = yield* RuntimeEventLog.make({ root }).pipe(Scope.extend(logScope))
      yield* log.append(ref, [{ type: "turn.started" }])
      yield* Scope.close(logScope, Exit.void)
      const append = yield* Effect.either(log.append(ref, [{ type: "turn.completed" }]))
      assert.isTrue(Either.isLeft(append) && append.left._tag === "StoreClosed")
      if (Either.isLeft(append)) assert.include(append.left.message, "coder@thread:42")
      const read = yield* Effect.either(Stream.runCollect(log.read(ref)))
      assert.isTrue(Either.isLeft(read) && read.left._tag === "StoreClosed")
      const repair = yield* Effect.either(log.repair(ref))
      assert.isTrue(Either.isLeft(repair) && repair.left._tag === "StoreClosed")
      const live = yield* RuntimeEventLog.make({ root })
      assert.deepStrictEqual(
        Chunk.toReadonlyArray(yield* Stream.runCollect(live.read(ref))).map((e) => e.type),
        ["turn.started"]
      )
    }).pipe(Effect.provide(FsLive)))
})
