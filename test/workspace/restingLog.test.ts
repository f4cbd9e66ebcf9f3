/**
 * RuntimeEventLog at rest (issue 16's memory per idle instance): after `fileIdleTimeout` an instance's
 * writer is dropped whole, its lock kept; the next append opens a new writer that goes on at the end. Many
 * rest cycles lose nothing and keep order; appends racing the rest sweep all land.
 */
import { FileSystem } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Exit, Scope, Stream, TestClock } from "effect"
import { RuntimeEventLog, WorkspacePaths } from "effect-swarm"
import * as nodeFs from "node:fs"
import { FsLive, ref, tempRoot } from "./helpers.js"

/** Descriptors of this process open on `file`. */
const fdsOn = (file: string) =>
  Effect.sync(() => {
    let count = 0
    for (const fd of nodeFs.readdirSync("/proc/self/fd")) {
      try {
        if (nodeFs.readlinkSync(`/proc/self/fd/${fd}`) === file) count++
      } catch {
        // closed between the listing and the readlink
      }
    }
    return count
  })

describe("RuntimeEventLog: an idle instance drops its writer, keeps its lock", () => {
  it.scoped("20 rest cycles: every event is read back once, in order; the lock is held at rest", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const log = yield* RuntimeEventLog.make({ root, durable: false, fileIdleTimeout: "1 second" })
      const file = WorkspacePaths.instance(root, ref).runtimeEvents
      for (let i = 0; i < 20; i++) {
        yield* log.append(ref, [{ type: "turn.started", turnId: `t${i}` }, { type: "turn.ended", turnId: `t${i}` }])
        assert.strictEqual(yield* fdsOn(file), 1)
        yield* TestClock.adjust("1 second")
        yield* log.restIdle
        assert.strictEqual(yield* fdsOn(file), 0, `cycle ${i}: no descriptor at rest`)
        // At rest the lock is still this log's: a second log in this process is refused.
        const other = yield* Effect.exit(Effect.scoped(Effect.flatMap(
          RuntimeEventLog.make({ root, durable: false }),
          (second) => second.append(ref, [{ type: "intruder" }])
        )))
        assert.isTrue(Exit.isFailure(other) && JSON.stringify(other.cause).includes("InstanceLocked"))
      }
      const read = Chunk.toReadonlyArray(yield* Stream.runCollect(log.read(ref)))
      assert.deepStrictEqual(
        read.map((e) => `${e.type}:${e.turnId}`),
        Array.from({ length: 20 }, (_, i) => [`turn.started:t${i}`, `turn.ended:t${i}`]).flat()
      )
    }).pipe(Effect.provide(FsLive)))

  it.scoped("appends racing the rest sweep all land once; closing the log closes the file", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const fs = yield* FileSystem.FileSystem
      const scope = yield* Scope.make()
      const log = yield* RuntimeEventLog.make({ root, durable: false, fileIdleTimeout: "1 second" }).pipe(
        Scope.extend(scope)
      )
      const file = WorkspacePaths.instance(root, ref).runtimeEvents
      yield* log.append(ref, [{ type: "first" }])
      for (let round = 0; round < 10; round++) {
        yield* TestClock.adjust("1 second")
        yield* Effect.all([
          log.restIdle,
          Effect.forEach(
            Array.from({ length: 5 }, (_, i) => i),
            (i) => log.append(ref, [{ type: "e", n: round * 5 + i }]),
            { concurrency: "unbounded", discard: true }
          ),
          log.restIdle
        ], { concurrency: "unbounded", discard: true })
      }
      const ns = (yield* fs.readFileString(file)).split("\n").filter((l) => l !== "").map((l) => JSON.parse(l))
        .filter((e) => e.type === "e").map((e) => e.n as number).sort((a, b) => a - b)
      assert.deepStrictEqual(ns, Array.from({ length: 50 }, (_, i) => i))
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(yield* fdsOn(file), 0)
    }).pipe(Effect.provide(FsLive)))
})
