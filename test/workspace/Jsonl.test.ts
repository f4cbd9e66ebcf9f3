import { FileSystem } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Deferred, Effect, Either, Exit, Fiber, Option, Schema, Scope, Stream } from "effect"
import { Jsonl } from "effect-swarm"
import * as nodeFs from "node:fs"
import * as path from "node:path"
import { FsLive, newProbe, probedBackends, tempRoot } from "./helpers.js"

const Note = Schema.Struct({ n: Schema.Number, text: Schema.String })
const codec = Jsonl.codec(Note, { version: 1 })

describe("Jsonl", () => {
  it.scoped("appends versioned lines and reads them back as a stream", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const file = path.join(yield* tempRoot, "sub", "a.jsonl")
      const w = yield* Jsonl.writer(file, codec)
      yield* w.append([{ n: 1, text: "one" }, { n: 2, text: "two" }])
      yield* w.append([{ n: 3, text: "three" }])
      assert.strictEqual(
        yield* fs.readFileString(file),
        `{"v":1,"n":1,"text":"one"}\n{"v":1,"n":2,"text":"two"}\n{"v":1,"n":3,"text":"three"}\n`
      )
      const all = yield* Stream.runCollect(Jsonl.read(file, codec))
      assert.deepStrictEqual([...all].map((r) => r.n), [1, 2, 3])
      assert.strictEqual(yield* w.size, (yield* fs.readFileString(file)).length)
    }).pipe(Effect.provide(FsLive)))

  it.scoped("concurrent appends are serialised, never interleaved, and all durable", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const file = path.join(yield* tempRoot, "c.jsonl")
      const w = yield* Jsonl.writer(file, codec)
      yield* Effect.forEach(
        Array.from({ length: 200 }, (_, i) => i),
        (i) => w.append([{ n: i, text: "x".repeat(i % 50) }, { n: i, text: "y" }]),
        { concurrency: "unbounded", discard: true }
      )
      const lines = (yield* fs.readFileString(file)).trimEnd().split("\n")
      assert.strictEqual(lines.length, 400)
      const records = yield* Jsonl.readAll(file, codec)
      // each append's two records are adjacent
      for (let i = 0; i < records.length; i += 2) assert.strictEqual(records[i]!.n, records[i + 1]!.n)
    }).pipe(Effect.provide(FsLive)))

  it.scoped("a missing file reads as empty", () =>
    Effect.gen(function*() {
      const file = path.join(yield* tempRoot, "none.jsonl")
      assert.deepStrictEqual(yield* Jsonl.readAll(file, codec), [])
    }).pipe(Effect.provide(FsLive)))

  it.scoped("a torn last line is skipped by readers and repaired (cut) when a writer opens", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const file = path.join(yield* tempRoot, "t.jsonl")
      const good = `{"v":1,"n":1,"text":"a"}\n`
      yield* fs.writeFileString(file, good + `{"v":1,"n":2,"te`)
      // Both read paths: the whole file at once, and streamed in chunks.
      for (const maxWholeRead of [undefined, 0]) {
        const torn: Array<Jsonl.TornTail> = []
        const read = yield* Stream.runCollect(
          Jsonl.read(file, codec, { maxWholeRead, onTornTail: (t) => Effect.sync(() => torn.push(t)) })
        )
        assert.deepStrictEqual([...read].map((r) => r.n), [1])
        assert.deepStrictEqual(torn, [{ file, offset: good.length, bytes: 16 }])
      }
      assert.strictEqual(yield* fs.readFileString(file), good + `{"v":1,"n":2,"te`, "reading leaves the file alone")
      const w = yield* Jsonl.writer(file, codec)
      yield* w.append([{ n: 3, text: "c" }])
      assert.strictEqual(yield* fs.readFileString(file), good + `{"v":1,"n":3,"text":"c"}\n`)
    }).pipe(Effect.provide(FsLive)))

  it.scoped("a complete but unterminated last line is also torn (it was never acknowledged)", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const file = path.join(yield* tempRoot, "u.jsonl")
      yield* fs.writeFileString(file, `{"v":1,"n":1,"text":"a"}`)
      assert.deepStrictEqual(yield* Jsonl.readAll(file, codec), [])
      assert.strictEqual(yield* Jsonl.repairTail(fs, file), 24)
      assert.strictEqual(yield* fs.readFileString(file), "")
    }).pipe(Effect.provide(FsLive)))

  it.scoped("a corrupt middle line fails with file and line number and the file is untouched", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const file = path.join(yield* tempRoot, "m.jsonl")
      const content = `{"v":1,"n":1,"text":"a"}\n\n{"v":1,"n":2,oops}\n{"v":1,"n":3,"text":"c"}\n`
      yield* fs.writeFileString(file, content)
      const error = yield* Effect.flip(Jsonl.readAll(file, codec))
      assert.strictEqual(error._tag, "JsonlCorruptLine")
      if (error._tag !== "JsonlCorruptLine") return
      assert.strictEqual(error.file, file)
      assert.strictEqual(error.line, 3)
      assert.include(error.reason, "invalid JSON")
      assert.include(error.message, `${file}:3`)
      // a writer refuses nothing here (the line is terminated), but the reader's verdict stays the same
      assert.strictEqual(yield* fs.readFileString(file), content)
      // a line with a wrong shape is corrupt too
      yield* fs.writeFileString(file, `{"v":1,"n":"x","text":"a"}\n`)
      const shape = yield* Effect.flip(Jsonl.readAll(file, codec))
      assert.strictEqual(shape._tag, "JsonlCorruptLine")
      assert.strictEqual((shape as Jsonl.JsonlCorruptLine).line, 1)
      assert.include((shape as Jsonl.JsonlCorruptLine).reason, "Expected number")
      // values whose String() throws (Schema's formatter would crash on them) are still a typed error
      const tagged = Jsonl.codec(
        Schema.Union(Schema.Struct({ kind: Schema.Literal("a") }), Schema.Struct({ kind: Schema.Literal("b") })),
        { version: 1 }
      )
      yield* fs.writeFileString(file, `{"v":1,"kind":{"toString":false}}\n`)
      const hostile = yield* Effect.flip(Jsonl.readAll(file, tagged))
      assert.strictEqual(hostile._tag, "JsonlCorruptLine")
      assert.strictEqual((hostile as Jsonl.JsonlCorruptLine).line, 1)
    }).pipe(Effect.provide(FsLive)))

  it.scoped("old versions are upcast; unknown versions are a typed error", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const file = path.join(yield* tempRoot, "v.jsonl")
      const v3 = Jsonl.codec(Note, {
        version: 3,
        upcasters: {
          1: (r) => ({ n: r.count, label: r.label }),
          2: (r) => ({ n: r.n, text: String(r.label ?? "") })
        }
      })
      yield* fs.writeFileString(
        file,
        `{"v":1,"count":7,"label":"old"}\n{"v":2,"n":8,"label":"mid"}\n{"v":3,"n":9,"text":"new"}\n`
      )
      assert.deepStrictEqual(yield* Jsonl.readAll(file, v3), [{ n: 7, text: "old" }, { n: 8, text: "mid" }, {
        n: 9,
        text: "new"
      }])
      yield* fs.writeFileString(file, `{"v":3,"n":1,"text":"a"}\n{"v":4,"n":1,"text":"future"}\n`)
      const future = yield* Effect.flip(Jsonl.readAll(file, v3))
      assert.strictEqual(future._tag, "JsonlUnknownVersion")
      assert.deepStrictEqual({ ...(future as Jsonl.JsonlUnknownVersion) }, {
        _tag: "JsonlUnknownVersion",
        file,
        line: 2,
        version: "4",
        supported: 3
      } as never)
      yield* fs.writeFileString(file, `{"n":1,"text":"a"}\n`)
      const missing = yield* Effect.flip(Jsonl.readAll(file, codec))
      assert.strictEqual(missing._tag, "JsonlUnknownVersion")
      // an older version with no upcaster registered
      yield* fs.writeFileString(file, `{"v":1,"n":1,"text":"a"}\n`)
      const noUp = yield* Effect.flip(Jsonl.readAll(file, Jsonl.codec(Note, { version: 2 })))
      assert.strictEqual(noUp._tag, "JsonlUnknownVersion")
    }).pipe(Effect.provide(FsLive)))

  it.scoped("lines spanning read chunks and multi-byte characters decode correctly", () =>
    Effect.gen(function*() {
      const file = path.join(yield* tempRoot, "big.jsonl")
      const w = yield* Jsonl.writer(file, codec, { durable: false })
      const records = Array.from({ length: 3000 }, (_, n) => ({ n, text: "é한😀".repeat(n % 300) }))
      yield* w.append(records)
      const read = yield* Jsonl.readAll(file, codec)
      assert.strictEqual(read.length, records.length)
      assert.deepStrictEqual(read[2999], records[2999])
      // The same file streamed in 1 MiB chunks (the path of files above maxWholeRead).
      const streamed = yield* Stream.runCollect(Jsonl.read(file, codec, { maxWholeRead: 0 }))
      assert.deepStrictEqual(Chunk.toReadonlyArray(streamed), read)
    }).pipe(Effect.provide(FsLive)))

  it.scoped("keepLine leaves lines out unread, whole-file or in chunks; a kept bad line is named by its number", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const file = path.join(yield* tempRoot, "keep.jsonl")
      const w = yield* Jsonl.writer(file, codec, { durable: false })
      const records = Array.from({ length: 3000 }, (_, n) => ({ n, text: "é한😀".repeat(n % 300) }))
      yield* w.append(records)
      // Kept: the lines whose first bytes say n is a multiple of 7 (`{"v":1,"n":7,...`).
      const keepLine = (bytes: Uint8Array, start: number, end: number) => {
        const text = Buffer.from(bytes.buffer, bytes.byteOffset + start, Math.min(24, end - start)).toString("latin1")
        const n = /^\{"v":1,"n":(\d+),/.exec(text)
        return n !== null && Number(n[1]) % 7 === 0
      }
      const wanted = records.filter((r) => r.n % 7 === 0)
      for (const maxWholeRead of [undefined, 0]) {
        const read = yield* Stream.runCollect(Jsonl.read(file, codec, { maxWholeRead, keepLine }))
        assert.deepStrictEqual(Chunk.toReadonlyArray(read), wanted)
      }
      // A damaged line that is left out goes unnoticed; a kept one fails naming its line (line numbers count
      // the lines left out too).
      const lines = (yield* fs.readFileString(file)).split("\n")
      lines[9] = `{"v":1,"n":9,"text":`
      lines[14] = `{"v":1,"n":14,"text":`
      yield* fs.writeFileString(file, lines.join("\n"))
      for (const maxWholeRead of [undefined, 0]) {
        const failed = yield* Effect.either(Stream.runCollect(Jsonl.read(file, codec, { maxWholeRead, keepLine })))
        assert.isTrue(Either.isLeft(failed))
        if (Either.isLeft(failed)) {
          assert.strictEqual(failed.left._tag, "JsonlCorruptLine")
          assert.strictEqual((failed.left as Jsonl.JsonlCorruptLine).line, 15)
        }
      }
    }).pipe(Effect.provide(FsLive)))

  it.scoped("closing the writer's scope fails appends still queued instead of hanging", () =>
    Effect.gen(function*() {
      const file = path.join(yield* tempRoot, "close.jsonl")
      const fiber = yield* Effect.scoped(Effect.gen(function*() {
        const w = yield* Jsonl.writer(file, codec)
        yield* w.append([{ n: 1, text: "a" }])
        return yield* Effect.fork(w.append([{ n: 2, text: "b" }]))
      }))
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(exit._tag === "Success" || exit._tag === "Failure")
    }).pipe(Effect.provide(FsLive)))

  // What "acknowledged = on disk" rests on with the default DurableFile: the descriptor's flags, as the
  // kernel reports them (/proc/self/fdinfo, Linux), carry O_DSYNC when durable and not otherwise.
  it.scoped("the default appends on an O_APPEND | O_DSYNC descriptor when durable, O_APPEND only when not", (ctx) =>
    Effect.gen(function*() {
      if (process.platform !== "linux") return ctx.skip("reads /proc/self/fdinfo (Linux)")
      const root = yield* tempRoot
      const flagsOf = (file: string) => {
        for (const fd of nodeFs.readdirSync("/proc/self/fd")) {
          let target = ""
          try {
            target = nodeFs.readlinkSync(`/proc/self/fd/${fd}`)
          } catch {
            continue
          }
          if (target !== file) continue
          const info = nodeFs.readFileSync(`/proc/self/fdinfo/${fd}`, "utf8")
          return Number.parseInt(/^flags:\s+([0-7]+)$/m.exec(info)![1]!, 8)
        }
        return undefined
      }
      const durable = path.join(root, "durable.jsonl")
      const fast = path.join(root, "fast.jsonl")
      yield* Jsonl.writer(durable, codec)
      yield* Jsonl.writer(fast, codec, { durable: false })
      const { O_APPEND, O_DSYNC } = nodeFs.constants
      const d = flagsOf(durable)
      const f = flagsOf(fast)
      assert.isDefined(d)
      assert.isDefined(f)
      assert.strictEqual(d! & O_APPEND, O_APPEND)
      assert.strictEqual(d! & O_DSYNC, O_DSYNC)
      assert.strictEqual(f! & O_APPEND, O_APPEND)
      assert.strictEqual(f! & O_DSYNC, 0)
    }).pipe(Effect.provide(FsLive)))

  it.scoped("a closed writer never truncates: its descriptor may belong to a file opened since", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const file = path.join(yield* tempRoot, "closed.jsonl")
      const scope = yield* Scope.make()
      const stale = yield* Jsonl.writer(file, codec).pipe(Scope.extend(scope))
      yield* stale.append([{ n: 1, text: "one" }])
      yield* Scope.close(scope, Exit.void)
      const w = yield* Jsonl.writer(file, codec)
      yield* w.append([{ n: 2, text: "two" }])
      const cut = yield* Effect.either(stale.truncate)
      assert.isTrue(Either.isLeft(cut))
      assert.deepStrictEqual((yield* Jsonl.readAll(file, codec)).map((r) => r.n), [1, 2])
      assert.strictEqual(yield* w.size, (yield* fs.readFileString(file)).length)
    }).pipe(Effect.provide(FsLive)))
})

// The fault-injection suite, against every way of appending (Jsonl.DurableFile): node:fs with O_DSYNC (the
// default) and the FileSystem service, each probed where it can be intercepted.
describe.each(probedBackends)("Jsonl writer faults: $name", (backend) => {
  it.scoped("group commit: appends arriving during a write share the next write and fsync, in call order", () => {
    const probe = newProbe()
    return Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const file = path.join(yield* tempRoot, "group.jsonl")
      const w = yield* Jsonl.writer(file, codec)
      const opened = probe.syncs
      // Hold the first fsync until all 64 appenders are queued behind it.
      const started = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      probe.onSync = Deferred.succeed(started, undefined)
      probe.holdSync = Deferred.await(release)
      const first = yield* Effect.fork(w.append([{ n: 0, text: "leader" }]))
      yield* Deferred.await(started)
      probe.onSync = undefined
      probe.holdSync = undefined
      // All 64 queued while the leader's write is held (`enqueue` queues when it returns): one yield did not
      // always let 64 forked appenders run under load, and the late ones made a third write.
      const waits = yield* Effect.forEach(
        Array.from({ length: 64 }, (_, i) => i + 1),
        (n) => w.enqueue([{ n, text: "follower" }])
      )
      const rest = yield* Effect.fork(Effect.all(waits, { concurrency: "unbounded", discard: true }))
      yield* Effect.yieldNow()
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(first)
      yield* Fiber.join(rest)
      // One write + fsync for the leader, one for the 64 that queued meanwhile.
      assert.strictEqual(probe.syncs - opened, 2)
      assert.strictEqual(probe.writes, 2)
      const records = yield* Jsonl.readAll(file, codec)
      assert.deepStrictEqual(records.map((r) => r.n), Array.from({ length: 65 }, (_, i) => i))
      assert.strictEqual(yield* w.size, (yield* fs.readFileString(file)).length)
    }).pipe(Effect.provide(backend.layer(probe)))
  })

  it.scoped("closing the scope waits for the batch in flight, then fails what is still queued", () => {
    const probe = newProbe()
    return Effect.gen(function*() {
      const file = path.join(yield* tempRoot, "inflight.jsonl")
      const scope = yield* Scope.make()
      const w = yield* Jsonl.writer(file, codec).pipe(Scope.extend(scope))
      const started = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      probe.onSync = Deferred.succeed(started, undefined)
      probe.holdSync = Deferred.await(release)
      const inFlight = yield* Effect.fork(w.append([{ n: 1, text: "in flight" }]))
      yield* Deferred.await(started)
      const queued = yield* Effect.fork(w.append([{ n: 2, text: "queued" }]))
      yield* Effect.yieldNow()
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* Effect.yieldNow()
      // The file is still open and the batch still owns it.
      assert.isTrue(Option.isNone(yield* Fiber.poll(closing)))
      probe.holdSync = undefined
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(closing)
      assert.isTrue(Exit.isSuccess(yield* Fiber.await(inFlight)))
      const lost = yield* Fiber.await(queued)
      assert.isTrue(Exit.isFailure(lost))
      assert.include(String(Exit.isFailure(lost) ? lost.cause : ""), "writer closed")
      const records = yield* Jsonl.readAll(file, codec)
      assert.deepStrictEqual(records.map((r) => r.n), [1])
      // Appends after close fail at once.
      const after = yield* Effect.either(w.append([{ n: 3, text: "late" }]))
      assert.isTrue(Either.isLeft(after))
    }).pipe(Effect.provide(backend.layer(probe)))
  })

  it.scoped("a short write fails that append with a typed error, is cut back, and the next append works", () => {
    const probe = newProbe()
    return Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const file = path.join(yield* tempRoot, "short.jsonl")
      const w = yield* Jsonl.writer(file, codec)
      yield* w.append([{ n: 1, text: "kept" }])
      probe.failNextWriteAfter = 7
      const failed = yield* Effect.either(w.append([{ n: 2, text: "half written" }]))
      assert.isTrue(Either.isLeft(failed) && failed.left._tag === "StorageIoError")
      assert.strictEqual(yield* fs.readFileString(file), `{"v":1,"n":1,"text":"kept"}\n`)
      yield* w.append([{ n: 3, text: "after" }])
      const records = yield* Jsonl.readAll(file, codec)
      assert.deepStrictEqual(records.map((r) => r.n), [1, 3])
      assert.strictEqual(yield* w.size, (yield* fs.readFileString(file)).length)
      // node:fs appends through its callback form (the hot path, one libuv request per batch); the
      // FileSystem-based implementation has none, so the writer's Effect path runs there.
      assert.strictEqual(probe.callbackAppends > 0, backend.name.startsWith("node:fs"))
    }).pipe(Effect.provide(backend.layer(probe)))
  })

  it.live("interrupting the leader during its fsync neither loses its batch nor strands later appends", () => {
    const probe = newProbe()
    return Effect.gen(function*() {
      const file = path.join(yield* tempRoot, "interrupt.jsonl")
      const w = yield* Jsonl.writer(file, codec)
      const started = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      probe.onSync = Deferred.succeed(started, undefined)
      probe.holdSync = Deferred.await(release)
      const leader = yield* Effect.fork(w.append([{ n: 1, text: "leader" }]))
      yield* Deferred.await(started)
      probe.onSync = undefined
      probe.holdSync = undefined
      const follower = yield* Effect.fork(w.append([{ n: 2, text: "follower" }]))
      yield* Effect.yieldNow()
      // The leader's batch is uninterruptible: the interruption lands once it is written.
      const interrupting = yield* Effect.fork(Fiber.interrupt(leader))
      yield* Effect.yieldNow()
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(interrupting)
      // The bounds only turn a hang into a readable failure: a real fsync on a loaded machine can take seconds.
      const followed = yield* Fiber.await(follower).pipe(Effect.timeout("8 seconds"), Effect.option)
      assert.isTrue(Option.isSome(followed) && Exit.isSuccess(followed.value), "the follower's append completes")
      const later = yield* w.append([{ n: 3, text: "later" }]).pipe(Effect.timeout("8 seconds"), Effect.option)
      assert.isTrue(Option.isSome(later), "a later append completes")
      const records = yield* Jsonl.readAll(file, codec)
      assert.deepStrictEqual(records.map((r) => r.n), [1, 2, 3])
    }).pipe(Effect.provide(backend.layer(probe)), Effect.scoped)
  }, 30_000)
})
