/**
 * Salvage of a damaged `events.jsonl`: every line that decodes is kept (in seq order, the first of a
 * repeated seq), everything else is reported line by line; the damaged file is kept beside the new one
 * under a new name (hard-linked, never deleted), and the result is folded into a new snapshot so that a
 * record lost in the middle (a gap in the seqs) does not make the instance unreadable again. The caller
 * holds the instance's lock.
 *
 * @internal
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Conversation from "../../conversation/Conversation.js"
import type * as MessageEvent from "../../conversation/MessageEvent.js"
import { io, syncDirectory, write as writeAtomic } from "../AtomicFile.js"
import type { StorageCorrupt, StorageUnavailable } from "../StorageError.js"
import type * as WorkspacePaths from "../WorkspacePaths.js"
import { excerptOf } from "./jsonlCodec.js"
import { eventCodec } from "./messageCodec.js"
import { readSnapshot, snapshotText, writeDurably } from "./snapshot.js"
import { fromIo } from "./storageErrors.js"

/** @internal */
export interface Dropped {
  /** 1-based line of the damaged file. */
  readonly line: number
  readonly reason: string
  readonly excerpt: string
}

/** @internal */
export interface Salvage {
  readonly kept: number
  readonly dropped: ReadonlyArray<Dropped>
  readonly preservedAs: string | undefined
  readonly lastSeq: number
}

const NUL = /\u0000/g

// A line decoded as an event, or the reason it is not one. Zero bytes (what a power cut can leave in
// place of a block) in front of an otherwise valid record are stripped.
const decode = (line: string): Either.Either<MessageEvent.MessageEvent, string> => {
  const attempt = (text: string): Either.Either<MessageEvent.MessageEvent, string> => {
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch (e) {
      return Either.left(`invalid JSON (${e instanceof Error ? e.message : String(e)})`)
    }
    return Either.mapLeft(
      eventCodec.decode(json),
      (l) => l.version !== undefined ? `record version ${l.version}` : l.reason
    )
  }
  const first = attempt(line)
  if (Either.isRight(first) || !line.includes("\u0000")) return first
  const stripped = line.replace(NUL, "")
  if (stripped.trim().length === 0) return Either.left("zero-filled line (lost in a crash)")
  return Either.orElse(attempt(stripped), () => first)
}

/** @internal */
export const salvage = (
  fs: FileSystem.FileSystem,
  p: WorkspacePaths.InstancePaths
): Effect.Effect<Salvage, StorageCorrupt | StorageUnavailable> =>
  Effect.gen(function*() {
    const snapshot = yield* readSnapshot(fs, p.base)
    if (!(yield* fs.exists(p.events).pipe(io(p.events, "stat"), Effect.mapError(fromIo)))) {
      return { kept: 0, dropped: [], preservedAs: undefined, lastSeq: snapshot.seq }
    }
    const text = yield* fs.readFileString(p.events).pipe(io(p.events, "read"), Effect.mapError(fromIo))
    const lines = text.split("\n")
    const torn = lines.pop() ?? ""
    const dropped: Array<Dropped> = []
    const kept: Array<{ readonly event: MessageEvent.MessageEvent; readonly line: number }> = []
    lines.forEach((line, i) => {
      if (line.trim().length === 0) return
      const decoded = decode(line)
      if (Either.isRight(decoded)) kept.push({ event: decoded.right, line: i + 1 })
      else dropped.push({ line: i + 1, reason: decoded.left, excerpt: excerptOf(line.replace(NUL, "\\0")) })
    })
    if (torn.trim().length > 0) {
      dropped.push({
        line: lines.length + 1,
        reason: "torn last line (an interrupted write, never acknowledged)",
        excerpt: excerptOf(torn.replace(NUL, "\\0"))
      })
    }
    // Seq order; of two records with one seq, the first in the file stays.
    kept.sort((a, b) => a.event.seq - b.event.seq || a.line - b.line)
    const events: Array<MessageEvent.MessageEvent> = []
    for (const { event, line } of kept) {
      if (events.length > 0 && events[events.length - 1]!.seq === event.seq) {
        dropped.push({ line, reason: `repeats seq ${event.seq} (the first record with it was kept)`, excerpt: "" })
      } else {
        events.push(event)
      }
    }
    dropped.sort((a, b) => a.line - b.line)
    const base = Conversation.make(snapshot.messages, { baseSeq: snapshot.seq })
    const conversation = Conversation.applyAll(base, events)
    if (dropped.length === 0 && conversation.seqProblems.length === 0) {
      return { kept: events.length, dropped, preservedAs: undefined, lastSeq: conversation.lastSeq }
    }
    // 1. keep the damaged file under a new name; 2. publish the salvage as a snapshot; 3. empty the
    // events. A crash in between leaves a state `repair` (or a load, after 3) handles.
    const now = yield* Clock.currentTimeMillis
    const preservedAs = `${p.events}.damaged-${new Date(now).toISOString().replace(/[:.]/g, "-")}`
    yield* fs.link(p.events, preservedAs).pipe(
      Effect.orElse(() => fs.copyFile(p.events, preservedAs)),
      io(preservedAs, "keep the damaged file"),
      Effect.mapError(fromIo)
    )
    const folded = Conversation.fold(conversation)
    yield* writeDurably(fs, `${p.base}.tmp`, snapshotText(folded))
    yield* fs.rename(`${p.base}.tmp`, p.base).pipe(io(p.base, "rename"), Effect.mapError(fromIo))
    yield* syncDirectory(fs, p.messagesDir).pipe(Effect.mapError(fromIo))
    yield* writeAtomic(fs, p.events, "", { tmp: `${p.events}.tmp` }).pipe(Effect.mapError(fromIo))
    return { kept: events.length, dropped, preservedAs, lastSeq: folded.baseSeq }
  }).pipe(Effect.uninterruptible)
