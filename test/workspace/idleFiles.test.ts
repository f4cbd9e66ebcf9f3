/**
 * Idle instances hold no file: a writer at rest has closed its descriptor and dropped its buffer, keeps its
 * lock and state, and reopens on the next append (issue 16's memory per idle instance, issue 12's storage).
 */
import { FileSystem } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Schema, Scope, TestClock } from "effect"
import { Jsonl, MessageEvent, MessageStore, RuntimeEventLog } from "effect-swarm"
import * as nodeFs from "node:fs"
import * as path from "node:path"
import { FsLive, msg, newProbe, probedBackends, probedFs, ref, tempRoot } from "./helpers.js"

const Note = Schema.Struct({ n: Schema.Number })
const codec = Jsonl.codec(Note, { version: 1 })

/** Descriptors of this process open on `file` (or on any file under it, for a directory). */
const fdsOn = (file: string) =>
  Effect.sync(() => {
    let count = 0
    for (const fd of nodeFs.readdirSync("/proc/self/fd")) {
      try {
        const target = nodeFs.readlinkSync(`/proc/self/fd/${fd}`)
        if (target === file || target.startsWith(`${file}/`)) count++
      } catch {
        // closed between the listing and the readlink
      }
    }
    return count
  })

const allFds = Effect.sync(() => nodeFs.readdirSync("/proc/self/fd").length)

const notes = (fs: FileSystem.FileSystem, file: string) =>
  Effect.map(fs.readFileString(file), (text) => text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l).n))

describe.each(probedBackends)("Jsonl writer at rest: $name", (backend) => {
  it.scoped("rest closes the descriptor; the next append reopens it and goes on at the end", () => {
    const probe = newProbe()
    return Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const file = path.join(yield* tempRoot, "a.jsonl")
      const w = yield* Jsonl.writer(file, codec)
      yield* w.append([{ n: 1 }])
      assert.strictEqual(yield* fdsOn(file), 1)
      assert.isTrue(yield* w.rest)
      assert.strictEqual(yield* fdsOn(file), 0)
      assert.isTrue(yield* w.rest) // already at rest
      yield* w.append([{ n: 2 }, { n: 3 }])
      assert.strictEqual(yield* fdsOn(file), 1)
      assert.deepStrictEqual(yield* notes(fs, file), [1, 2, 3])
      assert.strictEqual(yield* w.size, (yield* fs.readFileString(file)).length)
      // A flush needs no descriptor.
      assert.isTrue(yield* w.rest)
      yield* w.flush
      assert.strictEqual(yield* fdsOn(file), 0)
    }).pipe(Effect.provide(backend.layer(probe)))
  })

  it.scoped("a writer with a batch in flight refuses to rest; it rests once the batch is durable", () => {
    const probe = newProbe()
    return Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const file = path.join(yield* tempRoot, "a.jsonl")
      const w = yield* Jsonl.writer(file, codec)
      yield* w.append([{ n: 1 }])
      const started = yield* Deferred.make<void>()
      const go = yield* Deferred.make<void>()
      probe.onSync = Deferred.succeed(started, undefined)
      probe.holdSync = Deferred.await(go)
      const first = yield* Effect.fork(w.append([{ n: 2 }]))
      yield* Deferred.await(started)
      // Queued behind the batch in flight.
      const second = yield* Effect.fork(w.append([{ n: 3 }]))
      yield* Effect.yieldNow()
      assert.isFalse(yield* w.rest)
      assert.strictEqual(yield* fdsOn(file), 1)
      probe.onSync = undefined
      probe.holdSync = undefined
      yield* Deferred.succeed(go, undefined)
      yield* Fiber.join(first)
      yield* Fiber.join(second)
      assert.isTrue(yield* w.rest)
      assert.strictEqual(yield* fdsOn(file), 0)
      assert.deepStrictEqual(yield* notes(fs, file), [1, 2, 3])
    }).pipe(Effect.provide(backend.layer(probe)))
  })

  it.scoped("truncate and replaceFrom work on a writer at rest; closing the scope closes a reopened file", () => {
    const probe = newProbe()
    return Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const file = path.join(yield* tempRoot, "a.jsonl")
      const scope = yield* Scope.make()
      const w = yield* Jsonl.writer(file, codec).pipe(Scope.extend(scope))
      yield* w.append([{ n: 1 }])
      const offset = yield* w.size
      yield* w.append([{ n: 2 }])
      assert.isTrue(yield* w.rest)
      yield* w.replaceFrom(offset)
      assert.deepStrictEqual(yield* notes(fs, file), [2])
      yield* w.append([{ n: 3 }])
      assert.deepStrictEqual(yield* notes(fs, file), [2, 3])
      assert.isTrue(yield* w.rest)
      yield* w.truncate
      assert.strictEqual(yield* fs.readFileString(file), "")
      yield* w.append([{ n: 4 }])
      assert.deepStrictEqual(yield* notes(fs, file), [4])
      assert.strictEqual(yield* fdsOn(file), 1)
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(yield* fdsOn(file), 0)
      assert.isFalse(yield* w.rest) // closed: nothing to do, and never reopened
      assert.strictEqual((yield* Effect.flip(w.append([{ n: 5 }]))).operation, "append")
      assert.strictEqual(yield* fdsOn(file), 0)
    }).pipe(Effect.provide(backend.layer(probe)))
  })
})

const texts = (store: MessageStore.JsonlStore) =>
  Effect.map(store.load(ref), (c) => c.messages.map((m) => m.data.content))

describe("MessageStore: idle instances keep their lock, not their file", () => {
  it.scoped("after fileIdleTimeout the events file is closed, the lock held; the next append reopens it", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const store = yield* MessageStore.make({ root, fileIdleTimeout: "1 second" })
      const other = yield* MessageStore.make({ root })
      const events = store.paths(ref).events
      yield* store.append(ref, [MessageEvent.append(msg("a", "one"))])
      assert.strictEqual(yield* fdsOn(events), 1)
      yield* TestClock.adjust("999 millis")
      assert.strictEqual(yield* store.restIdle, 0)
      assert.strictEqual(yield* fdsOn(events), 1)
      yield* TestClock.adjust("1 millis")
      yield* store.restIdle // waits for the background fiber's sweep if it is running
      assert.strictEqual(yield* fdsOn(events), 0)
      // Still this store's: the lock is kept, and so is the state (the next seq, the compaction policy's).
      assert.strictEqual(yield* store.openInstances, 1)
      assert.strictEqual((yield* Effect.flip(other.append(ref, [MessageEvent.truncate])))._tag, "InstanceLocked")
      const [e] = yield* store.append(ref, [MessageEvent.append(msg("b", "two"))])
      assert.strictEqual(e!.seq, 2)
      assert.strictEqual(yield* fdsOn(events), 1)
      assert.deepStrictEqual(yield* texts(store), ["one", "two"])
      // A compaction of an instance at rest, then an append.
      yield* TestClock.adjust("1 second")
      yield* store.restIdle
      assert.strictEqual(yield* fdsOn(events), 0)
      yield* store.compact(ref)
      yield* store.append(ref, [MessageEvent.append(msg("c", "three"))], { expectedLastSeq: 2 })
      assert.deepStrictEqual(yield* texts(store), ["one", "two", "three"])
    }).pipe(Effect.provide(FsLive)))

  // The automatic compaction runs behind the append, when the instance is no longer in use: the rest sweep
  // can meet it at any step. Held at each of its two fsyncs in turn.
  for (
    const [at, restsDuring] of [["base.jsonl.tmp", 1], ["events.jsonl.tmp", 0]] as const
  ) {
    it.scoped(`a rest during a background compaction (held at the fsync of ${at}) loses nothing`, () => {
      const probe = newProbe()
      return Effect.gen(function*() {
        const store = yield* MessageStore.make({
          root: yield* tempRoot,
          fileIdleTimeout: "1 second",
          compaction: { minBytes: 0, ratio: 0 }
        })
        const events = store.paths(ref).events
        yield* store.append(ref, [MessageEvent.append(msg("a", "one"))])
        const started = yield* Deferred.make<void>()
        const go = yield* Deferred.make<void>()
        probe.onSync = Effect.suspend(() =>
          probe.synced.at(-1)?.endsWith(`/${at}`) === true
            ? Deferred.succeed(started, undefined).pipe(Effect.zipRight(Deferred.await(go)))
            : Effect.void
        )
        // A dead event: the policy compacts behind this append.
        yield* store.append(ref, [MessageEvent.append(msg("b", "two")), MessageEvent.remove("a")])
        yield* Deferred.await(started)
        yield* TestClock.adjust("1 second")
        // Before the events file is replaced the writer is idle and rests; while it is replaced, it refuses.
        // (Whether this call or the background fiber's sweep closed it: the call waits for the sweep.)
        yield* store.restIdle
        assert.strictEqual(yield* fdsOn(events), 1 - restsDuring)
        probe.onSync = undefined
        yield* Deferred.succeed(go, undefined)
        yield* store.settled(ref)
        yield* TestClock.adjust("1 second")
        yield* store.restIdle
        assert.strictEqual(yield* fdsOn(events), 0)
        const [e] = yield* store.append(ref, [MessageEvent.append(msg("c", "three"))], { expectedLastSeq: 3 })
        assert.strictEqual(e!.seq, 4)
        assert.deepStrictEqual(yield* texts(store), ["two", "three"])
      }).pipe(Effect.provide(probedFs(probe)))
    })
  }
})

describe("1,000 idle instances", () => {
  it.scoped(
    "hold a small constant number of descriptors, and none once the stores close",
    () =>
      Effect.gen(function*() {
        const root = yield* tempRoot
        const scope = yield* Scope.make()
        const baseline = yield* allFds
        // Not durable: the descriptors are the same either way, and 2,000 fsyncs would only slow the test.
        const [store, log] = yield* Effect.all([
          MessageStore.make({ root, durable: false }),
          RuntimeEventLog.make({ root, durable: false })
        ]).pipe(Scope.extend(scope))
        const instance = (i: number) => ({ ...ref, instanceKey: `idle-${i}` })
        yield* Effect.forEach(
          Array.from({ length: 1000 }, (_, i) => i),
          (i) =>
            Effect.zipRight(
              store.append(instance(i), [MessageEvent.append(msg(`m${i}`, "hello"))]),
              log.append(instance(i), [{ type: "turn.started", turnId: `t${i}` }])
            ),
          { concurrency: 8, discard: true }
        )
        yield* TestClock.adjust("1 second")
        yield* store.restIdle
        yield* log.restIdle
        assert.isAtMost(yield* allFds, baseline + 4)
        assert.strictEqual(yield* fdsOn(path.join(root, "workspaces")), 0)
        assert.strictEqual(yield* store.openInstances, 1000)
        // Each wakes on demand.
        const [e] = yield* store.append(instance(7), [MessageEvent.append(msg("x", "again"))])
        assert.strictEqual(e!.seq, 2)
        yield* Scope.close(scope, Exit.void)
        assert.isAtMost(yield* allFds, baseline)
      }).pipe(Effect.provide(FsLive)),
    180_000
  ) // a safety net: 4,000 directories and locks on a loaded machine
})
