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
import { isAscii, isUtf8 } from "node:buffer"
import { io, StorageIoError } from "../AtomicFile.js"
import type { Codec, JsonlError, JsonlUnknownVersion } from "./jsonlCodec.js"
import { decodeLine, excerptOf, JsonlCorruptLine } from "./jsonlCodec.js"

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

/** Files up to this size are read with one read (and held in memory whole for the time of the decoding). */
const wholeFileBound = 64 * 1024 * 1024

// Whole lines of UTF-8: an ASCII-only buffer (the usual JSONL, where JSON.stringify escapes nothing but
// the rest is plain) is decoded as Latin-1, a plain copy, instead of through the UTF-8 decoder. Bytes that
// are not UTF-8 (a byte of a multi-byte character lost or damaged) are refused, by the index of their first
// bad line: decoding would put U+FFFD in their place, a text nobody wrote.
const decodeText = (bytes: Uint8Array): string | number => {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
  if (isAscii(buf)) return buf.toString("latin1")
  if (isUtf8(buf)) return buf.toString("utf8")
  let start = 0
  for (let index = 0;; index++) {
    const nl = buf.indexOf(NL, start)
    const end = nl < 0 ? buf.length : nl
    if (!isUtf8(buf.subarray(start, end)) || nl < 0) return index
    start = nl + 1
  }
}

// JSON.parse never returns `undefined`: it stands for a line that does not parse.
const parseOrUndefined = (line: string): unknown => {
  try {
    return JSON.parse(line)
  } catch {
    return undefined
  }
}

/** The bytes [start, end) of a file, in as few reads as the system gives (it may return fewer at once). @internal */
export const readRange = (
  fs: FileSystem.FileSystem,
  file: string,
  start: number,
  end: number
): Effect.Effect<Uint8Array, StorageIoError> =>
  Effect.scoped(Effect.gen(function*() {
    const bytes = new Uint8Array(Math.max(0, end - start))
    if (bytes.length === 0) return bytes
    const handle = yield* fs.open(file, { flag: "r" })
    yield* handle.seek(start, "start")
    let at = 0
    while (at < bytes.length) {
      const n = Number(yield* handle.read(bytes.subarray(at)))
      if (n === 0) break
      at += n
    }
    return bytes.subarray(0, at)
  })).pipe(io(file, "read"))

/**
 * Reads the records of a file as a stream (a missing file is empty). A file up to `maxWholeRead` bytes is
 * read at once; a larger one is split and decoded a chunk (1 MiB) at a time. Blank lines are skipped. See the module docs for torn tails and corrupt lines.
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
    /**
     * Up to this many bytes (default 64 MiB) are read with one read and decoded at once; a larger range is
     * streamed in 1 MiB chunks.
     */
    readonly maxWholeRead?: number | undefined
    /**
     * Lines whose bytes `[start, end)` of `bytes` this refuses are left out unread (not decoded, not parsed,
     * not checked: a damaged one goes unnoticed), for a reader that needs a few kinds of record of a large
     * file and can tell them by their first bytes.
     */
    readonly keepLine?: ((bytes: Uint8Array, start: number, end: number) => boolean) | undefined
  }
): Stream.Stream<A, JsonlError, FileSystem.FileSystem> =>
  Stream.unwrap(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const exists = yield* fs.exists(file).pipe(io(file, "stat"))
    if (!exists) return Stream.empty
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
      const keepLine = options?.keepLine
      if (keepLine !== undefined) return Effect.suspend(() => kept(buf, last, keepLine))
      const text = decodeText(buf.subarray(0, last))
      if (typeof text === "number") {
        const bad = Buffer.from(buf.buffer, buf.byteOffset, last).toString("utf8").split("\n")[text] ?? ""
        return Effect.fail(
          new JsonlCorruptLine({
            file,
            line: lineNo + text + 1,
            reason: "invalid UTF-8 (a byte of a multi-byte character is missing or damaged)",
            excerpt: excerptOf(bad)
          })
        )
      }
      const out: Array<A> = []
      for (const line of text.split("\n")) {
        lineNo++
        const failed = take(line, out)
        if (failed !== undefined) return Effect.fail(failed)
      }
      return Effect.succeed(Chunk.unsafeFromArray(out))
    }
    const fast = codec.decodeFast
    // Decodes one line (numbered `lineNo`) into `out`; the error when it is not a record.
    const take = (line: string, out: Array<A>): JsonlCorruptLine | JsonlUnknownVersion | undefined => {
      // A record starts with "{"; anything else is checked for a blank line first.
      if (line.charCodeAt(0) !== 123 && line.trim().length === 0) return undefined
      // The hand-written decoder straight on the parsed line (no Either per line); what it does not take,
      // an unparsable line included, goes through decodeLine for the value or the precise error.
      if (fast !== undefined) {
        const record = fast(parseOrUndefined(line))
        if (record !== undefined) {
          out.push(record)
          return undefined
        }
      }
      const decoded = decodeLine(codec, file, lineNo, line)
      if (Either.isLeft(decoded)) return decoded.left
      out.push(decoded.right)
      return undefined
    }
    // The lines of `buf` up to `last` (a newline) that `keepLine` keeps, each decoded alone.
    const kept = (
      buf: Uint8Array,
      last: number,
      keepLine: (bytes: Uint8Array, start: number, end: number) => boolean
    ): Effect.Effect<Chunk.Chunk<A>, JsonlCorruptLine | JsonlUnknownVersion> => {
      const out: Array<A> = []
      // Buffer's indexOf is memchr; a Uint8Array's walks the bytes in JavaScript.
      const bytes = Buffer.from(buf.buffer, buf.byteOffset, buf.length)
      for (let start = 0; start <= last;) {
        let end = bytes.indexOf(NL, start)
        if (end < 0 || end > last) end = last
        lineNo++
        if (keepLine(buf, start, end)) {
          const text = decodeText(buf.subarray(start, end))
          if (typeof text === "number") {
            return Effect.fail(
              new JsonlCorruptLine({
                file,
                line: lineNo,
                reason: "invalid UTF-8 (a byte of a multi-byte character is missing or damaged)",
                excerpt: excerptOf(Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString("utf8"))
              })
            )
          }
          const failed = take(text, out)
          if (failed !== undefined) return Effect.fail(failed)
        }
        start = end + 1
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
    const size = end ?? Number((yield* fs.stat(file).pipe(io(file, "stat"))).size)
    // Below the bound, one read and one split, without a stream of chunks (the common case: a log is
    // compacted long before it grows that large).
    if (size - start <= (options?.maxWholeRead ?? wholeFileBound)) {
      return Stream.fromEffect(readRange(fs, file, start, size)).pipe(
        Stream.mapConcatChunkEffect(onChunk),
        Stream.concat(Stream.drain(Stream.fromEffect(tail)))
      )
    }
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
