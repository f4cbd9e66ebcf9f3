/**
 * Compaction of an open instance: fold the events up to a point into a new snapshot while appends go on,
 * then publish it. Three phases:
 *
 * 1. Under the append permit: flush the writer and note the point (last seq, byte size of `events.jsonl`).
 * 2. Without it (appends continue): read the snapshot and the events up to that byte, fold, write
 *    `base.jsonl.tmp` and fsync it. Interruptible: closing the instance cancels it here, leaving only the
 *    temp file (cleared on the next open).
 * 3. Under the append permit, uninterruptible: flush, rename the temp over `base.jsonl`, fsync the
 *    directory, then replace `events.jsonl` with its bytes after the point (by rename as well).
 *
 * After any step a crash loads the same conversation: events at or below the snapshot's seq are skipped.
 * Readers see files only renamed, never rewritten in place (see `snapshot.ts` for how they stay
 * consistent). Automatic compactions run this in a fiber of the instance's scope, after the append that
 * triggered them has been acknowledged.
 *
 * @internal
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import * as Conversation from "../../conversation/Conversation.js"
import type * as MessageEvent from "../../conversation/MessageEvent.js"
import { io, syncDirectory } from "../AtomicFile.js"
import type * as Jsonl from "../Jsonl.js"
import type { StorageCorrupt, StorageUnavailable } from "../StorageError.js"
import type * as WorkspacePaths from "../WorkspacePaths.js"
import { readFiles, seqCorrupt, snapshotText, writeDurably } from "./snapshot.js"
import { fromIo } from "./storageErrors.js"

/** An instance open for writing. @internal */
export interface Open {
  readonly paths: WorkspacePaths.InstancePaths
  readonly writer: Jsonl.Writer<MessageEvent.MessageEvent>
  /**
   * Held by compaction to note its point and to replace the files (see {@link exclusive}). An append
   * numbers and queues its events in one synchronous step (the queue order is the file order), so it
   * takes the permit only while compaction is marked in `exclusive`.
   */
  readonly permit: Effect.Semaphore
  /** How many holders of `permit` appends must wait for (compaction's exclusive phases). */
  exclusive: number
  /** One compaction at a time. */
  readonly compactLock: Effect.Semaphore
  /** The instance's scope: an automatic compaction runs in a fiber of it. */
  readonly scope: Scope.Scope
  lastSeq: number
  /**
   * The ids of the current messages (unique: `append` claims the ids of its events here, see
   * `messageIds.ts`). Compaction does not change them.
   */
  readonly ids: Set<string>
  /** The seq of the snapshot. */
  baseSeq: number
  /** Size of `base.jsonl`, for the compaction policy. */
  baseBytes: number
  /** The seq of the last `replace` / `remove` / `truncate`: after the snapshot, there is dead data. */
  lastDeadSeq: number
  /** Automatic compaction failed once: not retried until the instance reopens (the error was logged). */
  autoCompactFailed: boolean
  /** The automatic compaction running now. */
  background: Fiber.RuntimeFiber<void> | undefined
}

/** @internal */
export interface Policy {
  readonly minBytes: number
  readonly ratio: number
}

/**
 * Runs `effect` holding the append permit and marked in `inst.exclusive`, so appends wait for it: from the
 * mark on, no append numbers or queues anything until `effect` is done. (An append that ran between the
 * permit being taken and the mark ran before `effect` began, which is the same as before the permit.)
 *
 * @internal
 */
export const exclusive = <A, E>(inst: Open, effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  inst.permit.withPermits(1)(
    Effect.acquireUseRelease(
      Effect.sync(() => {
        inst.exclusive++
      }),
      () => effect,
      () =>
        Effect.sync(() => {
          inst.exclusive--
        })
    )
  )

/** Folds the events into a new snapshot (see the module docs); returns the folded conversation. @internal */
export const compact = (
  fs: FileSystem.FileSystem,
  inst: Open
): Effect.Effect<Conversation.Conversation, StorageCorrupt | StorageUnavailable> => {
  const p = inst.paths
  const tmp = `${p.base}.tmp`
  return inst.compactLock.withPermits(1)(Effect.gen(function*() {
    const [seq, offset] = yield* exclusive(
      inst,
      Effect.gen(function*() {
        yield* inst.writer.flush.pipe(Effect.mapError(fromIo))
        return [inst.lastSeq, yield* inst.writer.size] as const
      })
    )
    const conversation = yield* readFiles(fs, p, { end: offset })
    if (conversation.seqProblems.length > 0) return yield* seqCorrupt(p.events, conversation)
    const folded = Conversation.fold(conversation)
    if (folded.baseSeq !== seq) {
      return yield* seqCorrupt(p.events, conversation)
    }
    const text = snapshotText(folded)
    yield* writeDurably(fs, tmp, text)
    yield* exclusive(
      inst,
      Effect.gen(function*() {
        yield* inst.writer.flush
        yield* fs.rename(tmp, p.base).pipe(io(p.base, "rename"))
        yield* syncDirectory(fs, p.messagesDir)
        yield* inst.writer.replaceFrom(offset)
        inst.baseSeq = folded.baseSeq
        inst.baseBytes = Buffer.byteLength(text)
      })
    ).pipe(Effect.mapError(fromIo), Effect.uninterruptible)
    return folded
  }))
}

const shouldCompact = (inst: Open, policy: Policy | undefined) =>
  Effect.map(
    inst.writer.size,
    (size) => policy !== undefined && size >= policy.minBytes && size >= policy.ratio * inst.baseBytes
  )

// What rules compaction out without reading the writer's size (the case of almost every append).
const ruledOut = (inst: Open, policy: Policy | undefined) =>
  policy === undefined || inst.background !== undefined || inst.autoCompactFailed || inst.lastDeadSeq <= inst.baseSeq

/**
 * Starts an automatic compaction in the background when the policy calls for one and none runs. Its
 * failure is logged once and never fails an append.
 *
 * @internal
 */
export const maybeStart = (fs: FileSystem.FileSystem, inst: Open, policy: Policy | undefined): Effect.Effect<void> =>
  Effect.suspend(() => ruledOut(inst, policy) ? Effect.void : start(fs, inst, policy))

const start = (fs: FileSystem.FileSystem, inst: Open, policy: Policy | undefined): Effect.Effect<void> =>
  Effect.gen(function*() {
    if (ruledOut(inst, policy) || !(yield* shouldCompact(inst, policy))) return
    const run = compact(fs, inst).pipe(
      Effect.asVoid,
      Effect.catchAll((error) =>
        Effect.sync(() => inst.autoCompactFailed = true).pipe(
          Effect.zipRight(Effect.logWarning(
            `automatic compaction of ${inst.paths.dir} failed; appends go on, compaction is retried when the ` +
              `instance reopens (or call compact): ${error.message}`
          ))
        )
      )
    )
    const fiber = yield* Effect.forkIn(
      Effect.ensuring(
        run,
        Effect.sync(() => {
          if (inst.background === fiber) inst.background = undefined
        })
      ),
      inst.scope
    )
    inst.background = fiber
    // Should it have finished already, its `ensuring` found nothing to clear.
    if (fiber.unsafePoll() !== null) inst.background = undefined
  })
