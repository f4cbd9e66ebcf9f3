/**
 * Message ids are unique among a conversation's current messages: `replace` and `remove` name their target
 * by id, and a store whose log brought one id twice has lost track of what was folded. `append` refuses an
 * event that would bring an id the conversation holds (`claim`, against the ids an open instance keeps);
 * a load that finds one id twice fails `StorageCorrupt` naming the file and line (`duplicateCorrupt`): the
 * mark of a snapshot header whose seq is too low next to events it already folded (they are applied again),
 * or of a hand-edited log. `repair` takes the events right after such a header that re-append messages the
 * snapshot holds as folded, and drops any other event that would bring an id twice.
 *
 * @internal
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Conversation from "../../conversation/Conversation.js"
import type * as Message from "../../conversation/Message.js"
import type * as MessageEvent from "../../conversation/MessageEvent.js"
import { io } from "../AtomicFile.js"
import { StorageCorrupt, type StorageUnavailable } from "../StorageError.js"
import type * as WorkspacePaths from "../WorkspacePaths.js"
import type { Dropped } from "./repair.js"
import { fromIo, repairHint } from "./storageErrors.js"

/**
 * The ids of the current messages, or the first id found twice.
 *
 * @internal
 */
export const idsOf = (c: Conversation.Conversation): Set<string> | { readonly duplicate: string } => {
  const ids = new Set<string>()
  const n = Conversation.size(c)
  for (let i = 0; i < n; i++) {
    const id = Conversation.messageAt(c, i)!.id
    if (ids.has(id)) return { duplicate: id }
    ids.add(id)
  }
  return ids
}

/**
 * Applies one event's effect on the ids (`id`: the id of its message, for `append` / `replace`), or returns
 * `false`, changing nothing, when it would bring an id the conversation holds. `undo` records what changed
 * (`[true, id]` added, `[false, id]` removed) when given.
 *
 * @internal
 */
export const step = (
  ids: Set<string>,
  event: MessageEvent.MessageEvent,
  id: string | undefined,
  undo?: Array<readonly [boolean, string]>
): boolean => {
  switch (event.type) {
    case "append":
      if (ids.has(id!)) return false
      ids.add(id!)
      undo?.push([true, id!])
      return true
    case "replace":
      if (!ids.has(event.targetId)) return true // a no-op (its target is missing)
      if (id !== event.targetId) {
        if (ids.has(id!)) return false
        ids.delete(event.targetId)
        undo?.push([false, event.targetId])
        ids.add(id!)
        undo?.push([true, id!])
      }
      return true
    case "remove":
      if (ids.delete(event.targetId)) undo?.push([false, event.targetId])
      return true
    case "truncate":
      for (const held of ids) undo?.push([false, held])
      ids.clear()
      return true
  }
}

/**
 * Claims the ids of events about to be written (`written[i]`: the id of event i's message as it was encoded)
 * in `ids`: all of them, or none and the index of the first event that would bring an id twice.
 *
 * @internal
 */
export const claim = (
  ids: Set<string>,
  events: ReadonlyArray<MessageEvent.MessageEvent>,
  written: ReadonlyArray<string | undefined>
): number | undefined => {
  // The common batch (appends of new ids) records only what it added.
  const undo: Array<readonly [boolean, string]> = []
  for (let i = 0; i < events.length; i++) {
    if (step(ids, events[i]!, written[i], undo)) continue
    for (let j = undo.length - 1; j >= 0; j--) {
      const [added, id] = undo[j]!
      if (added) ids.delete(id)
      else ids.add(id)
    }
    return i
  }
  return undefined
}

/** Where a duplicate id came in: the event that brought it, or the snapshot message (0-based) that repeats it. */
type Origin =
  | { readonly log: "events"; readonly seq: number; readonly id: string }
  | { readonly log: "snapshot"; readonly index: number; readonly id: string }

const originOf = (c: Conversation.Conversation): Origin | undefined => {
  const ids = new Set<string>()
  for (let i = 0; i < c.base.length; i++) {
    const id = c.base[i]!.id
    if (ids.has(id)) return { log: "snapshot", index: i, id }
    ids.add(id)
  }
  for (const event of c.events) {
    const id = event.type === "append" || event.type === "replace" ? event.message.id : undefined
    if (!step(ids, event, id)) return { log: "events", seq: event.seq, id: id! }
  }
  return undefined
}

// The 1-based line of the event with `seq` in the events file (blank lines count, as the reader counts them).
const lineOfSeq = (text: string, seq: number): number | undefined => {
  const lines = text.split("\n")
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.includes(`"seq":${seq},`)) continue
    try {
      if ((JSON.parse(lines[i]!) as { seq?: unknown }).seq === seq) return i + 1
    } catch {
      // not this line
    }
  }
  return undefined
}

/**
 * The error for a conversation whose messages hold an id twice (see the module docs), naming the file and
 * the line that brought it (the events file is read again, on this failure path only).
 *
 * @internal
 */
export const duplicateCorrupt = (
  fs: FileSystem.FileSystem,
  p: WorkspacePaths.InstancePaths,
  c: Conversation.Conversation,
  duplicate: string
): Effect.Effect<StorageCorrupt, StorageUnavailable> =>
  Effect.gen(function*() {
    const origin = originOf(c) ?? { log: "events" as const, seq: c.lastSeq, id: duplicate }
    if (origin.log === "snapshot") {
      return new StorageCorrupt({
        file: p.base,
        line: origin.index + 2,
        reason: `the snapshot holds message id ${JSON.stringify(origin.id)} twice`,
        suggestion: repairHint
      })
    }
    const text = yield* fs.readFileString(p.events).pipe(io(p.events, "read"), Effect.mapError(fromIo))
    const line = lineOfSeq(text, origin.seq)
    return new StorageCorrupt({
      file: p.events,
      ...(line !== undefined ? { line } : {}),
      reason: `event seq ${origin.seq} brings message id ${JSON.stringify(origin.id)}, which the conversation ` +
        `already holds (the snapshot's seq ${c.baseSeq} is too low for the events it folded, or the log was ` +
        `edited): loading would show that message twice`,
      suggestion: repairHint
    })
  })

/**
 * For `repair`: the snapshot messages and the events after it without what would bring a message id twice;
 * the later one is dropped and reported (a message's line counts the header: its index + 2).
 *
 * @internal
 */
export const dropDuplicates = (
  messages: ReadonlyArray<Message.Message>,
  events: ReadonlyArray<MessageEvent.MessageEvent>,
  lineOf: ReadonlyMap<MessageEvent.MessageEvent, number>
) => {
  const ids = new Set<string>()
  const dropped: Array<Dropped> = []
  const keptMessages: Array<Message.Message> = []
  messages.forEach((m, i) => {
    if (!ids.has(m.id)) {
      ids.add(m.id)
      return keptMessages.push(m)
    }
    dropped.push({ log: "snapshot", line: i + 2, reason: `repeats message id ${JSON.stringify(m.id)}`, excerpt: "" })
  })
  const keptEvents: Array<MessageEvent.MessageEvent> = []
  for (const event of events) {
    const id = event.type === "append" || event.type === "replace" ? event.message.id : undefined
    if (step(ids, event, id)) {
      keptEvents.push(event)
      continue
    }
    dropped.push({
      log: "events",
      line: lineOf.get(event) ?? 0,
      reason: `seq ${event.seq} brings message id ${JSON.stringify(id)}, which the conversation already holds`,
      excerpt: ""
    })
  }
  return { messages: keptMessages, events: keptEvents, dropped }
}
