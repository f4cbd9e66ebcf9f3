// Hostile review of issue 12 (session 12): defects found through the public API. Each test states what is
// promised and FAILS on main as of db97bf3 (kept on branch s12-review, not merged; see the review report).
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Exit, Stream } from "effect"
import { type Message, MessageEvent, MessageStore, RuntimeEventLog } from "effect-swarm"
import * as nodeFs from "node:fs"
import { FsLive, msg, ref, tempRoot } from "../workspace/helpers.js"

const failureTag = (exit: Exit.Exit<unknown, { readonly _tag: string }>) =>
  Exit.isFailure(exit)
    ? (exit.cause._tag === "Fail" ? exit.cause.error._tag : `defect (${exit.cause._tag})`)
    : "success"

describe("review s12: hostile drafts are refused typed, never a defect", () => {
  it.scoped("a draft whose data has a getter that throws: InvalidMessage, nothing written, the store goes on", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const store = yield* MessageStore.make({ root })
      const data = { role: "user", content: "x" }
      Object.defineProperty(data, "extra", {
        enumerable: true,
        get() {
          throw new Error("boom")
        }
      })
      const hostile = { ...msg("h", "x"), data } as Message.Message
      const exit = yield* Effect.exit(
        store.append(ref, [MessageEvent.append(msg("a", "a")), MessageEvent.append(hostile)])
      )
      // Today: the exception escapes the synchronous encoder and the append dies (Cause Die).
      assert.strictEqual(failureTag(exit), "InvalidMessage")
      assert.deepStrictEqual((yield* store.load(ref)).messages, [])
      assert.strictEqual((yield* store.append(ref, [MessageEvent.append(msg("b", "b"))]))[0]!.seq, 1)
    }).pipe(Effect.provide(FsLive)))

  it.scoped("a null draft in a batch (a JavaScript caller): InvalidMessage naming its index, not a defect", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const store = yield* MessageStore.make({ root })
      const exit = yield* Effect.exit(
        store.append(ref, [MessageEvent.append(msg("a", "a")), null as unknown as MessageEvent.Draft])
      )
      // Today: TypeError "Cannot read properties of null (reading 'type')" in sequence(): Cause Die.
      assert.strictEqual(failureTag(exit), "InvalidMessage")
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag === "InvalidMessage") {
        assert.strictEqual(exit.cause.error.index, 1)
      }
      assert.deepStrictEqual((yield* store.load(ref)).messages, [])
    }).pipe(Effect.provide(FsLive)))
})

describe("review s12: RuntimeEventLog validates before it writes (defect 4 of issue 12, on the other log)", () => {
  it.scoped("an event whose type is not a string is refused at append; read keeps working", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const log = yield* RuntimeEventLog.make({ root })
      yield* log.append(ref, [{ type: "turn.started" }])
      const exit = yield* Effect.exit(log.append(ref, [{ type: 5 } as unknown as RuntimeEventLog.EventRecord]))
      // Today: acknowledged, then every read fails with StorageCorrupt (line 2: Expected string, actual 5).
      assert.isTrue(Exit.isFailure(exit), "an event that cannot be read back is acknowledged")
      const read = yield* Effect.exit(Stream.runCollect(log.read(ref)))
      assert.isTrue(Exit.isSuccess(read), `read fails afterwards: ${String(read)}`)
      if (Exit.isSuccess(read)) assert.deepStrictEqual(Chunk.toArray(read.value), [{ type: "turn.started" }])
    }).pipe(Effect.provide(FsLive)))

  it.scoped("an event holding a bigint or a cycle fails append with a typed error, not a defect", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const log = yield* RuntimeEventLog.make({ root })
      const cycle: Record<string, unknown> = { type: "x" }
      cycle.self = cycle
      for (const event of [{ type: "x", n: 1n }, cycle]) {
        const exit = yield* Effect.exit(log.append(ref, [event as RuntimeEventLog.EventRecord]))
        // Today: JSON.stringify throws inside the writer's encode: Cause Die.
        assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Fail", `not a typed failure: ${String(exit)}`)
      }
      yield* log.append(ref, [{ type: "after" }])
      assert.deepStrictEqual(Chunk.toArray(yield* Stream.runCollect(log.read(ref))), [{ type: "after" }])
    }).pipe(Effect.provide(FsLive)))
})

describe("review s12: damage that reads as valid data", () => {
  it.scoped("a snapshot header whose seq is past every event in events.jsonl is StorageCorrupt, and repair brings the events back", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const store = yield* MessageStore.make({ root })
      const p = store.paths(ref)
      yield* store.append(ref, ["a", "b", "c"].map((id) => MessageEvent.append(msg(id, id))))
      yield* store.compact(ref)
      yield* store.append(ref, ["d", "e"].map((id) => MessageEvent.append(msg(id, id)))) // acknowledged: seqs 4, 5
      yield* store.release(ref)
      // The header lies (hand edit, bit flip): no compaction can leave a header past the last event of a
      // non-empty events.jsonl (the point it folds to is an event of that file).
      nodeFs.writeFileSync(p.base, nodeFs.readFileSync(p.base, "utf8").replace(`"seq":3`, `"seq":100`))
      const loaded = yield* Effect.exit(store.load(ref))
      // Today: success, messages [a, b, c], lastSeq 100: d and e are skipped in silence, and the next
      // append is numbered 101; repair reports "nothing to repair".
      assert.strictEqual(
        failureTag(loaded),
        "StorageCorrupt",
        `load: ${String(Exit.map(loaded, (c) => c.messages.map((m) => m.id)))}`
      )
      const report = yield* store.repair(ref)
      assert.isAbove(report.preserved.length, 0, report.summary)
      assert.deepStrictEqual((yield* store.load(ref)).messages.map((m) => m.id), ["a", "b", "c", "d", "e"])
    }).pipe(Effect.provide(FsLive)))
  // The damaged-UTF-8 case lives in test/workspace/storageDefects.test.ts (it checks repair too).
})

describe("review s12: repair never deletes an original", () => {
  it.scoped("two repairs at the same clock time (TestClock, or one millisecond) keep both damaged originals", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const store = yield* MessageStore.make({ root })
      const p = store.paths(ref)
      yield* store.append(ref, [MessageEvent.append(msg("a", "a"))])
      yield* store.release(ref)
      nodeFs.appendFileSync(p.events, "first damage\n")
      const first = yield* store.repair(ref)
      yield* store.append(ref, [MessageEvent.append(msg("b", "b"))])
      yield* store.release(ref)
      nodeFs.appendFileSync(p.events, "second damage\n")
      const second = yield* store.repair(ref)
      const kept = [...first.preserved, ...second.preserved]
      // Today: both reports name events.jsonl.damaged-1970-01-01T00-00-00-000Z; the link fails (EEXIST) and
      // the copyFile fallback overwrites the first original with the second.
      assert.strictEqual(new Set(kept).size, 2, `one name for both originals: ${kept.join(", ")}`)
      const texts = kept.filter((f) => nodeFs.existsSync(f)).map((f) => nodeFs.readFileSync(f, "utf8"))
      assert.isTrue(texts.some((t) => t.includes("first damage")), "the first damaged original is gone")
      assert.isTrue(texts.some((t) => t.includes("second damage")))
    }).pipe(Effect.provide(FsLive)))
})
