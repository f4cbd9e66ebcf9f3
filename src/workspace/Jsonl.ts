/**
 * Versioned JSONL files: one JSON object per line, each with a record schema version `v`.
 *
 * - {@link read}: a `Stream` of decoded records. Old versions are upgraded through registered upcasters; a
 *   newer or unknown version is a typed error. A line that is not newline-terminated at the end of the file
 *   is a torn write (never acknowledged) and is skipped with a warning; any other bad line fails with the
 *   file and line number, and the file is left untouched.
 * - {@link writer}: an append writer for one file. Appends are queued in call order and written one batch at
 *   a time; everything queued while the previous batch was being written goes out in one `write` and one
 *   `fsync` (group commit). `append` returns only once its records are durable. Opening the writer repairs
 *   a torn tail by truncating it (with a warning).
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as path from "node:path"
import { io, StorageIoError, syncDirectory } from "./AtomicFile.js"

export {
  /**
   * @since 0.1.0
   * @category errors
   */
  StorageIoError
} from "./AtomicFile.js"

/**
 * A line in the middle of a JSONL file is not a valid record. The file is not modified; `line` is 1-based.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Jsonl } from "effect-swarm"
 * declare const program: Effect.Effect<void, Jsonl.JsonlError>
 * program.pipe(Effect.catchTag("JsonlCorruptLine", (e) => Effect.logError(`${e.file}:${e.line} ${e.reason}`)))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class JsonlCorruptLine extends Schema.TaggedError<JsonlCorruptLine>("effect-swarm/JsonlCorruptLine")(
  "JsonlCorruptLine",
  { file: Schema.String, line: Schema.Number, reason: Schema.String, excerpt: Schema.String }
) {
  override get message(): string {
    return `${this.file}:${this.line}: corrupt record (${this.reason}): ${this.excerpt}. The file was not modified; ` +
      `fix or remove that line by hand, or restore the file from a backup.`
  }
}

/**
 * A record carries a schema version `v` this reader cannot read: newer than the current version, not an
 * integer, or older with no registered upcaster.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Jsonl } from "effect-swarm"
 * declare const program: Effect.Effect<void, Jsonl.JsonlError>
 * program.pipe(Effect.catchTag("JsonlUnknownVersion", (e) => Effect.logError(e.message)))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class JsonlUnknownVersion extends Schema.TaggedError<JsonlUnknownVersion>("effect-swarm/JsonlUnknownVersion")(
  "JsonlUnknownVersion",
  { file: Schema.String, line: Schema.Number, version: Schema.String, supported: Schema.Number }
) {
  override get message(): string {
    return `${this.file}:${this.line}: record version ${this.version} is not supported (this build reads up to ` +
      `v${this.supported}). Upgrade effect-swarm, or register an upcaster for that version.`
  }
}

/**
 * Every failure of this module.
 *
 * @since 0.1.0
 * @category errors
 */
export type JsonlError = JsonlCorruptLine | JsonlUnknownVersion | StorageIoError

/**
 * A record type with its current version and the upcasters that bring older versions up to it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Codec<A> {
  readonly version: number
  /** One line without the trailing newline, `v` first. */
  readonly encode: (record: A) => string
  /** Decodes a parsed line; `Left` holds a readable reason. */
  readonly decode: (json: unknown) => Either.Either<A, { readonly reason: string; readonly version?: string }>
}

/**
 * Upgrades a record of version `n` (the key) to version `n + 1`.
 *
 * @since 0.1.0
 * @category models
 */
export type Upcasters = { readonly [fromVersion: number]: (record: Record<string, unknown>) => Record<string, unknown> }

/**
 * A codec for a schema: lines are `{"v":<version>,...encoded fields}`. `upcasters[n]` turns a version-`n`
 * record (without `v`) into a version-`n + 1` one. `encode` may be replaced by a faster hand-written encoder
 * that produces the same JSON as `Schema.encode` (used for message events on the hot path).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Jsonl } from "effect-swarm"
 * const Note = Schema.Struct({ text: Schema.String, tags: Schema.Array(Schema.String) })
 * const codec = Jsonl.codec(Note, {
 *   version: 2,
 *   upcasters: { 1: (r) => ({ ...r, tags: [] }) } // v1 records had no tags
 * })
 * codec.encode({ text: "hi", tags: [] }) // '{"v":2,"text":"hi","tags":[]}'
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const codec = <A, I>(
  schema: Schema.Schema<A, I>,
  options: {
    readonly version: number
    readonly upcasters?: Upcasters | undefined
    readonly encode?: ((record: A) => I) | undefined
    /**
     * A hand-written writer of the whole line (`v` first) for the hot path: returns the line, or
     * `undefined` to fall back to `encode`. It must produce the same JSON text as the fallback.
     */
    readonly encodeLine?: ((record: A, version: number) => string | undefined) | undefined
    /**
     * A hand-written validator for the current version: returns the decoded record, or `undefined` to
     * fall back to the schema (which then produces the value or the precise error). It must accept only
     * what the schema accepts and return what the schema would.
     */
    readonly decodeFast?: ((record: Record<string, unknown>) => A | undefined) | undefined
  }
): Codec<A> => {
  const version = options.version
  const upcasters = options.upcasters ?? {}
  const encodeSchema = ParseResult.encodeSync(schema)
  const toEncoded = options.encode ?? encodeSchema
  const decodeSchema = ParseResult.decodeUnknownEither(schema, { onExcessProperty: "ignore" })
  return {
    version,
    encode: (record) => {
      const line = options.encodeLine?.(record, version)
      if (line !== undefined) return line
      const encoded = toEncoded(record)
      const body = JSON.stringify(encoded)
      // `v` first, so a human reading the file sees the version at the start of every line.
      return body === "{}" ? `{"v":${version}}` : `{"v":${version},${body.slice(1)}`
    },
    decode: (json) => {
      if (typeof json !== "object" || json === null || Array.isArray(json)) {
        return Either.left({ reason: "not a JSON object" })
      }
      const v = (json as Record<string, unknown>).v
      if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > version) {
        return Either.left({ reason: "unsupported version", version: JSON.stringify(v) ?? "undefined" })
      }
      if (v === version && options.decodeFast !== undefined) {
        // The fast decoder builds fresh objects from known fields, so `v` needs no stripping.
        const fast = options.decodeFast(json as Record<string, unknown>)
        if (fast !== undefined) return Either.right(fast)
      }
      const { v: _v, ...rest } = json as Record<string, unknown>
      let record: Record<string, unknown> = rest
      for (let n = v; n < version; n++) {
        const up = upcasters[n]
        if (up === undefined) return Either.left({ reason: "no upcaster", version: String(v) })
        record = up(record)
      }
      // Effect's issue formatter calls String() on the offending value, which throws for JSON such as
      // {"toString": false}; a damaged line must still come back as a typed corrupt-record error.
      try {
        const decoded = decodeSchema(record)
        return Either.isRight(decoded)
          ? Either.right(decoded.right)
          : Either.left({ reason: ParseResult.TreeFormatter.formatIssueSync(decoded.left) })
      } catch (cause) {
        return Either.left({ reason: `unreadable record (${cause instanceof Error ? cause.message : "unknown"})` })
      }
    }
  }
}

/**
 * What the reader reports about a torn (unterminated) last line that it skipped.
 *
 * @since 0.1.0
 * @category models
 */
export interface TornTail {
  readonly file: string
  /** Byte offset where the torn line starts (the length of the intact part of the file). */
  readonly offset: number
  readonly bytes: number
}

const excerptOf = (line: string) => line.length > 120 ? `${line.slice(0, 120)}…` : line

const decodeLine = <A>(
  codec: Codec<A>,
  file: string,
  lineNo: number,
  line: string
): Either.Either<A, JsonlCorruptLine | JsonlUnknownVersion> => {
  let json: unknown
  try {
    json = JSON.parse(line)
  } catch (e) {
    return Either.left(
      new JsonlCorruptLine({
        file,
        line: lineNo,
        reason: `invalid JSON: ${e instanceof Error ? e.message : String(e)}`,
        excerpt: excerptOf(line)
      })
    )
  }
  const decoded = codec.decode(json)
  if (Either.isRight(decoded)) return Either.right(decoded.right)
  const { reason, version } = decoded.left
  return Either.left(
    version !== undefined
      ? new JsonlUnknownVersion({ file, line: lineNo, version, supported: codec.version })
      : new JsonlCorruptLine({ file, line: lineNo, reason, excerpt: excerptOf(line) })
  )
}

const NL = 10

/**
 * Reads the records of a file as a stream (a missing file is empty). Lines are split and decoded a chunk
 * (1 MiB) at a time; blank lines are skipped. See the module docs for torn tails and corrupt lines.
 *
 * @example
 * ```ts
 * import { Schema, Stream } from "effect"
 * import { Jsonl } from "effect-swarm"
 * const codec = Jsonl.codec(Schema.Struct({ n: Schema.Number }), { version: 1 })
 * const all = Stream.runCollect(Jsonl.read("/tmp/numbers.jsonl", codec))
 * ```
 *
 * @since 0.1.0
 * @category reading
 */
export const read = <A>(
  file: string,
  codec: Codec<A>,
  options?: {
    readonly onTornTail?: ((tail: TornTail) => Effect.Effect<void>) | undefined
    /** Start reading at this byte offset (must be a line start). */
    readonly offset?: number | undefined
  }
): Stream.Stream<A, JsonlError, FileSystem.FileSystem> =>
  Stream.unwrap(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const exists = yield* fs.exists(file).pipe(io(file, "stat"))
    if (!exists) return Stream.empty
    const decoder = new TextDecoder("utf-8")
    let carry: Uint8Array | undefined
    let lineNo = 0
    let consumed = options?.offset ?? 0
    const onChunk = (chunk: Uint8Array): Effect.Effect<Chunk.Chunk<A>, JsonlCorruptLine | JsonlUnknownVersion> => {
      let buf = chunk
      if (carry !== undefined) {
        buf = new Uint8Array(carry.length + chunk.length)
        buf.set(carry, 0)
        buf.set(chunk, carry.length)
      }
      const last = buf.lastIndexOf(NL)
      if (last < 0) {
        carry = buf
        return Effect.succeed(Chunk.empty())
      }
      carry = last + 1 < buf.length ? buf.slice(last + 1) : undefined
      consumed += last + 1
      const lines = decoder.decode(buf.subarray(0, last)).split("\n")
      const out: Array<A> = []
      for (const line of lines) {
        lineNo++
        if (line.length === 0 || line.trim().length === 0) continue
        const decoded = decodeLine(codec, file, lineNo, line)
        if (Either.isLeft(decoded)) return Effect.fail(decoded.left)
        out.push(decoded.right)
      }
      return Effect.succeed(Chunk.unsafeFromArray(out))
    }
    const tail = Effect.suspend(() => {
      if (carry === undefined || carry.every((b) => b === 32 || b === 9 || b === 13)) return Effect.void
      const torn: TornTail = { file, offset: consumed, bytes: carry.length }
      return Effect.logWarning(`torn last line skipped in ${file} (${torn.bytes} bytes at offset ${torn.offset})`)
        .pipe(Effect.zipRight(options?.onTornTail?.(torn) ?? Effect.void))
    })
    return fs.stream(file, { chunkSize: FileSystem.MiB(1), offset: options?.offset ?? 0 }).pipe(
      Stream.mapError((cause) => new StorageIoError({ file, operation: "read", cause })),
      Stream.mapConcatChunkEffect(onChunk),
      Stream.concat(Stream.drain(Stream.fromEffect(tail)))
    )
  }))

/**
 * Truncates a torn (unterminated) last line, returning how many bytes were cut (0 when the file ends with
 * a newline, is empty or is missing). Used when opening a file for appending.
 *
 * @example
 * ```ts
 * import { FileSystem } from "@effect/platform"
 * import { Effect } from "effect"
 * import { Jsonl } from "effect-swarm"
 * const program = Effect.flatMap(FileSystem.FileSystem, (fs) => Jsonl.repairTail(fs, "/tmp/a.jsonl"))
 * ```
 *
 * @since 0.1.0
 * @category writing
 */
export const repairTail = (fs: FileSystem.FileSystem, file: string): Effect.Effect<number, StorageIoError> =>
  Effect.gen(function*() {
    const exists = yield* fs.exists(file)
    if (!exists) return 0
    return yield* Effect.scoped(Effect.gen(function*() {
      const handle = yield* fs.open(file, { flag: "r" })
      const size = Number((yield* handle.stat).size)
      // Scan backwards for the last newline, 64 KiB at a time.
      let end = size
      while (end > 0) {
        const start = Math.max(0, end - 65536)
        yield* handle.seek(start, "start")
        const buf = new Uint8Array(end - start)
        yield* handle.read(buf)
        const i = buf.lastIndexOf(NL)
        if (i >= 0) {
          end = start + i + 1
          break
        }
        end = start
      }
      return [size, end] as const
    })).pipe(
      Effect.flatMap(([size, keep]) =>
        keep === size
          ? Effect.succeed(0)
          : fs.truncate(file, keep).pipe(
            Effect.zipRight(Effect.logWarning(`repaired torn last line of ${file}: cut ${size - keep} bytes`)),
            Effect.as(size - keep)
          )
      )
    )
  }).pipe(io(file, "repair"))

/**
 * An open append writer for one JSONL file.
 *
 * @since 0.1.0
 * @category models
 */
export interface Writer<A> {
  readonly file: string
  /** Appends records; returns once they are written (and fsynced when the writer is durable). */
  readonly append: (records: ReadonlyArray<A>) => Effect.Effect<void, StorageIoError>
  /**
   * Queues records now (their order relative to other appends is fixed when this returns) and gives back
   * the effect that waits for them to be durable.
   */
  readonly enqueue: (records: ReadonlyArray<A>) => Effect.Effect<Effect.Effect<void, StorageIoError>>
  /** Waits until everything queued before this call is written (and durable). */
  readonly flush: Effect.Effect<void, StorageIoError>
  /** Cuts the file to zero bytes, durably. Only call it when no append is in flight. */
  readonly truncate: Effect.Effect<void, StorageIoError>
  /** Bytes appended by this writer since it was opened or truncated, plus the size it had when opened. */
  readonly size: Effect.Effect<number>
}

interface Pending {
  readonly bytes: Uint8Array
  readonly done: Deferred.Deferred<void, StorageIoError>
}

const closedError = (file: string) =>
  new StorageIoError({ file, operation: "append", cause: new Error("writer closed") })

/**
 * Opens an append writer (creating the file and its directory when missing, repairing a torn tail). The
 * writer lives as long as the scope; closing it waits for the batch being written, then fails appends still
 * queued. `durable: false` skips fsync (for caches and benchmarks).
 *
 * Concurrency: appends are queued in call order and written by one fiber at a time, so lines never
 * interleave. Group commit without a dedicated writer fiber: an appender that finds no write in progress
 * becomes the leader and writes everything queued (its own lines and whatever arrived before) with one
 * `write` and one `fsync`; appenders arriving meanwhile wait, and the next batch (all of them) is written
 * by a fiber forked in the writer's scope once the leader's own lines are durable. An uncontended append
 * therefore costs one write and one fsync, with no fiber hand-off.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Jsonl } from "effect-swarm"
 * const codec = Jsonl.codec(Schema.Struct({ n: Schema.Number }), { version: 1 })
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const w = yield* Jsonl.writer("/tmp/numbers.jsonl", codec)
 *   yield* w.append([{ n: 1 }, { n: 2 }]) // durable when this returns
 * }))
 * ```
 *
 * @since 0.1.0
 * @category writing
 */
export const writer = <A>(
  file: string,
  codec: Codec<A>,
  options?: { readonly durable?: boolean | undefined }
): Effect.Effect<Writer<A>, StorageIoError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const durable = options?.durable ?? true
    const dir = path.dirname(file)
    yield* fs.makeDirectory(dir, { recursive: true }).pipe(io(dir, "mkdir"))
    const existed = yield* fs.exists(file).pipe(io(file, "stat"))
    yield* repairTail(fs, file)
    const handle = yield* fs.open(file, { flag: "a", mode: 0o644 }).pipe(io(file, "open"))
    let size = Number((yield* handle.stat.pipe(io(file, "stat"))).size)
    if (!existed && durable) {
      // The new directory entry must survive a crash too.
      yield* handle.sync.pipe(io(file, "fsync"))
      yield* syncDirectory(fs, dir)
    }
    const scope = yield* Effect.scope
    const encoder = new TextEncoder()
    const persist = (bytes: Uint8Array) =>
      (bytes.length === 0 ? Effect.void : handle.writeAll(bytes)).pipe(
        Effect.zipRight(durable ? handle.sync : Effect.void),
        io(file, durable ? "append+fsync" : "append")
      )

    // Lines queued and not yet taken by a batch, in call order.
    let pending: Array<Pending> = []
    // True while a leader (an appender or the drain fiber) owns the file.
    let writing = false
    // Completed when the batch being written is done; the finalizer waits for it.
    let inflight: Deferred.Deferred<void> | undefined
    let closed = false
    // Set after a failed write that could not be cut back: every later append fails with it.
    let broken: StorageIoError | undefined

    const concat = (items: ReadonlyArray<Pending>): Uint8Array => {
      if (items.length === 1) return items[0]!.bytes
      let total = 0
      for (const item of items) total += item.bytes.length
      const bytes = new Uint8Array(total)
      let at = 0
      for (const item of items) {
        bytes.set(item.bytes, at)
        at += item.bytes.length
      }
      return bytes
    }

    // Writes one batch (everything queued now) and completes its appenders. Uninterruptible: a batch is
    // either written and acknowledged, or failed and cut back.
    const writeBatch = Effect.suspend(() => {
      const items = pending
      pending = []
      // The scope may have closed between taking the file and this batch (another fiber ran the
      // finalizer at a yield): the descriptor is gone, and may already belong to another file.
      if (closed) {
        for (const item of items) Deferred.unsafeDone(item.done, Exit.fail(closedError(file)))
        return Effect.void
      }
      const bytes = concat(items)
      const before = size
      const done = Deferred.unsafeMake<void>(FiberId.none)
      inflight = done
      const write = broken !== undefined ? Effect.fail(broken) : persist(bytes)
      return write.pipe(
        Effect.tap(() => Effect.sync(() => size += bytes.length)),
        // A failed write may have left part of a line: cut it, or refuse further appends if we cannot.
        Effect.tapError((error) =>
          handle.truncate(before).pipe(Effect.catchAll(() => Effect.sync(() => broken = error)))
        ),
        Effect.exit,
        Effect.map((exit) => {
          const result = Exit.asVoid(exit)
          for (const item of items) Deferred.unsafeDone(item.done, result)
          inflight = undefined
          Deferred.unsafeDone(done, Exit.void)
        })
      )
    }).pipe(Effect.uninterruptible)

    // Writes batches until nothing is queued, then gives up the file.
    const drain: Effect.Effect<void> = Effect.suspend(() => {
      if (pending.length === 0 || closed) {
        writing = false
        return Effect.void
      }
      return Effect.zipRight(writeBatch, drain)
    })

    // After the leader's batch: give up the file, or hand what arrived meanwhile to a drain fiber, so a
    // leader never waits for lines queued after its own. The drain fiber is interruptible between batches
    // (closing the scope stops it).
    const handOff = Effect.suspend(() => {
      if (pending.length === 0 || closed) {
        writing = false
        return Effect.void
      }
      return Effect.asVoid(Effect.forkIn(Effect.interruptible(drain), scope))
    })

    // From taking the file (`writing = true`) to handing it off, the leader cannot be interrupted: an
    // interruption in between would leave `writing` set with nobody writing, and every later append would
    // wait forever. Only the wait for its own lines is interruptible.
    const waitFor = (own: Pending): Effect.Effect<void, StorageIoError> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.suspend(() => {
          // Still queued and nobody writing: lead. Otherwise a batch has it, or the running leader or drain
          // fiber will take it before giving up the file.
          if (!writing && pending.includes(own)) {
            writing = true
            return writeBatch.pipe(Effect.zipRight(handOff), Effect.zipRight(restore(Deferred.await(own.done))))
          }
          return restore(Deferred.await(own.done))
        })
      )

    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        closed = true
        return inflight === undefined ? Effect.void : Deferred.await(inflight)
      }).pipe(
        Effect.zipRight(Effect.sync(() => {
          const rest = pending
          pending = []
          for (const item of rest) Deferred.unsafeDone(item.done, Exit.fail(closedError(file)))
        }))
      )
    )

    const enqueue = (records: ReadonlyArray<A>) =>
      Effect.sync(() => {
        if (closed) return Effect.fail(closedError(file))
        let text = ""
        for (const record of records) text += codec.encode(record) + "\n"
        const own: Pending = { bytes: encoder.encode(text), done: Deferred.unsafeMake(FiberId.none) }
        pending.push(own)
        return waitFor(own)
      })

    return {
      file,
      enqueue,
      append: (records) => Effect.flatten(enqueue(records)),
      flush: Effect.flatten(enqueue([])),
      // Never through a closed handle: its descriptor number may already belong to another open file.
      truncate: Effect.suspend(() =>
        closed ? Effect.fail(closedError(file)) : handle.truncate(0).pipe(
          Effect.zipRight(durable ? handle.sync : Effect.void),
          io(file, "truncate"),
          Effect.tap(() => Effect.sync(() => size = 0))
        )
      ),
      size: Effect.sync(() => size)
    } satisfies Writer<A>
  })

/**
 * Reads a whole file into an array (convenience over {@link read}).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Jsonl } from "effect-swarm"
 * const codec = Jsonl.codec(Schema.Struct({ n: Schema.Number }), { version: 1 })
 * const records = Jsonl.readAll("/tmp/numbers.jsonl", codec)
 * ```
 *
 * @since 0.1.0
 * @category reading
 */
export const readAll = <A>(
  file: string,
  codec: Codec<A>
): Effect.Effect<ReadonlyArray<A>, JsonlError, FileSystem.FileSystem> =>
  Stream.runCollect(read(file, codec)).pipe(Effect.map((chunk) => Chunk.toReadonlyArray(chunk)))
