/**
 * The failures of the conversation store, independent of the backend (JSONL files today, a database
 * later): a caller handles these six and never a file-format error.
 *
 * - {@link StorageUnavailable}: the storage could not be read or written (I/O error, full disk, gone).
 * - {@link StorageCorrupt}: stored data is unreadable or inconsistent; `repair` salvages what is valid.
 * - `InstanceLocked` (from `InstanceLock`): another writer holds the instance.
 * - {@link SeqConflict}: `append` with `expectedLastSeq`, and the log had moved on.
 * - {@link InvalidMessage}: a draft that could not be stored and read back; nothing was written.
 * - {@link StoreClosed}: the store was used after the scope of its layer closed; nothing was read or written.
 *
 * `file` and `line` are filled in by file-backed implementations and absent otherwise.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import type { InstanceLocked } from "./InstanceLock.js"

const where = (file: string | undefined, line: number | undefined) =>
  file === undefined ? "" : line === undefined ? `${file}: ` : `${file}:${line}: `

/**
 * The storage could not be read or written. `operation` says what was attempted, `reason` what went
 * wrong (the system's message: `ENOSPC`, `EACCES`, ...).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { StorageError } from "effect-swarm"
 * declare const program: Effect.Effect<void, StorageError.StorageError>
 * program.pipe(Effect.catchTag("StorageUnavailable", (e) => Effect.logError(e.message)))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class StorageUnavailable extends Schema.TaggedError<StorageUnavailable>("effect-swarm/StorageUnavailable")(
  "StorageUnavailable",
  {
    operation: Schema.String,
    reason: Schema.String,
    file: Schema.optional(Schema.String),
    cause: Schema.optional(Schema.Defect)
  }
) {
  override get message(): string {
    return `${where(this.file, undefined)}${this.operation} failed: ${this.reason}. Nothing acknowledged was lost; ` +
      `free space or fix permissions and retry.`
  }
}

/**
 * Stored data is unreadable or inconsistent (a damaged record, an unknown record version, a snapshot that
 * does not match its header, a duplicate or missing sequence number).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { StorageError } from "effect-swarm"
 * declare const program: Effect.Effect<void, StorageError.StorageError>
 * program.pipe(Effect.catchTag("StorageCorrupt", (e) => Effect.logError(`${e.file}:${e.line} ${e.reason}`)))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class StorageCorrupt extends Schema.TaggedError<StorageCorrupt>("effect-swarm/StorageCorrupt")(
  "StorageCorrupt",
  {
    reason: Schema.String,
    suggestion: Schema.String,
    file: Schema.optional(Schema.String),
    line: Schema.optional(Schema.Number),
    excerpt: Schema.optional(Schema.String)
  }
) {
  override get message(): string {
    const excerpt = this.excerpt === undefined ? "" : `: ${this.excerpt}`
    return `${where(this.file, this.line)}${this.reason}${excerpt}. Nothing was modified; ${this.suggestion}`
  }
}

/**
 * `append` was given `expectedLastSeq` and the instance's log had moved on (another step wrote first).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { StorageError } from "effect-swarm"
 * declare const program: Effect.Effect<void, StorageError.StorageError>
 * program.pipe(Effect.catchTag("SeqConflict", (e) => Effect.log(`reload: now at ${e.lastSeq}`)))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class SeqConflict extends Schema.TaggedError<SeqConflict>("effect-swarm/SeqConflict")(
  "SeqConflict",
  { expectedLastSeq: Schema.Number, lastSeq: Schema.Number }
) {
  override get message(): string {
    return `the conversation is at seq ${this.lastSeq}, not ${this.expectedLastSeq}: it changed since it was read. ` +
      `Nothing was written; load it again and redo the step.`
  }
}

/**
 * A record cannot be stored and read back as it was given. Nothing of the batch was written. `index` is the
 * record's position in the batch. `kind` says what was appended: a message event draft (`MessageStore`, the
 * default: a missing or empty id, an invalid date, a tool call without input, content that is not text or
 * parts, an id already in the conversation...) or a runtime event (`RuntimeEventLog`: not a JSON object with
 * a string `type`, or holding a value JSON would change: NaN, Infinity, `undefined` in an array, a Date, nesting
 * past 256 levels...), with its `eventType`, the `file` it was for and the `path` of the value at fault when known.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { StorageError } from "effect-swarm"
 * declare const program: Effect.Effect<void, StorageError.StorageError>
 * program.pipe(Effect.catchTag("InvalidMessage", (e) => Effect.logError(e.message)))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidMessage extends Schema.TaggedError<InvalidMessage>("effect-swarm/InvalidMessage")(
  "InvalidMessage",
  {
    index: Schema.Number,
    reason: Schema.String,
    messageId: Schema.optional(Schema.String),
    kind: Schema.optional(Schema.Literal("message", "runtime event")),
    eventType: Schema.optional(Schema.String),
    file: Schema.optional(Schema.String),
    path: Schema.optional(Schema.String)
  }
) {
  override get message(): string {
    if (this.kind === "runtime event") {
      const type = this.eventType === undefined ? "" : ` of type ${JSON.stringify(this.eventType)}`
      const where = this.file === undefined ? "the runtime event log" : this.file
      const at = this.path === undefined ? "" : ` at ${this.path}`
      return `runtime event #${this.index}${type} cannot be appended to ${where}: ${this.reason}${at}. Nothing of ` +
        `the batch was written; store plain JSON (strings, finite numbers, booleans, null, arrays and plain ` +
        `objects, at most 256 levels deep), e.g. a date as its ISO string, null for a missing array item.`
    }
    const id = this.messageId === undefined ? "" : ` (message id ${JSON.stringify(this.messageId)})`
    return `draft #${this.index}${id} cannot be stored: ${this.reason}. Nothing was written; build messages with ` +
      `Message.make or fix that field.`
  }
}

/**
 * The store was used after the scope it was made in (its layer's scope) had closed: its instances and
 * their locks were given back then, and a closed store neither reopens an instance nor reads one. Nothing
 * was read or written. `store` is the service (`MessageStore`, `RuntimeEventLog`), `operation` the method
 * called, `instance` the `agent@instanceKey` it was called on.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { StorageError } from "effect-swarm"
 * declare const program: Effect.Effect<void, StorageError.StorageError>
 * program.pipe(Effect.catchTag("StoreClosed", (e) => Effect.logError(e.message)))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class StoreClosed extends Schema.TaggedError<StoreClosed>("effect-swarm/StoreClosed")(
  "StoreClosed",
  { store: Schema.String, operation: Schema.String, instance: Schema.String, workspaceId: Schema.String }
) {
  override get message(): string {
    return `${this.store}.${this.operation} on ${this.instance} (workspace ${JSON.stringify(this.workspaceId)}): ` +
      `the store is closed (the scope of its layer has closed, and with it every instance and lock it held). ` +
      `Nothing was read or written; use the store of a layer that is still open.`
  }
}

/**
 * Every failure of a conversation store.
 *
 * @since 0.1.0
 * @category errors
 */
export type StorageError =
  | StorageUnavailable
  | StorageCorrupt
  | InstanceLocked
  | SeqConflict
  | InvalidMessage
  | StoreClosed
