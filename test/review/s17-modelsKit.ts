// A loopback "model endpoint" the s17 hostile-provider tests drive by hand: each request goes to the next
// handler, which writes whatever bytes it likes (raw SSE with odd line ends, one byte per write, a trickle the
// test paces), and every request body is kept.
import { Chunk, ConfigProvider, Effect, Stream } from "effect"
import { Model } from "effect-swarm"
import type * as Scope from "effect/Scope"
import * as http from "node:http"
import type * as net from "node:net"

export type Handler = (res: http.ServerResponse, body: unknown) => void

export interface Endpoint {
  readonly url: string
  /** The parsed JSON bodies of the requests so far. */
  readonly bodies: Array<unknown>
  readonly push: (...handlers: ReadonlyArray<Handler>) => void
}

export const endpoint = (...initial: ReadonlyArray<Handler>): Effect.Effect<Endpoint, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ server: http.Server; sockets: Set<net.Socket>; state: Endpoint }>((resume) => {
      const queue: Array<Handler> = [...initial]
      const bodies: Array<unknown> = []
      const sockets = new Set<net.Socket>()
      const server = http.createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (c: Buffer) => chunks.push(c))
        req.on("end", () => {
          let body: unknown
          try {
            body = JSON.parse(Buffer.concat(chunks).toString("utf8"))
          } catch {
            body = undefined
          }
          bodies.push(body)
          const handler = queue.shift()
          if (handler === undefined) {
            res.writeHead(500, { "content-type": "application/json" })
            res.end("{\"error\":{\"message\":\"no scripted reply left\"}}")
          } else handler(res, body)
        })
      })
      server.on("connection", (socket) => {
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as net.AddressInfo
        resume(Effect.succeed({
          server,
          sockets,
          state: { url: `http://127.0.0.1:${port}/v1`, bodies, push: (...h) => queue.push(...h) }
        }))
      })
    }),
    ({ server, sockets }) =>
      Effect.async<void>((resume) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ state }) => state))

/** A whole reply: status, headers, body. */
export const reply = (status: number, headers: Record<string, string>, body: string | Buffer): Handler => (res) => {
  res.writeHead(status, headers)
  res.end(body)
}

export const jsonReply = (value: unknown, status = 200): Handler =>
  reply(status, { "content-type": "application/json" }, JSON.stringify(value))

/** An SSE body written `split` bytes at a time (1: every byte its own write). */
export const pieces = (text: string | Buffer, split: number, headers?: Record<string, string>): Handler => (res) => {
  res.writeHead(200, headers ?? { "content-type": "text/event-stream" })
  const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : text
  const from = (offset: number) => {
    if (offset >= bytes.length) {
      res.end()
      return
    }
    res.write(bytes.subarray(offset, offset + split), () => setImmediate(() => from(offset + split)))
  }
  from(0)
}

export const secretKeys = ConfigProvider.fromMap(
  new Map([["OPENAI_API_KEY", "sk-openai-SECRET-0123456789"], ["ANTHROPIC_API_KEY", "sk-ant-SECRET-0123456789"]])
)

export type Provider = "openai" | "anthropic" | "openai-compatible"

/** A model of `provider` on `url`; openai-compatible gets the key `sk-local-SECRET-0123456789`. */
export const model = (
  provider: Provider,
  url: string,
  options: Record<string, unknown> = { maxRetries: 0 },
  layerOptions: Model.LayerOptions = {}
) =>
  Model.make({
    metadata: { name: provider },
    spec: {
      provider,
      model: "m",
      endpoint: url,
      options,
      ...(provider === "openai-compatible"
        ? { apiKey: { _tag: "Value" as const, value: "sk-local-SECRET-0123456789" } }
        : {})
    }
  }, layerOptions).pipe(Effect.withConfigProvider(secretKeys))

export const request: Model.Request = { messages: [{ role: "user", content: "hi" }] }

/** Chat Completions stream chunks. */
export const chunk = (delta: object, finish: string | null = null, extra: object = {}) =>
  `data: ${
    JSON.stringify({
      id: "c1",
      object: "chat.completion.chunk",
      choices: [{ index: 0, delta, finish_reason: finish }],
      ...extra
    })
  }\n\n`

/** A whole Chat Completions text answer as SSE. */
export const compatText = (text: string) =>
  chunk({ role: "assistant", content: text }) + chunk({}, "stop") + "data: [DONE]\n\n"

/** A whole Anthropic text answer as SSE. */
export const anthropicText = (text: string) =>
  [
    { type: "message_start", message: { id: "msg_1", model: "m", usage: { input_tokens: 3, output_tokens: 1 } } },
    { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
    { type: "content_block_delta", index: 0, delta: { type: "text_delta", text } },
    { type: "content_block_stop", index: 0 },
    { type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 2 } },
    { type: "message_stop" }
  ].map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join("")

/** A whole Responses API text answer as SSE. */
export const openaiText = (text: string) =>
  [
    { type: "response.created", response: { id: "resp_1", model: "m", status: "in_progress" } },
    { type: "response.output_text.delta", item_id: "msg_1", output_index: 0, delta: text },
    {
      type: "response.completed",
      response: { id: "resp_1", model: "m", status: "completed", usage: { input_tokens: 3, output_tokens: 2 } }
    }
  ].map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join("")

export const textSse: Record<Provider, (text: string) => string> = {
  "openai-compatible": compatText,
  anthropic: anthropicText,
  openai: openaiText
}

export const collect = <E>(stream: Stream.Stream<Model.StreamPart, E>) =>
  Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

/** The response of the last part, which must be the Finish. */
export const finish = (parts: ReadonlyArray<Model.StreamPart>): Model.Response => {
  const last = parts[parts.length - 1]
  if (last?._tag !== "Finish") throw new Error(`the stream did not end with Finish: ${JSON.stringify(last)}`)
  return last.response
}
