/**
 * Reading the conversation of an instance from its files: the snapshot (`base.jsonl`: a header line
 * `{"v":1,"type":"snapshot","seq":N,"messages":M}` then M messages) and the events after it, consistently
 * while another writer compacts; and writing snapshots.
 *
 * Consistency: compaction publishes a new snapshot by renaming it over `base.jsonl`, then replaces
 * `events.jsonl` (by rename too) with the events after the snapshot's seq. A reader that opened the old
 * snapshot and then the new events would see the old messages followed by a gap. So a read takes the
 * events first and the snapshot second: the events file it got is of some generation k (it starts at the
 * seq after snapshot k), and the snapshot, read later, is of generation k or newer, so its seq reaches at
 * least the events' start. Folding skips the events the snapshot holds already: no gap, whatever
 * compactions ran meanwhile and however long the decoding took. A snapshot read whole is self-checking (its
 * header announces its message count, and one read sees one file: files are renamed, never rewritten in
 * place). Only a read that failed while the snapshot was being replaced (a rename between its `stat` and its
 * `open`) is retried. A duplicate or missing seq, or a message id held twice (`messageIds.ts`), that persists
 * with a stable snapshot is corruption.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Conversation from "../../conversation/Conversation.js"
import type * as Message from "../../conversation/Message.js"
import { io } from "../AtomicFile.js"
import * as Jsonl from "../Jsonl.js"
import { StorageCorrupt, StorageUnavailable } from "../StorageError.js"
import type * as WorkspacePaths from "../WorkspacePaths.js"
import { baseCodec, eventCodec } from "./messageCodec.js"
import { duplicateCorrupt, idsOf } from "./messageIds.js"
import { fromIo, fromJsonl, repairHint } from "./storageErrors.js"

const snapshotHint = "restore base.jsonl from a backup; snapshots are replaced atomically, so it was edited by " +
  "hand or by another program."

/** @internal */
export interface Snapshot {
  readonly seq: number
  readonly messages: ReadonlyArray<Message.Message>
}

/** @internal */
export const readSnapshot = (
  fs: FileSystem.FileSystem,
  file: string
): Effect.Effect<Snapshot, StorageCorrupt | StorageUnavailable> =>
  Effect.gen(function*() {
    const lines = yield* Jsonl.readAll(file, baseCodec).pipe(
      Effect.provideService(FileSystem.FileSystem, fs),
      Effect.mapError(fromJsonl)
    )
    if (lines.length === 0) return { seq: 0, messages: [] }
    const [header, ...rest] = lines
    const invalid = (reason: string) => new StorageCorrupt({ file, reason, suggestion: snapshotHint })
    if (header === undefined || !("type" in header) || header.type !== "snapshot") {
      return yield* invalid("not a valid snapshot: the first line is not a snapshot header")
    }
    const messages: Array<Message.Message> = []
    for (const line of rest) {
      if ("type" in line && line.type === "snapshot") return yield* invalid("not a valid snapshot: a second header")
      messages.push(line as Message.Message)
    }
    if (messages.length !== header.messages) {
      return yield* invalid(
        `not a valid snapshot: the header announces ${header.messages} messages, the file has ${messages.length}`
      )
    }
    return { seq: header.seq, messages }
  })

/**
 * A header past the last event of a non-empty `events.jsonl` (read with the snapshot, no compaction in
 * between): no compaction or repair leaves that (the point a snapshot folds to is an event of that file,
 * and the events after it are what the file keeps), so the header was damaged, and folding would skip the
 * events it claims, in silence. `undefined` when the two agree.
 *
 * @internal
 */
export const headerPastEvents = (
  file: string,
  snapshotSeq: number,
  lastEventSeq: number | undefined
): StorageCorrupt | undefined =>
  lastEventSeq === undefined || lastEventSeq >= snapshotSeq ? undefined : new StorageCorrupt({
    file,
    reason: `the snapshot header's seq ${snapshotSeq} is past the last event in events.jsonl (seq ` +
      `${lastEventSeq}): the header is damaged, and loading would skip those events`,
    suggestion: repairHint
  })

/** The seq in the snapshot's header (0 without a snapshot, -1 when the header cannot be read). */
const headerSeq = (fs: FileSystem.FileSystem, file: string): Effect.Effect<number, StorageUnavailable> =>
  Effect.scoped(Effect.gen(function*() {
    if (!(yield* fs.exists(file))) return 0
    const handle = yield* fs.open(file, { flag: "r" })
    const buf = new Uint8Array(512)
    const n = Number(yield* handle.read(buf))
    const text = new TextDecoder().decode(buf.subarray(0, n))
    const end = text.indexOf("\n")
    if (end < 0) return n === 0 ? 0 : -1
    try {
      const seq: unknown = JSON.parse(text.slice(0, end)).seq
      return typeof seq === "number" ? seq : -1
    } catch {
      return -1
    }
  })).pipe(io(file, "read"), Effect.mapError(fromIo))

/**
 * The conversation from the files as they are: snapshot, then the events (up to byte `end` when given).
 *
 * @internal
 */
export const readFiles = (
  fs: FileSystem.FileSystem,
  p: WorkspacePaths.InstancePaths,
  options?: { readonly end?: number | undefined }
): Effect.Effect<Conversation.Conversation, StorageCorrupt | StorageUnavailable> =>
  Effect.gen(function*() {
    const snapshot = yield* readSnapshot(fs, p.base)
    const base = Conversation.make(snapshot.messages, { baseSeq: snapshot.seq })
    // Chunk by chunk with a loop: Stream.runFold recurses once per element of a chunk, which overflows the
    // stack on a chunk of tens of thousands of small events (a MiB of truncates).
    let conversation = base
    let last: number | undefined
    yield* Stream.runForEachChunk(
      Jsonl.read(p.events, eventCodec, { end: options?.end }).pipe(Stream.provideService(FileSystem.FileSystem, fs)),
      (chunk) =>
        Effect.sync(() => {
          conversation = Conversation.applyAll(conversation, chunk)
          if (chunk.length > 0) last = Chunk.unsafeLast(chunk).seq
        })
    ).pipe(Effect.mapError(fromJsonl))
    const past = headerPastEvents(p.base, snapshot.seq, last)
    if (past !== undefined) return yield* past
    return conversation
  })

/** @internal */
export const seqCorrupt = (file: string, conversation: Conversation.Conversation): StorageCorrupt =>
  new StorageCorrupt({
    file,
    reason: `events out of sequence: ${conversation.seqProblems.map((p) => p.message).join("; ")}`,
    suggestion: repairHint
  })

const attempts = 16

/** The events of `events.jsonl` as they are now, decoded (read before the snapshot: see the module docs). */
const readEvents = (fs: FileSystem.FileSystem, p: WorkspacePaths.InstancePaths) =>
  Stream.runCollect(
    Jsonl.read(p.events, eventCodec).pipe(Stream.provideService(FileSystem.FileSystem, fs), Stream.chunks)
  ).pipe(Effect.mapError(fromJsonl))

/**
 * A consistent conversation even while another writer (in this process or another) compacts: see the
 * module docs.
 *
 * @internal
 */
export const readConsistent = (
  fs: FileSystem.FileSystem,
  p: WorkspacePaths.InstancePaths
): Effect.Effect<Conversation.Conversation, StorageCorrupt | StorageUnavailable> =>
  Effect.gen(function*() {
    for (let attempt = 0; attempt < attempts; attempt++) {
      const before = yield* headerSeq(fs, p.base)
      const read = yield* Effect.gen(function*() {
        const chunks = yield* readEvents(fs, p)
        const snapshot = yield* readSnapshot(fs, p.base)
        // Chunk by chunk in a loop (Stream.runFold would recurse once per element of a large chunk).
        let conversation = Conversation.make(snapshot.messages, { baseSeq: snapshot.seq })
        let last: number | undefined
        for (const chunk of chunks) {
          conversation = Conversation.applyAll(conversation, chunk)
          if (chunk.length > 0) last = Chunk.unsafeLast(chunk).seq
        }
        const past = headerPastEvents(p.base, snapshot.seq, last)
        if (past !== undefined) return yield* past
        return conversation
      }).pipe(Effect.either)
      // A message id held twice (see messageIds.ts) is damage, as a gap is.
      let duplicate: string | undefined
      if (read._tag === "Right" && read.right.seqProblems.length === 0) {
        const ids = idsOf(read.right)
        if (ids instanceof Set) return read.right
        duplicate = ids.duplicate
      }
      // A failed read, a gap or a duplicate: retried only when the snapshot was replaced meanwhile.
      if ((yield* headerSeq(fs, p.base)) !== before) continue
      if (read._tag === "Left") return yield* read.left
      if (duplicate !== undefined) {
        return yield* Effect.flatMap(duplicateCorrupt(fs, p, read.right, duplicate), Effect.fail)
      }
      return yield* seqCorrupt(p.events, read.right)
    }
    return yield* new StorageUnavailable({
      operation: "load",
      file: p.base,
      reason: `the snapshot changed under ${attempts} failed reads in a row (compactions back to back)`
    })
  })

/** The text of a snapshot of a folded conversation. @internal */
export const snapshotText = (folded: Conversation.Conversation): string => {
  let text = baseCodec.encode({ type: "snapshot", seq: folded.baseSeq, messages: folded.messages.length }) + "\n"
  for (const message of folded.messages) text += baseCodec.encode(message) + "\n"
  return text
}

/** Writes and fsyncs `file` (a temp file, renamed into place later). @internal */
export const writeDurably = (fs: FileSystem.FileSystem, file: string, text: string) =>
  Effect.scoped(Effect.gen(function*() {
    const handle = yield* fs.open(file, { flag: "w", mode: 0o644 })
    if (text.length > 0) yield* handle.writeAll(new TextEncoder().encode(text))
    yield* handle.sync
  })).pipe(io(file, "write"), Effect.mapError(fromIo))
