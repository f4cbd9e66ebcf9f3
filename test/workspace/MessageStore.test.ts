import { FileSystem } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import {
  Arbitrary,
  Chunk,
  Deferred,
  Duration,
  Effect,
  Either,
  Exit,
  FastCheck,
  Fiber,
  Logger,
  Option,
  Schema,
  Scope,
  Stream,
  TestClock
} from "effect"
import { Conversation, MessageEvent, MessageStore, WorkspacePaths } from "effect-swarm"
import * as MessageIds from "../../src/workspace/internal/messageIds.js"
import { FsLive, msg, newProbe, probedFs, ref, tempRoot } from "./helpers.js"
import type { FileProbe } from "./helpers.js"

const ids = ["a", "b", "c", "d"]
const draftArb: FastCheck.Arbitrary<MessageEvent.Draft> = FastCheck.oneof(
  {
    weight: 5,
    arbitrary: FastCheck.tuple(FastCheck.constantFrom(...ids), FastCheck.string()).map(([id, c]) =>
      MessageEvent.append(msg(id, c))
    )
  },
  {
    weight: 2,
    arbitrary: FastCheck.tuple(FastCheck.constantFrom(...ids, "zz"), FastCheck.constantFrom(...ids)).map(([t, id]) =>
      MessageEvent.replace(t, msg(id, "r"))
    )
  },
  { weight: 2, arbitrary: FastCheck.constantFrom(...ids, "zz").map((t) => MessageEvent.remove(t)) },
  { weight: 1, arbitrary: FastCheck.constant(MessageEvent.truncate) }
)

// One step of a scenario: append a batch of drafts, or compact.
const stepArb = FastCheck.oneof(
  { weight: 4, arbitrary: FastCheck.array(draftArb, { minLength: 1, maxLength: 6 }).map((b) => ({ batch: b })) },
  { weight: 1, arbitrary: FastCheck.constant({ compact: true as const }) },
  { weight: 1, arbitrary: FastCheck.constant({ reopen: true as const }) }
)

describe("MessageStore", () => {
  it.scoped("append is durable and load folds base + events; files are readable JSONL", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      const store = yield* MessageStore.make({ root })
      const events = yield* store.append(ref, [
        MessageEvent.append(msg("m1", "hi")),
        MessageEvent.append(msg("m2", "yo"))
      ])
      assert.deepStrictEqual(events.map((e) => e.seq), [1, 2])
      const more = yield* store.append(ref, [MessageEvent.replace("m1", msg("m1-v2", "Updated"))])
      assert.deepStrictEqual(more.map((e) => e.seq), [3])
      const c = yield* store.load(ref)
      assert.deepStrictEqual(c.messages.map((m) => m.id), ["m1-v2", "m2"])
      assert.strictEqual(c.lastSeq, 3)

      const p = store.paths(ref)
      assert.strictEqual(p.dir, `${root}/workspaces/default/instances/coder@${WorkspacePaths.component("thread:42")}`)
      const lines = (yield* fs.readFileString(p.events)).trimEnd().split("\n")
      assert.strictEqual(lines.length, 3)
      assert.strictEqual(
        lines[0],
        `{"v":1,"seq":1,"type":"append","message":{"id":"m1","data":{"role":"user","content":"hi"},"metadata":{},"createdAt":"2023-11-14T22:13:20.000Z","source":{"type":"user"}}}`
      )

      const folded = yield* store.compact(ref)
      assert.strictEqual(folded.baseSeq, 3)
      assert.strictEqual(yield* fs.readFileString(p.events), "")
      const base = (yield* fs.readFileString(p.base)).trimEnd().split("\n")
      assert.strictEqual(base[0], `{"v":1,"type":"snapshot","seq":3,"messages":2}`)
      assert.include(base[1]!, `"id":"m1-v2"`)
      const after = yield* store.append(ref, [MessageEvent.remove("m2")])
      assert.deepStrictEqual(after.map((e) => e.seq), [4])
      const reloaded = yield* store.load(ref)
      assert.deepStrictEqual(reloaded.messages.map((m) => m.id), ["m1-v2"])
      assert.deepStrictEqual(reloaded.base.map((m) => m.id), ["m1-v2", "m2"])
      const streamed = yield* Stream.runCollect(store.events(ref))
      assert.deepStrictEqual(Chunk.toReadonlyArray(streamed).map((e) => e.seq), [4])
    }).pipe(Effect.provide(FsLive)))

  it.scoped("message ids and createdAt are stable across reloads and new stores", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const first = yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* MessageStore.make({ root })
        yield* store.append(ref, [MessageEvent.append(msg("keep-me", "x"))])
        yield* store.compact(ref)
        yield* store.append(ref, [MessageEvent.append(msg("and-me", "y"))])
        return yield* store.load(ref)
      }))
      const store = yield* MessageStore.make({ root })
      const second = yield* store.load(ref)
      assert.deepStrictEqual(second.messages, first.messages)
      const next = yield* store.append(ref, [MessageEvent.remove("keep-me")])
      assert.strictEqual(next[0]!.seq, 3, "seq continues after reopening")
    }).pipe(Effect.provide(FsLive)))

  it.scoped("missing files load as an empty conversation; unknown targets are warnings", () =>
    Effect.gen(function*() {
      const store = yield* MessageStore.make({ root: yield* tempRoot })
      const empty = yield* store.load(ref)
      assert.deepStrictEqual(empty.messages, [])
      assert.strictEqual(empty.lastSeq, 0)
      yield* store.append(ref, [MessageEvent.remove("ghost")])
      const c = yield* store.load(ref)
      assert.deepStrictEqual(c.warnings.map((w) => w.targetId), ["ghost"])
    }).pipe(Effect.provide(FsLive)))

  it.scoped("a crash between the snapshot rename and the events truncation applies nothing twice", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      const p = WorkspacePaths.instance(root, ref)
      const before = yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* MessageStore.make({ root })
        yield* store.append(ref, [MessageEvent.append(msg("a", "1")), MessageEvent.append(msg("b", "2"))])
        return yield* store.load(ref)
      }))
      const events = yield* fs.readFileString(p.events)
      // simulate: compaction renamed the new snapshot but died before truncating events.jsonl
      yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* MessageStore.make({ root })
        yield* store.compact(ref)
      }))
      yield* fs.writeFileString(p.events, events)
      // and a temp snapshot left over by a compaction that died before its rename
      yield* fs.writeFileString(`${p.base}.tmp`, "{\"v\":1,\"type\":\"snap")
      const store = yield* MessageStore.make({ root })
      const after = yield* store.load(ref)
      assert.deepStrictEqual(after.messages, before.messages)
      const next = yield* store.append(ref, [MessageEvent.append(msg("c", "3"))])
      assert.strictEqual(next[0]!.seq, 3)
      assert.isFalse(yield* fs.exists(`${p.base}.tmp`))
      assert.deepStrictEqual((yield* store.load(ref)).messages.map((m) => m.id), ["a", "b", "c"])
    }).pipe(Effect.provide(FsLive)))

  it.scoped("a corrupt middle line or an unknown version fails load and append with file:line; nothing is modified", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      const p = WorkspacePaths.instance(root, ref)
      yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* MessageStore.make({ root })
        yield* store.append(ref, [MessageEvent.append(msg("a", "1")), MessageEvent.append(msg("b", "2"))])
      }))
      const lines = (yield* fs.readFileString(p.events)).split("\n")
      const damaged = [lines[0], "{\"v\":1,\"seq\":2,\"type\":\"app", lines[1], ""].join("\n")
      yield* fs.writeFileString(p.events, damaged)
      const store = yield* MessageStore.make({ root })
      const loadError = yield* Effect.flip(store.load(ref))
      assert.strictEqual(loadError._tag, "StorageCorrupt")
      assert.include(loadError.message, `${p.events}:2`)
      assert.include(loadError.message, "MessageStore.repair")
      if (loadError._tag === "StorageCorrupt") assert.strictEqual(loadError.line, 2)
      const appendError = yield* Effect.flip(store.append(ref, [MessageEvent.truncate]))
      assert.strictEqual(appendError._tag, "StorageCorrupt")
      assert.strictEqual(yield* fs.readFileString(p.events), damaged)

      const future = [lines[0], lines[1]!.replace("{\"v\":1,", "{\"v\":9,"), ""].join("\n")
      yield* fs.writeFileString(p.events, future)
      const versionError = yield* Effect.flip(store.load(ref))
      assert.strictEqual(versionError._tag, "StorageCorrupt")
      assert.include(versionError.message, `${p.events}:2`)
      assert.include(versionError.message, "record version 9 is not supported")
      assert.strictEqual(yield* fs.readFileString(p.events), future)
    }).pipe(Effect.provide(FsLive)))

  it.scoped("a torn last event (killed mid-write) is dropped and repaired on the next append", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      const p = WorkspacePaths.instance(root, ref)
      yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* MessageStore.make({ root })
        yield* store.append(ref, [MessageEvent.append(msg("a", "1"))])
      }))
      const intact = yield* fs.readFileString(p.events)
      yield* fs.writeFileString(p.events, intact + `{"v":1,"seq":2,"type":"append","message":{"id":"b"`)
      const store = yield* MessageStore.make({ root })
      assert.deepStrictEqual((yield* store.load(ref)).messages.map((m) => m.id), ["a"])
      const [next] = yield* store.append(ref, [MessageEvent.append(msg("c", "3"))])
      assert.strictEqual(next!.seq, 2)
      assert.isTrue(
        (yield* fs.readFileString(p.events)).startsWith(intact + `{"v":1,"seq":2,"type":"append","message":{"id":"c"`)
      )
      assert.deepStrictEqual((yield* store.load(ref)).messages.map((m) => m.id), ["a", "c"])
    }).pipe(Effect.provide(FsLive)))

  it.scoped("a hand-damaged snapshot is a typed error", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      const p = WorkspacePaths.instance(root, ref)
      yield* fs.makeDirectory(p.messagesDir, { recursive: true })
      yield* fs.writeFileString(p.base, `{"v":1,"type":"snapshot","seq":3,"messages":2}\n`)
      const store = yield* MessageStore.make({ root })
      const error = yield* Effect.flip(store.load(ref))
      assert.strictEqual(error._tag, "StorageCorrupt")
      assert.include(error.message, "the header announces 2 messages, the file has 0")
    }).pipe(Effect.provide(FsLive)))

  it.scoped("a second writer of the same instance in this process is refused; release lets it in", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const one = yield* MessageStore.make({ root })
      const two = yield* MessageStore.make({ root })
      yield* one.append(ref, [MessageEvent.truncate])
      const error = yield* Effect.flip(two.append(ref, [MessageEvent.truncate]))
      assert.strictEqual(error._tag, "InstanceLocked")
      // readers never need the lock
      assert.strictEqual((yield* two.load(ref)).lastSeq, 1)
      yield* one.release(ref)
      const events = yield* two.append(ref, [MessageEvent.truncate])
      assert.strictEqual(events[0]!.seq, 2)
    }).pipe(Effect.provide(FsLive)))

  it.scoped("concurrent appends get distinct, gap-free seqs in file order", () =>
    Effect.gen(function*() {
      const store = yield* MessageStore.make({ root: yield* tempRoot })
      const results = yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) => i),
        (i) => store.append(ref, [MessageEvent.append(msg(`m${i}`, "x")), MessageEvent.append(msg(`n${i}`, "y"))]),
        { concurrency: "unbounded" }
      )
      const seqs = results.flat().map((e) => e.seq).sort((a, b) => a - b)
      assert.deepStrictEqual(seqs, Array.from({ length: 100 }, (_, i) => i + 1))
      const c = yield* store.load(ref)
      assert.deepStrictEqual(c.events.map((e) => e.seq), seqs)
      for (const batch of results) assert.strictEqual(batch[1]!.seq, batch[0]!.seq + 1)
    }).pipe(Effect.provide(FsLive)))

  it.effect.prop(
    "any events, in any batching, compacted (by hand or automatically) and reopened at any points, load back as the in-memory fold",
    [FastCheck.array(stepArb, { maxLength: 12 }), FastCheck.boolean()],
    ([steps, auto]) =>
      Effect.gen(function*() {
        // fsync is irrelevant to the fold/compaction logic checked here (the crash tests cover durability)
        const root = yield* tempRoot
        // A tiny threshold makes automatic compaction happen between many of the appends.
        const options = { root, durable: false, compaction: auto ? { minBytes: 300, ratio: 0.5 } : false } as const
        let model = Conversation.empty
        let scope = yield* Scope.make()
        let store = yield* MessageStore.make(options).pipe(Effect.provideService(Scope.Scope, scope))
        for (const step of steps) {
          if ("batch" in step) {
            // Message ids are unique: a batch that would bring one twice is refused whole, and nothing changes.
            if (bringsIdTwice(model, step.batch)) {
              const error = yield* Effect.flip(store.append(ref, step.batch))
              assert.strictEqual(error._tag, "InvalidMessage")
              continue
            }
            const events = yield* store.append(ref, step.batch)
            model = Conversation.applyAll(model, events)
          } else if ("compact" in step) {
            yield* store.compact(ref)
          } else {
            yield* effectClose(scope)
            scope = yield* Scope.make()
            store = yield* MessageStore.make(options).pipe(Effect.provideService(Scope.Scope, scope))
          }
        }
        const loaded = yield* store.load(ref)
        assert.deepStrictEqual(loaded.messages, model.messages)
        assert.strictEqual(loaded.lastSeq, model.lastSeq)
        yield* effectClose(scope)
      }).pipe(Effect.scoped, Effect.provide(FsLive)),
    // 25 runs of real files: ~2 s on an idle machine, 8 s at load 20 (vitest's default timeout is 30 s).
    { fastCheck: { numRuns: 25 }, timeout: 120_000 }
  )
})

const effectClose = (scope: Scope.CloseableScope) => Scope.close(scope, Exit.void)

const bringsIdTwice = (model: Conversation.Conversation, batch: ReadonlyArray<MessageEvent.Draft>) => {
  const ids = new Set(model.messages.map((m) => m.id))
  return batch.some((d, i) =>
    !MessageIds.step(ids, MessageEvent.withSeq(d, i + 1), "message" in d ? d.message.id : undefined)
  )
}

/**
 * Starts a compaction and holds it at its third fsync (the directory's, after the snapshot rename), until
 * `resume` is completed.
 */
const compactionHeldAtDirSync = (probe: FileProbe, store: MessageStore.Service) =>
  Effect.gen(function*() {
    let n = 0
    const atDirSync = yield* Deferred.make<void>()
    const resume = yield* Deferred.make<void>()
    probe.onSync = Effect.suspend(() =>
      ++n === 3 ? Deferred.succeed(atDirSync, undefined).pipe(Effect.zipRight(Deferred.await(resume))) : Effect.void
    )
    const compacting = yield* Effect.fork(store.compact(ref))
    yield* Deferred.await(atDirSync)
    probe.onSync = undefined
    return { compacting, resume }
  })

describe("MessageStore: automatic compaction and idle instances", () => {
  const snapshotSeq = (fs: FileSystem.FileSystem, file: string) =>
    fs.readFileString(file).pipe(
      Effect.map((text) => JSON.parse(text.slice(0, text.indexOf("\n"))).seq as number),
      Effect.orElseSucceed(() => 0)
    )

  it.scoped("the append that grows events past minBytes and the snapshot folds them; the cost stays amortised", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      const store = yield* MessageStore.make({ root, compaction: { minBytes: 2000, ratio: 1 } })
      const p = store.paths(ref)
      const compactedAt: Array<number> = []
      let model = Conversation.empty
      for (let i = 0; i < 200; i++) {
        // Each batch leaves dead data behind: the previous message is replaced by a shorter one.
        const batch = [MessageEvent.append(msg(`m${i}`, `message number ${i}`))]
        if (i > 0) batch.push(MessageEvent.replace(`m${i - 1}`, msg(`m${i - 1}`, "edited")))
        const events = yield* store.append(ref, batch)
        // Compaction runs behind the append: wait for it before looking at the files.
        yield* store.settled(ref)
        model = Conversation.applyAll(model, events)
        const seq = yield* snapshotSeq(fs, p.base)
        if (seq !== (compactedAt.at(-1) ?? 0)) {
          // This append started it, after its events were durable: the snapshot holds everything so far.
          assert.strictEqual(seq, events.at(-1)!.seq)
          assert.strictEqual(yield* fs.readFileString(p.events), "")
          compactedAt.push(seq)
        }
        const eventsSize = Number((yield* fs.stat(p.events)).size)
        const baseSize = Number(yield* fs.stat(p.base).pipe(Effect.map((s) => s.size), Effect.orElseSucceed(() => 0)))
        // Never left above the policy after an append.
        assert.isTrue(eventsSize < Math.max(2000, baseSize), `events ${eventsSize} vs base ${baseSize}`)
      }
      // The threshold grows with the snapshot: a handful of compactions, not one per 2000 bytes.
      assert.isAtLeast(compactedAt.length, 3)
      assert.isAtMost(compactedAt.length, 12)
      const loaded = yield* store.load(ref)
      assert.deepStrictEqual(loaded.messages, model.messages)
      assert.strictEqual(loaded.lastSeq, model.lastSeq)
    }).pipe(Effect.provide(FsLive)))

  it.scoped("a log of appends only is never compacted automatically (it holds no dead data)", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      const policy = { minBytes: 500 }
      yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* MessageStore.make({ root, compaction: policy })
        for (let i = 0; i < 30; i++) yield* store.append(ref, [MessageEvent.append(msg(`m${i}`, "x".repeat(80)))])
        assert.isFalse(yield* fs.exists(store.paths(ref).base))
      }))
      // Dead data written by another store (no policy) is seen when the instance opens: the next append
      // past the threshold compacts.
      yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* MessageStore.make({ root, compaction: false })
        yield* store.append(ref, [MessageEvent.remove("m0")])
      }))
      const store = yield* MessageStore.make({ root, compaction: policy })
      yield* store.append(ref, [MessageEvent.append(msg("last", "y"))])
      yield* store.settled(ref)
      assert.isTrue(yield* fs.exists(store.paths(ref).base))
      assert.strictEqual(yield* fs.readFileString(store.paths(ref).events), "")
      assert.strictEqual((yield* store.load(ref)).messages.length, 30)
    }).pipe(Effect.provide(FsLive)))

  it.scoped("a compaction setting that is not a non-negative number falls back to the default, with a warning", () =>
    Effect.gen(function*() {
      const logs: Array<string> = []
      const logger = Logger.make(({ message }) => logs.push(String(message)))
      yield* MessageStore.make({ root: yield* tempRoot, compaction: { minBytes: Number.NaN, ratio: -1 } }).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, logger))
      )
      assert.deepStrictEqual(logs, [
        "MessageStore: compaction.minBytes must be a non-negative number, got NaN; using 4194304",
        "MessageStore: compaction.ratio must be a non-negative number, got -1; using 1"
      ])
    }).pipe(Effect.provide(FsLive)))

  it.scoped("compaction: false never compacts", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const store = yield* MessageStore.make({ root: yield* tempRoot, compaction: false })
      for (let i = 0; i < 50; i++) yield* store.append(ref, [MessageEvent.append(msg(`m${i}`, "x".repeat(100)))])
      assert.isFalse(yield* fs.exists(store.paths(ref).base))
      assert.strictEqual((yield* store.load(ref)).events.length, 50)
    }).pipe(Effect.provide(FsLive)))

  it.scoped("a failing automatic compaction is logged, never fails the append, loses nothing, and is not retried", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const store = yield* MessageStore.make({ root: yield* tempRoot, compaction: { minBytes: 500 } })
      const p = store.paths(ref)
      yield* store.append(ref, [MessageEvent.append(msg("m0", "first"))])
      // The snapshot's temp path is taken by a directory: writing the snapshot fails.
      yield* fs.makeDirectory(`${p.base}.tmp`)
      const logs: Array<string> = []
      const logger = Logger.make(({ message }) => logs.push(String(message)))
      for (let i = 1; i < 20; i++) {
        const edit = MessageEvent.replace(`m${i - 1}`, msg(`m${i - 1}`, "edited"))
        yield* store.append(ref, [MessageEvent.append(msg(`m${i}`, "y".repeat(60))), edit]).pipe(
          Effect.provide(Logger.replace(Logger.defaultLogger, logger))
        )
        yield* store.settled(ref)
      }
      assert.strictEqual(logs.filter((l) => l.includes("automatic compaction")).length, 1)
      assert.include(logs.find((l) => l.includes("automatic compaction")) ?? "", p.dir)
      assert.isFalse(yield* fs.exists(p.base))
      assert.strictEqual((yield* store.load(ref)).messages.length, 20)
    }).pipe(Effect.provide(FsLive)))

  it.scoped("an instance idle for idleTimeout gives back its lock and file; the next append reopens it", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      const one = yield* MessageStore.make({ root, idleTimeout: "1 minute" })
      const two = yield* MessageStore.make({ root, idleTimeout: Duration.infinity })
      const lock = one.paths(ref).lock
      yield* one.append(ref, [MessageEvent.truncate])
      assert.strictEqual(yield* one.openInstances, 1)
      assert.isTrue(yield* fs.exists(lock))
      assert.strictEqual((yield* Effect.flip(two.append(ref, [MessageEvent.truncate])))._tag, "InstanceLocked")

      yield* TestClock.adjust("59 seconds")
      assert.strictEqual(yield* one.releaseIdle, 0)
      assert.strictEqual(yield* one.openInstances, 1)
      yield* TestClock.adjust("2 seconds")
      yield* one.releaseIdle // waits for the background sweep if it is running
      assert.strictEqual(yield* one.openInstances, 0)
      assert.isFalse(yield* fs.exists(lock))

      // Another writer may take it now; the first store reopens on demand (and is refused while two holds it).
      assert.strictEqual((yield* two.append(ref, [MessageEvent.truncate]))[0]!.seq, 2)
      assert.strictEqual((yield* Effect.flip(one.append(ref, [MessageEvent.truncate])))._tag, "InstanceLocked")
      yield* TestClock.adjust("1 hour")
      assert.strictEqual(yield* two.releaseIdle, 0) // infinite timeout: kept until released
      yield* two.release(ref)
      assert.strictEqual((yield* one.append(ref, [MessageEvent.truncate]))[0]!.seq, 3)
    }).pipe(Effect.provide(FsLive)))

  it.scoped("idleness counts from the last use", () =>
    Effect.gen(function*() {
      const store = yield* MessageStore.make({ root: yield* tempRoot, idleTimeout: "1 minute" })
      yield* store.append(ref, [MessageEvent.truncate])
      yield* TestClock.adjust("30 seconds")
      yield* store.append(ref, [MessageEvent.truncate])
      yield* TestClock.adjust("45 seconds")
      // 75 s since the first append, 45 s since the last one.
      assert.strictEqual(yield* store.releaseIdle, 0)
      assert.strictEqual(yield* store.openInstances, 1)
    }).pipe(Effect.provide(FsLive)))

  it.scoped("an instance with an append in flight is never closed, however long the fsync takes", () => {
    const probe = newProbe()
    return Effect.gen(function*() {
      const store = yield* MessageStore.make({ root: yield* tempRoot, idleTimeout: "1 minute" })
      yield* store.append(ref, [MessageEvent.truncate])
      const started = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      probe.onSync = Deferred.succeed(started, undefined)
      probe.holdSync = Deferred.await(release)
      const slow = yield* Effect.fork(store.append(ref, [MessageEvent.truncate]))
      yield* Deferred.await(started)
      yield* TestClock.adjust("10 minutes")
      assert.strictEqual(yield* store.releaseIdle, 0)
      probe.holdSync = undefined
      yield* Deferred.succeed(release, undefined)
      assert.strictEqual((yield* Fiber.join(slow))[0]!.seq, 2)
      yield* TestClock.adjust("2 minutes")
      yield* store.releaseIdle
      assert.strictEqual(yield* store.openInstances, 0)
    }).pipe(Effect.provide(probedFs(probe)))
  })

  it.live("release during a compaction waits for it; an append that reopens the instance meanwhile is kept", () => {
    const probe = newProbe()
    return Effect.gen(function*() {
      const store = yield* MessageStore.make({ root: yield* tempRoot, compaction: false, idleTimeout: Infinity })
      yield* store.append(ref, [MessageEvent.append(msg("a", "1")), MessageEvent.append(msg("b", "2"))])
      const { compacting, resume } = yield* compactionHeldAtDirSync(probe, store)
      // Released in the middle of the compaction, then appended to (which reopens the instance).
      const releasing = yield* Effect.fork(store.release(ref))
      // The release has taken the instance out (and now waits for the compaction) once none is open.
      yield* Effect.repeat(Effect.zipRight(Effect.yieldNow(), store.openInstances), { until: (n) => n === 0 })
      const appending = yield* Effect.fork(store.append(ref, [MessageEvent.append(msg("c", "3"))]))
      yield* Effect.yieldNow()
      assert.isTrue(Option.isNone(yield* Fiber.poll(releasing)))
      yield* Deferred.succeed(resume, undefined)
      assert.isTrue(Exit.isSuccess(yield* Fiber.await(compacting)))
      yield* Fiber.join(releasing)
      assert.deepStrictEqual((yield* Fiber.join(appending)).map((e) => e.seq), [3])
      const conversation = yield* store.load(ref)
      assert.deepStrictEqual(conversation.messages.map((m) => m.id), ["a", "b", "c"])
    }).pipe(Effect.provide(probedFs(probe)), Effect.scoped)
  })
  it.live("closing the store waits for a compaction in flight before giving back the lock", () => {
    const probe = newProbe()
    return Effect.gen(function*() {
      const root = yield* tempRoot
      const storeScope = yield* Scope.make()
      const store = yield* MessageStore.make({ root, compaction: false }).pipe(Scope.extend(storeScope))
      yield* store.append(ref, [MessageEvent.append(msg("a", "1")), MessageEvent.remove("a")])
      const { compacting, resume } = yield* compactionHeldAtDirSync(probe, store)
      const closing = yield* Effect.fork(Scope.close(storeScope, Exit.void))
      yield* Effect.yieldNow()
      // Still holding the instance (and its lock) for the compaction.
      assert.isTrue(Option.isNone(yield* Fiber.poll(closing)))
      assert.isTrue(yield* (yield* FileSystem.FileSystem).exists(store.paths(ref).lock))
      yield* Deferred.succeed(resume, undefined)
      assert.isTrue(Exit.isSuccess(yield* Fiber.await(compacting)))
      yield* Fiber.join(closing)
      assert.isFalse(yield* (yield* FileSystem.FileSystem).exists(store.paths(ref).lock))
      const reopened = yield* MessageStore.make({ root })
      assert.strictEqual((yield* reopened.load(ref)).lastSeq, 2)
      assert.strictEqual((yield* reopened.append(ref, [MessageEvent.truncate]))[0]!.seq, 3)
    }).pipe(Effect.provide(probedFs(probe)), Effect.scoped)
  })
})

describe("MessageStore codecs: the fast paths agree with Schema", () => {
  const eventArb = Arbitrary.make(MessageEvent.MessageEvent)
  const decodeEither = Schema.decodeUnknownEither(MessageEvent.MessageEvent)
  // Schema's error formatter throws on values like {"toString": false}; that is a rejection too.
  const schemaDecode = (json: unknown) => {
    try {
      return decodeEither(json)
    } catch (cause) {
      return Either.left(cause)
    }
  }
  const schemaEncode = Schema.encodeSync(MessageEvent.MessageEvent)

  it.prop("encode: same JSON as Schema.encode; decode: same value as Schema.decode", [eventArb], ([event]) => {
    if ("message" in event && Number.isNaN(event.message.createdAt.getTime())) return
    const line = MessageStore.eventCodec.encode(event)
    const viaSchema = `{"v":1,${JSON.stringify(schemaEncode(event)).slice(1)}`
    assert.deepStrictEqual(JSON.parse(line), JSON.parse(viaSchema))
    const json = JSON.parse(line)
    const fast = MessageStore.decodeEventFast(json)
    const slow = schemaDecode(json)
    assert.isTrue(Either.isRight(slow))
    if (fast !== undefined) assert.deepStrictEqual(fast, Either.getOrThrow(slow))
  }, { fastCheck: { numRuns: 150 } })

  // Arbitrary JSON, plus what once slipped through the fast path: an own "__proto__" key (as JSON.parse makes
  // it; Schema's rebuilt record loses it) and nesting past Message.isJson's 256 levels.
  const junkArb = FastCheck.oneof(
    { weight: 6, arbitrary: FastCheck.jsonValue() },
    {
      weight: 1,
      arbitrary: FastCheck.jsonValue().map((v) => JSON.parse(`{"__proto__":${JSON.stringify(v)},"k":1}`) as unknown)
    },
    {
      weight: 1,
      arbitrary: FastCheck.integer({ min: 250, max: 262 }).map((n) =>
        JSON.parse("[".repeat(n) + "]".repeat(n)) as unknown
      )
    }
  )
  it.prop("on damaged records the fast path never accepts what Schema rejects", [
    eventArb,
    junkArb,
    FastCheck.array(
      FastCheck.constantFrom(
        "seq",
        "type",
        "message",
        "id",
        "data",
        "role",
        "content",
        "source",
        "createdAt",
        "metadata",
        "targetId"
      ),
      { maxLength: 3 }
    )
  ], ([event, junk, keys]) => {
    if ("message" in event && Number.isNaN(event.message.createdAt.getTime())) return
    const json = JSON.parse(MessageStore.eventCodec.encode(event))
    // overwrite some known key, at the top or inside the message, with arbitrary JSON
    for (const key of keys) {
      const obj = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)
      const message = obj(json.message) ? json.message : undefined
      const target = key in json ? json : message && key in message ? message : obj(message?.data) ? message.data : json
      ;(target as Record<string, unknown>)[key] = junk
    }
    const fast = MessageStore.decodeEventFast(json)
    const slow = schemaDecode(json)
    if (fast !== undefined) {
      assert.isTrue(Either.isRight(slow), JSON.stringify(json))
      assert.deepStrictEqual(fast, Either.getOrThrow(slow))
    }
  }, { fastCheck: { numRuns: 300 } })
})
