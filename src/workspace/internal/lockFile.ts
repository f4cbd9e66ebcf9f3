/**
 * The lock file of `InstanceLock` on disk: its content (pid, hostname, token, start time), its exclusive
 * creation (a hard link of a complete temp file), reading its holder, whether that holder is gone, the
 * atomic takeover of a stale lock, and the sweep of what crashed lock-takers left beside it.
 */
import type { PlatformError } from "@effect/platform/Error"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import * as os from "node:os"
import * as path from "node:path"
import { io, type StorageIoError } from "../AtomicFile.js"

export const LockContent = Schema.parseJson(Schema.Struct({
  pid: Schema.Number,
  hostname: Schema.String,
  token: Schema.String,
  startTime: Schema.optionalWith(Schema.String, { exact: true }),
  acquiredAt: Schema.String
}))

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

// Linux: the start time (clock ticks since boot) tells a reused pid from the original process.
export const startTimeOf = (fs: FileSystem.FileSystem, pid: number): Effect.Effect<string | undefined> =>
  process.platform !== "linux"
    ? Effect.succeed(undefined)
    : fs.readFileString(`/proc/${pid}/stat`).pipe(
      Effect.map((stat) => stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]),
      Effect.orElseSucceed(() => undefined)
    )

export const makeToken = Effect.gen(function*() {
  let token = ""
  for (let i = 0; i < 16; i++) token += (yield* Random.nextIntBetween(0, 16)).toString(16)
  return token
})

const exists = (e: PlatformError) => e._tag === "SystemError" && e.reason === "AlreadyExists"

// Creates `target` holding `content` only if no file has that name: a hard link of the complete temp file
// (so it is never seen half-written), or an exclusive create where hard links are not supported.
export const createExclusive = (fs: FileSystem.FileSystem, target: string, tmp: string, content: string) =>
  fs.link(tmp, target).pipe(
    Effect.as(true),
    Effect.catchAll((e) =>
      exists(e)
        ? Effect.succeed(false)
        // File systems without hard links (some network and FAT volumes): exclusive create instead,
        // which can expose an empty lock for an instant (readers treat an unreadable lock as held).
        : fs.writeFileString(target, content, { flag: "wx" }).pipe(
          Effect.as(true),
          Effect.catchIf(exists, () => Effect.succeed(false))
        )
    ),
    io(target, "create lock")
  )

export interface Mine {
  readonly tmp: string
  readonly content: string
}

export type Takeover = "ok" | "busy" | "retry"

/**
 * Replaces `target`, whose holder (token `stale`) is dead, with our lock. Atomic against any number of
 * processes doing the same: only the creator of the claim file `<target>.takeover-<stale>` may replace a
 * file that still holds `stale` (the claim name is unique to that dead holder, and exclusive create lets
 * one process have it). The winner re-reads the target (it may have been replaced already), removes it
 * and creates its own, which fails if a newcomer created the lock in between (the newcomer then holds it).
 * A claimant that died holding the claim is itself replaced the same way, one level down.
 */
export const takeOver = (
  fs: FileSystem.FileSystem,
  target: string,
  stale: string,
  mine: Mine,
  depth: number
): Effect.Effect<Takeover, StorageIoError> =>
  Effect.gen(function*() {
    if (depth > 8) return "busy"
    const claim = `${target}.takeover-${stale}`
    if (!(yield* createExclusive(fs, claim, mine.tmp, mine.content))) {
      const claimant = yield* readHolder(fs, claim)
      if (claimant === undefined) return "retry"
      if (!(yield* isStale(fs, claimant, undefined))) return "busy"
      const below = yield* takeOver(fs, claim, claimant.token, mine, depth + 1)
      if (below !== "ok") return below
    }
    // The claim is ours: nobody else may replace a target that still holds `stale`.
    return yield* Effect.gen(function*() {
      const current = yield* readHolder(fs, target)
      if (current?.token !== stale) return "retry" as const
      yield* fs.remove(target).pipe(io(target, "remove stale lock"))
      return (yield* createExclusive(fs, target, mine.tmp, mine.content)) ? "ok" as const : "retry" as const
    }).pipe(Effect.ensuring(fs.remove(claim, { force: true }).pipe(Effect.ignore)))
  })

/**
 * Removes what crashed lock-takers left beside `file`, once we hold it (`token` is ours):
 * - claim files `<file>.takeover-<t>...` for any token `t` but ours: a claim only lets its creator replace
 *   a lock that still holds `t`, and the lock holds our token now, so the claim can do nothing (a live
 *   claimant finds the lock changed and gives up, its `remove` of the claim tolerating a missing file);
 * - temp files `<file>.<pid>.<token>` of processes that are gone (a live process's may be in use).
 * Best effort: a file that cannot be removed stays, as harmless as before.
 */
export const sweep = (fs: FileSystem.FileSystem, file: string, token: string): Effect.Effect<void> =>
  Effect.gen(function*() {
    const dir = path.dirname(file)
    const name = path.basename(file)
    const names = yield* fs.readDirectory(dir).pipe(Effect.orElseSucceed((): ReadonlyArray<string> => []))
    const claim = `${name}.takeover-`
    // A claim names the token it was made against; a temp file is `<name>.<pid>.<token>`.
    const leftover = (entry: string): boolean => {
      if (entry.startsWith(claim)) return !entry.slice(claim.length).startsWith(token)
      if (!entry.startsWith(`${name}.`)) return false
      const temp = /^(\d+)\.[0-9a-f]+$/.exec(entry.slice(name.length + 1))
      if (temp === null) return false
      const pid = Number(temp[1])
      return pid !== process.pid && !isAlive(pid)
    }
    for (const entry of names) {
      if (!leftover(entry)) continue
      yield* fs.remove(path.join(dir, entry), { force: true }).pipe(
        Effect.tap(() => Effect.logDebug(`removed ${entry}, left beside ${file} by a crashed lock taker`)),
        Effect.ignore
      )
    }
  })

export const readHolder = (fs: FileSystem.FileSystem, file: string) =>
  fs.readFileString(file).pipe(
    Effect.flatMap(Schema.decode(LockContent)),
    Effect.orElseSucceed(() => undefined)
  )

/**
 * Whether a lock's holder is gone. Another host's lock is never stale (its pids mean nothing here). Our
 * own pid is stale only when the recorded start time differs from ours (a previous incarnation with the
 * same pid, e.g. pid 1 in a restarted container); without a recorded start time, when the token is not one
 * this process holds. `heldToken` reads the token this process holds for the lock (undefined for takeover
 * claims).
 */
export const isStale = (
  fs: FileSystem.FileSystem,
  holder: typeof LockContent.Type,
  heldToken: (() => string | undefined) | undefined
): Effect.Effect<boolean> =>
  Effect.gen(function*() {
    if (holder.hostname !== os.hostname()) return false
    if (holder.pid === process.pid) {
      const ours = yield* startTimeOf(fs, process.pid)
      if (holder.startTime !== undefined && ours !== undefined) return holder.startTime !== ours
      return heldToken === undefined ? false : heldToken() !== holder.token
    }
    if (!isAlive(holder.pid)) return true
    if (holder.startTime === undefined) return false
    const now = yield* startTimeOf(fs, holder.pid)
    return now !== undefined && now !== holder.startTime
  })
