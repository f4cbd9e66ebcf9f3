/**
 * A conversation message: a stable `id`, the provider-neutral `data` (role, content, tool calls), free-form
 * JSON `metadata`, the `createdAt` instant and the `source` that produced it. Every field, including fields
 * of `data` and of content parts that this module does not know, survives a JSONL round trip.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"

/**
 * A JSON value (what `JSON.parse` can return).
 *
 * @since 0.1.0
 * @category models
 */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

/**
 * Whether a value is JSON as {@link Json} accepts it: `null`, booleans, strings, finite numbers, arrays and
 * plain objects (prototype `Object.prototype` or `null`) of JSON, nested at most 256 deep.
 *
 * @example
 * ```ts
 * import { Message } from "effect-swarm"
 * Message.isJson({ a: [1, "x", null] }) // true
 * Message.isJson({ a: Number.NaN }) // false
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isJson = (u: unknown, depth = 0): u is Json => {
  if (u === null || typeof u === "string" || typeof u === "boolean") return true
  if (typeof u === "number") return Number.isFinite(u)
  if (depth > 256 || typeof u !== "object") return false
  if (Array.isArray(u)) {
    for (const item of u) if (!isJson(item, depth + 1)) return false
    return true
  }
  const proto = Object.getPrototypeOf(u)
  if (proto !== Object.prototype && proto !== null) return false
  for (const key in u) if (!isJson((u as Record<string, unknown>)[key], depth + 1)) return false
  return true
}

/**
 * A schema for any JSON value. Checked with one fast recursive walk (no per-node schema decoding), which
 * keeps loading a 100k-event conversation cheap.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Message } from "effect-swarm"
 * Schema.is(Message.Json)({ a: [1, "x", null] }) // true
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export const Json: Schema.Schema<Json> = Schema.declare((u: unknown): u is Json => isJson(u), {
  identifier: "Json",
  // JSON-normalised (no -0) and without "__proto__" keys, which Schema's struct decoding cannot keep as own keys.
  arbitrary: () => (fc) =>
    fc.jsonValue().map((value) =>
      JSON.parse(JSON.stringify(value), (k, v) => k === "__proto__" ? undefined : v) as Json
    )
})

/**
 * The four conversation roles.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Message } from "effect-swarm"
 * Schema.is(Message.Role)("tool") // true
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const Role = Schema.Literal("system", "user", "assistant", "tool")

/**
 * @since 0.1.0
 * @category models
 */
export type Role = typeof Role.Type

// Extra, unknown fields of parts and of `data` are kept as they are (the reference dropped them).
const Key = Schema.String.annotations({ arbitrary: () => (fc) => fc.string().filter((k) => k !== "__proto__") })
const Extra = Schema.Record({ key: Key, value: Json })

/**
 * A text content part.
 *
 * @example
 * ```ts
 * import { Message } from "effect-swarm"
 * const part: typeof Message.TextPart.Type = { type: "text", text: "hello" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const TextPart = Schema.Struct({ type: Schema.Literal("text"), text: Schema.String }, Extra)

/**
 * An image content part: a URL or base64 data, with an optional media type.
 *
 * @example
 * ```ts
 * import { Message } from "effect-swarm"
 * const part: typeof Message.ImagePart.Type = { type: "image", image: "https://example.com/cat.png", mediaType: "image/png" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const ImagePart = Schema.Struct({
  type: Schema.Literal("image"),
  image: Schema.String,
  mediaType: Schema.optionalWith(Schema.String, { exact: true })
}, Extra)

/**
 * A file content part: base64 data or a URL, with its media type.
 *
 * @example
 * ```ts
 * import { Message } from "effect-swarm"
 * const part: typeof Message.FilePart.Type = { type: "file", data: "aGVsbG8=", mediaType: "text/plain", filename: "a.txt" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const FilePart = Schema.Struct({
  type: Schema.Literal("file"),
  data: Schema.String,
  mediaType: Schema.String,
  filename: Schema.optionalWith(Schema.String, { exact: true })
}, Extra)

/**
 * Model reasoning text kept with the assistant message.
 *
 * @example
 * ```ts
 * import { Message } from "effect-swarm"
 * const part: typeof Message.ReasoningPart.Type = { type: "reasoning", text: "The user wants..." }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const ReasoningPart = Schema.Struct({ type: Schema.Literal("reasoning"), text: Schema.String }, Extra)

/**
 * A tool call requested by the model, inside assistant content.
 *
 * @example
 * ```ts
 * import { Message } from "effect-swarm"
 * const part: typeof Message.ToolCallPart.Type = { type: "tool-call", toolCallId: "c1", toolName: "fs__read", input: { path: "a.md" } }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const ToolCallPart = Schema.Struct({
  type: Schema.Literal("tool-call"),
  toolCallId: Schema.String,
  toolName: Schema.String,
  input: Json
}, Extra)

/**
 * The result of a tool call, inside tool (or user) content.
 *
 * @example
 * ```ts
 * import { Message } from "effect-swarm"
 * const part: typeof Message.ToolResultPart.Type = { type: "tool-result", toolCallId: "c1", toolName: "fs__read", output: "# Title" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const ToolResultPart = Schema.Struct({
  type: Schema.Literal("tool-result"),
  toolCallId: Schema.String,
  toolName: Schema.String,
  output: Json,
  isError: Schema.optionalWith(Schema.Boolean, { exact: true })
}, Extra)

/**
 * Any content part.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Message } from "effect-swarm"
 * Schema.is(Message.ContentPart)({ type: "text", text: "hi" }) // true
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const ContentPart = Schema.Union(TextPart, ImagePart, FilePart, ReasoningPart, ToolCallPart, ToolResultPart)

/**
 * @since 0.1.0
 * @category models
 */
export type ContentPart = typeof ContentPart.Type

/**
 * Message content: plain text or a list of parts.
 *
 * @example
 * ```ts
 * import { Message } from "effect-swarm"
 * const content: Message.Content = [{ type: "text", text: "hi" }]
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const Content = Schema.Union(Schema.String, Schema.Array(ContentPart))

/**
 * @since 0.1.0
 * @category models
 */
export type Content = typeof Content.Type

/**
 * A tool call in the OpenAI-style `toolCalls` field of an assistant message (`arguments` is the model's
 * raw JSON value).
 *
 * @example
 * ```ts
 * import { Message } from "effect-swarm"
 * const call: Message.ToolCall = { id: "c1", name: "fs__read", arguments: { path: "a.md" } }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const ToolCall = Schema.Struct({ id: Schema.String, name: Schema.String, arguments: Json }, Extra)

/**
 * @since 0.1.0
 * @category models
 */
export type ToolCall = typeof ToolCall.Type

/**
 * The provider-neutral message payload. `toolCalls` belongs to assistant messages, `toolCallId` /
 * `toolName` to tool messages; any other field is kept verbatim.
 *
 * @example
 * ```ts
 * import { Message } from "effect-swarm"
 * const data: Message.MessageData = { role: "tool", content: "42", toolCallId: "c1", toolName: "calc__add" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const MessageData = Schema.Struct({
  role: Role,
  content: Content,
  name: Schema.optionalWith(Schema.String, { exact: true }),
  toolCalls: Schema.optionalWith(Schema.Array(ToolCall), { exact: true }),
  toolCallId: Schema.optionalWith(Schema.String, { exact: true }),
  toolName: Schema.optionalWith(Schema.String, { exact: true })
}, Extra)

/**
 * @since 0.1.0
 * @category models
 */
export type MessageData = typeof MessageData.Type

/**
 * Who produced a message.
 *
 * @example
 * ```ts
 * import { Message } from "effect-swarm"
 * const source: Message.MessageSource = { type: "assistant", stepId: "turn-1-step-0" }
 * // The input of a turn another agent asked for, linked to the caller by correlation id:
 * const fromAgent: Message.MessageSource = {
 *   type: "agent", kind: "request", agentName: "planner", instanceKey: "main", correlationId: "corr-1"
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const MessageSource = Schema.Union(
  Schema.Struct({ type: Schema.Literal("user") }),
  Schema.Struct({ type: Schema.Literal("assistant"), stepId: Schema.optionalWith(Schema.String, { exact: true }) }),
  Schema.Struct({ type: Schema.Literal("tool"), toolCallId: Schema.String, toolName: Schema.String }),
  Schema.Struct({ type: Schema.Literal("system") }),
  Schema.Struct({ type: Schema.Literal("extension"), extensionName: Schema.String }),
  Schema.Struct({
    type: Schema.Literal("agent"),
    /** `request` (a turn another agent asked for), `send` (fire and forget) or `reply` (an async answer). */
    kind: Schema.Literal("request", "send", "reply"),
    /** The other agent: the caller for `request` / `send`, the callee for `reply`. */
    agentName: Schema.String,
    instanceKey: Schema.String,
    /** Links the caller's request, the callee's turn and the reply across both conversations. */
    correlationId: Schema.String
  })
)

/**
 * @since 0.1.0
 * @category models
 */
export type MessageSource = typeof MessageSource.Type

/**
 * A message. `createdAt` is a `Date` in memory and an ISO-8601 string on disk; `id` never changes once
 * assigned, so `replace` / `remove` events can target persisted messages across reloads.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Message } from "effect-swarm"
 * const line = JSON.stringify(Schema.encodeSync(Message.Message)({
 *   id: "m1",
 *   data: { role: "user", content: "hi" },
 *   metadata: {},
 *   createdAt: new Date(0),
 *   source: { type: "user" }
 * }))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const Message = Schema.Struct({
  id: Schema.String.pipe(Schema.minLength(1)),
  data: MessageData,
  metadata: Schema.Record({ key: Key, value: Json }),
  createdAt: Schema.Date,
  source: MessageSource
}).annotations({ identifier: "Message" })

/**
 * @since 0.1.0
 * @category models
 */
export interface Message extends Schema.Schema.Type<typeof Message> {}

/**
 * The JSON shape of a message as written to disk.
 *
 * @since 0.1.0
 * @category models
 */
export interface Encoded extends Schema.Schema.Encoded<typeof Message> {}

const idPart = 36 ** 6

/**
 * A fresh message id, `msg-<epoch ms base36>-<12 random base36 chars>`, drawn from `Clock` and `Random`
 * (deterministic under `TestClock` and `Random.fixed`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Message } from "effect-swarm"
 * const id = Effect.runSync(Message.makeId) // "msg-m3x1a2b3-k4j5h6g7f8d9"
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeId: Effect.Effect<string> = Effect.zipWith(
  Clock.currentTimeMillis,
  // Two draws of six base-36 digits each (36^6 < 2^32): the same 12 random digits as one draw per digit,
  // at a sixth of the cost (ids are made for every message a turn writes).
  Effect.zip(Random.nextIntBetween(0, idPart), Random.nextIntBetween(0, idPart)),
  (now, [a, b]) => `msg-${now.toString(36)}-${a.toString(36).padStart(6, "0")}${b.toString(36).padStart(6, "0")}`
)

/**
 * Builds a message with a fresh id and `createdAt = now` (from `Clock`). `source` defaults to the role
 * (`{ type: "user" }` for user messages, and so on; tool messages use their `toolCallId` / `toolName`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Message } from "effect-swarm"
 * const program = Message.make({ role: "user", content: "Hello" })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  data: MessageData,
  options?: {
    readonly id?: string | undefined
    readonly metadata?: Readonly<Record<string, Json>> | undefined
    readonly source?: MessageSource | undefined
  }
): Effect.Effect<Message> =>
  Effect.gen(function*() {
    const id = options?.id ?? (yield* makeId)
    const createdAt = new Date(yield* Clock.currentTimeMillis)
    return {
      id,
      data,
      metadata: options?.metadata ?? {},
      createdAt,
      source: options?.source ?? defaultSource(data)
    }
  })

/**
 * The source a message gets when none is given: its role, and for a tool result the call it answers.
 *
 * @example
 * ```ts
 * import { Message } from "effect-swarm"
 * Message.defaultSource({ role: "user", content: "hi" }) // { type: "user" }
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultSource = (data: MessageData): MessageSource => {
  switch (data.role) {
    case "user":
      return { type: "user" }
    case "system":
      return { type: "system" }
    case "assistant":
      return { type: "assistant" }
    case "tool":
      return { type: "tool", toolCallId: data.toolCallId ?? "", toolName: data.toolName ?? "" }
  }
}

/**
 * The text of a message: the string content, or its text parts joined with newlines.
 *
 * @example
 * ```ts
 * import { Message } from "effect-swarm"
 * Message.text({ role: "assistant", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] }) // "a\nb"
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const text = (data: MessageData): string =>
  typeof data.content === "string"
    ? data.content
    : data.content.flatMap((part) => part.type === "text" ? [part.text] : []).join("\n")
