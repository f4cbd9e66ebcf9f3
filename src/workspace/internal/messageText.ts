/**
 * The hand-written encoder of message lines: the exact text that Schema's encoder of `MessageEvent` /
 * `Message` followed by `JSON.stringify` gives (a struct's fields in the schema's order, then the other
 * keys of an open record in their own order; `createdAt` as its ISO string; open JSON values as
 * `JSON.stringify` writes them), assembled straight into one string per line instead of a fresh encoded
 * object per message and one `JSON.stringify` walk over it.
 *
 * It checks what the schema checks on the way (types, JSON values, non-empty ids, valid dates), so a line it
 * writes always reads back. For anything it does not handle itself (an invalid value, or a valid but unusual
 * one: a class instance where a plain object is usual, a year past 9999) it returns `undefined`, and the
 * caller encodes with Schema, which gives the same text or the precise error. A property test compares both
 * byte for byte.
 *
 * @internal
 */
import type * as MessageEvent from "../../conversation/MessageEvent.js"
import * as IsoDate from "./isoDate.js"
import { jsonText, quote } from "./jsonlText.js"

type Obj = Record<string, unknown>

const isRecord = (u: unknown): u is Obj => typeof u === "object" && u !== null && !Array.isArray(u)

// Where the schema needs JSON (an open record's values, a part or tool call inside `data`), only plain objects
// qualify; the fast path asks for them everywhere an open record is written.
const isPlain = (u: unknown): u is Obj => {
  if (!isRecord(u)) return false
  const proto = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

const hasOwn = (o: Obj, key: string) => Object.prototype.hasOwnProperty.call(o, key)

/**
 * The text of a value `Message.Json` accepts at nesting `depth` (the schema counts the depth from the open
 * record that holds it), or `undefined` for anything else (NaN, Infinity, `undefined`, a function, a Date...).
 * One walk that checks as it writes (`jsonText`): what is written is what was checked, even should a getter
 * give another value on a second read.
 */
const json = (u: unknown, depth: number): string | undefined => jsonText(u, depth)

/**
 * `,"key":value` for every key of an open record that is not one of its schema's fields (`fields`), in the
 * record's key order, each value JSON at `depth`. `undefined` when a value is not JSON, when a field of the
 * schema is present but `undefined` (the schema refuses it), or for an own `__proto__` key (which the
 * schema's output object cannot hold as a key). Also `undefined` for a key starting with a digit next to
 * a schema's fields: an integer-like key comes first in any object, the schema's output included, so it would
 * go before the fields (left to Schema: rare).
 */
const others = (o: Obj, fields: ReadonlySet<string>, depth: number): string | undefined => {
  let text = ""
  for (const key in o) {
    const value = o[key]
    if (fields.has(key)) {
      if (value === undefined) return undefined
      continue
    }
    if (key === "__proto__" || (fields.size > 0 && startsWithDigit(key))) return undefined
    const v = json(value, depth)
    if (v === undefined) return undefined
    text += `,${quote(key)}:${v}`
  }
  return text
}

const startsWithDigit = (key: string) => {
  const c = key.charCodeAt(0)
  return c >= 48 && c <= 57
}

/** The fields each open record's schema declares (its other keys are extras, values of JSON). @internal */
export const none: ReadonlySet<string> = new Set()
/** @internal */
export const textFields: ReadonlySet<string> = new Set(["type", "text"])
/** @internal */
export const imageFields: ReadonlySet<string> = new Set(["type", "image", "mediaType"])
/** @internal */
export const fileFields: ReadonlySet<string> = new Set(["type", "data", "mediaType", "filename"])
/** @internal */
export const toolCallPartFields: ReadonlySet<string> = new Set(["type", "toolCallId", "toolName", "input"])
/** @internal */
export const toolResultFields: ReadonlySet<string> = new Set(["type", "toolCallId", "toolName", "output", "isError"])
/** @internal */
export const toolCallFields: ReadonlySet<string> = new Set(["id", "name", "arguments"])
/** @internal */
export const dataFields: ReadonlySet<string> = new Set([
  "role",
  "content",
  "name",
  "toolCalls",
  "toolCallId",
  "toolName"
])

// An optional string field: absent (nothing written), or a string. Present but `undefined` is caught by
// `others`, which sees every key.
const optional = (o: Obj, key: string): string | undefined | false => {
  const value = o[key]
  if (value === undefined) return undefined
  return typeof value === "string" ? `,"${key}":${quote(value)}` : false
}

// Every field below is read once into a local, checked, and the local is what is written: a getter that gives
// another value on a second read cannot put a value nobody checked into the line. (`others` reads the fields
// again only to see whether one is present but `undefined`, which sends the record to Schema: its output is
// parsed and decoded before it is written.)

// Parts and tool calls sit inside `data`, whose values must be JSON: their own values are at depth 2 there.
const partText = (p: unknown): string | undefined => {
  if (!isPlain(p)) return undefined
  let head: string
  let fields: ReadonlySet<string>
  const type = p.type
  switch (type) {
    case "text":
    case "reasoning": {
      const text = p.text
      if (typeof text !== "string") return undefined
      head = `{"type":"${type}","text":${quote(text)}`
      fields = textFields
      break
    }
    case "image": {
      const image = p.image
      const mediaType = optional(p, "mediaType")
      if (typeof image !== "string" || mediaType === false) return undefined
      head = `{"type":"image","image":${quote(image)}${mediaType ?? ""}`
      fields = imageFields
      break
    }
    case "file": {
      const data = p.data
      const mediaType = p.mediaType
      const filename = optional(p, "filename")
      if (typeof data !== "string" || typeof mediaType !== "string" || filename === false) return undefined
      head = `{"type":"file","data":${quote(data)},"mediaType":${quote(mediaType)}${filename ?? ""}`
      fields = fileFields
      break
    }
    case "tool-call": {
      const toolCallId = p.toolCallId
      const toolName = p.toolName
      const input = json(p.input, 2)
      if (typeof toolCallId !== "string" || typeof toolName !== "string" || input === undefined) return undefined
      head = `{"type":"tool-call","toolCallId":${quote(toolCallId)},"toolName":${quote(toolName)},"input":${input}`
      fields = toolCallPartFields
      break
    }
    case "tool-result": {
      const toolCallId = p.toolCallId
      const toolName = p.toolName
      const output = json(p.output, 2)
      const isError = p.isError
      if (
        typeof toolCallId !== "string" || typeof toolName !== "string" || output === undefined ||
        (isError !== undefined && typeof isError !== "boolean")
      ) return undefined
      head = `{"type":"tool-result","toolCallId":${quote(toolCallId)},"toolName":${quote(toolName)},"output":${output}${
        isError === undefined ? "" : `,"isError":${isError}`
      }`
      fields = toolResultFields
      break
    }
    default:
      return undefined
  }
  const rest = others(p, fields, 2)
  return rest === undefined ? undefined : `${head}${rest}}`
}

const toolCallText = (c: unknown): string | undefined => {
  if (!isPlain(c)) return undefined
  const id = c.id
  const name = c.name
  if (typeof id !== "string" || typeof name !== "string") return undefined
  const args = json(c.arguments, 2)
  const rest = args === undefined ? undefined : others(c, toolCallFields, 2)
  return rest === undefined ? undefined : `{"id":${quote(id)},"name":${quote(name)},"arguments":${args}${rest}}`
}

const list = (items: ReadonlyArray<unknown>, item: (u: unknown) => string | undefined): string | undefined => {
  const n = items.length
  let text = "["
  for (let i = 0; i < n; i++) {
    const one = item(items[i])
    if (one === undefined) return undefined
    text += i === 0 ? one : `,${one}`
  }
  return `${text}]`
}

const dataText = (d: unknown): string | undefined => {
  if (!isPlain(d)) return undefined
  const role = d.role
  if (role !== "user" && role !== "assistant" && role !== "system" && role !== "tool") return undefined
  const content = d.content
  const contentText = typeof content === "string"
    ? quote(content)
    : Array.isArray(content)
    ? list(content, partText)
    : undefined
  if (contentText === undefined) return undefined
  const name = optional(d, "name")
  const toolCallId = optional(d, "toolCallId")
  const toolName = optional(d, "toolName")
  if (name === false || toolCallId === false || toolName === false) return undefined
  let toolCalls = ""
  const calls = d.toolCalls
  if (calls !== undefined) {
    const text = Array.isArray(calls) ? list(calls, toolCallText) : undefined
    if (text === undefined) return undefined
    toolCalls = `,"toolCalls":${text}`
  }
  const rest = others(d, dataFields, 0)
  return rest === undefined
    ? undefined
    : `{"role":"${role}","content":${contentText}${name ?? ""}${toolCalls}${toolCallId ?? ""}${toolName ?? ""}${rest}}`
}

const recordText = (r: unknown): string | undefined => {
  if (!isPlain(r)) return undefined
  const rest = others(r, none, 0)
  return rest === undefined ? undefined : `{${rest.slice(1)}}`
}

const agentKinds: ReadonlySet<unknown> = new Set(["request", "send", "reply"])

const sourceText = (s: unknown): string | undefined => {
  if (!isRecord(s)) return undefined
  // Only the schema's fields are written: the schema's encoder drops any other key of a source.
  switch (s.type) {
    case "user":
      return `{"type":"user"}`
    case "system":
      return `{"type":"system"}`
    case "assistant": {
      if (!hasOwn(s, "stepId")) return `{"type":"assistant"}`
      const stepId = s.stepId
      return typeof stepId === "string" ? `{"type":"assistant","stepId":${quote(stepId)}}` : undefined
    }
    case "tool": {
      const toolCallId = s.toolCallId
      const toolName = s.toolName
      return typeof toolCallId === "string" && typeof toolName === "string"
        ? `{"type":"tool","toolCallId":${quote(toolCallId)},"toolName":${quote(toolName)}}`
        : undefined
    }
    case "extension": {
      const extensionName = s.extensionName
      return typeof extensionName === "string"
        ? `{"type":"extension","extensionName":${quote(extensionName)}}`
        : undefined
    }
    case "agent": {
      const kind = s.kind
      const agentName = s.agentName
      const instanceKey = s.instanceKey
      const correlationId = s.correlationId
      return agentKinds.has(kind) && typeof agentName === "string" && typeof instanceKey === "string" &&
          typeof correlationId === "string"
        ? `{"type":"agent","kind":"${kind as string}","agentName":${quote(agentName)},"instanceKey":${
          quote(instanceKey)
        },"correlationId":${quote(correlationId)}}`
        : undefined
    }
    default:
      return undefined
  }
}

/**
 * The id of the last message `messageText` wrote (read once, with the rest): what `append` claims as written.
 *
 * @internal
 */
export const written = { id: "" }

/**
 * The JSON text of a message as Schema would encode it, or `undefined` (see the module docs).
 *
 * @internal
 */
export const messageText = (m: unknown): string | undefined => {
  if (!isRecord(m)) return undefined
  const id = m.id
  if (typeof id !== "string" || id.length === 0) return undefined
  const createdAt = m.createdAt
  // A plain Date (a subclass may write itself differently), valid, in years 0-9999.
  const iso = createdAt instanceof Date && Object.getPrototypeOf(createdAt) === Date.prototype
    ? IsoDate.formatMs(createdAt.getTime())
    : undefined
  if (iso === undefined) return undefined
  const data = dataText(m.data)
  if (data === undefined) return undefined
  const metadata = recordText(m.metadata)
  if (metadata === undefined) return undefined
  const source = sourceText(m.source)
  if (source === undefined) return undefined
  written.id = id
  return `{"id":${quote(id)},"data":${data},"metadata":${metadata},"createdAt":"${iso}","source":${source}}`
}

/**
 * The line of a message event (`v` first) as the codec's Schema path would write it, or `undefined`.
 *
 * @internal
 */
export const eventLine = (e: MessageEvent.MessageEvent, version: number): string | undefined => {
  if (!isRecord(e)) return undefined
  const seq: unknown = e.seq
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) return undefined
  switch (e.type) {
    case "append": {
      const message = messageText(e.message)
      return message === undefined ? undefined : `{"v":${version},"seq":${seq},"type":"append","message":${message}}`
    }
    case "replace": {
      const targetId: unknown = e.targetId
      const message = typeof targetId === "string" ? messageText(e.message) : undefined
      return message === undefined
        ? undefined
        : `{"v":${version},"seq":${seq},"type":"replace","targetId":${quote(targetId as string)},"message":${message}}`
    }
    case "remove": {
      const targetId: unknown = e.targetId
      return typeof targetId === "string"
        ? `{"v":${version},"seq":${seq},"type":"remove","targetId":${quote(targetId)}}`
        : undefined
    }
    case "truncate":
      return `{"v":${version},"seq":${seq},"type":"truncate"}`
    default:
      return undefined
  }
}

/**
 * The line of a snapshot header (`v` first), or `undefined` (a count that is not a finite number).
 *
 * @internal
 */
export const headerLine = (
  header: { readonly type: "snapshot"; readonly seq: number; readonly messages: number },
  version: number
): string | undefined =>
  header.type === "snapshot" && Number.isFinite(header.seq) && Number.isFinite(header.messages)
    ? `{"v":${version},"type":"snapshot","seq":${header.seq},"messages":${header.messages}}`
    : undefined
