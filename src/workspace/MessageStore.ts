/**
 * Durable, event-sourced conversations: `append` message events (durable when it returns), `load` the
 * conversation, `compact` the events into the base snapshot, `repair` a damaged log.
 *
 * The service ({@link Service}) is backend-neutral: instances are named by `InstanceName.InstanceRef`,
 * failures are the {@link StorageError.StorageError} union, and nothing in it speaks of files. This module
 * implements it over JSONL files (see `WorkspacePaths`): `messages/events.jsonl` holds one event per line
 * with a strictly increasing `seq`; `messages/base.jsonl` is a snapshot: a header line
 * `{"v":1,"type":"snapshot","seq":N,"messages":M}` followed by M message lines. The snapshot records the
 * last folded `seq`, and loading skips events at or below it, so a crash at any step of compaction neither
 * loses nor double-applies an event.
 *
 * One writer per instance: the first `append` / `compact` of an instance takes its `writer.lock` (typed
 * `InstanceLocked` when another live process holds it) and keeps it, with the open file, until the
 * instance has been idle for `idleTimeout` (default 5 minutes), {@link Service.release} is called, or the
 * layer closes. `load` needs no lock and is consistent while another writer compacts. Once the layer (the
 * scope the store was made in) has closed, every operation fails with `StoreClosed` and touches nothing.
 *
 * Drafts are validated before anything is written: one that would not read back fails the whole batch
 * with `InvalidMessage`. Compaction happens on demand ({@link Service.compact}) and automatically (see
 * {@link CompactionPolicy}) in the background, after the append that calls for it has been acknowledged.
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type * as Conversation from "../conversation/Conversation.js"
import type * as MessageEvent from "../conversation/MessageEvent.js"
import type { InstanceRef } from "./InstanceName.js"
import * as MessageStoreService from "./internal/messageStoreService.js"
import type { RepairReport } from "./internal/repair.js"
import type * as StorageError from "./StorageError.js"
import type * as WorkspacePaths from "./WorkspacePaths.js"

export {
  /**
   * The codec of `base.jsonl` lines (the header, then messages).
   *
   * @since 0.1.0
   * @category codecs
   */
  baseCodec,
  /**
   * The codec of `events.jsonl` lines.
   *
   * @since 0.1.0
   * @category codecs
   */
  eventCodec,
  /**
   * The header line of `base.jsonl`.
   *
   * @since 0.1.0
   * @category schemas
   */
  SnapshotHeader
} from "./internal/messageCodec.js"

export {
  /** @internal */
  decodeEventFast,
  /** @internal */
  decodeMessageFast
} from "./internal/messageDecode.js"

export type {
  /**
   * What {@link Service.repair} did: the records kept, every record dropped (which log, its line and why),
   * what had to be decided (`notes`), where each damaged original was kept (empty when nothing needed
   * repair), and all of it as text for a person (`summary`).
   *
   * @since 0.1.0
   * @category models
   */
  RepairReport
} from "./internal/repair.js"

/**
 * Every failure of the store: the backend-neutral union.
 *
 * @since 0.1.0
 * @category errors
 */
export type MessageStoreError = StorageError.StorageError

/**
 * Options of {@link Service.append}.
 *
 * @since 0.1.0
 * @category models
 */
export interface AppendOptions {
  /**
   * Optimistic concurrency: append only if the conversation's last seq is this (else `SeqConflict`, and
   * nothing is written). The turn loop passes the seq it read, so a step is never written twice.
   */
  readonly expectedLastSeq?: number | undefined
}

/**
 * The conversation store, as a Postgres (or any) backend would implement it as well.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * Validates the drafts, gives them the next sequence numbers and appends them; durable when it returns.
   * Concurrent appends to one instance are group-committed. Returns the sequenced events.
   */
  readonly append: (
    instance: InstanceRef,
    events: ReadonlyArray<MessageEvent.Draft>,
    options?: AppendOptions
  ) => Effect.Effect<ReadonlyArray<MessageEvent.MessageEvent>, MessageStoreError>
  /** The conversation: snapshot + events after it. An instance never written is an empty conversation. */
  readonly load: (instance: InstanceRef) => Effect.Effect<Conversation.Conversation, MessageStoreError>
  /** The events after the snapshot, from one consistent read. */
  readonly events: (instance: InstanceRef) => Stream.Stream<MessageEvent.MessageEvent, MessageStoreError>
  /** Folds the events into the snapshot. Returns the folded conversation. */
  readonly compact: (instance: InstanceRef) => Effect.Effect<Conversation.Conversation, MessageStoreError>
  /**
   * Salvages a damaged instance (its snapshot and its events): keeps every valid record (events in seq
   * order), reports exactly what was dropped, keeps each damaged original aside (never deletes it) and
   * folds the result into a new snapshot. A healthy instance is left alone.
   */
  readonly repair: (instance: InstanceRef) => Effect.Effect<RepairReport, MessageStoreError>
  /**
   * Closes the instance's writer and releases its lock once the operations in flight on it are done (an
   * automatic compaction is cancelled safely); it reopens on the next use. A no-op on a closed store.
   */
  readonly release: (instance: InstanceRef) => Effect.Effect<void>
}

/**
 * The message store service.
 *
 * @example
 * ```ts
 * import { NodeFileSystem } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { Message, MessageEvent, MessageStore } from "effect-swarm"
 *
 * const instance = { workspaceId: "default", agentName: "coder", instanceKey: "thread-1" }
 * const program = Effect.gen(function*() {
 *   const store = yield* MessageStore.MessageStore
 *   const hello = yield* Message.make({ role: "user", content: "Hello" })
 *   yield* store.append(instance, [MessageEvent.append(hello)], { expectedLastSeq: 0 }) // durable now
 *   const conversation = yield* store.load(instance)
 *   return conversation.messages
 * }).pipe(Effect.provide(MessageStore.layer({ root: "/tmp/swarm" })), Effect.provide(NodeFileSystem.layer))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class MessageStore extends Context.Tag("effect-swarm/MessageStore")<MessageStore, Service>() {}

/**
 * The JSONL implementation: the service plus what only a file backend has (paths, open instances).
 *
 * @since 0.1.0
 * @category models
 */
export interface JsonlStore extends Service {
  /**
   * Releases every instance unused for at least `idleTimeout` now (a background fiber does this every
   * half timeout); returns how many were closed.
   */
  readonly releaseIdle: Effect.Effect<number>
  /**
   * Closes the file of every instance unused for at least `fileIdleTimeout` now, keeping its lock (a
   * background fiber does this); returns how many were closed.
   */
  readonly restIdle: Effect.Effect<number>
  /** How many instances this store holds open (writer + lock). */
  readonly openInstances: Effect.Effect<number>
  /** The paths of an instance under this store's root. */
  readonly paths: (instance: InstanceRef) => WorkspacePaths.InstancePaths
  /** Waits for the automatic compaction running on the instance, if any. */
  readonly settled: (instance: InstanceRef) => Effect.Effect<void>
}
/**
 * When `append` compacts an instance by itself: once `events.jsonl` holds at least `minBytes` and at
 * least `ratio` times the size of the snapshot, and the events since the snapshot include a `replace`,
 * `remove` or `truncate` (dead data that compaction drops; a log of appends only would be rewritten for
 * nothing, since loading its events costs the same as loading the snapshot). Growing the threshold with
 * the snapshot keeps the total cost of compaction proportional to what was appended (each byte is
 * rewritten a bounded number of times), like Redis's AOF rewrite rule.
 *
 * @since 0.1.0
 * @category models
 */
export interface CompactionPolicy {
  /** Default 4 MiB. */
  readonly minBytes?: number | undefined
  /** Default 1 (compact when the events are as large as the snapshot). */
  readonly ratio?: number | undefined
}

/**
 * Options of {@link make} and {@link layer}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The state root (default: `StateRoot.resolve`: `EFFECT_SWARM_HOME` or `~/.effect-swarm`). */
  readonly root?: string | undefined
  /** fsync every append (default true). Only turn off for caches and benchmarks. */
  readonly durable?: boolean | undefined
  /** Automatic compaction after appends (see {@link CompactionPolicy}); `false` turns it off. */
  readonly compaction?: CompactionPolicy | false | undefined
  /**
   * Close an instance's writer and release its lock after this long without use (default 5 minutes);
   * it reopens on the next append. `Infinity` keeps instances open until `release` or the store closes.
   */
  readonly idleTimeout?: Duration.DurationInput | undefined
  /**
   * Close an instance's events file (its descriptor and encoding buffer) after this long without use
   * (default 1 second), keeping its lock and what the store knows of it; the next append opens the file
   * again (one `open`). `Infinity` keeps the file open until `idleTimeout`.
   */
  readonly fileIdleTimeout?: Duration.DurationInput | undefined
}

/**
 * Builds the store over a state root (default: `StateRoot.resolve`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { MessageStore } from "effect-swarm"
 * const store = MessageStore.make({ root: "/tmp/swarm" }) // Effect<JsonlStore, never, FileSystem | Scope>
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options?: Options): Effect.Effect<JsonlStore, never, FileSystem.FileSystem | Scope.Scope> =>
  MessageStoreService.make(options)

/**
 * The store as a layer. `root` defaults to the state root (`EFFECT_SWARM_HOME` or `~/.effect-swarm`).
 *
 * @example
 * ```ts
 * import { NodeFileSystem } from "@effect/platform-node"
 * import { Layer } from "effect"
 * import { MessageStore } from "effect-swarm"
 * const StoreLive = MessageStore.layer({ root: "/srv/swarm" }).pipe(Layer.provide(NodeFileSystem.layer))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<MessageStore, never, FileSystem.FileSystem> =>
  Layer.scoped(MessageStore, make(options))
