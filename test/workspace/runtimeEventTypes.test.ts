import { FileSystem } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Either, Stream } from "effect"
import { RuntimeEventLog, WorkspacePaths } from "effect-swarm"
import * as path from "node:path"
import { FsLive, ref, tempRoot } from "./helpers.js"

const readTypes = (log: RuntimeEventLog.Service, types?: ReadonlySet<string>) =>
  Effect.map(Stream.runCollect(log.read(ref, types === undefined ? undefined : { types })), Chunk.toReadonlyArray)

describe("RuntimeEventLog.read({ types })", () => {
  it.scoped("gives the records of those types only, in file order, whatever key a line starts with", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const log = yield* RuntimeEventLog.make({ root })
      const records: Array<RuntimeEventLog.EventRecord> = [
        { type: "turn.started", turnId: "t1" },
        { type: "step.started", turnId: "t1", stepId: "s0", llmInputMessages: [{ role: "user", content: "hi" }] },
        // A record whose first key is not its type: read by parsing it.
        { turnId: "t1", type: "approval.requested", toolCallId: "c1" },
        { type: "tool.completed", turnId: "t1" },
        // A type with an escape in its JSON text, and one past ASCII.
        { type: "turn\"completed", turnId: "t1" },
        { type: "turn.completé", turnId: "t1" },
        { type: "turn.completed", turnId: "t1", rv: 2 }
      ]
      yield* log.append(ref, records)
      const wanted = new Set(["approval.requested", "turn.completed", "turn\"completed"])
      assert.deepStrictEqual(yield* readTypes(log, wanted), [records[2]!, records[4]!, records[6]!])
      assert.deepStrictEqual(yield* readTypes(log, new Set()), [])
      assert.deepStrictEqual(yield* readTypes(log), records)
    }).pipe(Effect.provide(FsLive)))

  it.scoped("a damaged line of another type is left unread; one of a wanted type still fails the read", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      const file = WorkspacePaths.instance(root, ref).runtimeEvents
      yield* fs.makeDirectory(path.dirname(file), { recursive: true })
      const lines = [
        `{"v":3,"type":"turn.started","turnId":"t1"}`,
        // A step event whose line was damaged after its type (bit rot, a bad hand edit).
        `{"v":3,"type":"step.started","turnId":"t1","stepId":"s0","llmInputMessages":[{"role":`,
        `{"v":3,"type":"turn.completed","turnId":"t1","rv":2}`
      ]
      yield* fs.writeFileString(file, lines.join("\n") + "\n")
      const log = yield* RuntimeEventLog.make({ root })
      assert.deepStrictEqual(yield* readTypes(log, new Set(["turn.completed"])), [
        { type: "turn.completed", turnId: "t1", rv: 2 }
      ])
      // The whole read (history, the events command) still reports it, naming the file and line.
      const whole = yield* Effect.either(readTypes(log))
      assert.isTrue(Either.isLeft(whole))
      if (Either.isLeft(whole)) {
        assert.strictEqual(whole.left._tag, "StorageCorrupt")
        assert.include(whole.left.message, "runtime-events.jsonl")
      }
      // A damaged line of a wanted type fails the typed read too.
      yield* fs.writeFileString(file, [lines[0], `{"v":3,"type":"turn.completed","turnId":`].join("\n") + "\n")
      const log2 = yield* RuntimeEventLog.make({ root })
      const typed = yield* Effect.either(readTypes(log2, new Set(["turn.completed"])))
      assert.isTrue(Either.isLeft(typed) && typed.left._tag === "StorageCorrupt")
    }).pipe(Effect.provide(FsLive)))
})
