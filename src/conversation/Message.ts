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
import { Content } from "./internal/contentParts.js"

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
import { Extra, Json, Key } from "./internal/json.js"

// JSON values and message content (documented where they are declared).
export {
  Content,
  ContentPart,
  FilePart,
  ImagePart,
  ReasoningPart,
  TextPart,
  ToolCallPart,
  ToolResultPart
} from "./internal/contentParts.js"
export { isJson, Json } from "./internal/json.js"

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
