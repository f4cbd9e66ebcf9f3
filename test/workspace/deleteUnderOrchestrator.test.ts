/**
 * `Instances.delete` while a running orchestrator holds the workspace (`orchestrator.lock`, taken with
 * `InstanceLock.acquire(.., "orchestrator")` as the orchestrator does): refused with `InstanceLocked` naming the
 * lock file and its holder, and nothing is removed; once the lock is released, the delete goes through. Before:
 * the instance's files were removed from under the orchestrator.
 */
import { FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { InstanceLock, Instances, MessageStore, WorkspacePaths } from "effect-swarm"
import * as os from "node:os"
import * as path from "node:path"
import { msg, ref, tempRoot } from "./helpers.js"

describe("Instances.delete and a running orchestrator", () => {
  it.scoped("is refused while the workspace's orchestrator.lock is held, naming the file and the holder", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      // An instance with files, its store closed (no writer.lock held).
      yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* MessageStore.make({ root })
        yield* store.append(ref, [{ type: "append", message: msg("m1", "hello") }])
      }))
      const instances = yield* Instances.make({ root })
      const lock = path.join(WorkspacePaths.workspaceDir(root, ref.workspaceId), "orchestrator.lock")
      const dir = WorkspacePaths.instancesDir(root, ref.workspaceId)
      yield* Effect.scoped(Effect.gen(function*() {
        yield* InstanceLock.acquire(fs, lock, "orchestrator")
        const refused = yield* Effect.flip(instances.delete(ref))
        if (refused._tag !== "InstanceLocked") return assert.fail(`expected InstanceLocked, got ${refused._tag}`)
        assert.strictEqual(refused.file, lock)
        assert.strictEqual(refused.pid, process.pid)
        assert.strictEqual(refused.hostname, os.hostname())
        assert.include(refused.message, "orchestrator runs this workspace")
        assert.include(refused.message, lock)
        // Nothing was removed.
        assert.lengthOf(yield* fs.readDirectory(dir), 1)
      }))
      // The orchestrator is gone: the delete goes through.
      assert.isTrue(yield* instances.delete(ref))
      assert.lengthOf(yield* fs.readDirectory(dir), 0)
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})
