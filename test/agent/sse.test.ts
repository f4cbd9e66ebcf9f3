import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Stream } from "effect"
import { Model, Turn } from "effect-swarm"
import { TestAgent } from "effect-swarm/testing"
import * as http from "node:http"

const pieces = ["Hel", "lo, ", "wor", "ld"]

/** A loopback provider speaking the openai-compatible Chat Completions SSE format, on port 0. */
const sseServer = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly server: http.Server }>((resume) => {
    const server = http.createServer((req, res) => {
      req.resume()
      req.on("end", () => {
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
        const chunk = (delta: object, finish: string | null, usage?: object) =>
          `data: ${
            JSON.stringify({
              id: "c1",
              object: "chat.completion.chunk",
              choices: [{ index: 0, delta, finish_reason: finish }],
              ...(usage === undefined ? {} : { usage })
            })
          }\n\n`
        res.write(chunk({ role: "assistant", content: "" }, null))
        for (const p of pieces) res.write(chunk({ content: p }, null))
        res.write(chunk({}, "stop", { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 }))
        res.end("data: [DONE]\n\n")
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number }
      resume(Effect.succeed({ url: `http://127.0.0.1:${port}/v1`, server }))
    })
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
    })
)

describe("Turn.stream through a real SSE provider", () => {
  it.scoped("yields the deltas in order; the log holds the final message once", () =>
    Effect.gen(function*() {
      const { url } = yield* sseServer
      const model = yield* Model.make({
        metadata: { name: "loopback" },
        spec: { provider: "openai-compatible", model: "m", endpoint: url, options: { maxRetries: 0 } }
      })
      const agent = yield* TestAgent.make({ model, storage: "temp" })
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(Turn.stream(agent.instance, "greet")))
      const texts = events.flatMap((e) => e._tag === "Delta" && e.part._tag === "TextDelta" ? [e.part.text] : [])
      assert.deepStrictEqual(texts.filter((t) => t !== ""), pieces)
      const last = events.at(-1)!
      assert.strictEqual(last._tag, "Done")
      if (last._tag === "Done") {
        yield* TestAgent.assertFinish(last.result, "text_response")
        assert.strictEqual(TestAgent.replyText(last.result), "Hello, world")
      }
      yield* TestAgent.assertTranscript(agent, ["user: greet", "assistant: Hello, world"])
    }))
})
