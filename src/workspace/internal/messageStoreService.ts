/**
 * The JSONL message store (`MessageStore.make`, documented there) assembled from its parts: the open
 * instances (writer, lock, idle release), the append path (numbering, validating, encoding and queueing drafts
 * in one synchronous step, then the acknowledgement and the automatic compaction behind it), consistent reads,
 * compaction and repair.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import type * as MessageEvent from "../../conversation/MessageEvent.js"
import type { StorageIoError } from "../AtomicFile.js"
import type { InstanceRef } from "../InstanceName.js"
import type { AppendOptions, JsonlStore, MessageStoreError, Options } from "../MessageStore.js"
import * as StorageError from "../StorageError.js"
import * as WorkspacePaths from "../WorkspacePaths.js"
import * as Compaction from "./compaction.js"
import * as DurableFile from "./durableFile.js"
import { encodeEvents, sequence } from "./messageCodec.js"
import { claim } from "./messageIds.js"
import * as MessageInstance from "./messageInstance.js"
import * as MessageInstances from "./messageInstances.js"
import { readConsistent } from "./snapshot.js"
import { fromIo } from "./storageErrors.js"

const duplicateDraft = (index: number, id: string) =>
  new StorageError.InvalidMessage({
    index,
    messageId: id,
    reason: `its message id is already in the conversation (ids are unique: replace that message with ` +
      `MessageEvent.replace, or give this one a new id)`
  })

// Effect's default tracer: spans in it are not exported anywhere.
const nativeTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

export const make = (options?: Options): Effect.Effect<JsonlStore, never, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const root = yield* WorkspacePaths.resolveRoot(options?.root)
    const durable = options?.durable ?? true
    const durableFile = yield* DurableFile.DurableFile
    const policy = yield* MessageInstance.policyOf(options?.compaction)
    const { instances, ifOpen, paths, withInstance } = yield* MessageInstances.make({
      fs,
      root,
      durable,
      durableFile,
      idleTimeout: options?.idleTimeout,
      fileIdleTimeout: options?.fileIdleTimeout
    })

    // Numbers, validates, encodes and queues the drafts in one synchronous step (the queue order is the
    // file order, and no other append can run in between); a bad draft or a conflict queues nothing.
    const stage = (
      inst: Compaction.Open,
      drafts: ReadonlyArray<MessageEvent.Draft>,
      expected: number | undefined
    ): Either.Either<
      readonly [ReadonlyArray<MessageEvent.MessageEvent>, Effect.Effect<void, StorageIoError>],
      StorageError.SeqConflict | StorageError.InvalidMessage
    > => {
      if (expected !== undefined && expected !== inst.lastSeq) {
        return Either.left(new StorageError.SeqConflict({ expectedLastSeq: expected, lastSeq: inst.lastSeq }))
      }
      const events = sequence(drafts, inst.lastSeq + 1)
      const ids = new Array<string | undefined>(events.length)
      const text = encodeEvents(events, ids)
      if (Either.isLeft(text)) return Either.left(text.left)
      if (events.length === 0) return Either.right([events, Effect.void] as const)
      // Message ids stay unique (see messageIds.ts): claimed as written, all or none.
      const duplicate = claim(inst.ids, events, ids)
      if (duplicate !== undefined) return Either.left(duplicateDraft(duplicate, ids[duplicate]!))
      const wait = inst.writer.unsafeEnqueueText(text.right)
      inst.lastSeq += events.length
      for (const event of events) if (event.type !== "append") inst.lastDeadSeq = event.seq
      return Either.right([events, wait] as const)
    }

    const appendTo = (
      inst: Compaction.Open,
      drafts: ReadonlyArray<MessageEvent.Draft>,
      expected: number | undefined
    ): Effect.Effect<
      ReadonlyArray<MessageEvent.MessageEvent>,
      StorageError.SeqConflict | StorageError.InvalidMessage | StorageError.StorageUnavailable
    > => {
      // Behind the acknowledgement: the compaction (if due) runs in the instance's scope.
      const acknowledged = (
        [events, wait]: readonly [ReadonlyArray<MessageEvent.MessageEvent>, Effect.Effect<void, StorageIoError>]
      ) =>
        Effect.matchEffect(wait, {
          onFailure: (error) => Effect.fail(fromIo(error)),
          onSuccess: () => Effect.as(Compaction.maybeStart(fs, inst, policy), events)
        })
      // The permit only while a compaction is marked as holding it (see Compaction.exclusive).
      return Effect.suspend(() => {
        if (inst.exclusive !== 0) {
          return Effect.flatMap(
            inst.permit.withPermits(1)(Effect.suspend(() => stage(inst, drafts, expected))),
            acknowledged
          )
        }
        const staged = stage(inst, drafts, expected)
        return Either.isLeft(staged) ? Effect.fail(staged.left) : acknowledged(staged.right)
      })
    }

    // Not Effect.fn: its span and call-site capture cost more than the rest of an append's machinery. The
    // span is opened only when an exporting tracer is installed (Effect's built-in one records nothing).
    const append = (
      instance: InstanceRef,
      drafts: ReadonlyArray<MessageEvent.Draft>,
      appendOptions?: AppendOptions
    ): Effect.Effect<ReadonlyArray<MessageEvent.MessageEvent>, MessageStoreError> => {
      const expected = appendOptions?.expectedLastSeq
      if (drafts.length === 0 && expected === undefined) return Effect.succeed([])
      const run = withInstance(instance, "append", (inst) => appendTo(inst, drafts, expected)).pipe(
        // A failed write stopped the writer, and the seqs given meanwhile are void: reopen from the file.
        Effect.tapErrorTag("StorageUnavailable", () => instances.release(paths(instance).dir))
      )
      return Effect.tracerWith((tracer) =>
        tracer === nativeTracer ? run : Effect.withSpan(run, "MessageStore.append", { kind: "internal" })
      )
    }

    const load = Effect.fn("MessageStore.load")(function*(instance: InstanceRef) {
      yield* ifOpen(instance, "load")
      return yield* readConsistent(fs, paths(instance))
    })

    const events = (instance: InstanceRef) =>
      Stream.unwrap(
        ifOpen(instance, "events").pipe(
          Effect.zipRight(readConsistent(fs, paths(instance))),
          Effect.map((c) => Stream.fromIterable(c.events))
        )
      )

    const compact = Effect.fn("MessageStore.compact")(function*(instance: InstanceRef) {
      return yield* withInstance(instance, "compact", (inst) => Compaction.compact(fs, inst))
    })

    // Exclusive: the instance is closed in this store and its lock taken for the time of the salvage.
    const repair = Effect.fn("MessageStore.repair")(function*(instance: InstanceRef) {
      yield* ifOpen(instance, "repair")
      const p = paths(instance)
      yield* instances.release(p.dir)
      return yield* MessageInstance.repair(fs, p)
    })

    const release = (instance: InstanceRef) => instances.release(paths(instance).dir)

    const settled = (instance: InstanceRef) =>
      Effect.flatMap(
        instances.peek(paths(instance).dir),
        (inst) => inst?.background === undefined ? Effect.void : Fiber.await(inst.background).pipe(Effect.asVoid)
      )

    return {
      append,
      load,
      events,
      compact,
      repair,
      release,
      releaseIdle: instances.releaseIdle,
      restIdle: instances.restIdle,
      openInstances: instances.size,
      paths,
      settled
    } satisfies JsonlStore
  })
