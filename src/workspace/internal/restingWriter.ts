/**
 * A JSONL writer that is dropped whole while its instance is at rest and opened again on the next use (the
 * instance's lock, taken before, stays held in the enclosing scope). `Jsonl.Writer.rest` only closes the
 * descriptor: the writer itself (its state and some twenty closures and effects, measured ~5 KB) stayed in
 * memory for every idle instance. Here an instance at rest keeps this holder and nothing else of its log.
 *
 * Uses go through `use`, which counts them: `rest` drops the writer only when no use is running, in the same
 * synchronous step as that check, so a use either sees the writer before it is dropped (and `rest` refuses)
 * or opens a new one. Nothing is queued on a writer outside a use, so a dropped writer has nothing pending.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Scope from "effect/Scope"
import type { StorageIoError } from "../AtomicFile.js"
import type { Writer } from "./jsonlWriter.js"

/**
 * The holder: a class, so an instance at rest costs one small object (its methods are shared, and no effect
 * is built until it is needed).
 *
 * @internal
 */
export class RestingWriter<A> {
  private writer: Writer<A> | undefined = undefined
  private writerScope: Scope.CloseableScope | undefined = undefined
  /** The open in progress, shared by the uses that need the writer meanwhile. */
  private opening: Deferred.Deferred<Writer<A>, StorageIoError> | undefined = undefined
  private users = 0

  constructor(
    private readonly parent: Scope.Scope,
    private readonly open: () => Effect.Effect<Writer<A>, StorageIoError, Scope.Scope>
  ) {}

  /** The writer, opened in a child scope of the enclosing one when it is at rest. */
  private openWriter(): Effect.Effect<Writer<A>, StorageIoError> {
    if (this.writer !== undefined) return Effect.succeed(this.writer)
    if (this.opening !== undefined) return Deferred.await(this.opening)
    const wait = Deferred.unsafeMake<Writer<A>, StorageIoError>(FiberId.none)
    this.opening = wait
    // Closing the child scope removes it from the parent: rest cycles leave nothing behind there.
    return Effect.flatMap(Scope.fork(this.parent, ExecutionStrategy.sequential), (own) =>
      this.open().pipe(
        Scope.extend(own),
        Effect.tap((opened) =>
          Effect.sync(() => {
            this.writer = opened
            this.writerScope = own
          })
        ),
        Effect.onError(() => Scope.close(own, Exit.void)),
        Effect.exit,
        Effect.flatMap((exit) => {
          this.opening = undefined
          Deferred.unsafeDone(wait, exit)
          return exit
        })
      )).pipe(Effect.uninterruptible)
  }

  /** Runs `f` on the writer, opening it (again) first when it is at rest. */
  use<B, E>(f: (writer: Writer<A>) => Effect.Effect<B, E>): Effect.Effect<B, E | StorageIoError> {
    return Effect.uninterruptibleMask((restore) =>
      Effect.suspend(() => {
        this.users++
        return Effect.ensuring(
          restore(Effect.flatMap(Effect.suspend(() => this.openWriter()), f)),
          Effect.sync(() => this.users--)
        )
      })
    )
  }

  /** Drops the writer (closes its scope) if no use is running and it is not being opened; `false` when busy. */
  rest(): Effect.Effect<boolean> {
    return Effect.suspend(() => {
      if (this.users > 0 || this.opening !== undefined) return Effect.succeed(false)
      const own = this.writerScope
      this.writer = undefined
      this.writerScope = undefined
      return own === undefined ? Effect.succeed(true) : Effect.as(Scope.close(own, Exit.void), true)
    }).pipe(Effect.uninterruptible)
  }
}

/**
 * Opens the writer now (so opening errors surface at once), in a child scope of the enclosing one. `open`
 * is called again for every reopening.
 *
 * @internal
 */
export const make = <A>(
  open: () => Effect.Effect<Writer<A>, StorageIoError, Scope.Scope>
): Effect.Effect<RestingWriter<A>, StorageIoError, Scope.Scope> =>
  Effect.flatMap(Effect.scope, (parent) => {
    const holder = new RestingWriter(parent, open)
    return Effect.as(holder.use(() => Effect.void), holder)
  })
