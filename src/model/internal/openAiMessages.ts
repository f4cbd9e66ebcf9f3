/**
 * What the two OpenAI wire formats (Chat Completions in `OpenAiCompatible`, Responses in `OpenAi`) share
 * when they turn our messages into theirs: the walk over the conversation (system text, an assistant's
 * text and tool calls, tool results out of `tool` and `user` messages, then what is left of a user
 * message) and inline media as data URLs. Each format says how each piece is written.
 *
 * @internal
 */
import type { Json, MessageData, ToolCall } from "../../conversation/Message.js"
import type { Request } from "../Model.js"
import * as A from "./assemble.js"

/** A URL as it is, or raw base64 as a `data:` URL (PNG when the media type is not given). @internal */
export const dataUrl = (data: string, mediaType: string | undefined): string =>
  /^(https?:|data:)/.test(data) ? data : `data:${mediaType ?? "image/png"};base64,${data}`

/** How one wire format writes each piece; every function pushes its items onto `out`. @internal */
export interface Writers {
  readonly system: (out: Array<Json>, text: string) => void
  readonly assistant: (out: Array<Json>, text: string, calls: ReadonlyArray<ToolCall>) => void
  readonly toolResult: (out: Array<Json>, result: A.ToolResult) => void
  /** A user message without its tool results (never empty). */
  readonly user: (out: Array<Json>, data: MessageData) => void
}

/** The request's messages in the wire format of `writers`, in order. @internal */
export const encodeMessages = (request: Request, writers: Writers, out: Array<Json> = []): Array<Json> => {
  const catalog = A.catalogNames(request)
  for (const data of A.messagesOf(request)) {
    switch (data.role) {
      case "system":
        writers.system(out, A.textOf(data.content))
        break
      case "assistant":
        writers.assistant(
          out,
          A.textOf(data.content),
          A.toolCallsOf(data).map((c) => ({ ...c, name: A.replayName(c.name, catalog) }))
        )
        break
      case "tool":
      case "user": {
        for (const r of A.toolResultsOf(data)) writers.toolResult(out, r)
        if (data.role === "user") {
          const rest = typeof data.content === "string" ?
            data :
            { ...data, content: data.content.filter((p) => p.type !== "tool-result") }
          if (typeof rest.content === "string" || rest.content.length > 0) writers.user(out, rest)
        }
        break
      }
    }
  }
  return out
}
