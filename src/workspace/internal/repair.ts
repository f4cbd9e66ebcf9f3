/**
 * Salvage of a damaged instance: the snapshot (`base.jsonl`) and the events (`events.jsonl`).
 *
 * - Every line that decodes is kept; everything else is reported line by line with its reason and an
 *   excerpt (`salvageLines.ts`). Zero bytes in front of an otherwise valid record (what a power cut can leave in place of a
 *   block) are stripped; a line of zero bytes only is reported as lost in a crash.
 * - Snapshot: the header's seq is kept when the header reads; when it does not, the seq is read from the
 *   damaged header's text, or else inferred from the events (the events whose message the snapshot already
 *   holds are taken as folded), and the report says which. Messages keep their order.
 * - Events: kept in seq order; of two records with one seq, the first in the file stays.
 * - Message ids stay unique (`messageIds.ts`): a header whose seq is too low (the events right after it append
 *   messages the snapshot holds) is taken to the last of those events, and the report says so; any other
 *   message or event that would bring an id twice is dropped and reported.
 * - Each damaged file is kept beside the new one under a new name (hard-linked or copied, never deleted),
 *   and the result is folded into a new snapshot, so a record lost in the middle (a gap in the seqs) does
 *   not make the instance unreadable again.
 *
 * The caller holds the instance's lock.
 *
 * @internal
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Conversation from "../../conversation/Conversation.js"
import type * as Message from "../../conversation/Message.js"
import type * as MessageEvent from "../../conversation/MessageEvent.js"
import { io, syncDirectory, write as writeAtomic } from "../AtomicFile.js"
import { StorageCorrupt as StorageCorruptError, type StorageUnavailable } from "../StorageError.js"
import type * as WorkspacePaths from "../WorkspacePaths.js"
import { baseCodec, type BaseLine, eventCodec } from "./messageCodec.js"
import { dropDuplicates } from "./messageIds.js"
import { keepAside, NUL, parse, readText, salvageLines } from "./salvageLines.js"
import { readSnapshot, snapshotText, writeDurably } from "./snapshot.js"
import { fromIo } from "./storageErrors.js"

/**
 * One record `repair` dropped.
 *
 * @since 0.1.0
 * @category models
 */
export interface Dropped {
  /** The snapshot (`base.jsonl` here) or the events after it (`events.jsonl`). */
  readonly log: "snapshot" | "events"
  /** 1-based line (record position) in that log. */
  readonly line: number
  readonly reason: string
  readonly excerpt: string
}

/**
 * What `MessageStore.repair` did.
 *
 * @since 0.1.0
 * @category models
 */
export interface RepairReport {
  /** Events kept after the snapshot. */
  readonly kept: number
  /** Snapshot messages kept (those of an undamaged snapshot included). */
  readonly keptMessages: number
  readonly dropped: ReadonlyArray<Dropped>
  /** What the salvage decided, in words (a snapshot seq read from a damaged header, a count that differs). */
  readonly notes: ReadonlyArray<string>
  /** Where each damaged original was kept, never deleted (file paths here). */
  readonly preserved: ReadonlyArray<string>
  /** The conversation's last seq after the repair. */
  readonly lastSeq: number
  /** The report as lines a person reads (what was kept, each line dropped and why, where originals are). */
  readonly summary: string
}

const seqInText = (text: string): number | undefined => {
  const match = /"seq"\s*:\s*(\d+)/.exec(text.replace(NUL, ""))
  return match === null ? undefined : Number(match[1])
}

interface SnapshotSalvage {
  /** `undefined`: the header was lost; the seq is inferred from the events. */
  readonly seq: number | undefined
  readonly messages: ReadonlyArray<Message.Message>
  readonly dropped: ReadonlyArray<Dropped>
  readonly notes: ReadonlyArray<string>
  readonly damaged: boolean
}

const salvageSnapshot = (
  fs: FileSystem.FileSystem,
  file: string
): Effect.Effect<SnapshotSalvage, StorageUnavailable> =>
  Effect.gen(function*() {
    const intact = yield* readSnapshot(fs, file).pipe(Effect.either)
    if (Either.isRight(intact)) {
      return { seq: intact.right.seq, messages: intact.right.messages, dropped: [], notes: [], damaged: false }
    }
    if (intact.left._tag === "StorageUnavailable") return yield* intact.left
    const text = (yield* readText(fs, file)) ?? ""
    const { dropped, kept } = salvageLines<BaseLine>(text, "snapshot", parse(baseCodec))
    const firstLine = text.split("\n").findIndex((line) => line.replace(NUL, "").trim().length > 0) + 1
    const notes: Array<string> = []
    let header: { readonly seq: number; readonly messages: number } | undefined
    const messages: Array<Message.Message> = []
    for (const { line, value } of kept) {
      if ("type" in value) {
        if (line === firstLine && header === undefined) header = value
        else dropped.push({ log: "snapshot", line, reason: "a snapshot header out of place", excerpt: "" })
      } else {
        messages.push(value)
      }
    }
    dropped.sort((a, b) => a.line - b.line)
    let seq = header?.seq
    if (header === undefined) {
      seq = seqInText(text.split("\n")[Math.max(0, firstLine - 1)] ?? "")
      notes.push(
        seq === undefined
          ? "the snapshot header is unreadable: its seq was inferred from the events"
          : `the snapshot header is damaged: its seq ${seq} was read from its text`
      )
    } else if (header.messages !== messages.length) {
      notes.push(`the snapshot header announces ${header.messages} messages; ${messages.length} were readable`)
    }
    return { seq, messages, dropped, notes, damaged: true }
  })

// A lost header's seq (or one too low, from `from` on): the events whose appended message the snapshot already
// holds were folded into it.
const inferSeq = (
  messages: ReadonlyArray<Message.Message>,
  events: ReadonlyArray<MessageEvent.MessageEvent>,
  from?: number
) => {
  const ids = new Set(messages.map((m) => m.id))
  let seq = from ?? (events.length === 0 ? messages.length : events[0]!.seq - 1)
  for (const event of events) {
    if (event.type !== "append" || !ids.has(event.message.id) || (from !== undefined && event.seq !== seq + 1)) break
    seq = event.seq
  }
  return Math.max(0, seq)
}

const summarize = (s: Omit<RepairReport, "summary">, p: WorkspacePaths.InstancePaths): string => {
  if (s.dropped.length === 0 && s.notes.length === 0 && s.preserved.length === 0) {
    return `nothing to repair: ${s.keptMessages} snapshot messages and ${s.kept} events read back, last seq ${s.lastSeq}`
  }
  const name = (log: Dropped["log"]) => log === "snapshot" ? p.base : p.events
  return [
    `repaired: kept ${s.keptMessages} snapshot messages and ${s.kept} events, last seq ${s.lastSeq}; ` +
    `dropped ${s.dropped.length} line(s)`,
    ...s.dropped.map((d) => `  ${name(d.log)}:${d.line}: ${d.reason}${d.excerpt === "" ? "" : `: ${d.excerpt}`}`),
    ...s.notes.map((n) => `  note: ${n}`),
    ...s.preserved.map((f) => `  the damaged original is kept as ${f}`)
  ].join("\n")
}

/** @internal */
export const salvage = (
  fs: FileSystem.FileSystem,
  p: WorkspacePaths.InstancePaths
): Effect.Effect<RepairReport, StorageCorruptError | StorageUnavailable> =>
  Effect.gen(function*() {
    const snapshot = yield* salvageSnapshot(fs, p.base)
    const text = (yield* readText(fs, p.events)) ?? ""
    const lines = salvageLines(text, "events", parse(eventCodec))
    const dropped: Array<Dropped> = [...lines.dropped]
    // Seq order; of two records with one seq, the first in the file stays.
    const kept = [...lines.kept].sort((a, b) => a.value.seq - b.value.seq || a.line - b.line)
    const events: Array<MessageEvent.MessageEvent> = []
    const lineOf = new Map<MessageEvent.MessageEvent, number>()
    for (const { line, value } of kept) {
      lineOf.set(value, line)
      if (events.length > 0 && events[events.length - 1]!.seq === value.seq) {
        dropped.push({
          log: "events",
          line,
          reason: `repeats seq ${value.seq} (the first record with it was kept)`,
          excerpt: ""
        })
      } else {
        events.push(value)
      }
    }
    dropped.sort((a, b) => a.line - b.line)
    const newer = [...snapshot.dropped, ...dropped].find((d) => d.reason.startsWith("record version"))
    if (newer !== undefined) {
      // Records of another version are not damage: dropping them would lose what a newer build wrote.
      return yield* new StorageCorruptError({
        file: newer.log === "snapshot" ? p.base : p.events,
        line: newer.line,
        reason: `${newer.reason} is not supported by this build, so it cannot be told from damage`,
        suggestion: "upgrade effect-swarm and repair with it (nothing was modified)."
      })
    }
    const notes = [...snapshot.notes]
    let seq = snapshot.seq
    let snapshotDamaged = snapshot.damaged
    const lastEvent = events.length === 0 ? undefined : events[events.length - 1]!.seq
    if (seq !== undefined && lastEvent !== undefined && lastEvent < seq) {
      // No compaction leaves a header past every event of events.jsonl: the header lies (see snapshot.ts).
      notes.push(`the snapshot header's seq ${seq} is past the last event (seq ${lastEvent}): it is damaged`)
      seq = undefined
      snapshotDamaged = true
    }
    if (seq === undefined) {
      seq = inferSeq(snapshot.messages, events)
      notes.push(`the snapshot seq was taken as ${seq}`)
    } else {
      const raised = inferSeq(snapshot.messages, events.filter((e) => e.seq > seq!), seq)
      if (raised > seq) {
        // Message ids are unique (messageIds.ts): the events right after the header that append messages the
        // snapshot holds were folded into it, and loading would show those messages twice.
        notes.push(
          `the snapshot header's seq ${seq} is too low: events ${seq + 1}..${raised} append messages it holds ` +
            `(they were folded into it); its seq was taken as ${raised}`
        )
        seq = raised
        snapshotDamaged = true
      }
    }
    const unique = dropDuplicates(snapshot.messages, events.filter((e) => e.seq > seq!), lineOf)
    if (unique.dropped.length > 0) {
      dropped.push(...unique.dropped)
      dropped.sort((a, b) => a.line - b.line)
      if (unique.dropped.some((d) => d.log === "snapshot")) snapshotDamaged = true
    }
    const conversation = Conversation.applyAll(
      Conversation.make(unique.messages, { baseSeq: seq }),
      unique.events
    )
    const eventsDamaged = dropped.some((d) => d.log === "events")
    const result = {
      kept: unique.events.length,
      keptMessages: unique.messages.length,
      dropped: [...snapshot.dropped, ...dropped],
      notes,
      preserved: [] as Array<string>,
      lastSeq: conversation.lastSeq
    }
    if (!snapshotDamaged && !eventsDamaged && conversation.seqProblems.length === 0) {
      return { ...result, summary: summarize(result, p) }
    }
    // 1. keep each damaged file under a new name; 2. publish the salvage as a snapshot; 3. empty the
    // events. A crash in between leaves a state `repair` (or a load, after 2) handles.
    const stamp = new Date(yield* Clock.currentTimeMillis).toISOString().replace(/[:.]/g, "-")
    if (snapshotDamaged) result.preserved.push(yield* keepAside(fs, p.base, stamp))
    if (eventsDamaged || conversation.seqProblems.length > 0) {
      result.preserved.push(yield* keepAside(fs, p.events, stamp))
    }
    const folded = Conversation.fold(conversation)
    yield* writeDurably(fs, `${p.base}.tmp`, snapshotText(folded))
    yield* fs.rename(`${p.base}.tmp`, p.base).pipe(io(p.base, "rename"), Effect.mapError(fromIo))
    yield* syncDirectory(fs, p.messagesDir).pipe(Effect.mapError(fromIo))
    yield* writeAtomic(fs, p.events, "", { tmp: `${p.events}.tmp` }).pipe(Effect.mapError(fromIo))
    const done = { ...result, lastSeq: folded.baseSeq }
    return { ...done, summary: summarize(done, p) }
  }).pipe(Effect.uninterruptible)

/**
 * Salvage of an append-only log whose records need no order check (`runtime-events.jsonl`): every line
 * that decodes is kept as it was, in file order; the damaged original is kept aside. The caller holds the
 * log's lock.
 *
 * @internal
 */
export const salvageLog = <A>(
  fs: FileSystem.FileSystem,
  file: string,
  codec: {
    readonly decode: (json: unknown) => Either.Either<A, { readonly reason: string; readonly version?: string }>
  }
): Effect.Effect<
  {
    readonly kept: number
    readonly dropped: ReadonlyArray<Omit<Dropped, "log">>
    readonly preserved: ReadonlyArray<string>
    readonly summary: string
  },
  StorageCorruptError | StorageUnavailable
> =>
  Effect.gen(function*() {
    const text = (yield* readText(fs, file)) ?? ""
    const { dropped, kept } = salvageLines(text, "events", parse(codec))
    const report = dropped.map(({ excerpt, line, reason }) => ({ line, reason, excerpt }))
    const newer = report.find((d) => d.reason.startsWith("record version"))
    if (newer !== undefined) {
      return yield* new StorageCorruptError({
        file,
        line: newer.line,
        reason: `${newer.reason} is not supported by this build, so it cannot be told from damage`,
        suggestion: "upgrade effect-swarm and repair with it (nothing was modified)."
      })
    }
    if (report.length === 0) {
      return { kept: kept.length, dropped: report, preserved: [], summary: `nothing to repair: ${kept.length} records` }
    }
    const stamp = new Date(yield* Clock.currentTimeMillis).toISOString().replace(/[:.]/g, "-")
    const preserved = yield* keepAside(fs, file, stamp)
    yield* writeAtomic(fs, file, kept.map((k) => k.text + "\n").join(""), { tmp: `${file}.tmp` }).pipe(
      Effect.mapError(fromIo)
    )
    const summary = [
      `repaired: kept ${kept.length} records; dropped ${report.length} line(s)`,
      ...report.map((d) => `  ${file}:${d.line}: ${d.reason}${d.excerpt === "" ? "" : `: ${d.excerpt}`}`),
      `  the damaged original is kept as ${preserved}`
    ].join("\n")
    return { kept: kept.length, dropped: report, preserved: [preserved], summary }
  }).pipe(Effect.uninterruptible)
