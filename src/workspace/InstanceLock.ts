/**
 * One writer per instance: a `writer.lock` file holding the writing process's pid. Creating it is atomic
 * (the content is written to a temp file and hard-linked into place, which fails when a lock exists), so a
 * lock file is never seen half-written. A lock whose process is dead (or whose pid was reused by a process
 * started later) is stale and taken over. Inside one process, each role (`messages`, `runtime-events`)
 * may be held once: two `MessageStore`s writing the same instance in one process are refused as well.
 *
 * @since 0.1.0
 */
import type { PlatformError } from "@effect/platform/Error"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as os from "node:os"
import { io, type StorageIoError } from "./AtomicFile.js"

/**
 * Another writer holds the instance: a live process (`pid`, `hostname`), or another writer of the same
 * role in this process.
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
  { file: Schema.String, pid: Schema.Number, hostname: Schema.String, role: Schema.String }
) {
  override get message(): string {
    if (this.pid < 0) {
      return `instance is locked for writing (${this.role}) by an unreadable lock file (${this.file}). If no ` +
        `process is writing this instance, delete that file.`
    }
    const who = this.pid === process.pid && this.hostname === os.hostname()
      ? "another writer in this process"
      : `process ${this.pid} on ${this.hostname}`
    return `instance is locked for writing (${this.role}) by ${who} (${this.file}). Stop that process, or close ` +
      `the other store first; a lock left by a dead process is taken over automatically.`
  }
}

const LockContent = Schema.parseJson(Schema.Struct({
  pid: Schema.Number,
  hostname: Schema.String,
  token: Schema.String,
  startTime: Schema.optionalWith(Schema.String, { exact: true }),
  acquiredAt: Schema.String
}))

interface Held {
  readonly token: string
  readonly roles: Set<string>
}

// Process-wide: the lock file belongs to the process, roles are shared by the services inside it.
const held = new Map<string, Held>()
// Serialises acquire/release of lock files within this process (see `acquire`).
const lockTable = Effect.unsafeMakeSemaphore(1)

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

// Linux: the start time (clock ticks since boot) tells a reused pid from the original process.
const startTimeOf = (fs: FileSystem.FileSystem, pid: number): Effect.Effect<string | undefined> =>
  process.platform !== "linux"
    ? Effect.succeed(undefined)
    : fs.readFileString(`/proc/${pid}/stat`).pipe(
      Effect.map((stat) => stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]),
      Effect.orElseSucceed(() => undefined)
    )

const makeToken = Effect.gen(function*() {
  let token = ""
  for (let i = 0; i < 16; i++) token += (yield* Random.nextIntBetween(0, 16)).toString(16)
  return token
})

/**
 * Takes the lock for `role` until the scope closes. Fails with {@link InstanceLocked} when a live process
 * (or this process, for the same role) holds it.
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
  Effect.gen(function*() {
    // Check-then-link must be atomic inside the process: two services (say MessageStore and
    // RuntimeEventLog) locking the same instance at once would otherwise both miss `held`, and the
    // loser would judge the winner's fresh lock stale and remove it.
    const existing = held.get(file)
    if (existing !== undefined) {
      if (existing.roles.has(role)) {
        return yield* new InstanceLocked({ file, pid: process.pid, hostname: os.hostname(), role })
      }
      existing.roles.add(role)
      yield* Effect.addFinalizer(() => lockTable.withPermits(1)(release(fs, file, role)))
      return
    }
    const token = yield* makeToken
    const startTime = yield* startTimeOf(fs, process.pid)
    const now = yield* Clock.currentTimeMillis
    const content = JSON.stringify({
      pid: process.pid,
      hostname: os.hostname(),
      token,
      ...(startTime !== undefined ? { startTime } : {}),
      acquiredAt: new Date(now).toISOString()
    }) + "\n"
    const tmp = `${file}.${process.pid}.${token}`
    yield* fs.writeFileString(tmp, content).pipe(io(tmp, "write lock"))
    const linked = yield* Effect.gen(function*() {
      for (let attempt = 0; attempt < 5; attempt++) {
        const exists = (e: PlatformError) => e._tag === "SystemError" && e.reason === "AlreadyExists"
        const ok = yield* fs.link(tmp, file).pipe(
          Effect.as(true),
          Effect.catchAll((e) =>
            exists(e)
              ? Effect.succeed(false)
              // File systems without hard links (some network and FAT volumes): exclusive create instead,
              // which can expose an empty lock for an instant (readers treat an unreadable lock as held).
              : fs.writeFileString(file, content, { flag: "wx" }).pipe(
                Effect.as(true),
                Effect.catchIf(exists, () => Effect.succeed(false))
              )
          ),
          io(file, "create lock")
        )
        if (ok) return true
        const stale = yield* isStale(fs, file, role)
        if (!stale) return false
        yield* Effect.logWarning(`taking over stale lock ${file}`)
        yield* fs.remove(file, { force: true }).pipe(io(file, "remove stale lock"))
      }
      return false
    }).pipe(Effect.ensuring(fs.remove(tmp, { force: true }).pipe(Effect.ignore)))
    if (!linked) {
      const holder = yield* readHolder(fs, file)
      return yield* new InstanceLocked({ file, pid: holder?.pid ?? -1, hostname: holder?.hostname ?? "?", role })
    }
    held.set(file, { token, roles: new Set([role]) })
    yield* Effect.addFinalizer(() => lockTable.withPermits(1)(release(fs, file, role)))
  }).pipe(lockTable.withPermits(1))

const readHolder = (fs: FileSystem.FileSystem, file: string) =>
  fs.readFileString(file).pipe(
    Effect.flatMap(Schema.decode(LockContent)),
    Effect.orElseSucceed(() => undefined)
  )

const isStale = (fs: FileSystem.FileSystem, file: string, _role: string): Effect.Effect<boolean> =>
  Effect.gen(function*() {
    const holder = yield* readHolder(fs, file)
    // Unreadable: it was removed in between (retry), or damaged by hand; locks are created whole.
    if (holder === undefined) return !(yield* fs.exists(file).pipe(Effect.orElseSucceed(() => true)))
    if (holder.hostname !== os.hostname()) return false
    if (holder.pid === process.pid) return held.get(file)?.token !== holder.token
    if (!isAlive(holder.pid)) return true
    if (holder.startTime === undefined) return false
    const now = yield* startTimeOf(fs, holder.pid)
    return now !== undefined && now !== holder.startTime
  })

const release = (fs: FileSystem.FileSystem, file: string, role: string): Effect.Effect<void> =>
  Effect.suspend(() => {
    const entry = held.get(file)
    if (entry === undefined) return Effect.void
    entry.roles.delete(role)
    if (entry.roles.size > 0) return Effect.void
    held.delete(file)
    return readHolder(fs, file).pipe(
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
    const content = yield* readHolder(fs, file)
    if (content === undefined) return undefined
    if (held.has(file)) return { pid: content.pid, hostname: content.hostname }
    const stale = yield* isStale(fs, file, "")
    return stale ? undefined : { pid: content.pid, hostname: content.hostname }
  })
