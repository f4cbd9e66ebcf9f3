/**
 * One writer per instance: a `writer.lock` file holding the writing process's pid, start time and a random
 * token. Creating it is atomic (the content is written to a temp file and hard-linked into place, which
 * fails when a lock exists), so a lock file is never seen half-written. A lock whose process is dead (or
 * whose pid was reused by a process started later) is stale and taken over atomically through a claim file
 * named after the dead holder's token (see `takeOver` in `internal/lockFile.ts`, which keeps the file on
 * disk), so of several processes finding one stale lock at the same moment exactly one gets it. Inside one process, each role (`messages`, `runtime-events`) may be
 * held once per lock file, identified by device and inode (two roots differing by a symlink are one
 * instance): two `MessageStore`s writing the same instance in one process are refused as well. An entry of
 * that table stands for its lock file only while the file holds its token: a directory removed while its lock
 * was held gives its inode to the next directory made (ext4 does at once), whose lock is another lock.
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as os from "node:os"
import * as path from "node:path"
import { io, type StorageIoError } from "./AtomicFile.js"
import * as LeanScope from "./internal/leanScope.js"
import * as LockFile from "./internal/lockFile.js"

/**
 * Another writer holds the instance: a live process (`pid`, `hostname`), or another writer of the same
 * role in this process. `file` names the lock file of a file-backed store and is absent otherwise (a
 * database backend has no lock file); `pid` is -1 when the holder is unknown.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { InstanceLock } from "effect-swarm"
 * declare const program: Effect.Effect<void, InstanceLock.InstanceLocked>
 * program.pipe(Effect.catchTag("InstanceLocked", (e) => Effect.logError(e.message)))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class InstanceLocked extends Schema.TaggedError<InstanceLocked>("effect-swarm/InstanceLocked")(
  "InstanceLocked",
  {
    /** The lock file, for file-backed stores; a database backend has none. */
    file: Schema.optional(Schema.String),
    pid: Schema.Number,
    hostname: Schema.String,
    role: Schema.String,
    /** When the holder took the lock, as its lock file records it (ISO 8601), when it could be read. */
    since: Schema.optional(Schema.String)
  }
) {
  override get message(): string {
    const where = this.file === undefined ? "" : ` (${this.file})`
    if (this.pid < 0) {
      return this.file === undefined
        ? `instance is locked for writing (${this.role}) by an unknown holder. Stop the other writer and retry.`
        : `instance is locked for writing (${this.role}) by an unreadable lock file${where}. If no ` +
          `process is writing this instance, delete that file.`
    }
    const who = this.pid === process.pid && this.hostname === os.hostname()
      ? "another writer in this process"
      : `process ${this.pid} on ${this.hostname}`
    const since = this.since === undefined ? "" : ` since ${this.since}`
    return `instance is locked for writing (${this.role}) by ${who}${since}${where}. Stop that process, or close ` +
      `the other store first; a lock left by a dead process is taken over automatically.`
  }
}

interface Held {
  readonly token: string
  readonly roles: Set<string>
}

// Process-wide, keyed by the lock's directory identity (device + inode, else the real path), so two stores
// whose roots differ by a symlink or a bind mount still meet here: the lock file belongs to the process,
// roles are shared by the services inside it.
const held = new Map<string, Held>()
// Serialises acquire/release of lock files within this process (see `acquire`).
const lockTable = Effect.unsafeMakeSemaphore(1)

// The identity of a lock file: its directory's device and inode (or real path) plus its name. The
// directory exists when this runs (callers create it first).
const keyOf = (fs: FileSystem.FileSystem, file: string): Effect.Effect<string> => {
  const dir = path.dirname(file)
  const name = path.basename(file)
  return fs.stat(dir).pipe(
    Effect.flatMap((info) =>
      Option.isSome(info.ino) ? Effect.succeed(`${info.dev}:${info.ino.value}/${name}`) : Effect.fail("no inode")
    ),
    Effect.orElse(() => Effect.map(fs.realPath(dir), (real) => path.join(real, name))),
    Effect.orElseSucceed(() => path.resolve(file))
  )
}

/**
 * Takes the lock for `role` until the scope closes. Fails with {@link InstanceLocked} when a live process
 * (or this process, for the same role) holds it. A stale lock (dead holder, or a pid reused by a process
 * started later) is taken over atomically: of any number of processes racing for it, one gets it.
 *
 * @example
 * ```ts
 * import { FileSystem } from "@effect/platform"
 * import { Effect } from "effect"
 * import { InstanceLock } from "effect-swarm"
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const fs = yield* FileSystem.FileSystem
 *   yield* InstanceLock.acquire(fs, "/tmp/inst/writer.lock", "messages")
 *   // ... write ...
 * }))
 * ```
 *
 * @since 0.1.0
 * @category locking
 */
export const acquire = (
  fs: FileSystem.FileSystem,
  file: string,
  role: string
): Effect.Effect<void, InstanceLocked | StorageIoError, Scope.Scope> =>
  // The release is registered after the lock table's permit is given back: a scope that has already closed
  // runs it at once, and inside the permit that would wait on itself forever. Lean: the finalizer does not
  // keep the acquiring fiber's FiberRefs alive for as long as the lock is held (see internal/leanScope.ts).
  Effect.asVoid(LeanScope.acquireRelease(
    lockTable.withPermits(1)(link(fs, file, role)),
    (hold) => lockTable.withPermits(1)(release(fs, file, hold, role))
  ))

/** What a release needs: the table key and the very entry taken (a later entry under that key is not ours). */
interface Hold {
  readonly key: string
  readonly entry: Held
}

/** Takes the lock (or adds the role to this process's hold) and returns what its release needs. */
const link = (
  fs: FileSystem.FileSystem,
  file: string,
  role: string
): Effect.Effect<Hold, InstanceLocked | StorageIoError> =>
  Effect.gen(function*() {
    // Check-then-link must be atomic inside the process: two services (say MessageStore and
    // RuntimeEventLog) locking the same instance at once would otherwise both miss `held`.
    const key = yield* keyOf(fs, file)
    const existing = held.get(key)
    // The entry is this lock only while the file still holds its token: a directory removed while its lock
    // was held frees its inode, which the file system may give to the next directory made (ext4 does at
    // once), and that directory's lock is another lock. Its old entry stays for its holder's release.
    const current = existing === undefined ? undefined : yield* LockFile.readHolder(fs, file)
    if (existing !== undefined && current?.token === existing.token) {
      if (existing.roles.has(role)) {
        return yield* new InstanceLocked({
          file,
          pid: process.pid,
          hostname: os.hostname(),
          role,
          since: current.acquiredAt
        })
      }
      existing.roles.add(role)
      return { key, entry: existing }
    }
    const token = yield* LockFile.makeToken
    const startTime = yield* LockFile.startTimeOf(fs, process.pid)
    const now = yield* Clock.currentTimeMillis
    const content = JSON.stringify({
      pid: process.pid,
      hostname: os.hostname(),
      token,
      ...(startTime !== undefined ? { startTime } : {}),
      acquiredAt: new Date(now).toISOString()
    }) + "\n"
    const tmp = `${file}.${process.pid}.${token}`
    // Synced before it is linked into place: after a power cut a lock file is whole or absent, never an
    // empty file that no process holds and every start refuses (the holder cannot be read, so it is held).
    yield* Effect.scoped(Effect.flatMap(fs.open(tmp, { flag: "w" }), (handle) =>
      Effect.zipRight(handle.writeAll(new TextEncoder().encode(content)), handle.sync))).pipe(io(tmp, "write lock"))
    const linked = yield* Effect.gen(function*() {
      // Each round does file I/O, so a rival's takeover in progress ("busy") has time to finish.
      for (let attempt = 0; attempt < 64; attempt++) {
        if (yield* LockFile.createExclusive(fs, file, tmp, content)) {
          return true
        }
        const holder = yield* LockFile.readHolder(fs, file)
        if (holder === undefined) {
          // Removed in between (retry), or damaged by hand (locks are created whole): held.
          if (
            yield* fs.exists(file).pipe(Effect.orElseSucceed(() =>
              true
            ))
          ) return false
          continue
        }
        if (!(yield* LockFile.isStale(fs, holder, () => held.get(key)?.token))) return false
        const outcome = yield* LockFile.takeOver(fs, file, holder.token, { tmp, content }, 0)
        if (outcome === "ok") {
          yield* Effect.logWarning(`took over the stale lock ${file} of process ${holder.pid}`)
          return true
        }
        if (outcome === "busy") yield* Effect.yieldNow()
      }
      return false
    }).pipe(Effect.ensuring(fs.remove(tmp, { force: true }).pipe(Effect.ignore)))
    if (!linked) {
      const holder = yield* LockFile.readHolder(fs, file)
      return yield* new InstanceLocked({
        file,
        pid: holder?.pid ?? -1,
        hostname: holder?.hostname ?? "?",
        role,
        ...(holder === undefined ? {} : { since: holder.acquiredAt })
      })
    }
    const entry: Held = { token, roles: new Set([role]) }
    held.set(key, entry)
    yield* LockFile.sweep(fs, file, token)
    return { key, entry }
  })

const release = (fs: FileSystem.FileSystem, file: string, hold: Hold, role: string): Effect.Effect<void> =>
  Effect.suspend(() => {
    const { entry, key } = hold
    entry.roles.delete(role)
    if (entry.roles.size > 0) return Effect.void
    // Only our own entry leaves the table: after our directory was removed, its key may name a newer lock.
    if (held.get(key) === entry) held.delete(key)
    return LockFile.readHolder(fs, file).pipe(
      Effect.flatMap((holder) => holder?.token === entry.token ? fs.remove(file, { force: true }) : Effect.void),
      Effect.ignore
    )
  })

/**
 * Who holds a lock file now, if anyone alive does (a stale lock reads as free).
 *
 * @example
 * ```ts
 * import { FileSystem } from "@effect/platform"
 * import { Effect } from "effect"
 * import { InstanceLock } from "effect-swarm"
 * const program = Effect.flatMap(FileSystem.FileSystem, (fs) => InstanceLock.holder(fs, "/tmp/inst/writer.lock"))
 * ```
 *
 * @since 0.1.0
 * @category locking
 */
export const holder = (
  fs: FileSystem.FileSystem,
  file: string
): Effect.Effect<{ readonly pid: number; readonly hostname: string } | undefined> =>
  Effect.gen(function*() {
    const content = yield* LockFile.readHolder(fs, file)
    if (content === undefined) return undefined
    const key = yield* keyOf(fs, file)
    if (held.get(key)?.token === content.token) return { pid: content.pid, hostname: content.hostname }
    const stale = yield* LockFile.isStale(fs, content, () => held.get(key)?.token)
    return stale ? undefined : { pid: content.pid, hostname: content.hostname }
  })
