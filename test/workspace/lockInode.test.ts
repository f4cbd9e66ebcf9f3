// Session 12 (issue 16, helper lock): the in-process lock table is keyed by the lock directory's device and
// inode. A directory removed while its lock was held frees its inode, and ext4 gives it to the next directory
// made: a new instance's directory then met the old holder's entry in the table. Before the fix, the new
// writer was refused "by another writer in this process" (same role) or joined the old entry without any lock
// file on disk (another role), and the old holder's release later dropped the new holder's entry.
import { FileSystem } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { InstanceLock } from "effect-swarm"
import * as os from "node:os"
import * as path from "node:path"
import { FsLive, tempRoot } from "./helpers.js"

/**
 * A lock directory `old` holding a lock (role `role`) in an open scope, then removed, and a new directory that
 * got its inode (undefined when this file system does not reuse inodes at once: no hazard there).
 */
const reusedInode = (role: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const root = yield* tempRoot
    const old = path.join(root, "old")
    yield* fs.makeDirectory(old)
    const ino = (yield* fs.stat(old)).ino
    const oldScope = yield* Scope.make()
    yield* InstanceLock.acquire(fs, path.join(old, "writer.lock"), role).pipe(Scope.extend(oldScope))
    yield* fs.remove(old, { recursive: true })
    for (let i = 0; i < 64; i++) {
      const dir = path.join(root, `new-${i}`)
      yield* fs.makeDirectory(dir)
      const info = yield* fs.stat(dir)
      if (info.dev !== undefined && String(info.ino) === String(ino)) return { fs, oldScope, dir }
    }
    yield* Scope.close(oldScope, Exit.void)
    return undefined
  })

describe("InstanceLock: a directory reusing the inode of a removed one", () => {
  it.scoped("the same role is not refused by the removed directory's holder; its release leaves the new lock", () =>
    Effect.gen(function*() {
      const found = yield* reusedInode("messages")
      if (found === undefined) return yield* Effect.logWarning("this file system did not reuse the inode")
      const { dir, fs, oldScope } = found
      const lock = path.join(dir, "writer.lock")
      const newScope = yield* Scope.make()
      const taken = yield* Effect.either(InstanceLock.acquire(fs, lock, "messages").pipe(Scope.extend(newScope)))
      assert.isTrue(taken._tag === "Right", taken._tag === "Left" ? taken.left.message : "")
      assert.include(yield* fs.readFileString(lock), `"pid":${process.pid}`)
      // The removed directory's holder lets go: the new lock stays held, in the table and on disk.
      yield* Scope.close(oldScope, Exit.void)
      assert.isTrue(yield* fs.exists(lock), "the old holder's release removed the new lock file")
      const again = yield* Effect.flip(Effect.scoped(InstanceLock.acquire(fs, lock, "messages")))
      assert.strictEqual(again._tag, "InstanceLocked", "the old holder's release dropped the new holder's entry")
      assert.deepStrictEqual(yield* InstanceLock.holder(fs, lock), { pid: process.pid, hostname: os.hostname() })
      yield* Scope.close(newScope, Exit.void)
      assert.isFalse(yield* fs.exists(lock), "released when its scope closes")
    }).pipe(Effect.provide(FsLive)))

  it.scoped("another role writes a lock file of its own (it does not join the removed directory's entry)", () =>
    Effect.gen(function*() {
      const found = yield* reusedInode("runtime-events")
      if (found === undefined) return yield* Effect.logWarning("this file system did not reuse the inode")
      const { dir, fs, oldScope } = found
      const lock = path.join(dir, "writer.lock")
      yield* Effect.scoped(Effect.gen(function*() {
        yield* InstanceLock.acquire(fs, lock, "messages")
        assert.isTrue(yield* fs.exists(lock), "joined the old entry: no lock file on disk, another process may write")
        yield* Scope.close(oldScope, Exit.void)
        assert.isTrue(yield* fs.exists(lock))
      }))
      assert.isFalse(yield* fs.exists(lock))
    }).pipe(Effect.provide(FsLive)))
})
