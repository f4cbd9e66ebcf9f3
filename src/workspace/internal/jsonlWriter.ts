/**
 * The group-commit append writer of JSONL files (see `Jsonl`): opening the file, and the writer's operations.
 * Its parts:
 *
 * - `jsonlGroupCommit.ts`: the queue of lines, the batches that write them and who writes them (the state
 *   machine of a writer).
 * - `jsonlDescriptor.ts`: the descriptor, a resource of its own: `rest` closes it (and drops the encoding
 *   buffer) when the writer is idle (not writing, nothing pending or in flight, no truncate or replace
 *   running), and the next batch, truncate or replace opens it again. An idle instance of a store therefore
 *   holds no descriptor and no buffer, only the writer's state.
 * - `jsonlBatch.ts`: the lines of one appender and the buffer a batch is encoded into.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as path from "node:path"
import { io, makeDirectories, type StorageIoError, syncDirectory, write as writeAtomic } from "../AtomicFile.js"
import { DurableFile } from "./durableFile.js"
import type { Codec } from "./jsonlCodec.js"
import { Descriptor } from "./jsonlDescriptor.js"
import * as GroupCommit from "./jsonlGroupCommit.js"
import { readRange, repairTail } from "./jsonlReader.js"
import * as LeanScope from "./leanScope.js"

/**
 * An open append writer for one JSONL file.
 *
 * @since 0.1.0
 * @category models
 */
export interface Writer<A> {
  readonly file: string
  /** Appends records; returns once they are written (and on stable storage when the writer is durable). */
  readonly append: (records: ReadonlyArray<A>) => Effect.Effect<void, StorageIoError>
  /**
   * Queues records now (their order relative to other appends is fixed when this returns) and gives back
   * the effect that waits for them to be durable.
   */
  readonly enqueue: (records: ReadonlyArray<A>) => Effect.Effect<Effect.Effect<void, StorageIoError>>
  /**
   * Like `enqueue`, for lines already encoded by the caller (each ending with a newline), and queued at
   * once, when called (unsafe: the caller makes the call part of a synchronous step, e.g. numbering and
   * queueing in one `Effect.suspend`); returns the effect that waits for them to be durable. Nothing can
   * throw in here.
   */
  readonly unsafeEnqueueText: (text: string) => Effect.Effect<void, StorageIoError>
  /**
   * Replaces the file, atomically and durably, with its bytes from `offset` on (the records appended after
   * a compaction point) and goes on appending to the new file. Only call it when no append is in flight.
   */
  readonly replaceFrom: (offset: number) => Effect.Effect<void, StorageIoError>
  /** Waits until everything queued before this call is written (and durable). */
  readonly flush: Effect.Effect<void, StorageIoError>
  /** Cuts the file to zero bytes, durably. Only call it when no append is in flight. */
  readonly truncate: Effect.Effect<void, StorageIoError>
  /** Bytes appended by this writer since it was opened or truncated, plus the size it had when opened. */
  readonly size: Effect.Effect<number>
  /**
   * Closes the file descriptor and drops the encoding buffer if the writer is idle (nothing queued, no batch,
   * truncate or replace running); the next append opens the file again (`O_APPEND`: it goes on at the end).
   * Everything acknowledged before is already written (and durable when the writer is). Returns whether the
   * writer is now at rest; `false` when it was busy (nothing is closed then).
   */
  readonly rest: Effect.Effect<boolean>
}

/**
 * Opens an append writer (creating the file and its directory when missing, repairing a torn tail). The
 * writer lives as long as the scope; closing it waits for the batch being written, then fails appends still
 * queued. `durable: false` skips fsync (for caches and benchmarks).
 *
 * Concurrency: appends are queued in call order and written by one fiber at a time, so lines never
 * interleave. Group commit without a dedicated writer fiber: an appender that finds no write in progress
 * becomes the leader and writes everything queued (its own lines and whatever arrived before) with one
 * durable append of the `DurableFile` (by default one `write` on an `O_DSYNC` descriptor; through the
 * FileSystem, `write` + `fsync`); before a write on the calling thread it yields once, so appenders ready to
 * run join the batch; appenders arriving during a write on the thread pool wait, and the next batch (all of them) is
 * written by a fiber forked in the writer's scope once the leader's own lines are durable. An uncontended
 * append therefore costs one durable append, with no fiber hand-off.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Jsonl } from "effect-swarm"
 * const codec = Jsonl.codec(Schema.Struct({ n: Schema.Number }), { version: 1 })
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const w = yield* Jsonl.writer("/tmp/numbers.jsonl", codec)
 *   yield* w.append([{ n: 1 }, { n: 2 }]) // durable when this returns
 * }))
 * ```
 *
 * @since 0.1.0
 * @category writing
 */
export const writer = <A>(
  file: string,
  codec: Codec<A>,
  options?: {
    readonly durable?: boolean | undefined
    /**
     * After a failed write, fail every later append too (the caller reopens the writer). For callers that
     * number records before queueing them: records queued behind a failed batch would leave a gap.
     */
    readonly stopOnFailure?: boolean | undefined
  }
): Effect.Effect<Writer<A>, StorageIoError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const durableFile = yield* DurableFile
    const durable = options?.durable ?? true
    const dir = path.dirname(file)
    yield* makeDirectories(fs, dir, { durable })
    const existed = yield* fs.exists(file).pipe(io(file, "stat"))
    yield* repairTail(fs, file)
    const scope = yield* Effect.scope

    const descriptor = new Descriptor(durableFile, fs, file, durable)
    const commit = new GroupCommit.GroupCommit(file, descriptor, scope, options?.stopOnFailure === true)
    // Lean: the finalizer does not keep the opening fiber's FiberRefs alive as long as the writer lives.
    // Registered before the descriptor is opened: it lives in a scope of its own, which only this closes.
    yield* LeanScope.addFinalizer(() => Effect.zipRight(commit.close(), descriptor.close))

    const first = yield* descriptor.open.pipe(
      // The new directory entry must survive a crash too.
      Effect.tap((h) => !existed && durable ? Effect.zipRight(h.sync, syncDirectory(fs, dir)) : Effect.void),
      // A writer that fails to open holds no descriptor, not even until its scope closes.
      Effect.onError(() => descriptor.close)
    )
    commit.size = first.size

    const rest = Effect.suspend(() => {
      if (descriptor.using > 0 || !commit.unsafeRest()) return Effect.succeed(false)
      return Effect.as(descriptor.close, true)
    }).pipe(Effect.uninterruptible)

    const unsafeEnqueueText = (text: string) => commit.unsafeEnqueueText(text)

    const encode = (records: ReadonlyArray<A>): string => {
      let text = ""
      for (const record of records) text += codec.encode(record) + "\n"
      return text
    }

    const enqueue = (records: ReadonlyArray<A>) => Effect.sync(() => unsafeEnqueueText(encode(records)))

    const replaceFrom = (offset: number) =>
      Effect.suspend(() => {
        if (commit.closed) return Effect.fail(GroupCommit.closedError(file))
        return descriptor.use(Effect.gen(function*() {
          const tail = yield* readRange(fs, file, offset, commit.size)
          yield* writeAtomic(fs, file, tail, { tmp: `${file}.tmp` })
          // The descriptor still points at the replaced file: the next batch opens the new one.
          yield* descriptor.close
          commit.size = tail.length
        }))
      }).pipe(Effect.uninterruptible)

    return {
      file,
      enqueue,
      unsafeEnqueueText,
      replaceFrom,
      // Encoded and queued when run, in one synchronous step (as `enqueue`), then waited for.
      append: (records) => Effect.suspend(() => unsafeEnqueueText(encode(records))),
      flush: Effect.flatten(enqueue([])),
      // Never through a closed handle: its descriptor number may already belong to another open file.
      truncate: Effect.suspend(() =>
        commit.closed ?
          Effect.fail(GroupCommit.closedError(file)) :
          descriptor.use(Effect.flatMap(descriptor.open, (h) =>
            h.truncate(0).pipe(
              Effect.zipRight(durable ? h.sync : Effect.void),
              Effect.tap(() => Effect.sync(() => commit.size = 0))
            )))
      ),
      size: Effect.sync(() => commit.size),
      rest
    } satisfies Writer<A>
  })
