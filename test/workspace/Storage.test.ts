import { FileSystem } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Option, Stream, TestClock } from "effect"
import { ExtensionState, Instances, MessageEvent, MessageStore, RuntimeEventLog, WorkspacePaths } from "effect-swarm"
import * as path from "node:path"
import { FsLive, msg, ref, tempRoot } from "./helpers.js"

describe("RuntimeEventLog", () => {
  it.scoped("starts empty, appends durable lines beside the conversation, streams them back", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      const log = yield* RuntimeEventLog.make({ root })
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Stream.runCollect(log.read(ref))), [])
      yield* log.append(ref, [{ type: "turn.started", turnId: "turn-1", traceId: "a".repeat(32) }])
      yield* log.append(ref, [{ type: "step.started", turnId: "turn-1", stepIndex: 1 }])
      const file = WorkspacePaths.instance(root, ref).runtimeEvents
      assert.strictEqual(file, path.join(WorkspacePaths.instance(root, ref).messagesDir, "runtime-events.jsonl"))
      const lines = (yield* fs.readFileString(file)).trimEnd().split("\n")
      assert.strictEqual(lines.length, 2)
      assert.include(lines[0]!, `"type":"turn.started"`)
      assert.include(lines[0]!, `"turnId":"turn-1"`)
      assert.include(lines[1]!, `"type":"step.started"`)
      assert.include(lines[1]!, `"stepIndex":1`)
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(log.read(ref)))
      assert.deepStrictEqual(events, [
        { type: "turn.started", turnId: "turn-1", traceId: "a".repeat(32) },
        { type: "step.started", turnId: "turn-1", stepIndex: 1 }
      ])
    }).pipe(Effect.provide(FsLive)))

  it.scoped("shares the instance lock with the MessageStore of the same process, refuses a second log", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const store = yield* MessageStore.make({ root })
      const log = yield* RuntimeEventLog.make({ root })
      const other = yield* RuntimeEventLog.make({ root })
      yield* store.append(ref, [MessageEvent.append(msg("m1", "x"))])
      yield* log.append(ref, [{ type: "turn.started" }])
      const error = yield* Effect.flip(other.append(ref, [{ type: "turn.started" }]))
      assert.strictEqual(error._tag, "InstanceLocked")
    }).pipe(Effect.provide(FsLive)))

  it.scoped("an idle log gives back its part of the lock; the lock file goes once the store is idle too", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      const store = yield* MessageStore.make({ root, idleTimeout: "10 minutes" })
      const log = yield* RuntimeEventLog.make({ root, idleTimeout: "1 minute" })
      const other = yield* RuntimeEventLog.make({ root })
      const lock = WorkspacePaths.instance(root, ref).lock
      yield* store.append(ref, [MessageEvent.append(msg("m1", "x"))])
      yield* log.append(ref, [{ type: "turn.started" }])
      yield* TestClock.adjust("2 minutes")
      yield* log.releaseIdle // waits for the background sweep if it is running
      // The log's role is free again (another log of this process may write), the store still holds the file.
      yield* other.append(ref, [{ type: "turn.ended" }])
      assert.isTrue(yield* fs.exists(lock))
      yield* other.release(ref)
      yield* TestClock.adjust("10 minutes")
      yield* store.releaseIdle
      assert.strictEqual(yield* store.openInstances, 0)
      assert.isFalse(yield* fs.exists(lock))
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(log.read(ref)))
      assert.deepStrictEqual(events.map((e) => e.type), ["turn.started", "turn.ended"])
    }).pipe(Effect.provide(FsLive)))

  it.scoped("a torn last line is repaired when the log reopens; a corrupt middle line is a typed error", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      const file = WorkspacePaths.instance(root, ref).runtimeEvents
      yield* fs.makeDirectory(path.dirname(file), { recursive: true })
      yield* fs.writeFileString(file, `{"v":1,"type":"a"}\n{"v":1,"type":"b`)
      const log = yield* RuntimeEventLog.make({ root })
      yield* log.append(ref, [{ type: "c" }])
      const types = Chunk.toReadonlyArray(yield* Stream.runCollect(log.read(ref))).map((e) => e.type)
      assert.deepStrictEqual(types, ["a", "c"])
      yield* fs.writeFileString(file, `{"v":1,"type":"a"}\n{"v":1}\n{"v":1,"type":"c"}\n`)
      const error = yield* Effect.flip(Stream.runDrain(log.read(ref)))
      assert.strictEqual(error._tag, "StorageCorrupt", "the backend-neutral union, not a Jsonl error")
      if (error._tag !== "StorageCorrupt") return
      assert.strictEqual(error.file, file)
      assert.strictEqual(error.line, 2)
      assert.include(error.message, "RuntimeEventLog.repair")
    }).pipe(Effect.provide(FsLive)))

  it.scoped("fails with the StorageError union: StorageUnavailable names the file, StorageCorrupt an unknown version", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      const p = WorkspacePaths.instance(root, ref)
      // A file where the instance directory should be: every write fails with an I/O error.
      yield* fs.makeDirectory(path.dirname(p.dir), { recursive: true })
      yield* fs.writeFileString(p.dir, "not a directory")
      const log = yield* RuntimeEventLog.make({ root })
      const io = yield* Effect.flip(log.append(ref, [{ type: "turn.started" }]))
      assert.strictEqual(io._tag, "StorageUnavailable")
      if (io._tag === "StorageUnavailable") assert.isDefined(io.file)
      yield* fs.remove(p.dir)
      yield* fs.makeDirectory(p.messagesDir, { recursive: true })
      yield* fs.writeFileString(p.runtimeEvents, `{"v":99,"type":"future"}\n`)
      const newer = yield* Effect.flip(Stream.runDrain(log.read(ref)))
      assert.strictEqual(newer._tag, "StorageCorrupt")
      assert.include(newer.message, "version 99")
      const refused = yield* Effect.flip(log.repair(ref))
      assert.strictEqual(refused._tag, "StorageCorrupt", "a newer record is not damage: repair refuses")
      assert.strictEqual(yield* fs.readFileString(p.runtimeEvents), `{"v":99,"type":"future"}\n`)
    }).pipe(Effect.provide(FsLive)))

  it.scoped("repair keeps every readable record in order, keeps the damaged original aside, and the log is usable again", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      const file = WorkspacePaths.instance(root, ref).runtimeEvents
      yield* fs.makeDirectory(path.dirname(file), { recursive: true })
      const damaged = `{"v":1,"type":"a"}\n{"v":1,"ty\n\u0000\u0000\u0000\n{"v":1,"type":"d"}\n`
      yield* fs.writeFileString(file, damaged)
      const log = yield* RuntimeEventLog.make({ root })
      const report = yield* log.repair(ref)
      assert.strictEqual(report.kept, 2)
      assert.deepStrictEqual(report.dropped.map((d) => d.line), [2, 3])
      assert.include(report.dropped[1]!.reason, "zero-filled")
      assert.strictEqual(yield* fs.readFileString(report.preserved[0]!), damaged)
      assert.include(report.summary, `${file}:2: invalid JSON`)
      yield* log.append(ref, [{ type: "e" }])
      const types = Chunk.toReadonlyArray(yield* Stream.runCollect(log.read(ref))).map((e) => e.type)
      assert.deepStrictEqual(types, ["a", "d", "e"])
      assert.deepStrictEqual((yield* log.repair(ref)).preserved, [], "a healthy log is left alone")
    }).pipe(Effect.provide(FsLive)))
})

describe("ExtensionState", () => {
  it.scoped("set then get; missing is None; unchanged content is not rewritten", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      const state = yield* ExtensionState.make({ root })
      assert.deepStrictEqual(yield* state.get(ref, "counter"), Option.none())
      assert.isTrue(yield* state.set(ref, "counter", { count: 42, nested: { list: [1, "a", null] } }))
      assert.deepStrictEqual(
        yield* state.get(ref, "counter"),
        Option.some({ count: 42, nested: { list: [1, "a", null] } })
      )
      const file = WorkspacePaths.instance(root, ref).extension("counter")
      assert.strictEqual(
        yield* fs.readFileString(file),
        `{\n  "count": 42,\n  "nested": {\n    "list": [\n      1,\n      "a",\n      null\n    ]\n  }\n}\n`
      )
      const before = (yield* fs.stat(file)).mtime
      assert.isFalse(yield* state.set(ref, "counter", { count: 42, nested: { list: [1, "a", null] } }))
      assert.deepStrictEqual((yield* fs.stat(file)).mtime, before)
      assert.isTrue(yield* state.set(ref, "counter", { count: 43 }))
      assert.deepStrictEqual(yield* state.get(ref, "counter"), Option.some({ count: 43 }))
      const leftovers = (yield* fs.readDirectory(path.dirname(file))).filter((n) => n.endsWith(".tmp"))
      assert.deepStrictEqual(leftovers, [])
      yield* state.remove(ref, "counter")
      yield* state.remove(ref, "counter")
      assert.deepStrictEqual(yield* state.get(ref, "counter"), Option.none())
    }).pipe(Effect.provide(FsLive)))

  it.scoped("a non-object value is a typed error and nothing is written; a damaged file is reported", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      const state = yield* ExtensionState.make({ root })
      for (const bad of [[1, 2], "text", 42, null, new Date(0), { when: new Date(0) }, { f: () => 1 }]) {
        const error = yield* Effect.flip(state.set(ref, "x", bad))
        assert.strictEqual(error._tag, "ExtensionStateNotObject")
      }
      assert.isFalse(yield* fs.exists(WorkspacePaths.instance(root, ref).extension("x")))
      const file = WorkspacePaths.instance(root, ref).extension("x")
      yield* fs.makeDirectory(path.dirname(file), { recursive: true })
      yield* fs.writeFileString(file, "[1,2]\n")
      const corrupt = yield* Effect.flip(state.get(ref, "x"))
      assert.strictEqual(corrupt._tag, "ExtensionStateCorrupt")
      yield* fs.writeFileString(file, "{not json")
      assert.strictEqual((yield* Effect.flip(state.get(ref, "x")))._tag, "ExtensionStateCorrupt")
    }).pipe(Effect.provide(FsLive)))
})

describe("Instances (reference instance-manager behaviour)", () => {
  it.scoped("no instances root -> empty list", () =>
    Effect.gen(function*() {
      const instances = yield* Instances.make({ root: yield* tempRoot })
      assert.deepStrictEqual(yield* instances.list("default"), { instances: [], broken: [] })
    }).pipe(Effect.provide(FsLive)))

  it.scoped("metadata is created idle, status changes keep createdAt, the file is pretty JSON", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      const instances = yield* Instances.make({ root })
      yield* TestClock.setTime(Date.parse("2026-01-01T00:00:00Z"))
      const created = yield* instances.ensure(ref)
      assert.deepStrictEqual(created, {
        v: 1,
        status: "idle",
        workspaceId: "default",
        agentName: "coder",
        instanceKey: "thread:42",
        createdAt: "2026-01-01T00:00:00.000Z",
        updatedAt: "2026-01-01T00:00:00.000Z"
      })
      yield* TestClock.adjust("1 minute")
      const again = yield* instances.ensure(ref)
      assert.strictEqual(again.updatedAt, "2026-01-01T00:00:00.000Z", "ensure does not rewrite existing metadata")
      const busy = yield* instances.setStatus(ref, "processing")
      assert.strictEqual(busy.status, "processing")
      assert.strictEqual(busy.createdAt, "2026-01-01T00:00:00.000Z")
      assert.strictEqual(busy.updatedAt, "2026-01-01T00:01:00.000Z")
      const text = yield* fs.readFileString(WorkspacePaths.instance(root, ref).metadata)
      assert.isTrue(text.startsWith(`{\n  "v": 1,\n  "status": "processing",`))
      assert.isTrue(text.endsWith("}\n"))
      assert.deepStrictEqual(yield* instances.get(ref), Option.some(busy))
    }).pipe(Effect.provide(FsLive)))

  it.scoped("setStatus rewrites a corrupt metadata.json whole; durable: false still replaces it atomically", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      const instances = yield* Instances.make({ root })
      yield* instances.ensure(ref)
      const file = WorkspacePaths.instance(root, ref).metadata
      yield* fs.writeFileString(file, "")
      const corrupt = yield* Effect.flip(instances.ensure(ref))
      assert.strictEqual(corrupt._tag, "MetadataCorrupt")
      const rebuilt = yield* instances.setStatus(ref, "processing", undefined, { durable: false })
      assert.strictEqual(rebuilt.status, "processing")
      assert.deepStrictEqual(yield* instances.get(ref), Option.some(rebuilt))
      const idle = yield* instances.setStatus(ref, "idle", undefined, { durable: false })
      assert.deepStrictEqual(yield* instances.get(ref), Option.some(idle))
      // No temp file is left beside it.
      assert.deepStrictEqual(yield* fs.readDirectory(path.dirname(file)), ["metadata.json"])
    }).pipe(Effect.provide(FsLive)))

  it.scoped("setStatus with the metadata the owner holds writes it through: metadata.json is not read back", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      const instances = yield* Instances.make({ root })
      yield* TestClock.setTime(Date.parse("2026-01-01T00:00:00Z"))
      const created = yield* instances.ensure(ref)
      yield* TestClock.adjust("1 minute")
      // Garbage in the file: a read-modify-write would rebuild it with a new createdAt; a write-through
      // from the metadata the caller holds keeps the original.
      const file = WorkspacePaths.instance(root, ref).metadata
      yield* fs.writeFileString(file, "not json")
      const busy = yield* instances.setStatus(ref, "processing", undefined, { durable: false, current: created })
      assert.deepStrictEqual(busy, { ...created, status: "processing", updatedAt: "2026-01-01T00:01:00.000Z" })
      assert.deepStrictEqual(yield* instances.get(ref), Option.some(busy))
      const idle = yield* instances.setStatus(ref, "idle", undefined, { durable: false, current: busy })
      assert.strictEqual(idle.createdAt, "2026-01-01T00:00:00.000Z")
      assert.deepStrictEqual(yield* fs.readDirectory(path.dirname(file)), ["metadata.json"])
    }).pipe(Effect.provide(FsLive)))

  it.scoped("list skips and reports a bad metadata file, a directory without metadata and a stray file", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      const instances = yield* Instances.make({ root })
      const good = { workspaceId: "default", agentName: "coder", instanceKey: "inst-1" }
      yield* instances.ensure(good)
      const dir = WorkspacePaths.instancesDir(root, "default")
      yield* fs.makeDirectory(path.join(dir, "bad@x"), { recursive: true })
      yield* fs.writeFileString(path.join(dir, "bad@x", "metadata.json"), "not json")
      yield* fs.makeDirectory(path.join(dir, "empty@x"))
      yield* fs.writeFileString(path.join(dir, "stray.txt"), "")
      const listing = yield* instances.list("default")
      assert.deepStrictEqual(listing.instances.map((m) => [m.instanceKey, m.agentName, m.status]), [[
        "inst-1",
        "coder",
        "idle"
      ]])
      assert.deepStrictEqual(listing.broken.map((b) => path.basename(b.dir)), ["bad@x", "empty@x", "stray.txt"])
      assert.include(listing.broken[0]!.reason, "invalid JSON")
    }).pipe(Effect.provide(FsLive)))

  it.scoped("delete removes messages, runtime events and extension state together; it is idempotent", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      const instances = yield* Instances.make({ root })
      const state = yield* ExtensionState.make({ root })
      yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* MessageStore.make({ root })
        const log = yield* RuntimeEventLog.make({ root })
        yield* instances.ensure(ref)
        yield* store.append(ref, [MessageEvent.append(msg("m1", "x"))])
        yield* log.append(ref, [{ type: "turn.started" }])
        yield* state.set(ref, "ext", { a: 1 })
        // while a writer holds the instance, delete is refused
        const refused = yield* Effect.flip(instances.delete(ref))
        assert.strictEqual(refused._tag, "InstanceLocked")
      }))
      assert.isTrue(yield* instances.delete(ref))
      assert.isFalse(yield* fs.exists(WorkspacePaths.instance(root, ref).dir))
      assert.isFalse(yield* instances.delete(ref))
      assert.isFalse(yield* instances.delete({ ...ref, instanceKey: "nonexistent" }))
      assert.deepStrictEqual((yield* instances.list("default")).instances, [])
    }).pipe(Effect.provide(FsLive)))
})

describe("MessageStore (reference workspace-storage behaviour, adapted)", () => {
  it.scoped("appends only add lines; replace / remove / truncate are events, not rewrites", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      const store = yield* MessageStore.make({ root })
      const p = store.paths(ref)
      yield* store.append(ref, [MessageEvent.append(msg("m1", "a")), MessageEvent.append(msg("m2", "b"))])
      yield* store.append(ref, [MessageEvent.append(msg("m3", "c"))])
      const ids = (yield* fs.readFileString(p.events)).trimEnd().split("\n").map((l) => JSON.parse(l).message.id)
      assert.deepStrictEqual(ids, ["m1", "m2", "m3"])
      yield* store.append(ref, [MessageEvent.replace("m1", msg("m1-v2", "Updated"))])
      assert.deepStrictEqual((yield* store.load(ref)).messages.map((m) => [m.id, m.data.content]), [
        ["m1-v2", "Updated"],
        ["m2", "b"],
        ["m3", "c"]
      ])
      yield* store.append(ref, [MessageEvent.remove("m1-v2"), MessageEvent.remove("m3")])
      const folded = yield* store.compact(ref)
      assert.deepStrictEqual(folded.messages.map((m) => m.id), ["m2"])
      const baseLines = (yield* fs.readFileString(p.base)).trimEnd().split("\n")
      assert.strictEqual(baseLines.length, 2)
      assert.include(baseLines[1]!, `"id":"m2"`)
      yield* store.append(ref, [MessageEvent.truncate])
      yield* store.compact(ref)
      assert.strictEqual(yield* fs.readFileString(p.base), `{"v":1,"type":"snapshot","seq":7,"messages":0}\n`)
    }).pipe(Effect.provide(FsLive)))

  it.scoped("fold: base [m1] + event m2 -> base [m1, m2], events empty; load before folding sees both", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const store = yield* MessageStore.make({ root })
      yield* store.append(ref, [MessageEvent.append(msg("m1", "a"))])
      yield* store.compact(ref)
      yield* store.append(ref, [MessageEvent.append(msg("m2", "b"))])
      const loaded = yield* store.load(ref)
      assert.deepStrictEqual([loaded.base.length, loaded.events.length], [1, 1])
      assert.deepStrictEqual(loaded.messages.map((m) => m.id), ["m1", "m2"])
      const folded = yield* store.compact(ref)
      assert.deepStrictEqual(folded.base.map((m) => m.id), ["m1", "m2"])
      assert.deepStrictEqual(folded.events, [])
      const reloaded = yield* store.load(ref)
      assert.deepStrictEqual([reloaded.base.length, reloaded.events.length], [2, 0])
    }).pipe(Effect.provide(FsLive)))
})
