/**
 * The group-commit append writer of JSONL files (see `Jsonl`).
 *
 * State of one writer (the flags below; `pending` is the queue of lines not yet taken by a batch):
 *
 * ```text
 *              enqueue (pending += lines)
 *                      |
 *   idle: writing=false ---- an appender finds its lines still pending ----> leading: writing=true,
 *     ^                                                                      inflight=<batch>
 *     |                                                                          |
 *     |   batch done, nothing pending                  batch done, lines pending |
 *     +------------------------------------ hand off ------------------------- drain fiber:
 *                                                                             writing=true, batch after batch
 *   any state --- scope closes ---> closed=true: waits for `inflight`, fails what is still pending,
 *                                   closes the descriptor; every later enqueue fails ("writer closed")
 *   a failed write that cannot be cut back ---> broken=<error>: every later batch fails with it
 * ```
 *
 * The descriptor (`handle`) is a resource of its own, independent of those flags: `rest` closes it (and drops
 * the encoding buffer) when the writer is idle (not writing, nothing pending or in flight, no truncate or
 * replace running: `using === 0`), and the next batch, truncate or replace opens it again (`openHandle`,
 * one `open` + `fstat`; concurrent openers share one open). An idle instance of a store therefore holds no
 * descriptor and no buffer, only the writer's state.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Scope from "effect/Scope"
import * as path from "node:path"
import { io, makeDirectories, StorageIoError, syncDirectory, write as writeAtomic } from "../AtomicFile.js"
import { DurableFile, type Handle } from "./durableFile.js"
import * as JsonlBatch from "./jsonlBatch.js"
import type { Codec } from "./jsonlCodec.js"
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

const closedError = (file: string) =>
  new StorageIoError({ file, operation: "append", cause: new Error("writer closed") })

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

    // The descriptor, when open, lives in a scope of its own (not a child of the writer's: the writer closes
    // it itself, after the batch in flight), so `rest` and `replaceFrom` can close it and a later batch open
    // the file again. `opening` is the open in progress, shared by whoever needs the handle meanwhile.
    let handle: Handle | undefined
    let handleScope: Scope.CloseableScope | undefined
    let opening: Deferred.Deferred<Handle, StorageIoError> | undefined
    // Batches, truncates and replaces using the handle now: `rest` leaves it open meanwhile.
    let using = 0
    const openHandle: Effect.Effect<Handle, StorageIoError> = Effect.suspend(() => {
      if (handle !== undefined) return Effect.succeed(handle)
      if (opening !== undefined) return Deferred.await(opening)
      const wait = Deferred.unsafeMake<Handle, StorageIoError>(FiberId.none)
      opening = wait
      const handleOpen = Effect.flatMap(Scope.make(ExecutionStrategy.sequential), (opened) =>
        durableFile.open(fs, file, { durable }).pipe(
          Scope.extend(opened),
          Effect.tap((h) =>
            Effect.sync(() => {
              handle = h
              handleScope = opened
            })
          ),
          Effect.onError(() =>
            Scope.close(opened, Exit.void)
          )
        ))
      return handleOpen.pipe(
        Effect.exit,
        Effect.flatMap((exit) => {
          opening = undefined
          Deferred.unsafeDone(wait, exit)
          return exit
        }),
        Effect.uninterruptible
      )
    })
    // Closes the descriptor now (it is reopened when needed). Only when nothing uses it.
    const closeHandle = Effect.suspend(() => {
      const opened = handleScope
      handle = undefined
      handleScope = undefined
      return opened === undefined ? Effect.void : Scope.close(opened, Exit.void)
    })

    const first = yield* openHandle
    let size = first.size
    if (!existed && durable) {
      // The new directory entry must survive a crash too.
      yield* first.sync
      yield* syncDirectory(fs, dir)
    }

    // Lines queued and not yet taken by a batch, in call order.
    let pending: Array<JsonlBatch.Pending> = []
    // True while a leader (an appender or the drain fiber) owns the file.
    let writing = false
    // True while a batch is being written; the finalizer waits for it (through `batchDone`, made only then).
    let inflight = false
    let batchDone: Deferred.Deferred<void> | undefined
    let closed = false
    // Set after a failed write that could not be cut back: every later append fails with it.
    let broken: StorageIoError | undefined

    // The batch's bytes: one buffer kept between batches (see `jsonlBatch.ts`).
    const buffer = JsonlBatch.makeBuffer()

    // Records the outcome of a batch for its appenders and releases the file's batch state.
    const finish = (items: ReadonlyArray<JsonlBatch.Pending>, result: Exit.Exit<void, StorageIoError>): void => {
      for (const item of items) JsonlBatch.complete(item, result)
      inflight = false
      using--
      if (batchDone !== undefined) {
        Deferred.unsafeDone(batchDone, Exit.void)
        batchDone = undefined
      }
    }

    // A failed write may have left part of a line: cut it, or refuse further appends if we cannot. (A
    // failed open wrote nothing: `h` is then undefined, and only a writer that must stop on any failure stops.)
    const failBatch = (
      items: ReadonlyArray<JsonlBatch.Pending>,
      h: Handle | undefined,
      before: number,
      error: StorageIoError
    ): Effect.Effect<void> =>
      (h === undefined
        ? Effect.void
        : h.truncate(before).pipe(Effect.catchAll(() => Effect.sync(() => broken = error))))
        .pipe(Effect.zipRight(Effect.sync(() => {
          if (options?.stopOnFailure === true) broken = error
          finish(items, Exit.fail(error))
        })))

    // Takes everything queued now as one batch and encodes it; `undefined` when the writer closed meanwhile.
    const takeBatch = ():
      | { readonly items: ReadonlyArray<JsonlBatch.Pending>; readonly bytes: Uint8Array }
      | undefined =>
    {
      const items = pending
      pending = []
      // The scope may have closed between taking the file and this batch (another fiber ran the
      // finalizer at a yield): the descriptor is gone, and may already belong to another file.
      if (closed) {
        for (const item of items) JsonlBatch.complete(item, Exit.fail(closedError(file)))
        return undefined
      }
      const bytes = buffer.encode(items)
      inflight = true
      using++
      return { items, bytes }
    }

    // Writes one batch (everything queued now) and completes its appenders. Uninterruptible: a batch is
    // either written and acknowledged, or failed and cut back.
    //
    // The hot path (the file open, not broken, something to write, a handle with `unsafeAppend`) is one
    // `Effect.async` around one libuv request whose callback completes the batch; `then` runs after it.
    const writeBatch = <X, E>(then: () => Effect.Effect<X, E>): Effect.Effect<X, E> =>
      Effect.suspend(() => {
        const batch = takeBatch()
        if (batch === undefined) return then()
        const { bytes, items } = batch
        const before = size
        const h = handle
        if (broken === undefined && bytes.length > 0 && h?.unsafeAppend !== undefined) {
          const unsafeAppend = h.unsafeAppend
          return Effect.async<X, E>((resume) =>
            unsafeAppend(bytes, (error) => {
              if (error === undefined) {
                size += bytes.length
                finish(items, Exit.void)
                resume(then())
              } else {
                resume(Effect.zipRight(failBatch(items, h, before, error), Effect.suspend(then)))
              }
            })
          )
        }
        // Nothing to write (a flush): every earlier batch completed before this one started, durably (and no
        // descriptor is needed for it).
        let opened: Handle | undefined
        const write: Effect.Effect<void, StorageIoError> = broken !== undefined
          ? Effect.fail(broken)
          : bytes.length === 0
          ? Effect.void
          : Effect.flatMap(openHandle, (o) => {
            opened = o
            return o.append(bytes)
          })
        return write.pipe(
          Effect.matchEffect({
            onFailure: (error) => failBatch(items, opened, before, error),
            onSuccess: () =>
              Effect.sync(() => {
                size += bytes.length
                finish(items, Exit.void)
              })
          }),
          Effect.zipRight(Effect.suspend(then))
        )
      }).pipe(Effect.uninterruptible)

    // Writes batches until nothing is queued, then gives up the file. Interruptible between batches (closing
    // the scope stops it).
    const drain: Effect.Effect<void> = Effect.suspend(() => {
      if (pending.length === 0 || closed) {
        writing = false
        return Effect.void
      }
      return Effect.zipRight(joined(writeBatch(() => Effect.void)), drain)
    })

    // Before a batch that may be written on the calling thread (which blocks it until durable, so nothing
    // can queue behind a write in flight): the batch is announced (so writers of other files taking theirs
    // meanwhile send both to the thread pool), then one yield, so the appenders ready to run join it.
    const joined = <X, E>(batch: Effect.Effect<X, E>): Effect.Effect<X, E> => {
      const h = handle
      if (h?.announce === undefined || h.blocking?.() !== true) return batch
      return Effect.suspend(() => {
        const withdraw = h.announce!()
        return Effect.ensuring(Effect.zipRight(Effect.yieldNow(), batch), Effect.sync(withdraw))
      })
    }

    // From taking the file (`writing = true`) to handing it off, the leader cannot be interrupted: an
    // interruption in between would leave `writing` set with nobody writing, and every later append would
    // wait forever. Only the wait for its own lines is interruptible.
    const waitFor = (own: JsonlBatch.Pending): Effect.Effect<void, StorageIoError> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.suspend(() => {
          // Still queued and nobody writing: lead. Otherwise a batch has it, or the running leader or drain
          // fiber will take it before giving up the file.
          if (!writing && pending.includes(own)) {
            writing = true
            // After the leader's batch (which took `own`, so its result is known): give up the file, or hand
            // what arrived meanwhile to a drain fiber, so a leader never waits for lines queued after its own.
            return joined(writeBatch(() => {
              if (pending.length > 0 && !closed) {
                return Effect.zipRight(
                  Effect.forkIn(Effect.interruptible(drain), scope),
                  restore(JsonlBatch.awaitItem(own))
                )
              }
              writing = false
              return own.result ?? restore(JsonlBatch.awaitItem(own))
            }))
          }
          return restore(JsonlBatch.awaitItem(own))
        })
      )

    // Lean: the finalizer does not keep the opening fiber's FiberRefs alive as long as the writer lives.
    yield* LeanScope.addFinalizer(() =>
      Effect.suspend(() => {
        closed = true
        if (!inflight) return Effect.void
        batchDone ??= Deferred.unsafeMake<void>(FiberId.none)
        return Deferred.await(batchDone)
      }).pipe(
        Effect.zipRight(Effect.sync(() => {
          const rest = pending
          pending = []
          for (const item of rest) JsonlBatch.complete(item, Exit.fail(closedError(file)))
          buffer.drop()
        })),
        Effect.zipRight(closeHandle)
      )
    )

    const rest = Effect.suspend(() => {
      if (closed || writing || using > 0 || inflight || pending.length > 0) return Effect.succeed(false)
      buffer.drop()
      return Effect.as(closeHandle, true)
    }).pipe(Effect.uninterruptible)

    const unsafeEnqueueText = (text: string): Effect.Effect<void, StorageIoError> => {
      if (closed) return Effect.fail(closedError(file))
      const own = JsonlBatch.pending(text)
      pending.push(own)
      return waitFor(own)
    }

    const encode = (records: ReadonlyArray<A>): string => {
      let text = ""
      for (const record of records) text += codec.encode(record) + "\n"
      return text
    }

    const enqueue = (records: ReadonlyArray<A>) => Effect.sync(() => unsafeEnqueueText(encode(records)))

    // Marks the handle as in use for the time of `effect` (see `rest`).
    const usingHandle = <X, E>(effect: Effect.Effect<X, E>): Effect.Effect<X, E> =>
      Effect.suspend(() => {
        using++
        return Effect.ensuring(effect, Effect.sync(() => using--))
      })

    const replaceFrom = (offset: number) =>
      Effect.suspend(() => {
        if (closed) return Effect.fail(closedError(file))
        return usingHandle(Effect.gen(function*() {
          const tail = yield* readRange(fs, file, offset, size)
          yield* writeAtomic(fs, file, tail, { tmp: `${file}.tmp` })
          // The descriptor still points at the replaced file: the next batch opens the new one.
          yield* closeHandle
          size = tail.length
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
        closed ? Effect.fail(closedError(file)) : usingHandle(Effect.flatMap(openHandle, (h) =>
          h.truncate(0).pipe(
            Effect.zipRight(durable ? h.sync : Effect.void),
            Effect.tap(() => Effect.sync(() => size = 0))
          )))
      ),
      size: Effect.sync(() => size),
      rest
    } satisfies Writer<A>
  })
