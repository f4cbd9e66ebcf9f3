/**
 * The batches of the JSONL append writer (see `jsonlWriter.ts`): the lines an appender queued with the
 * outcome of the batch that took them, and the buffer a batch is encoded into.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import type { StorageIoError } from "../AtomicFile.js"

/**
 * Lines queued by one appender (each ending with a newline).
 *
 * @internal
 */
export interface Pending {
  readonly text: string
  /** The outcome of the batch that took these lines, once it is known. */
  result: Exit.Exit<void, StorageIoError> | undefined
  /**
   * Made only when the appender has to wait for a batch written by another fiber (the uncontended leader
   * writes its own lines and reads `result`: no Deferred per append).
   */
  done: Deferred.Deferred<void, StorageIoError> | undefined
}

/** @internal */
export const pending = (text: string): Pending => ({ text, result: undefined, done: undefined })

/**
 * Records the outcome of the batch that took `item` and wakes its appender if it is waiting.
 *
 * @internal
 */
export const complete = (item: Pending, result: Exit.Exit<void, StorageIoError>): void => {
  item.result = result
  if (item.done !== undefined) Deferred.unsafeDone(item.done, result)
}

/**
 * Waits for the batch that takes (or took) `item`. Synchronous up to the await: the check and the making of
 * the Deferred cannot be separated by the batch completing.
 *
 * @internal
 */
export const awaitItem = (item: Pending): Effect.Effect<void, StorageIoError> =>
  Effect.suspend(() => {
    if (item.result !== undefined) return item.result
    item.done ??= Deferred.unsafeMake(FiberId.none)
    return Deferred.await(item.done)
  })

/** The largest encoding buffer a writer keeps between batches. */
const keptBufferBound = 1024 * 1024

/** @internal */
export interface BatchBuffer {
  /** The UTF-8 bytes of the items' lines, valid until the next `encode`. */
  readonly encode: (items: ReadonlyArray<Pending>) => Uint8Array
  /** Drops the kept buffer (a writer at rest or closed holds none). */
  readonly drop: () => void
}

/**
 * One encoding per batch: the lines are joined as text (cheap), then written as UTF-8 into a buffer the
 * writer keeps (one batch is in flight at a time, and the handle is done with the bytes when its append
 * completes), so a batch allocates no memory outside the heap. A batch larger than the kept buffer's bound
 * gets a buffer of its own.
 *
 * @internal
 */
export const makeBuffer = (): BatchBuffer => {
  const noBuffer = Buffer.allocUnsafeSlow(0)
  let scratch = noBuffer
  return {
    encode: (items) => {
      let text = ""
      for (const item of items) text += item.text
      // UTF-8 needs at most 3 bytes per UTF-16 code unit. The kept buffer grows to that bound (not to the
      // exact size: counting the bytes would walk the text once more on every batch of the usual size).
      const bound = text.length * 3
      if (bound > scratch.length) {
        if (bound <= keptBufferBound) {
          scratch = Buffer.allocUnsafeSlow(Math.min(keptBufferBound, Math.max(bound, 2 * scratch.length, 4096)))
        } else {
          const needed = Buffer.byteLength(text, "utf8")
          if (needed > scratch.length) {
            if (needed > keptBufferBound) return Buffer.from(text, "utf8")
            scratch = Buffer.allocUnsafeSlow(keptBufferBound)
          }
        }
      }
      return scratch.subarray(0, scratch.write(text, 0, "utf8"))
    },
    drop: () => {
      scratch = noBuffer
    }
  }
}
