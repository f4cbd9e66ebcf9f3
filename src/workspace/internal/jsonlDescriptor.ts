/**
 * The descriptor of a JSONL append writer (see `jsonlWriter.ts`): a resource of its own, independent of the
 * writer's batch state. `close` drops it (when the writer rests, or after a replace: the descriptor still
 * points at the replaced file), and the next batch, truncate or replace opens it again (`open`, one `open` +
 * `fstat`; concurrent openers share one open). An idle writer therefore holds no descriptor.
 *
 * @internal
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Scope from "effect/Scope"
import type { StorageIoError } from "../AtomicFile.js"
import type { Handle, Service } from "./durableFile.js"

/**
 * The descriptor of one file, open or not. A class: the writer reads `handle` and counts `using` on its hot
 * path, in place.
 *
 * @internal
 */
export class Descriptor {
  /** The handle, while the file is open. */
  handle: Handle | undefined = undefined
  /**
   * Batches, truncates and replaces using the handle now: the writer leaves it open meanwhile (see
   * {@link use}; a batch counts itself from taking its lines to completing them).
   */
  using = 0
  // The handle, when open, lives in a scope of its own (not a child of the writer's: the writer closes it
  // itself, after the batch in flight), so it can be closed and a later batch open the file again.
  private handleScope: Scope.CloseableScope | undefined = undefined
  // The open in progress, shared by whoever needs the handle meanwhile.
  private opening: Deferred.Deferred<Handle, StorageIoError> | undefined = undefined

  constructor(
    private readonly durableFile: Service,
    private readonly fs: FileSystem.FileSystem,
    private readonly file: string,
    private readonly durable: boolean
  ) {}

  /** The handle: the open one, the open in progress, or a new open. */
  readonly open: Effect.Effect<Handle, StorageIoError> = Effect.suspend(() => {
    if (this.handle !== undefined) return Effect.succeed(this.handle)
    if (this.opening !== undefined) return Deferred.await(this.opening)
    const wait = Deferred.unsafeMake<Handle, StorageIoError>(FiberId.none)
    this.opening = wait
    const handleOpen = Effect.flatMap(
      Scope.make(ExecutionStrategy.sequential),
      (opened) =>
        this.durableFile.open(this.fs, this.file, { durable: this.durable }).pipe(
          Scope.extend(opened),
          Effect.tap((h) =>
            Effect.sync(() => {
              this.handle = h
              this.handleScope = opened
            })
          ),
          Effect.onError(() => Scope.close(opened, Exit.void))
        )
    )
    return handleOpen.pipe(
      Effect.exit,
      Effect.flatMap((exit) => {
        this.opening = undefined
        Deferred.unsafeDone(wait, exit)
        return exit
      }),
      Effect.uninterruptible
    )
  })

  /** Closes the descriptor now (it is reopened when needed). Only when nothing uses it. */
  readonly close: Effect.Effect<void> = Effect.suspend(() => {
    const opened = this.handleScope
    this.handle = undefined
    this.handleScope = undefined
    return opened === undefined ? Effect.void : Scope.close(opened, Exit.void)
  })

  /** Marks the handle as in use for the time of `effect`. */
  use<X, E>(effect: Effect.Effect<X, E>): Effect.Effect<X, E> {
    return Effect.suspend(() => {
      this.using++
      return Effect.ensuring(effect, Effect.sync(() => this.using--))
    })
  }
}
