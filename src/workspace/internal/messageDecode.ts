/**
 * The hand-written fast decoding of message lines (`events.jsonl` events, `base.jsonl` messages): a check of
 * the exact shape `MessageEvent` / `Message` describe that builds the same values Schema decoding would, or
 * `undefined` to leave the line to Schema. A property test checks both agree.
 *
 * @internal
 */
import * as Message from "../../conversation/Message.js"
import type * as MessageEvent from "../../conversation/MessageEvent.js"
import * as IsoDate from "./isoDate.js"
import {
  dataFields,
  fileFields,
  imageFields,
  none as noFields,
  textFields,
  toolCallFields,
  toolCallPartFields,
  toolResultFields
} from "./messageText.js"

// Loading is the other hot path: a hand-written check of the exact shape `MessageEvent` / `Message`
// describe, building the same values Schema decoding would. Anything it does not accept falls back to the
// schema, which then yields the value or the precise error. A property test checks both agree.
export type Obj = Record<string, unknown>
export const isObj = (u: unknown): u is Obj => typeof u === "object" && u !== null && !Array.isArray(u)
const optString = (o: Obj, key: string) => !(key in o) || typeof o[key] === "string"
const roles = new Set(["system", "user", "assistant", "tool"])
// Values of JSON.parse are JSON but for two things Schema refuses or cannot keep, which the fast path must
// refuse too (it then leaves the line to Schema): nesting deeper than `Message.isJson` allows (each value
// typed `Json` has its own depth budget), and an own "__proto__" key in a record Schema rebuilds (its output
// object would take the value as its prototype, so the key is lost).
const jsonOk = (u: unknown): boolean =>
  typeof u === "object" ? u === null || Message.isJson(u) : u !== undefined && typeof u !== "function" &&
    typeof u !== "symbol" && typeof u !== "bigint"

// An open record's own keys: no "__proto__", and every value that is not one of its schema's fields is JSON.
const extrasOk = (o: Obj, fields: ReadonlySet<string>): boolean => {
  for (const key in o) {
    if (key === "__proto__") return false
    if (!fields.has(key) && !jsonOk(o[key])) return false
  }
  return true
}

// Values of JSON.parse are JSON, so parts, data and metadata (open records of JSON) are reused as they are
// once their known fields have the right types.
const partOk = (p: unknown): boolean => {
  if (!isObj(p)) return false
  switch (p.type) {
    case "text":
    case "reasoning":
      return typeof p.text === "string" && extrasOk(p, textFields)
    case "image":
      return typeof p.image === "string" && optString(p, "mediaType") && extrasOk(p, imageFields)
    case "file":
      return typeof p.data === "string" && typeof p.mediaType === "string" && optString(p, "filename") &&
        extrasOk(p, fileFields)
    case "tool-call":
      return typeof p.toolCallId === "string" && typeof p.toolName === "string" && jsonOk(p.input) &&
        extrasOk(p, toolCallPartFields)
    case "tool-result":
      return typeof p.toolCallId === "string" && typeof p.toolName === "string" && jsonOk(p.output) &&
        (!("isError" in p) || typeof p.isError === "boolean") && extrasOk(p, toolResultFields)
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
      if (
        !isObj(c) || typeof c.id !== "string" || typeof c.name !== "string" || !jsonOk(c.arguments) ||
        !extrasOk(c, toolCallFields)
      ) {
        return false
      }
    }
  }
  return extrasOk(d, dataFields)
}

// The number of keys of a parsed object (for-in over a JSON.parse result: own keys only, no array made).
const keyCount = (o: Obj): number => {
  let n = 0
  for (const _ in o) n++
  return n
}

// The source as Schema decodes it (only the variant's fields): the parsed object itself when it has exactly
// those fields (every line we write), a new one otherwise.
const sourceOf = (s: unknown): Message.MessageSource | undefined => {
  if (!isObj(s)) return undefined
  switch (s.type) {
    case "user":
    case "system":
      return keyCount(s) === 1 ? s as Message.MessageSource : { type: s.type }
    case "assistant": {
      if (!optString(s, "stepId")) return undefined
      const fields = s.stepId === undefined ? 1 : 2
      if (keyCount(s) === fields) return s as Message.MessageSource
      return s.stepId === undefined ? { type: "assistant" } : { type: "assistant", stepId: s.stepId as string }
    }
    case "tool":
      if (typeof s.toolCallId !== "string" || typeof s.toolName !== "string") return undefined
      return keyCount(s) === 3
        ? s as Message.MessageSource
        : { type: "tool", toolCallId: s.toolCallId, toolName: s.toolName }
    case "extension":
      if (typeof s.extensionName !== "string") return undefined
      return keyCount(s) === 2 ? s as Message.MessageSource : { type: "extension", extensionName: s.extensionName }
    case "agent":
      if (!agentSourceValid(s)) return undefined
      return keyCount(s) === 5 ? s as Message.MessageSource : {
        type: "agent",
        kind: s.kind as "request" | "send" | "reply",
        agentName: s.agentName as string,
        instanceKey: s.instanceKey as string,
        correlationId: s.correlationId as string
      }
    default:
      return undefined
  }
}

/**
 * A parsed message as Schema decodes it, or `undefined` (then Schema decodes it). `data` and `metadata` are
 * the parsed values (JSON already); the source is the parsed one when it has exactly its variant's fields.
 * (Reusing the parsed message object itself, with its `createdAt` replaced by the Date, measured no faster:
 * the field changes type.)
 *
 * @internal
 */
export const decodeMessageFast = (m: unknown): Message.Message | undefined => {
  if (
    !isObj(m) || typeof m.id !== "string" || m.id.length === 0 || !dataOk(m.data) || !isObj(m.metadata) ||
    !extrasOk(m.metadata, noFields)
  ) {
    return undefined
  }
  // Only the canonical form we write, with fields in range; anything else goes through Schema.Date.
  if (typeof m.createdAt !== "string") return undefined
  const ms = IsoDate.parse(m.createdAt)
  if (ms === undefined) return undefined
  const source = sourceOf(m.source)
  if (source === undefined) return undefined
  return {
    id: m.id,
    data: m.data,
    metadata: m.metadata as Message.Message["metadata"],
    createdAt: new Date(ms),
    source
  }
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

// The agent variant: who asked (or answered) and the correlation id linking both conversations.
const agentSourceValid = (s: Obj): boolean =>
  (s.kind === "request" || s.kind === "send" || s.kind === "reply") && typeof s.agentName === "string" &&
  typeof s.instanceKey === "string" && typeof s.correlationId === "string"
