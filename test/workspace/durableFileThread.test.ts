import { FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Layer, Schema } from "effect"
import { Jsonl } from "effect-swarm"
import * as nodeFs from "node:fs"
import * as path from "node:path"
import { makeNode } from "../../src/workspace/internal/durableFile.js"
import { tempRoot } from "./helpers.js"

const Note = Schema.Struct({ n: Schema.Number })
const codec = Jsonl.codec(Note, { version: 1 })
const bytes = (text: string) => new TextEncoder().encode(text)

/** Appends through `handle.unsafeAppend` and tells whether `done` ran before the call returned. */
const appendOnce = (handle: Jsonl.DurableFileHandle, text: string) =>
  Effect.async<{ readonly before: boolean; readonly error: Jsonl.StorageIoError | undefined }>((resume) => {
    let returned = false
    handle.unsafeAppend!(bytes(text), (error) => resume(Effect.succeed({ before: !returned, error })))
    returned = true
  })

describe("Jsonl.DurableFile.node: which thread writes", () => {
  it.scoped("blockingBelow: Infinity writes on the calling thread, 0 on the thread pool; both durable and on disk", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      for (const [limit, onCaller] of [[Infinity, true], [0, false]] as const) {
        const file = path.join(root, `limit-${limit}.jsonl`)
        const handle = yield* (yield* Jsonl.DurableFile.nodeWith({ blockingBelow: limit })).open(fs, file, {
          durable: true
        })
        assert.strictEqual(handle.blocking?.(), onCaller)
        const first = yield* appendOnce(handle, "one\n")
        const second = yield* appendOnce(handle, "two\n")
        assert.isUndefined(first.error)
        assert.strictEqual(first.before, onCaller, `done before the call returned (blockingBelow ${limit})`)
        assert.strictEqual(second.before, onCaller)
        assert.strictEqual(nodeFs.readFileSync(file, "utf8"), "one\ntwo\n")
      }
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("a disk that turns slow moves the writes to the thread pool, and a fast one brings them back", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const file = path.join(yield* tempRoot, "adaptive.jsonl")
      // The clock the writes are timed by: each write takes `took` milliseconds.
      let clock = 0
      let took = 0
      let reads = 0
      const now = () => (reads++ % 2 === 0 ? clock : (clock += took))
      const handle = yield* makeNode(1, now).open(fs, file, { durable: true })
      const modes: Array<boolean> = []
      const write = (ms: number) =>
        Effect.gen(function*() {
          took = ms
          const r = yield* appendOnce(handle, `${ms}\n`)
          assert.isUndefined(r.error)
          modes.push(r.before)
        })
      yield* write(0) // a fast disk: the calling thread
      yield* write(5) // 5 ms: the average (one in eight) is 0.6 ms, still under 1
      yield* write(5) // 1.2 ms on average: the next write goes to the thread pool
      assert.isFalse(handle.blocking!())
      yield* write(0) // measured on the thread pool: 1.0 ms on average, still over
      yield* write(0) // 0.9 ms: back on the calling thread
      yield* write(0)
      assert.deepStrictEqual(modes, [true, true, true, false, false, true])
      assert.strictEqual(nodeFs.readFileSync(file, "utf8"), "0\n5\n5\n0\n0\n0\n")
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("a failed write on either thread is a StorageIoError naming the file (ENOSPC from /dev/full)", (ctx) =>
    Effect.gen(function*() {
      if (!nodeFs.existsSync("/dev/full")) return ctx.skip("needs /dev/full")
      const fs = yield* FileSystem.FileSystem
      for (const limit of [Infinity, 0]) {
        const handle = yield* (yield* Jsonl.DurableFile.nodeWith({ blockingBelow: limit })).open(fs, "/dev/full", {
          durable: false
        })
        const r = yield* appendOnce(handle, "x\n")
        assert.instanceOf(r.error, Jsonl.StorageIoError)
        assert.strictEqual(r.error!.file, "/dev/full")
        const viaEffect = yield* Effect.either(handle.append(bytes("y\n")))
        assert.isTrue(Either.isLeft(viaEffect))
      }
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  // Writes on the calling thread leave no write in flight to queue behind: without a yield before the batch,
  // sixteen concurrent appenders would make 16 x 10 durable writes (group commit lost).
  it.scoped("group commit holds on the calling thread: concurrent appenders share writes", () =>
    Effect.gen(function*() {
      const file = path.join(yield* tempRoot, "group.jsonl")
      const inner = yield* Jsonl.DurableFile.nodeWith({ blockingBelow: Infinity })
      let writes = 0
      const counting: Jsonl.DurableFileService = {
        open: (fs, f, options) =>
          Effect.map(inner.open(fs, f, options), (h) => ({
            ...h,
            unsafeAppend: (b: Uint8Array, done: (e: Jsonl.StorageIoError | undefined) => void) => {
              writes++
              h.unsafeAppend!(b, done)
            }
          }))
      }
      const w = yield* Jsonl.writer(file, codec).pipe(Effect.provide(Layer.succeed(Jsonl.DurableFile, counting)))
      yield* Effect.forEach(
        Array.from({ length: 16 }, (_, a) => a),
        (a) => Effect.forEach(Array.from({ length: 10 }, (_, i) => i), (i) => w.append([{ n: a * 100 + i }])),
        { concurrency: "unbounded", discard: true }
      )
      const lines = nodeFs.readFileSync(file, "utf8").trimEnd().split("\n")
      assert.strictEqual(lines.length, 160)
      assert.isAtMost(writes, 20, `durable writes for 160 appends from 16 fibers: ${writes}`)
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  // On the calling thread the writes of several files would be made one after another: appends of several
  // writers at once go to the thread pool, where they overlap; a writer alone stays on the calling thread.
  it.scoped("appends of several files at once go to the thread pool; an append alone to the calling thread", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const inner = yield* Jsonl.DurableFile.nodeWith({ blockingBelow: Infinity })
      const seen = { caller: 0, pool: 0 }
      const recording: Jsonl.DurableFileService = {
        open: (fs, f, options) =>
          Effect.map(inner.open(fs, f, options), (h) => ({
            ...h,
            unsafeAppend: (b: Uint8Array, done: (e: Jsonl.StorageIoError | undefined) => void) => {
              let returned = false
              h.unsafeAppend!(b, (e) => {
                seen[returned ? "pool" : "caller"]++
                done(e)
              })
              returned = true
            }
          }))
      }
      const provide = Effect.provide(Layer.succeed(Jsonl.DurableFile, recording))
      const writers = yield* Effect.forEach(
        Array.from({ length: 8 }, (_, i) => i),
        (i) => Jsonl.writer(path.join(root, `w${i}.jsonl`), codec).pipe(provide)
      )
      yield* Effect.forEach(
        writers,
        (w) => Effect.forEach(Array.from({ length: 5 }, (_, i) => i), (n) => w.append([{ n }])),
        { concurrency: "unbounded", discard: true }
      )
      // Before: all 40 on the calling thread, the eight files' writes one after another.
      assert.isAtLeast(seen.pool, 32, `appends on the thread pool: ${seen.pool}, on the calling thread: ${seen.caller}`)
      const alone = yield* Jsonl.writer(path.join(root, "alone.jsonl"), codec).pipe(provide)
      const before = seen.caller
      for (let n = 0; n < 5; n++) yield* alone.append([{ n }])
      assert.strictEqual(seen.caller - before, 5)
      for (const w of [...writers, alone]) assert.isAbove(nodeFs.statSync(w.file).size, 0)
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})
