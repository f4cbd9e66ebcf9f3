// Session 17 review (split): what the split of the JSONL writer turned up.
import { FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Schema, Scope } from "effect"
import { Jsonl } from "effect-swarm"
import * as path from "node:path"

const codec = Jsonl.codec(Schema.Struct({ n: Schema.Number }), { version: 1 })

describe("Jsonl.writer: opening a new file", () => {
  // A new file's first fsync (its size and directory entry made durable) failing, e.g. EIO or ENOSPC: the
  // writer fails, and the descriptor it had just opened must be closed with it. It lived in a scope of its own
  // that only the writer's finalizer closed, registered after that fsync: every failed open leaked a descriptor.
  it.scoped("a failed first fsync fails the writer and closes the descriptor it opened", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* fs.makeTempDirectoryScoped({ prefix: "es-s17-split-" })
      const file = path.join(root, "new", "log.jsonl")
      const counts = { opened: 0, closed: 0 }
      const failingSync: Jsonl.DurableFileService = {
        open: (fs, f, options) =>
          Effect.gen(function*() {
            const handle = yield* Jsonl.DurableFile.node.open(fs, f, options)
            counts.opened++
            yield* Effect.addFinalizer(() => Effect.sync(() => counts.closed++))
            return {
              ...handle,
              sync: Effect.fail(new Jsonl.StorageIoError({ file: f, operation: "fsync", cause: new Error("EIO") }))
            }
          })
      }
      const scope = yield* Scope.make()
      const exit = yield* Jsonl.writer(file, codec).pipe(
        Scope.extend(scope),
        Effect.provide(Layer.succeed(Jsonl.DurableFile, failingSync)),
        Effect.exit
      )
      assert.isTrue(Exit.isFailure(exit))
      assert.include(String(Exit.isFailure(exit) ? exit.cause : ""), "fsync")
      assert.deepStrictEqual(counts, { opened: 1, closed: 1 }, "closed when the open fails, not later")
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(counts, { opened: 1, closed: 1 })
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})
