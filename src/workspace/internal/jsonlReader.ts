/**
 * Reading versioned JSONL files as streams, and repairing a torn last line (see `Jsonl`).
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import { io, StorageIoError } from "../AtomicFile.js"
import type { Codec, JsonlCorruptLine, JsonlError, JsonlUnknownVersion } from "./jsonlCodec.js"
import { decodeLine } from "./jsonlCodec.js"

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
    /** Stop reading at this byte offset (must be a line end: a record boundary). */
    readonly end?: number | undefined
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
    const start = options?.offset ?? 0
    const end = options?.end
    return fs.stream(file, {
      chunkSize: FileSystem.MiB(1),
      offset: start,
      ...(end !== undefined ? { bytesToRead: Math.max(0, end - start) } : {})
    }).pipe(
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
