/**
 * The append-only log of runtime events of an instance (`messages/runtime-events.jsonl`, beside the
 * conversation it describes). Same durability as `MessageStore`: `append` returns once the events are
 * fsynced, concurrent appends are group-committed, a torn last line is repaired when the log is opened
 * for writing, and the writer holds the instance's `writer.lock` (role `runtime-events`).
 *
 * Records are opaque JSON objects with a string `type` (the `RuntimeEvent` schemas of the event area fit),
 * stored as `{"v":3,"type":...,...}`. Version 2: a `step.started` whose model input summary continues the
 * previous one of its turn in the same append is stored as the messages it adds (`LlmInputRecord.compress`)
 * and read back whole (`LlmInputRecord.expander`): `read` gives the records `append` was given. Version 3:
 * also when the summary's window slid past the base's oldest messages (a conversation longer than the
 * summary's 64 messages). Version-1 and version-2 lines read unchanged.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as LlmInputRecord from "../event/LlmInputRecord.js"
import * as InstanceLock from "./InstanceLock.js"
import * as DurableFile from "./internal/durableFile.js"
import * as EventLines from "./internal/eventLines.js"
import * as InstanceLog from "./internal/instanceLog.js"
import * as InstancePaths from "./internal/instancePaths.js"
import * as OpenInstances from "./internal/openInstances.js"
import * as Repair from "./internal/repair.js"
import type { RestingWriter } from "./internal/restingWriter.js"
import { fromIo, fromJsonl } from "./internal/storageErrors.js"
import * as Jsonl from "./Jsonl.js"
import * as StorageError from "./StorageError.js"
import * as WorkspacePaths from "./WorkspacePaths.js"

/**
 * One stored runtime event: a JSON object with a string `type`.
 *
 * @example
 * ```ts
 * import { RuntimeEventLog } from "effect-swarm"
 * const e: RuntimeEventLog.EventRecord = { type: "turn.started", turnId: "turn-1" }
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export const EventRecord = Schema.Struct(
  { type: Schema.String },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
).annotations({ identifier: "RuntimeEventRecord" })

/**
 * @since 0.1.0
 * @category models
 */
export type EventRecord = typeof EventRecord.Type

/**
 * The current record version of `runtime-events.jsonl`.
 *
 * @example
 * ```ts
 * import { RuntimeEventLog } from "effect-swarm"
 * RuntimeEventLog.version // 3
 * ```
 *
 * @since 0.1.0
 * @category constants
 */
export const version = 3

const repairHint = "run RuntimeEventLog.repair on the instance to keep every valid record (the damaged file is " +
  "kept beside it)"

/**
 * The codec of `runtime-events.jsonl` lines.
 *
 * @example
 * ```ts
 * import { RuntimeEventLog } from "effect-swarm"
 * RuntimeEventLog.codec.encode({ type: "turn.started" }) // '{"v":3,"type":"turn.started"}'
 * ```
 *
 * @since 0.1.0
 * @category codecs
 */
export const codec: Jsonl.Codec<EventRecord> = Jsonl.codec(EventRecord, {
  version,
  // Versions 2 and 3 only add stored forms of a step.started summary (a delta, then a delta past a slid
  // window): a record of an older version is one of the newer.
  upcasters: { 1: (record) => record, 2: (record) => record },
  encode: (record) => record
})

/**
 * Every failure of the log: the backend-neutral storage errors (`StorageUnavailable` for I/O,
 * `StorageCorrupt` for an unreadable record with its file and line, `InstanceLocked` for another writer,
 * `StoreClosed` once the scope of its layer has closed, `InvalidMessage` for a record `append` refuses
 * because it would not read back: nothing of the batch is written), members of `MessageStore`'s union, so
 * a database backend fails the same way.
 *
 * @since 0.1.0
 * @category errors
 */
export type RuntimeEventLogError =
  | StorageError.StorageUnavailable
  | StorageError.StorageCorrupt
  | InstanceLock.InstanceLocked
  | StorageError.StoreClosed
  | StorageError.InvalidMessage

/**
 * What {@link Service.repair} did: records kept, each line dropped (1-based) with its reason and an
 * excerpt, where the damaged original was kept, and all of it as text for a person.
 *
 * @since 0.1.0
 * @category models
 */
export interface RepairReport {
  readonly kept: number
  readonly dropped: ReadonlyArray<{ readonly line: number; readonly reason: string; readonly excerpt: string }>
  readonly preserved: ReadonlyArray<string>
  readonly summary: string
}

/**
 * Options of {@link Service.read}.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { RuntimeEventLog } from "effect-swarm"
 * const instance = { workspaceId: "default", agentName: "coder", instanceKey: "thread-1" }
 * // The turn ends only: the step and tool events are skipped unparsed.
 * const ends = Effect.flatMap(RuntimeEventLog.RuntimeEventLog, (log) =>
 *   Stream.runCollect(log.read(instance, { types: new Set(["turn.completed", "turn.failed"]) })))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface ReadOptions {
  /** Only records of these types (e.g. the turn loop's own, to reopen an instance without its step events). */
  readonly types?: ReadonlySet<string> | undefined
}

const versionStart = Buffer.from(`{"v":`)
const typeKey = Buffer.from(`,"type":"`)

/**
 * Whether the stored line `[start, end)` of `bytes` may be a record of one of `types`: false only when its
 * first bytes show another type (`{"v":3,"type":"step.started",...`: the writer puts `v` first and the
 * record's keys in their order, and most records start with their type); a line that starts otherwise is
 * kept, to be parsed.
 */
const mayBeOneOf = (types: ReadonlySet<string>, bytes: Uint8Array, start: number, end: number): boolean => {
  let i = start
  for (const b of versionStart) if (i >= end || bytes[i++] !== b) return true
  while (i < end && bytes[i]! >= 48 && bytes[i]! <= 57) i++
  for (const b of typeKey) if (i >= end || bytes[i++] !== b) return true
  let type = ""
  for (; i < end; i++) {
    const b = bytes[i]!
    if (b === 34) return types.has(type)
    // An escape or a byte past ASCII: the type is read by parsing the line.
    if (b === 92 || b > 127 || type.length > 64) return true
    type += String.fromCharCode(b)
  }
  return true
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * Appends events in order; durable when it returns. A record that would not read back (not an object
   * with a string `type`, a value JSON cannot hold) fails the whole batch with `InvalidMessage` (its
   * index): nothing is written.
   */
  readonly append: (
    instance: WorkspacePaths.InstanceRef,
    events: ReadonlyArray<EventRecord>
  ) => Effect.Effect<void, RuntimeEventLogError>
  /**
   * Streams the instance's events from the start (a missing log is empty). With `types`, only records of
   * those types: the others are left out unread where the line shows its type (a large log is read in a
   * fraction of the time; a damaged line of another type goes unnoticed, as it is not read).
   */
  readonly read: (
    instance: WorkspacePaths.InstanceRef,
    options?: ReadOptions
  ) => Stream.Stream<EventRecord, RuntimeEventLogError>
  /**
   * Salvages a damaged log: keeps every record that reads (in file order), reports each line dropped and
   * why, keeps the damaged original beside it (never deletes it). A healthy log is left alone.
   */
  readonly repair: (instance: WorkspacePaths.InstanceRef) => Effect.Effect<RepairReport, RuntimeEventLogError>
  /** Closes the instance's writer and releases its lock role once the appends in flight on it are done. */
  readonly release: (instance: WorkspacePaths.InstanceRef) => Effect.Effect<void>
  /** Releases every instance unused for at least `idleTimeout` now; returns how many were closed. */
  readonly releaseIdle: Effect.Effect<number>
  /**
   * Closes the file of every instance unused for at least `fileIdleTimeout` now, keeping its lock (a
   * background fiber does this); returns how many were closed.
   */
  readonly restIdle: Effect.Effect<number>
}

/**
 * The runtime event log service.
 *
 * @example
 * ```ts
 * import { NodeFileSystem } from "@effect/platform-node"
 * import { Effect, Stream } from "effect"
 * import { RuntimeEventLog } from "effect-swarm"
 *
 * const instance = { workspaceId: "default", agentName: "coder", instanceKey: "thread-1" }
 * const program = Effect.gen(function*() {
 *   const log = yield* RuntimeEventLog.RuntimeEventLog
 *   yield* log.append(instance, [{ type: "turn.started", turnId: "turn-1" }])
 *   return yield* Stream.runCollect(log.read(instance))
 * }).pipe(Effect.provide(RuntimeEventLog.layer({ root: "/tmp/swarm" })), Effect.provide(NodeFileSystem.layer))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class RuntimeEventLog extends Context.Tag("effect-swarm/RuntimeEventLog")<RuntimeEventLog, Service>() {}

/**
 * Builds the log over a state root (default: `StateRoot.resolve`).
 *
 * @example
 * ```ts
 * import { RuntimeEventLog } from "effect-swarm"
 * const log = RuntimeEventLog.make({ root: "/tmp/swarm" }) // Effect<Service, never, FileSystem | Scope>
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options?: {
  readonly root?: string | undefined
  readonly durable?: boolean | undefined
  /** Close an instance's log and lock after this long without use (default 5 minutes), like MessageStore. */
  readonly idleTimeout?: Duration.DurationInput | undefined
  /** Close an instance's file (keeping its lock) after this long without use (default 1 second), like MessageStore. */
  readonly fileIdleTimeout?: Duration.DurationInput | undefined
}): Effect.Effect<Service, never, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const root = yield* WorkspacePaths.resolveRoot(options?.root)
    const durableFile = yield* DurableFile.DurableFile
    const pathsOf = InstancePaths.cache(root)
    // At rest an instance keeps its lock and drops its writer whole (not only the descriptor).
    const instances = yield* OpenInstances.make<RestingWriter<EventRecord>>({
      idleTimeout: options?.idleTimeout ?? "5 minutes",
      rest: { after: options?.fileIdleTimeout ?? "1 second", run: (writer) => writer.rest() }
    })

    const open = (p: WorkspacePaths.InstancePaths) =>
      InstanceLog.openResting(fs, {
        paths: p,
        file: p.runtimeEvents,
        codec,
        role: "runtime-events",
        durable: options?.durable ?? true,
        durableFile
      }).pipe(Effect.catchTags({ StorageIoError: (e) => Effect.fail(fromIo(e)) }))

    // Once the log's scope has closed, nothing is opened or read any more.
    const closed = (instance: WorkspacePaths.InstanceRef, operation: string) =>
      new StorageError.StoreClosed({
        store: "RuntimeEventLog",
        operation,
        instance: `${instance.agentName}@${instance.instanceKey}`,
        workspaceId: instance.workspaceId
      })
    const ifOpen = (instance: WorkspacePaths.InstanceRef, operation: string) =>
      Effect.suspend(() => instances.isClosed() ? Effect.fail(closed(instance, operation)) : Effect.void)

    // Not an `Effect.fn` (no span per call), like `MessageStore.append`: the turn loop's hot path (every
    // turn's records and step events go through here).
    const append = (
      instance: WorkspacePaths.InstanceRef,
      events: ReadonlyArray<EventRecord>
    ): Effect.Effect<void, RuntimeEventLogError> =>
      Effect.suspend((): Effect.Effect<void, RuntimeEventLogError> => {
        if (events.length === 0) return Effect.void
        const p = pathsOf(instance)
        const text = EventLines.encode(events, p.runtimeEvents, version)
        if (Either.isLeft(text)) return Effect.fail(text.left)
        return instances.use(
          p.dir,
          open(p),
          (writer) => writer.use((w) => w.unsafeEnqueueText(text.right)).pipe(Effect.mapError(fromIo)),
          () => closed(instance, "append")
        )
      })

    const read = (
      instance: WorkspacePaths.InstanceRef,
      options?: ReadOptions
    ): Stream.Stream<EventRecord, RuntimeEventLogError> => {
      const types = options?.types
      const all = Jsonl.read(pathsOf(instance).runtimeEvents, codec, {
        keepLine: types === undefined ? undefined : (bytes, start, end) => mayBeOneOf(types, bytes, start, end)
      }).pipe(
        Stream.provideService(FileSystem.FileSystem, fs),
        // A step.started stored as a delta comes back whole (one expander per read: it follows the file).
        (records) => Stream.suspend(() => Stream.map(records, LlmInputRecord.expander())),
        Stream.mapError((e) => fromJsonl(e, repairHint))
      )
      return Stream.unwrap(Effect.as(
        ifOpen(instance, "read"),
        types === undefined ? all : Stream.filter(all, (r) => types.has(r.type))
      ))
    }

    const release = (instance: WorkspacePaths.InstanceRef) => instances.release(pathsOf(instance).dir)

    // Exclusive: the instance's log is closed in this service and its lock role taken for the salvage.
    const repair = Effect.fn("RuntimeEventLog.repair")(function*(instance: WorkspacePaths.InstanceRef) {
      yield* ifOpen(instance, "repair")
      const p = WorkspacePaths.instance(root, instance)
      yield* instances.release(p.dir)
      if (!(yield* fs.exists(p.runtimeEvents).pipe(Effect.orElseSucceed(() => false)))) {
        return { kept: 0, dropped: [], preserved: [], summary: "nothing to repair: no runtime events" }
      }
      return yield* Effect.scoped(Effect.gen(function*() {
        yield* InstanceLock.acquire(fs, p.lock, "runtime-events").pipe(
          Effect.catchTags({ StorageIoError: (e) => Effect.fail(fromIo(e)) })
        )
        return yield* Repair.salvageLog(fs, p.runtimeEvents, codec)
      }))
    })

    return RuntimeEventLog.of({
      append,
      read,
      repair,
      release,
      releaseIdle: instances.releaseIdle,
      restIdle: instances.restIdle
    })
  })

/**
 * The log as a layer. `root` defaults to the state root.
 *
 * @example
 * ```ts
 * import { NodeFileSystem } from "@effect/platform-node"
 * import { Layer } from "effect"
 * import { RuntimeEventLog } from "effect-swarm"
 * const LogLive = RuntimeEventLog.layer({ root: "/srv/swarm" }).pipe(Layer.provide(NodeFileSystem.layer))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: {
  readonly root?: string | undefined
  readonly durable?: boolean | undefined
  readonly idleTimeout?: Duration.DurationInput | undefined
  readonly fileIdleTimeout?: Duration.DurationInput | undefined
}): Layer.Layer<RuntimeEventLog, never, FileSystem.FileSystem> => Layer.scoped(RuntimeEventLog, make(options))
