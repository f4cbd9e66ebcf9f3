/**
 * The group commit of a JSONL append writer (see `jsonlWriter.ts`): the queue of lines, the batches that
 * write them, and who writes them.
 *
 * State (the flags below; `pending` is the queue of lines not yet taken by a batch):
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
 * The descriptor (`jsonlDescriptor.ts`) is a resource of its own, independent of those flags: a batch opens
 * it when it is closed, and counts itself in its `using` from taking its lines to completing them.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import type * as Scope from "effect/Scope"
import { StorageIoError } from "../AtomicFile.js"
import type { Handle } from "./durableFile.js"
import * as JsonlBatch from "./jsonlBatch.js"
import type { Descriptor } from "./jsonlDescriptor.js"

/**
 * What an append, truncate or replace of a closed writer fails with.
 *
 * @internal
 */
export const closedError = (file: string) =>
  new StorageIoError({ file, operation: "append", cause: new Error("writer closed") })

/**
 * The group commit of the writer of `file`, writing through `descriptor`; drain fibers are forked in `scope`
 * (the writer's).
 *
 * Group commit without a dedicated writer fiber: an appender that finds no write in progress becomes the
 * leader and writes everything queued (its own lines and whatever arrived before) with one durable append;
 * before a write on the calling thread it yields once, so appenders ready to run join the batch; appenders
 * arriving during a write on the thread pool wait, and the next batch (all of them) is written by a fiber
 * forked in the writer's scope once the leader's own lines are durable.
 *
 * A class: every open writer has one, and its methods are shared. As closures over the writer's state (before
 * this module was split from `jsonlWriter.ts`), they cost every open writer their own copies: measured on the
 * compiled package, a writer at rest retained 4.7 KB then, 5.2 KB as closures in a module of their own, 4.5 KB
 * as this class.
 *
 * @internal
 */
export class GroupCommit {
  /** The file's size: its size when opened, plus the bytes appended since (set after a truncate or replace). */
  size = 0
  /** Set when the writer's scope closes: every later enqueue fails ("writer closed"). */
  closed = false
  // Lines queued and not yet taken by a batch, in call order.
  private pending: Array<JsonlBatch.Pending> = []
  // True while a leader (an appender or the drain fiber) owns the file.
  private writing = false
  // True while a batch is being written; the finalizer waits for it (through `batchDone`, made only then).
  private inflight = false
  private batchDone: Deferred.Deferred<void> | undefined = undefined
  // Set after a failed write that could not be cut back: every later append fails with it.
  private broken: StorageIoError | undefined = undefined
  // The batch's bytes: one buffer kept between batches (see `jsonlBatch.ts`).
  private readonly buffer = JsonlBatch.makeBuffer()

  constructor(
    private readonly file: string,
    private readonly descriptor: Descriptor,
    private readonly scope: Scope.Scope,
    private readonly stopOnFailure: boolean
  ) {}

  /**
   * Queues lines already encoded (each ending with a newline) at once, when called, and returns the effect that
   * waits for them to be written (see `Writer.unsafeEnqueueText`).
   */
  unsafeEnqueueText(text: string): Effect.Effect<void, StorageIoError> {
    if (this.closed) return Effect.fail(closedError(this.file))
    const own = JsonlBatch.pending(text)
    this.pending.push(own)
    return this.waitFor(own)
  }

  /**
   * When idle (not closed, nothing queued, no batch running), drops the encoding buffer and returns `true`;
   * otherwise `false`, and nothing is dropped.
   */
  unsafeRest(): boolean {
    if (this.closed || this.writing || this.inflight || this.pending.length > 0) return false
    this.buffer.drop()
    return true
  }

  /**
   * The writer's finalizer up to the descriptor: marks the writer closed, waits for the batch in flight, then
   * fails the lines still queued and drops the encoding buffer. Built when called.
   */
  close(): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.closed = true
      if (!this.inflight) return Effect.void
      this.batchDone ??= Deferred.unsafeMake<void>(FiberId.none)
      return Deferred.await(this.batchDone)
    }).pipe(
      Effect.zipRight(Effect.sync(() => {
        const rest = this.pending
        this.pending = []
        for (const item of rest) JsonlBatch.complete(item, Exit.fail(closedError(this.file)))
        this.buffer.drop()
      }))
    )
  }

  // Records the outcome of a batch for its appenders and releases the file's batch state.
  private finish(items: ReadonlyArray<JsonlBatch.Pending>, result: Exit.Exit<void, StorageIoError>): void {
    for (const item of items) JsonlBatch.complete(item, result)
    this.inflight = false
    this.descriptor.using--
    if (this.batchDone !== undefined) {
      Deferred.unsafeDone(this.batchDone, Exit.void)
      this.batchDone = undefined
    }
  }

  // A failed write may have left part of a line: cut it, or refuse further appends if we cannot. (A
  // failed open wrote nothing: `h` is then undefined, and only a writer that must stop on any failure stops.)
  private failBatch(
    items: ReadonlyArray<JsonlBatch.Pending>,
    h: Handle | undefined,
    before: number,
    error: StorageIoError
  ): Effect.Effect<void> {
    return (h === undefined
      ? Effect.void
      : h.truncate(before).pipe(Effect.catchAll(() => Effect.sync(() => this.broken = error))))
      .pipe(Effect.zipRight(Effect.sync(() => {
        if (this.stopOnFailure) this.broken = error
        this.finish(items, Exit.fail(error))
      })))
  }

  // Takes everything queued now as one batch and encodes it; `undefined` when the writer closed meanwhile.
  private takeBatch():
    | { readonly items: ReadonlyArray<JsonlBatch.Pending>; readonly bytes: Uint8Array }
    | undefined
  {
    const items = this.pending
    this.pending = []
    // The scope may have closed between taking the file and this batch (another fiber ran the
    // finalizer at a yield): the descriptor is gone, and may already belong to another file.
    if (this.closed) {
      for (const item of items) JsonlBatch.complete(item, Exit.fail(closedError(this.file)))
      return undefined
    }
    const bytes = this.buffer.encode(items)
    this.inflight = true
    this.descriptor.using++
    return { items, bytes }
  }

  // Writes one batch (everything queued now) and completes its appenders. Uninterruptible: a batch is
  // either written and acknowledged, or failed and cut back.
  //
  // The hot path (the file open, not broken, something to write, a handle with `unsafeAppend`) is one
  // `Effect.async` around one libuv request whose callback completes the batch; `then` runs after it.
  private writeBatch<X, E>(then: () => Effect.Effect<X, E>): Effect.Effect<X, E> {
    return Effect.suspend(() => {
      const batch = this.takeBatch()
      if (batch === undefined) return then()
      const { bytes, items } = batch
      const before = this.size
      const h = this.descriptor.handle
      if (this.broken === undefined && bytes.length > 0 && h?.unsafeAppend !== undefined) {
        const unsafeAppend = h.unsafeAppend
        return Effect.async<X, E>((resume) =>
          unsafeAppend(bytes, (error) => {
            if (error === undefined) {
              this.size += bytes.length
              this.finish(items, Exit.void)
              resume(then())
            } else {
              resume(Effect.zipRight(this.failBatch(items, h, before, error), Effect.suspend(then)))
            }
          })
        )
      }
      // Nothing to write (a flush): every earlier batch completed before this one started, durably (and no
      // descriptor is needed for it).
      let opened: Handle | undefined
      const write: Effect.Effect<void, StorageIoError> = this.broken !== undefined
        ? Effect.fail(this.broken)
        : bytes.length === 0
        ? Effect.void
        : Effect.flatMap(this.descriptor.open, (o) => {
          opened = o
          return o.append(bytes)
        })
      return write.pipe(
        Effect.matchEffect({
          onFailure: (error) => this.failBatch(items, opened, before, error),
          onSuccess: () =>
            Effect.sync(() => {
              this.size += bytes.length
              this.finish(items, Exit.void)
            })
        }),
        Effect.zipRight(Effect.suspend(then))
      )
    }).pipe(Effect.uninterruptible)
  }

  // Writes batches until nothing is queued, then gives up the file. Interruptible between batches (closing
  // the scope stops it).
  private readonly drain: Effect.Effect<void> = Effect.suspend(() => {
    if (this.pending.length === 0 || this.closed) {
      this.writing = false
      return Effect.void
    }
    return Effect.zipRight(this.joined(this.writeBatch(() => Effect.void)), this.drain)
  })

  // Before a batch that may be written on the calling thread (which blocks it until durable, so nothing
  // can queue behind a write in flight): the batch is announced (so writers of other files taking theirs
  // meanwhile send both to the thread pool), then one yield, so the appenders ready to run join it.
  private joined<X, E>(batch: Effect.Effect<X, E>): Effect.Effect<X, E> {
    const h = this.descriptor.handle
    if (h?.announce === undefined || h.blocking?.() !== true) return batch
    return Effect.suspend(() => {
      const withdraw = h.announce!()
      return Effect.ensuring(Effect.zipRight(Effect.yieldNow(), batch), Effect.sync(withdraw))
    })
  }

  // From taking the file (`writing = true`) to handing it off, the leader cannot be interrupted: an
  // interruption in between would leave `writing` set with nobody writing, and every later append would
  // wait forever. Only the wait for its own lines is interruptible.
  private waitFor(own: JsonlBatch.Pending): Effect.Effect<void, StorageIoError> {
    return Effect.uninterruptibleMask((restore) =>
      Effect.suspend(() => {
        // Still queued and nobody writing: lead. Otherwise a batch has it, or the running leader or drain
        // fiber will take it before giving up the file.
        if (!this.writing && this.pending.includes(own)) {
          this.writing = true
          // After the leader's batch (which took `own`, so its result is known): give up the file, or hand
          // what arrived meanwhile to a drain fiber, so a leader never waits for lines queued after its own.
          return this.joined(this.writeBatch(() => {
            if (this.pending.length > 0 && !this.closed) {
              return Effect.zipRight(
                Effect.forkIn(Effect.interruptible(this.drain), this.scope),
                restore(JsonlBatch.awaitItem(own))
              )
            }
            this.writing = false
            return own.result ?? restore(JsonlBatch.awaitItem(own))
          }))
        }
        return restore(JsonlBatch.awaitItem(own))
      })
    )
  }
}
