// Issue 12, review of session 12: a snapshot header whose seq is too low, next to an events file that replays
// what the snapshot folded, loaded every replayed message twice without a word. Message ids are unique in a
// conversation: append refuses an id it holds, load fails StorageCorrupt naming the line that brings one
// twice, and repair takes the replayed events as folded (the header's seq raised) and drops other duplicates.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { MessageEvent, MessageStore } from "effect-swarm"
import * as nodeFs from "node:fs"
import { FsLive, msg, ref, tempRoot } from "./helpers.js"

const ids = (messages: ReadonlyArray<{ readonly id: string }>) => messages.map((m) => m.id)

describe("a snapshot header whose seq is too low, beside events it already folded", () => {
  it.scoped("load fails StorageCorrupt naming events.jsonl and the line; repair raises the seq; nothing is lost", () =>
    Effect.gen(function*() {
      const store = yield* MessageStore.make({ root: yield* tempRoot })
      const p = store.paths(ref)
      yield* store.append(ref, ["a", "b", "c", "d", "e"].map((id) => MessageEvent.append(msg(id, id))))
      yield* store.release(ref)
      const before = nodeFs.readFileSync(p.events, "utf8") // seqs 1..5, as a crash mid-compaction leaves them
      yield* store.compact(ref)
      yield* store.append(ref, ["f", "g"].map((id) => MessageEvent.append(msg(id, id)))) // seqs 6, 7
      yield* store.release(ref)
      nodeFs.writeFileSync(p.events, before + nodeFs.readFileSync(p.events, "utf8"))
      // The header says 3 while the snapshot holds a..e (folded up to 5): events 4 and 5 are replayed.
      nodeFs.writeFileSync(p.base, nodeFs.readFileSync(p.base, "utf8").replace(`"seq":5`, `"seq":3`))
      const error = yield* Effect.flip(store.load(ref))
      // Before: success, messages a b c d e d e f g (d and e twice).
      assert.strictEqual(error._tag, "StorageCorrupt")
      if (error._tag === "StorageCorrupt") {
        assert.strictEqual(error.file, p.events)
        assert.strictEqual(error.line, 4)
        assert.include(error.message, `event seq 4 brings message id "d", which the conversation already holds`)
        assert.include(error.message, "MessageStore.repair")
      }
      assert.strictEqual(
        (yield* Effect.flip(store.append(ref, [MessageEvent.append(msg("h", "h"))])))._tag,
        "StorageCorrupt"
      )
      const report = yield* store.repair(ref)
      assert.include(report.summary, "the snapshot header's seq 3 is too low: events 4..5")
      assert.deepStrictEqual(report.dropped, [])
      assert.strictEqual(report.lastSeq, 7)
      const loaded = yield* store.load(ref)
      assert.deepStrictEqual(ids(loaded.messages), ["a", "b", "c", "d", "e", "f", "g"])
      assert.strictEqual((yield* store.append(ref, [MessageEvent.append(msg("h", "h"))]))[0]!.seq, 8)
    }).pipe(Effect.provide(FsLive)))

  it.scoped("a line appending an id twice (a hand edit): load names it, repair drops it and reports the line", () =>
    Effect.gen(function*() {
      const store = yield* MessageStore.make({ root: yield* tempRoot })
      const p = store.paths(ref)
      yield* store.append(ref, ["a", "b"].map((id) => MessageEvent.append(msg(id, id))))
      yield* store.release(ref)
      const lines = nodeFs.readFileSync(p.events, "utf8").trimEnd().split("\n")
      nodeFs.writeFileSync(p.events, [...lines, lines[0]!.replace(`"seq":1`, `"seq":3`)].join("\n") + "\n")
      const error = yield* Effect.flip(store.load(ref))
      assert.strictEqual(error._tag, "StorageCorrupt")
      if (error._tag === "StorageCorrupt") assert.strictEqual(error.line, 3)
      const report = yield* store.repair(ref)
      assert.deepStrictEqual(report.dropped.map((d) => [d.log, d.line]), [["events", 3]])
      assert.include(report.summary, `brings message id "a"`)
      assert.deepStrictEqual(ids((yield* store.load(ref)).messages), ["a", "b"])
    }).pipe(Effect.provide(FsLive)))
})

describe("append keeps message ids unique", () => {
  it.scoped("an id the conversation holds (in the batch or before it) is InvalidMessage; nothing is written", () =>
    Effect.gen(function*() {
      const store = yield* MessageStore.make({ root: yield* tempRoot })
      const p = store.paths(ref)
      yield* store.append(ref, ["a", "b"].map((id) => MessageEvent.append(msg(id, id))))
      const text = nodeFs.readFileSync(p.events, "utf8")
      const refusals = [
        [MessageEvent.append(msg("c", "c")), MessageEvent.append(msg("a", "again"))],
        [MessageEvent.append(msg("c", "c")), MessageEvent.append(msg("c", "c"))],
        [MessageEvent.append(msg("c", "c")), MessageEvent.replace("b", msg("a", "a as b"))]
      ]
      for (const batch of refusals) {
        const error = yield* Effect.flip(store.append(ref, batch))
        assert.strictEqual(error._tag, "InvalidMessage")
        if (error._tag !== "InvalidMessage") continue
        assert.strictEqual(error.index, 1)
        assert.include(error.message, "already in the conversation")
        assert.strictEqual(nodeFs.readFileSync(p.events, "utf8"), text, "nothing written")
      }
      // The refused batches claimed nothing: c is still free.
      yield* store.append(ref, [MessageEvent.append(msg("c", "c"))])
      // An id freed by remove, replace or truncate can come again.
      yield* store.append(ref, [MessageEvent.remove("a"), MessageEvent.append(msg("a", "new a"))])
      yield* store.append(ref, [MessageEvent.replace("b", msg("b2", "b2")), MessageEvent.append(msg("b", "new b"))])
      yield* store.append(ref, [MessageEvent.replace("c", msg("c", "c in place"))])
      assert.deepStrictEqual(ids((yield* store.load(ref)).messages), ["b2", "c", "a", "b"])
      yield* store.append(ref, [MessageEvent.truncate, MessageEvent.append(msg("a", "after truncate"))])
      // Reopened from the files, the instance knows the ids it holds.
      yield* store.release(ref)
      assert.strictEqual(
        (yield* Effect.flip(store.append(ref, [MessageEvent.append(msg("a", "x"))])))._tag,
        "InvalidMessage"
      )
      yield* store.append(ref, [MessageEvent.append(msg("b", "b after truncate"))])
      assert.deepStrictEqual(ids((yield* store.load(ref)).messages), ["a", "b"])
    }).pipe(Effect.provide(FsLive)))
})
