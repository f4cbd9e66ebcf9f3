import { FileSystem } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { MessageEvent, MessageStore } from "effect-swarm"
import { msg, newProbe, probedFs, ref, tempRoot } from "./helpers.js"

// An append numbers and queues its events without the append permit while no compaction holds it; while
// one does (noting its point, or publishing the snapshot and cutting events.jsonl), appends wait for it.
describe("MessageStore: appends and compaction's exclusive phases", () => {
  it.live("an append started while compaction publishes its snapshot waits for it, then lands after it", () => {
    const probe = newProbe()
    return Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const store = yield* MessageStore.make({ root: yield* tempRoot, compaction: false })
      const p = store.paths(ref)
      yield* store.append(ref, [MessageEvent.append(msg("a", "1")), MessageEvent.append(msg("b", "2"))])
      // Hold the compaction at the fsync of the messages directory after the rename of the new snapshot:
      // inside its last exclusive phase, before events.jsonl is cut.
      const reached = yield* Deferred.make<void>()
      const resume = yield* Deferred.make<void>()
      probe.onSync = Effect.suspend(() =>
        probe.synced.at(-1) === p.messagesDir && probe.synced.includes(`${p.base}.tmp`)
          ? Deferred.succeed(reached, undefined).pipe(Effect.zipRight(Deferred.await(resume)))
          : Effect.void
      )
      const compacting = yield* Effect.fork(store.compact(ref))
      yield* Deferred.await(reached)
      probe.onSync = undefined
      const writesBefore = probe.writes
      const appending = yield* Effect.fork(store.append(ref, [MessageEvent.append(msg("c", "3"))]))
      // The forked append runs up to where it waits: without the exclusion it would have numbered, queued
      // and written its line (all synchronous up to the write) by now.
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      const waiting = appending.unsafePoll() === null
      const writesMeanwhile = probe.writes - writesBefore
      // Released before asserting: a failed assertion must not leave the compaction held.
      yield* Deferred.succeed(resume, undefined)
      assert.isTrue(waiting, "the append waits for the compaction")
      assert.strictEqual(writesMeanwhile, 0, "nothing written to events.jsonl under the compaction")
      const folded = yield* Fiber.join(compacting)
      assert.strictEqual(folded.baseSeq, 2)
      const events = yield* Fiber.join(appending)
      assert.deepStrictEqual(events.map((e) => e.seq), [3])
      const loaded = yield* store.load(ref)
      assert.deepStrictEqual(loaded.messages.map((m) => m.id), ["a", "b", "c"])
      assert.strictEqual(loaded.baseSeq, 2)
      assert.deepStrictEqual(loaded.events.map((e) => e.seq), [3])
      assert.deepStrictEqual(loaded.seqProblems, [])
      const lines = (yield* fs.readFileString(p.events)).trim().split("\n")
      assert.strictEqual(lines.length, 1, "events.jsonl holds only the event after the snapshot")
    }).pipe(Effect.provide(probedFs(probe)), Effect.scoped)
  })

  it.live("appends racing a compaction keep gap-free seqs and lose nothing", () =>
    Effect.gen(function*() {
      const store = yield* MessageStore.make({ root: yield* tempRoot, durable: false, compaction: false })
      const appends = Effect.forEach(
        Array.from({ length: 40 }, (_, i) => i),
        (i) => store.append(ref, [MessageEvent.append(msg(`m${i}`, "x")), MessageEvent.remove(`m${i - 1}`)]),
        { concurrency: 8 }
      )
      const compactions = Effect.repeatN(store.compact(ref), 9)
      const [results] = yield* Effect.all([appends, compactions], { concurrency: "unbounded" })
      const seqs = results.flat().map((e) => e.seq).sort((a, b) => a - b)
      assert.deepStrictEqual(seqs, Array.from({ length: 80 }, (_, i) => i + 1))
      const loaded = yield* store.load(ref)
      assert.strictEqual(loaded.lastSeq, 80)
      assert.deepStrictEqual(loaded.seqProblems, [])
      const folded = yield* store.compact(ref)
      assert.strictEqual(folded.baseSeq, 80)
    }).pipe(Effect.provide(probedFs(newProbe())), Effect.scoped))
})
