/**
 * Where an instance keeps its log: the conversation (message events), the turn-loop records and the
 * instance metadata. `durable` writes through MessageStore / RuntimeEventLog / Instances (fsynced
 * before returning); `memory` keeps everything in Refs (tests, the benchmark, throwaway agents).
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Conversation from "../../conversation/Conversation.js"
import * as MessageEvent from "../../conversation/MessageEvent.js"
import * as Instances from "../../workspace/Instances.js"
import { MessageStore } from "../../workspace/MessageStore.js"
import { type EventRecord, RuntimeEventLog } from "../../workspace/RuntimeEventLog.js"
import type { InstanceRef } from "../../workspace/WorkspacePaths.js"
import { TurnStorageError } from "../AgentError.js"

export type Status = Instances.Status

export interface Storage {
  readonly kind: "durable" | "memory"
  /**
   * Whether another instance of these stores exists already (its metadata, even unreadable: a fork goes to
   * a new instance only). In memory every instance is a log of its own: never.
   */
  readonly exists: (other: InstanceRef) => Effect.Effect<boolean>
  readonly load: Effect.Effect<Conversation.Conversation, TurnStorageError>
  /**
   * Appends drafts after `expectedLastSeq` (the last seq this instance has seen); durable on return. A log
   * that moved under the instance fails with a TurnStorageError instead of interleaving.
   */
  readonly append: (
    drafts: ReadonlyArray<MessageEvent.Draft>,
    expectedLastSeq: number
  ) => Effect.Effect<ReadonlyArray<MessageEvent.MessageEvent>, TurnStorageError>
  /** Every record of the instance's runtime event log, in order. */
  readonly records: Effect.Effect<ReadonlyArray<EventRecord>, TurnStorageError>
  /**
   * The records of these types only, in order: what an instance reads when it opens (the turn loop's records
   * and context summaries), without the step and tool events that make most of a long-lived log's bytes.
   */
  readonly recordsOf: (types: ReadonlySet<string>) => Effect.Effect<ReadonlyArray<EventRecord>, TurnStorageError>
  /** Appends turn-loop records; durable on return. */
  readonly record: (records: ReadonlyArray<EventRecord>) => Effect.Effect<void, TurnStorageError>
  /**
   * Queues turn-loop records nothing depends on while the turn runs (`turn.started`: the input message,
   * durable before the turn starts, is what marks a turn in the log): written in the same append as the
   * next record, like the step and tool events, so they are durable when the turn ends or pauses.
   */
  readonly recordWithNext: (records: ReadonlyArray<EventRecord>) => Effect.Effect<void>
  readonly setStatus: (status: Status) => Effect.Effect<void, TurnStorageError>
  /**
   * Drops the turn-loop records of these turns from memory (ended turns a fold of the conversation
   * dropped; see `write.ts`). The durable log keeps its file: a no-op there.
   */
  readonly forget: (turnIds: ReadonlySet<string>) => void
  /**
   * Runs `effect` with a status change written with it, for a change that goes with a write of the log
   * (`processing` with a turn's input message, `idle` with its `turn.completed`). Both have finished when
   * it returns; it fails with `effect`'s failure, else with the status write's. (The in-place status write
   * is made on the calling thread, so it runs first rather than beside `effect`.)
   */
  readonly withStatus: <A, E, R>(
    status: Status,
    effect: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | TurnStorageError, R>
}

export const label = (ref: InstanceRef) => `${ref.agentName}@${ref.instanceKey}`

const storageError = (ref: InstanceRef, operation: string) => (e: { readonly message: string }) =>
  new TurnStorageError({ instance: label(ref), operation, detail: e.message, cause: e })

/**
 * The durable storage of an instance. `observed` holds the step and tool events its pipeline published
 * (filled by the instance's bus sink) and the records queued by `recordWithNext` (`turn.started`):
 * nothing in the loop depends on them, so they are not fsynced one by one but written in the same append
 * as the loop's next record (durable with it), when the records are read, or when the instance closes.
 */
export const durable = (ref: InstanceRef, observed: Array<EventRecord>) =>
  Effect.gen(function*() {
    const store = yield* MessageStore
    const log = yield* RuntimeEventLog
    const instances = yield* Instances.Instances
    // A corrupt metadata.json (the status writes below skip fsync: after a power loss some file systems
    // leave the replaced file empty) is rebuilt: the status is derived state, recovery reads the log.
    // The metadata last read or written (the instance holds its lock: nobody else changes it), so a
    // status change writes it through without reading metadata.json back; the same status is not
    // written again.
    let metadata = yield* instances.ensure(ref).pipe(
      Effect.catchTag("MetadataCorrupt", () => instances.setStatus(ref, "idle")),
      Effect.mapError(storageError(ref, "creating the instance metadata"))
    )
    let status: Status | undefined
    // Taken when the write runs (not when the effect is built), so a record built earlier misses nothing.
    const writeRecords = (records: ReadonlyArray<EventRecord>) =>
      Effect.suspend(() => {
        const all = observed.length === 0 ? records : [...observed.splice(0), ...records]
        return all.length === 0 ? Effect.void : log.append(ref, all).pipe(
          Effect.mapError(storageError(ref, "writing runtime events"))
        )
      })
    // Not fsynced and written in place: the status is informational (`instances list`, the CLI). Nothing
    // in recovery reads it (an open turn is found in the log, whatever the status says); a kill -9 leaves
    // the old or the new content (one write over the file, no temp file and rename: 3 file-system calls,
    // not 4 plus a rename in the journal); a power loss may lose the last change or tear it, which the
    // open above rebuilds. Saves two fsyncs (file and directory) per status change.
    const setStatus = (next: Status): Effect.Effect<void, TurnStorageError> =>
      next === status ?
        Effect.void :
        instances.setStatus(ref, next, undefined, { durable: false, current: metadata, inPlace: true }).pipe(
          Effect.tap((written) => {
            metadata = written
            status = next
          }),
          Effect.asVoid,
          Effect.mapError(storageError(ref, `setting the status to ${next}`))
        )
    // What is queued goes first (see `recordWithNext`), then the log is read.
    const readRecords = (types: ReadonlySet<string> | undefined) =>
      Effect.zipRight(
        writeRecords([]),
        Stream.runCollect(log.read(ref, types === undefined ? undefined : { types })).pipe(
          Effect.map((chunk) => Array.from(chunk)),
          Effect.mapError(storageError(ref, "reading the runtime events"))
        )
      )
    // `load` and `records` are built when run, not here: as values they kept a whole read pipeline (a
    // Stream, spans, captured call sites: about 12 KB) alive per instance for as long as it lives, idle or not.
    const storage: Storage = {
      kind: "durable",
      exists: (other) => instances.get(other).pipe(Effect.map(Option.isSome), Effect.orElseSucceed(() => true)),
      load: Effect.suspend(() => store.load(ref).pipe(Effect.mapError(storageError(ref, "loading the conversation")))),
      append: (drafts, expectedLastSeq) =>
        store.append(ref, drafts, { expectedLastSeq }).pipe(Effect.mapError(storageError(ref, "appending messages"))),
      records: Effect.suspend(() => readRecords(undefined)),
      recordsOf: readRecords,
      record: writeRecords,
      recordWithNext: (records) =>
        Effect.sync(() => {
          for (const r of records) observed.push(r)
        }),
      setStatus,
      forget: () => {},
      // The status write (in place, made synchronously by Instances: no thread-pool round trip) goes first,
      // then `effect`; a failed `effect` fails with its own error alone, else a failed status write fails it.
      // (Session 10 forked the write beside `effect`; with the write made on this thread a fork costs more
      // than it overlaps.)
      withStatus: <A, E, R>(next: Status, effect: Effect.Effect<A, E, R>) =>
        next === status ?
          effect :
          Effect.flatMap(
            Effect.exit(setStatus(next)),
            (written): Effect.Effect<A, E | TurnStorageError, R> =>
              Exit.isSuccess(written) ? effect : Effect.zipRight(effect, Effect.failCause(written.cause))
          )
    }
    return storage
  })

export const memory = (initial: Conversation.Conversation = Conversation.empty) =>
  Effect.sync(() => {
    // The conversation itself lives in the instance's Ref (the loop folds every appended event into it):
    // a second fold here made every in-memory append copy the conversation twice. `load` is read once,
    // when the instance opens; an append only numbers its drafts after the seq the instance has seen.
    // Appended in place (one instance, written under its lock): copying the whole list per record made
    // every record cost O(records so far).
    const records: Array<EventRecord> = []
    const storage: Storage = {
      kind: "memory",
      exists: () => Effect.succeed(false),
      load: Effect.succeed(initial),
      append: (drafts, expectedLastSeq) =>
        Effect.sync(() => drafts.map((draft, i) => MessageEvent.withSeq(draft, expectedLastSeq + 1 + i))),
      records: Effect.sync(() => records.slice()),
      recordsOf: (types) => Effect.sync(() => records.filter((r) => types.has(r.type))),
      record: (added) =>
        Effect.sync(() => {
          for (const r of added) records.push(r)
        }),
      recordWithNext: (added) =>
        Effect.sync(() => {
          for (const r of added) records.push(r)
        }),
      setStatus: () => Effect.void,
      // In place: the array is this instance's, written under its lock.
      forget: (turnIds) => {
        let kept = 0
        for (const r of records) {
          if (typeof r.turnId === "string" && turnIds.has(r.turnId)) continue
          records[kept++] = r
        }
        records.length = kept
      },
      withStatus: (_status, effect) => effect
    }
    return storage
  })
