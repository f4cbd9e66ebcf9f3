/**
 * The content of a message: plain text or a list of parts (text, image, file, reasoning, tool call, tool
 * result), each keeping the fields this module does not know. Re-exported by `Message`.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Extra, Json } from "./json.js"

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
