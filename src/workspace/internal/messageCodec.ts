/**
 * The codecs of the message files: `events.jsonl` lines (message events) and `base.jsonl` lines (the
 * snapshot header, then messages), with the hand-written fast paths (encoding in `messageText.ts`, decoding in
 * `messageDecode.ts`) that agree with Schema (a property test checks it), and the validation of drafts before
 * they are written.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Message from "../../conversation/Message.js"
import * as MessageEvent from "../../conversation/MessageEvent.js"
import * as Jsonl from "../Jsonl.js"
import { InvalidMessage } from "../StorageError.js"
import { decodeEventFast, decodeMessageFast, isObj } from "./messageDecode.js"
import * as MessageText from "./messageText.js"

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

/** @internal */
export const BaseLine = Schema.Union(SnapshotHeader, Message.Message)
/** @internal */
export type BaseLine = typeof BaseLine.Type

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
  encodeLine: MessageText.eventLine,
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
  encodeLine: (line, version) => {
    if ("type" in line) return line.type === "snapshot" ? MessageText.headerLine(line, version) : undefined
    const message = MessageText.messageText(line)
    return message === undefined ? undefined : `{"v":${version},${message.slice(1)}`
  },
  decodeFast: (record) => "type" in record ? undefined : decodeMessageFast(record)
})

const idOf = (e: unknown): string | undefined => {
  const message: unknown = isObj(e) && "message" in e ? e.message : undefined
  return isObj(message) && typeof message.id === "string" ? message.id : undefined
}

const failure = (cause: unknown) => cause instanceof Error ? cause.message : String(cause)

/**
 * The drafts numbered from `first` on: `MessageEvent.withSeq` for each, with the known shapes built
 * directly (a fixed object shape instead of a spread per event). Unknown fields of a draft are not kept:
 * they are not written either.
 *
 * @internal
 */
export const sequence = (
  drafts: ReadonlyArray<MessageEvent.Draft>,
  first: number
): Array<MessageEvent.MessageEvent> => {
  const events = new Array<MessageEvent.MessageEvent>(drafts.length)
  for (let i = 0; i < drafts.length; i++) {
    const d = drafts[i]!
    const seq = first + i
    // Not an object (a JavaScript caller's null): kept as it is, for encodeEvents to refuse by index.
    if (typeof d !== "object" || d === null) {
      events[i] = d as MessageEvent.MessageEvent
      continue
    }
    try {
      switch (d.type) {
        case "append":
          events[i] = { type: "append", message: d.message, seq }
          break
        case "replace":
          events[i] = { type: "replace", targetId: d.targetId, message: d.message, seq }
          break
        case "remove":
          events[i] = { type: "remove", targetId: d.targetId, seq }
          break
        default:
          events[i] = MessageEvent.withSeq(d, seq)
      }
    } catch {
      // A getter of the draft threw: kept as it is; encodeEvents reads it again and refuses it by index.
      events[i] = d as MessageEvent.MessageEvent
    }
  }
  return events
}

/**
 * Encodes sequenced events into the text appended to `events.jsonl`, refusing any that would not read
 * back. The hand-written encoder first (`messageText.ts`: it checks as it writes); what it does not take is
 * encoded by Schema (the precise reason for an invalid draft), then parsed and decoded exactly as a load
 * would (acceptance of an unusual but valid value). Nothing throws.
 *
 * @internal
 */
export const encodeEvents = (
  events: ReadonlyArray<MessageEvent.MessageEvent>,
  ids?: Array<string | undefined>
): Either.Either<string, InvalidMessage> => {
  let text = ""
  for (let index = 0; index < events.length; index++) {
    const event = events[index]!
    if (!isObj(event)) return invalid(event, index, "it is not an event (an object with a `type`)")
    // A hostile value (a getter that throws, a proxy) may throw anywhere in here: a refusal, not a defect.
    try {
      const line = encodeEvent(event, index, ids)
      if (typeof line !== "string") return Either.left(line)
      text += line + "\n"
    } catch (cause) {
      return invalid(event, index, `it cannot be read (${failure(cause)})`)
    }
  }
  return Either.right(text)
}

// The line of one event, or the refusal; `ids[index]` is set to the id of its message as written.
const encodeEvent = (
  event: MessageEvent.MessageEvent,
  index: number,
  ids: Array<string | undefined> | undefined
): string | InvalidMessage => {
  const fast = MessageText.eventLine(event, eventCodec.version)
  if (fast !== undefined) {
    if (ids !== undefined) {
      ids[index] = event.type === "append" || event.type === "replace"
        ? MessageText.written.id
        : undefined
    }
    return fast
  }
  let line: string
  try {
    line = eventCodec.encode(event)
  } catch (cause) {
    return refusal(event, index, `it cannot be encoded as JSON (${failure(cause)})`)
  }
  const proto = protoKeyIn(event)
  if (proto !== undefined) {
    return refusal(
      event,
      index,
      `${proto} has a key named "__proto__", which cannot be stored: decoding takes it as the object's ` +
        `prototype and the key is lost. Rename the key`
    )
  }
  let json: unknown
  try {
    json = JSON.parse(line)
  } catch (cause) {
    return refusal(event, index, `it encodes to invalid JSON (${failure(cause)})`)
  }
  const decoded = eventCodec.decode(json)
  if (Either.isLeft(decoded)) return refusal(event, index, decoded.left.reason)
  if (ids !== undefined) ids[index] = "message" in decoded.right ? decoded.right.message.id : undefined
  return line
}

const ownProto = (u: unknown): boolean => isObj(u) && Object.prototype.hasOwnProperty.call(u, "__proto__")

// The first record Schema rebuilds (and so would drop an own "__proto__" key of) that has one, as a path.
// Values typed `Json` (tool inputs, outputs, arguments, extra fields' values) are kept as they are: their
// "__proto__" keys are stored.
const protoKeyIn = (event: MessageEvent.MessageEvent): string | undefined => {
  if (!("message" in event) || !isObj(event.message)) return undefined
  const { data, metadata } = event.message as { data?: unknown; metadata?: unknown }
  if (ownProto(metadata)) return "message.metadata"
  if (!isObj(data)) return undefined
  if (ownProto(data)) return "message.data"
  const { content, toolCalls } = data
  if (Array.isArray(content)) {
    for (let i = 0; i < content.length; i++) if (ownProto(content[i])) return `message.data.content[${i}]`
  }
  if (Array.isArray(toolCalls)) {
    for (let i = 0; i < toolCalls.length; i++) if (ownProto(toolCalls[i])) return `message.data.toolCalls[${i}]`
  }
  return undefined
}

// Only on the way out: no closure per event on the hot path (building the error and finding the message id
// cost nothing until a draft is refused).
const invalid = (event: unknown, index: number, reason: string) => Either.left(refusal(event, index, reason))
const refusal = (event: unknown, index: number, reason: string): InvalidMessage => {
  let messageId: string | undefined
  try {
    messageId = idOf(event)
  } catch {
    // a hostile getter again: the error names the index
  }
  return new InvalidMessage({ index, reason, ...(messageId !== undefined ? { messageId } : {}) })
}
