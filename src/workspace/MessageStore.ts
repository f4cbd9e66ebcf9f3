/**
 * Durable, event-sourced conversations: `append` message events (durable when it returns), `load` the
 * conversation, `compact` the events into the base snapshot.
 *
 * Files (see `WorkspacePaths`): `messages/events.jsonl` holds one event per line with a strictly increasing
 * `seq`; `messages/base.jsonl` is a snapshot: a header line `{"v":1,"type":"snapshot","seq":N,"messages":M}`
 * followed by M message lines. The snapshot records the last folded `seq`, and loading skips events at or
 * below it, so a crash at any step of compaction neither loses nor double-applies an event.
 *
 * One writer per instance: the first `append` / `compact` of an instance takes its `writer.lock` (typed
 * `InstanceLocked` when another live process holds it) and keeps it, with the open file, until the
 * instance has been idle for `idleTimeout` (default 5 minutes), {@link Service.release} is called, or the
 * layer closes. `load` needs no lock.
 *
 * Compaction happens on demand ({@link Service.compact}) and automatically: the append that makes
 * `events.jsonl` at least 4 MiB and at least as large as the snapshot, when those events replaced,
 * removed or truncated something, folds it in (see {@link CompactionPolicy}), after its own events are
 * durable.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Conversation from "../conversation/Conversation.js"
import * as Message from "../conversation/Message.js"
import * as MessageEvent from "../conversation/MessageEvent.js"
import * as AtomicFile from "./AtomicFile.js"
import * as InstanceLock from "./InstanceLock.js"
import * as OpenInstances from "./internal/openInstances.js"
import * as Jsonl from "./Jsonl.js"
import * as WorkspacePaths from "./WorkspacePaths.js"

/**
 * `base.jsonl` does not have the shape of a snapshot (missing or misplaced header, wrong message count).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { MessageStore } from "effect-swarm"
 * declare const program: Effect.Effect<void, MessageStore.MessageStoreError>
 * program.pipe(Effect.catchTag("SnapshotInvalid", (e) => Effect.logError(e.message)))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class SnapshotInvalid extends Schema.TaggedError<SnapshotInvalid>("effect-swarm/SnapshotInvalid")(
  "SnapshotInvalid",
  { file: Schema.String, reason: Schema.String }
) {
  override get message(): string {
    return `${this.file}: not a valid snapshot (${this.reason}). Snapshots are replaced atomically, so this file ` +
      `was edited by hand or by another program; restore it, or delete it to rebuild from events.jsonl alone ` +
      `(only correct if the events were never compacted).`
  }
}

/**
 * Every failure of the store.
 *
 * @since 0.1.0
 * @category errors
 */
export type MessageStoreError = Jsonl.JsonlError | InstanceLock.InstanceLocked | SnapshotInvalid

/**
 * The header line of `base.jsonl`.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { MessageStore } from "effect-swarm"
 * Schema.decodeUnknownSync(MessageStore.SnapshotHeader)({ type: "snapshot", seq: 42, messages: 7 })
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export const SnapshotHeader = Schema.Struct({
  type: Schema.Literal("snapshot"),
  seq: Schema.Number,
  messages: Schema.Number
}).annotations({ identifier: "SnapshotHeader" })

const BaseLine = Schema.Union(SnapshotHeader, Message.Message)
type BaseLine = typeof BaseLine.Type

// Message events are the hot path: this encoder produces exactly what Schema.encode would (the only
// transformation in a message is `createdAt`), without walking the schema.
const fastMessage = (m: Message.Message): Message.Encoded => ({
  id: m.id,
  data: m.data,
  metadata: m.metadata,
  createdAt: m.createdAt.toISOString(),
  source: m.source
})
const fastEvent = (e: MessageEvent.MessageEvent): MessageEvent.Encoded => {
  switch (e.type) {
    case "append":
      return { seq: e.seq, type: e.type, message: fastMessage(e.message) }
    case "replace":
      return { seq: e.seq, type: e.type, targetId: e.targetId, message: fastMessage(e.message) }
    default:
      return e
  }
}

// Faster still for the common lines: the same text as JSON.stringify(fastEvent(e)), assembled from the
// fields (one stringify per open value instead of one walk over a fresh object). Anything unusual (a
// missing field, a non-integer seq) goes the general way.
const quote = JSON.stringify
const messageLine = (m: Message.Message): string | undefined =>
  typeof m.id === "string" && m.data !== undefined && m.metadata !== undefined && m.source !== undefined &&
    m.createdAt instanceof Date
    ? `{"id":${quote(m.id)},"data":${quote(m.data)},"metadata":${
      quote(m.metadata)
    },"createdAt":"${m.createdAt.toISOString()}","source":${quote(m.source)}}`
    : undefined
const eventLine = (e: MessageEvent.MessageEvent, version: number): string | undefined => {
  if (!Number.isSafeInteger(e.seq)) return undefined
  if (e.type === "append") {
    const message = messageLine(e.message)
    return message && `{"v":${version},"seq":${e.seq},"type":"append","message":${message}}`
  }
  if (e.type === "replace" && typeof e.targetId === "string") {
    const message = messageLine(e.message)
    return message &&
      `{"v":${version},"seq":${e.seq},"type":"replace","targetId":${quote(e.targetId)},"message":${message}}`
  }
  return undefined
}

// Loading is the other hot path: a hand-written check of the exact shape `MessageEvent` / `Message`
// describe, building the same values Schema decoding would. Anything it does not accept falls back to the
// schema, which then yields the value or the precise error. A property test checks both agree.
type Obj = Record<string, unknown>
const isObj = (u: unknown): u is Obj => typeof u === "object" && u !== null && !Array.isArray(u)
const optString = (o: Obj, key: string) => !(key in o) || typeof o[key] === "string"
const roles = new Set(["system", "user", "assistant", "tool"])

// Values of JSON.parse are JSON, so parts, data and metadata (open records of JSON) are reused as they are
// once their known fields have the right types.
const partOk = (p: unknown): boolean => {
  if (!isObj(p)) return false
  switch (p.type) {
    case "text":
    case "reasoning":
      return typeof p.text === "string"
    case "image":
      return typeof p.image === "string" && optString(p, "mediaType")
    case "file":
      return typeof p.data === "string" && typeof p.mediaType === "string" && optString(p, "filename")
    case "tool-call":
      return typeof p.toolCallId === "string" && typeof p.toolName === "string" && p.input !== undefined
    case "tool-result":
      return typeof p.toolCallId === "string" && typeof p.toolName === "string" && p.output !== undefined &&
        (!("isError" in p) || typeof p.isError === "boolean")
    default:
      return false
  }
}

const dataOk = (d: unknown): d is Message.MessageData => {
  if (!isObj(d) || !roles.has(d.role as string)) return false
  const content = d.content
  if (typeof content !== "string") {
    if (!Array.isArray(content)) return false
    for (const part of content) if (!partOk(part)) return false
  }
  if (!optString(d, "name") || !optString(d, "toolCallId") || !optString(d, "toolName")) return false
  if ("toolCalls" in d) {
    if (!Array.isArray(d.toolCalls)) return false
    for (const c of d.toolCalls) {
      if (!isObj(c) || typeof c.id !== "string" || typeof c.name !== "string" || c.arguments === undefined) {
        return false
      }
    }
  }
  return true
}

const sourceOf = (s: unknown): Message.MessageSource | undefined => {
  if (!isObj(s)) return undefined
  switch (s.type) {
    case "user":
    case "system":
      return { type: s.type }
    case "assistant":
      if (!optString(s, "stepId")) return undefined
      return s.stepId === undefined ? { type: "assistant" } : { type: "assistant", stepId: s.stepId as string }
    case "tool":
      return typeof s.toolCallId === "string" && typeof s.toolName === "string"
        ? { type: "tool", toolCallId: s.toolCallId, toolName: s.toolName }
        : undefined
    case "extension":
      return typeof s.extensionName === "string" ? { type: "extension", extensionName: s.extensionName } : undefined
    default:
      return undefined
  }
}

const isoDate = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$/

/** @internal */
export const decodeMessageFast = (m: unknown): Message.Message | undefined => {
  if (!isObj(m) || typeof m.id !== "string" || m.id.length === 0 || !dataOk(m.data) || !isObj(m.metadata)) {
    return undefined
  }
  // Only the canonical form we write; anything else goes through Schema.Date.
  if (typeof m.createdAt !== "string" || !isoDate.test(m.createdAt)) return undefined
  const createdAt = new Date(m.createdAt)
  if (Number.isNaN(createdAt.getTime())) return undefined
  const source = sourceOf(m.source)
  if (source === undefined) return undefined
  return { id: m.id, data: m.data, metadata: m.metadata as Message.Message["metadata"], createdAt, source }
}

/** @internal */
export const decodeEventFast = (e: Obj): MessageEvent.MessageEvent | undefined => {
  const seq = e.seq
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) return undefined
  switch (e.type) {
    case "append": {
      const message = decodeMessageFast(e.message)
      return message === undefined ? undefined : { seq, type: "append", message }
    }
    case "replace": {
      if (typeof e.targetId !== "string") return undefined
      const message = decodeMessageFast(e.message)
      return message === undefined ? undefined : { seq, type: "replace", targetId: e.targetId, message }
    }
    case "remove":
      return typeof e.targetId === "string" ? { seq, type: "remove", targetId: e.targetId } : undefined
    case "truncate":
      return { seq, type: "truncate" }
    default:
      return undefined
  }
}

/**
 * The codec of `events.jsonl` lines.
 *
 * @example
 * ```ts
 * import { MessageStore } from "effect-swarm"
 * MessageStore.eventCodec.encode({ seq: 1, type: "truncate" }) // '{"v":1,"seq":1,"type":"truncate"}'
 * ```
 *
 * @since 0.1.0
 * @category codecs
 */
export const eventCodec: Jsonl.Codec<MessageEvent.MessageEvent> = Jsonl.codec(MessageEvent.MessageEvent, {
  version: MessageEvent.version,
  encode: fastEvent,
  encodeLine: eventLine,
  decodeFast: decodeEventFast
})

/**
 * The codec of `base.jsonl` lines (the header, then messages).
 *
 * @example
 * ```ts
 * import { MessageStore } from "effect-swarm"
 * MessageStore.baseCodec.encode({ type: "snapshot", seq: 3, messages: 0 }) // '{"v":1,"type":"snapshot","seq":3,"messages":0}'
 * ```
 *
 * @since 0.1.0
 * @category codecs
 */
export const baseCodec: Jsonl.Codec<BaseLine> = Jsonl.codec(BaseLine, {
  version: 1,
  encode: (line) => "type" in line && line.type === "snapshot" ? line : fastMessage(line as Message.Message),
  encodeLine: (line, version) => {
    if ("type" in line) return undefined
    const message = messageLine(line)
    return message && `{"v":${version},${message.slice(1)}`
  },
  decodeFast: (record) => "type" in record ? undefined : decodeMessageFast(record)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * Gives the drafts the next sequence numbers and appends them; durable (fsynced) when it returns.
   * Concurrent appends to one instance are group-committed. Returns the sequenced events.
   */
  readonly append: (
    instance: WorkspacePaths.InstanceRef,
    events: ReadonlyArray<MessageEvent.Draft>
  ) => Effect.Effect<ReadonlyArray<MessageEvent.MessageEvent>, MessageStoreError>
  /** The conversation from the files: snapshot + events after it. Missing files are an empty conversation. */
  readonly load: (instance: WorkspacePaths.InstanceRef) => Effect.Effect<Conversation.Conversation, MessageStoreError>
  /** The events after the snapshot, streamed. */
  readonly events: (instance: WorkspacePaths.InstanceRef) => Stream.Stream<MessageEvent.MessageEvent, MessageStoreError>
  /** Folds the events into the snapshot and empties `events.jsonl`. Returns the folded conversation. */
  readonly compact: (
    instance: WorkspacePaths.InstanceRef
  ) => Effect.Effect<Conversation.Conversation, MessageStoreError>
  /**
   * Closes the instance's writer and releases its lock once the appends and compaction in flight on it are
   * done (it reopens on the next append).
   */
  readonly release: (instance: WorkspacePaths.InstanceRef) => Effect.Effect<void>
  /**
   * Releases every instance unused for at least `idleTimeout` now (a background fiber does this every
   * half timeout); returns how many were closed.
   */
  readonly releaseIdle: Effect.Effect<number>
  /** How many instances this store holds open (writer + lock). */
  readonly openInstances: Effect.Effect<number>
  /** The paths of an instance under this store's root. */
  readonly paths: (instance: WorkspacePaths.InstanceRef) => WorkspacePaths.InstancePaths
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
 *   yield* store.append(instance, [MessageEvent.append(hello)]) // durable now
 *   const conversation = yield* store.load(instance)
 *   return conversation.messages
 * }).pipe(Effect.provide(MessageStore.layer({ root: "/tmp/swarm" })), Effect.provide(NodeFileSystem.layer))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class MessageStore extends Context.Tag("effect-swarm/MessageStore")<MessageStore, Service>() {}

interface Open {
  readonly writer: Jsonl.Writer<MessageEvent.MessageEvent>
  readonly permit: Effect.Semaphore
  lastSeq: number
  /** Size of `base.jsonl` (the last snapshot), for the compaction policy. */
  baseBytes: number
  /** Auto-compaction failed once: not retried until the instance reopens (the error was logged). */
  autoCompactFailed: boolean
  /**
   * Every event after the snapshot is an `append`: nothing in `events.jsonl` is dead, so compacting would
   * rewrite the same messages without making the files smaller or the load faster.
   */
  appendsOnly: boolean
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
}

const readSnapshot = (fs: FileSystem.FileSystem, file: string) =>
  Effect.gen(function*() {
    const lines = yield* Jsonl.readAll(file, baseCodec).pipe(Effect.provideService(FileSystem.FileSystem, fs))
    if (lines.length === 0) return { seq: 0, messages: [] as ReadonlyArray<Message.Message> }
    const [header, ...rest] = lines
    if (header === undefined || !("type" in header) || header.type !== "snapshot") {
      return yield* new SnapshotInvalid({ file, reason: "the first line is not a snapshot header" })
    }
    const messages: Array<Message.Message> = []
    for (const line of rest) {
      if ("type" in line && line.type === "snapshot") {
        return yield* new SnapshotInvalid({ file, reason: "a second snapshot header" })
      }
      messages.push(line as Message.Message)
    }
    if (messages.length !== header.messages) {
      return yield* new SnapshotInvalid({
        file,
        reason: `the header announces ${header.messages} messages, the file has ${messages.length}`
      })
    }
    return { seq: header.seq, messages }
  })

/**
 * Builds the store over a state root (default: `StateRoot.resolve`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { MessageStore } from "effect-swarm"
 * const store = MessageStore.make({ root: "/tmp/swarm" }) // Effect<Service, never, FileSystem | Scope>
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options?: Options): Effect.Effect<Service, never, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const root = yield* WorkspacePaths.resolveRoot(options?.root)
    const durable = options?.durable ?? true
    // A value that is not a non-negative number (NaN, negative) would silently disable or distort the
    // policy: it falls back to the default, loudly.
    const setting = (name: "minBytes" | "ratio", fallback: number) =>
      Effect.gen(function*() {
        const value = options?.compaction === false ? undefined : options?.compaction?.[name]
        if (value === undefined) return fallback
        if (Number.isFinite(value) && value >= 0) return value
        yield* Effect.logWarning(
          `MessageStore: compaction.${name} must be a non-negative number, got ${value}; using ${fallback}`
        )
        return fallback
      })
    const policy = options?.compaction === false ? undefined : {
      minBytes: yield* setting("minBytes", 4 * 1024 * 1024),
      ratio: yield* setting("ratio", 1)
    }
    const instances = yield* OpenInstances.make<Open>({ idleTimeout: options?.idleTimeout ?? "5 minutes" })
    const paths = (instance: WorkspacePaths.InstanceRef) => WorkspacePaths.instance(root, instance)

    const readEvents = (file: string) =>
      Jsonl.read(file, eventCodec).pipe(Stream.provideService(FileSystem.FileSystem, fs))

    const loadFrom = (p: WorkspacePaths.InstancePaths) =>
      Effect.gen(function*() {
        const snapshot = yield* readSnapshot(fs, p.base)
        const base = Conversation.make(snapshot.messages, { baseSeq: snapshot.seq })
        return yield* Stream.runFold(readEvents(p.events), base, Conversation.apply)
      })

    const open = (p: WorkspacePaths.InstancePaths) =>
      Effect.gen(function*() {
        yield* fs.makeDirectory(p.messagesDir, { recursive: true }).pipe(AtomicFile.io(p.messagesDir, "mkdir"))
        yield* InstanceLock.acquire(fs, p.lock, "messages")
        // A compaction that crashed before its rename leaves this behind; the old snapshot is intact.
        yield* fs.remove(`${p.base}.tmp`, { force: true }).pipe(AtomicFile.io(`${p.base}.tmp`, "remove"))
        const writer = yield* Jsonl.writer(p.events, eventCodec, { durable })
        const conversation = yield* loadFrom(p)
        const permit = yield* Effect.makeSemaphore(1)
        const baseBytes = yield* fs.stat(p.base).pipe(
          Effect.map((info) => Number(info.size)),
          Effect.orElseSucceed(() => 0)
        )
        return {
          writer,
          permit,
          lastSeq: conversation.lastSeq,
          baseBytes,
          autoCompactFailed: false,
          appendsOnly: conversation.events.every((e) => e.type === "append")
        } satisfies Open
      }).pipe(Effect.provideService(FileSystem.FileSystem, fs))

    const withInstance = <B, E>(instance: WorkspacePaths.InstanceRef, f: (inst: Open) => Effect.Effect<B, E>) => {
      const p = paths(instance)
      return instances.use(p.dir, open(p), f)
    }

    // Folds the files into a new snapshot. The caller holds the instance's permit.
    const compactOpen = (inst: Open, p: WorkspacePaths.InstancePaths) =>
      Effect.gen(function*() {
        yield* inst.writer.flush
        const folded = Conversation.fold(yield* loadFrom(p))
        let text = baseCodec.encode({ type: "snapshot", seq: folded.baseSeq, messages: folded.messages.length }) +
          "\n"
        for (const message of folded.messages) text += baseCodec.encode(message) + "\n"
        // Steps: temp + fsync, rename, fsync dir (AtomicFile.write), then truncate + fsync the events.
        // Between any two, loading gives the same conversation: events at or below the snapshot seq are skipped.
        yield* AtomicFile.write(fs, p.base, text, { tmp: `${p.base}.tmp` })
        yield* inst.writer.truncate
        inst.baseBytes = Buffer.byteLength(text)
        inst.appendsOnly = true
        return folded
      }).pipe(Effect.uninterruptible)

    const shouldCompact = (inst: Open) =>
      Effect.map(
        inst.writer.size,
        (size) =>
          policy !== undefined && !inst.appendsOnly && !inst.autoCompactFailed && size >= policy.minBytes &&
          size >= policy.ratio * inst.baseBytes
      )

    // Runs in the appender's fiber once its events are durable: a failure here never fails the append.
    const autoCompact = (inst: Open, p: WorkspacePaths.InstancePaths) =>
      inst.permit.withPermits(1)(Effect.gen(function*() {
        if (!(yield* shouldCompact(inst))) return
        yield* compactOpen(inst, p).pipe(
          Effect.catchAll((error) =>
            Effect.sync(() => inst.autoCompactFailed = true).pipe(
              Effect.zipRight(Effect.logWarning(
                `automatic compaction of ${p.dir} failed; appends go on, compaction is retried when the ` +
                  `instance reopens (or call compact): ${error.message}`
              ))
            )
          )
        )
      }))

    const append = Effect.fn("MessageStore.append")(function*(
      instance: WorkspacePaths.InstanceRef,
      drafts: ReadonlyArray<MessageEvent.Draft>
    ) {
      if (drafts.length === 0) return []
      return yield* withInstance(instance, (inst) =>
        Effect.gen(function*() {
          const [events, wait] = yield* inst.permit.withPermits(1)(Effect.gen(function*() {
            const events = drafts.map((draft, i) => MessageEvent.withSeq(draft, inst.lastSeq + 1 + i))
            for (const draft of drafts) if (draft.type !== "append") inst.appendsOnly = false
            // The queue order is the file order, so seqs are assigned and queued under the same permit.
            const wait = yield* inst.writer.enqueue(events)
            inst.lastSeq += events.length
            return [events, wait] as const
          }))
          yield* wait
          if (yield* shouldCompact(inst)) yield* autoCompact(inst, paths(instance))
          return events
        }))
    })

    const load = Effect.fn("MessageStore.load")(function*(instance: WorkspacePaths.InstanceRef) {
      return yield* loadFrom(paths(instance))
    })

    const events = (instance: WorkspacePaths.InstanceRef) =>
      Stream.unwrap(Effect.gen(function*() {
        const p = paths(instance)
        const snapshot = yield* readSnapshot(fs, p.base)
        return readEvents(p.events).pipe(Stream.filter((e) => e.seq > snapshot.seq))
      }))

    const compact = Effect.fn("MessageStore.compact")(function*(instance: WorkspacePaths.InstanceRef) {
      const p = paths(instance)
      return yield* withInstance(instance, (inst) => inst.permit.withPermits(1)(compactOpen(inst, p)))
    })

    const release = (instance: WorkspacePaths.InstanceRef) => instances.release(paths(instance).dir)

    return MessageStore.of({
      append,
      load,
      events,
      compact,
      release,
      releaseIdle: instances.releaseIdle,
      openInstances: instances.size,
      paths
    })
  })

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
