import { assert, describe, it } from "@effect/vitest"
import { Chunk, ConfigProvider, Effect, Fiber, Layer, Logger, Stream, TestClock } from "effect"
import { Model } from "effect-swarm"
import type { Message } from "effect-swarm"
import { collect, finish } from "./parts.js"
import * as Server from "./server.js"

const P = "openai-compatible"

const resource = (url: string, spec: Partial<Model.ModelResource["spec"]> = {}): Model.ModelResource => ({
  metadata: { name: "local" },
  spec: { provider: P, model: "llama3.1", endpoint: url, ...spec }
})

const weather = {
  type: "object",
  properties: { location: { type: "string", description: "City, region" }, unit: { enum: ["c", "f"] } },
  required: ["location"],
  additionalProperties: false
} as const

const tools = [
  { name: "weather__get", description: "Current weather", parameters: weather },
  { name: "clock__now" }
]

const conversation: ReadonlyArray<Message.MessageData> = [
  { role: "user", content: "Weather in Paris and Oslo?" },
  {
    role: "assistant",
    content: "Checking.",
    toolCalls: [
      { id: "call_1", name: "weather__get", arguments: { location: "Paris" } },
      { id: "call_2", name: "weather__get", arguments: "{\"location\": \"Oslo\"" }
    ]
  },
  { role: "tool", content: "{\"tempC\":21}", toolCallId: "call_1", toolName: "weather__get" },
  { role: "tool", content: "ERROR: invalid JSON", toolCallId: "call_2", toolName: "weather__get" },
  {
    role: "assistant",
    content: [{ type: "tool-call", toolCallId: "call_3", toolName: "clock__now", input: {} }]
  },
  {
    role: "user",
    content: [
      { type: "tool-result", toolCallId: "call_3", toolName: "clock__now", output: { iso: "2026-01-01T00:00:00Z" } },
      { type: "text", text: "Thanks. And now?" }
    ]
  }
]

const request: Model.Request = { system: "You are terse.", messages: conversation, tools }

const withServer = <A, E>(
  replies: ReadonlyArray<Server.Reply>,
  f: (server: Server.Server, model: Model.Service) => Effect.Effect<A, E>,
  spec: Partial<Model.ModelResource["spec"]> = {}
) =>
  Effect.gen(function*() {
    const server = yield* Server.make(...replies)
    const model = yield* Model.make(resource(server.url, spec))
    return yield* f(server, model)
  })

describe("openai-compatible: request bodies", () => {
  it.scoped("sends the system prompt first, tool schemas unchanged, replayed calls and tool results", () =>
    withServer([Server.json(P, "text.json")], (server, model) =>
      Effect.gen(function*() {
        yield* model.generate({
          ...request,
          toolChoice: { tool: "weather__get" },
          params: {
            temperature: 0.2,
            maxTokens: 256,
            topP: 0.9,
            topK: 40,
            stop: ["END"],
            seed: 7,
            frequencyPenalty: 0.1,
            presencePenalty: 0.3,
            providerOptions: { parallel_tool_calls: false }
          }
        })
        const sent = server.requests[0]!
        assert.strictEqual(sent.method, "POST")
        assert.strictEqual(sent.path, "/v1/chat/completions")
        assert.strictEqual(sent.headers["content-type"], "application/json")
        assert.strictEqual(sent.headers.authorization, undefined)
        assert.deepStrictEqual(sent.json, {
          model: "llama3.1",
          messages: [
            { role: "system", content: "You are terse." },
            { role: "user", content: "Weather in Paris and Oslo?" },
            {
              role: "assistant",
              content: "Checking.",
              tool_calls: [
                {
                  id: "call_1",
                  type: "function",
                  function: { name: "weather__get", arguments: "{\"location\":\"Paris\"}" }
                },
                {
                  id: "call_2",
                  type: "function",
                  function: { name: "weather__get", arguments: "{\"location\": \"Oslo\"" }
                }
              ]
            },
            { role: "tool", tool_call_id: "call_1", content: "{\"tempC\":21}" },
            { role: "tool", tool_call_id: "call_2", content: "ERROR: invalid JSON" },
            {
              role: "assistant",
              content: null,
              tool_calls: [{ id: "call_3", type: "function", function: { name: "clock__now", arguments: "{}" } }]
            },
            { role: "tool", tool_call_id: "call_3", content: "{\"iso\":\"2026-01-01T00:00:00Z\"}" },
            { role: "user", content: "Thanks. And now?" }
          ],
          tools: [
            {
              type: "function",
              function: { name: "weather__get", description: "Current weather", parameters: weather }
            },
            { type: "function", function: { name: "clock__now", parameters: { type: "object", properties: {} } } }
          ],
          tool_choice: { type: "function", function: { name: "weather__get" } },
          temperature: 0.2,
          max_tokens: 256,
          top_p: 0.9,
          top_k: 40,
          stop: ["END"],
          seed: 7,
          frequency_penalty: 0.1,
          presence_penalty: 0.3,
          parallel_tool_calls: false
        })
      })))

  it.scoped("streams with stream_options.include_usage and an event-stream accept header; the key as a bearer token", () =>
    Effect.gen(function*() {
      const server = yield* Server.make(Server.sse(P, "text.sse"))
      const model = yield* Model.make(
        resource(server.url, { apiKey: { _tag: "Env", env: "LOCAL_KEY", required: true } })
      )
        .pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["LOCAL_KEY", "sk-local"]]))))
      yield* Stream.runDrain(model.stream({ messages: [{ role: "user", content: "hi" }] }))
      const sent = server.requests[0]!
      assert.strictEqual(sent.headers.authorization, "Bearer sk-local")
      assert.strictEqual(sent.headers.accept, "text/event-stream")
      assert.deepStrictEqual(sent.json, {
        model: "llama3.1",
        messages: [{ role: "user", content: "hi" }],
        stream: true,
        stream_options: { include_usage: true }
      })
    }))
})

describe("openai-compatible: responses", () => {
  it.scoped("text with usage (cached and reasoning tokens) and metadata", () =>
    withServer([Server.json(P, "text.json")], (_, model) =>
      Effect.gen(function*() {
        const r = yield* model.generate(request)
        assert.strictEqual(
          r.text,
          "The image shows a wooden boardwalk path running through a lush green field or meadow."
        )
        assert.deepStrictEqual(r.message, { role: "assistant", content: r.text })
        assert.strictEqual(r.finishReason, "stop")
        assert.deepStrictEqual(r.usage, {
          inputTokens: 1117,
          outputTokens: 46,
          totalTokens: 1163,
          cachedInputTokens: 1024,
          reasoningTokens: 0
        })
        assert.deepStrictEqual(r.metadata, {
          provider: P,
          model: "gpt-4o-2024-08-06",
          responseId: "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
          rawFinishReason: "stop"
        })
      })))

  it.scoped("one tool call and parallel tool calls, in our Message shape", () =>
    withServer(
      [Server.json(P, "tool-call.json"), Server.json(P, "parallel-tool-calls.json")],
      (_, model) =>
        Effect.gen(function*() {
          const one = yield* model.generate(request)
          assert.strictEqual(one.finishReason, "tool-calls")
          assert.deepStrictEqual(one.message, {
            role: "assistant",
            content: "",
            toolCalls: [{ id: "call_abc123", name: "weather__get", arguments: { location: "Boston, MA" } }]
          })
          const two = yield* model.generate(request)
          assert.strictEqual(two.text, "Checking both cities.")
          assert.deepStrictEqual(two.toolCalls.map((c) => [c.id, c.arguments]), [
            ["call_1", { location: "Paris" }],
            ["call_2", { location: "Oslo" }]
          ])
        })
    ))

  it.scoped("invalid or non-object arguments keep their raw text; unknown tool names come back as they are", () =>
    withServer([Server.json(P, "invalid-arguments.json")], (_, model) =>
      Effect.gen(function*() {
        const r = yield* model.generate(request)
        assert.deepStrictEqual(r.toolCalls, [
          { id: "call_bad", name: "weather__get", arguments: "{\"location\": \"Paris\"" },
          { id: "call_arr", name: "weather__get", arguments: "[\"Paris\"]" },
          { id: "call_ghost", name: "web__search_everything", arguments: { q: "x" } },
          { id: "call_empty", name: "clock__now", arguments: {} }
        ])
      })))

  it.scoped("llama.cpp: an empty tool-call id gets a fresh one; reasoning_content becomes a reasoning part", () =>
    withServer([Server.json(P, "llamacpp-tool-call.json")], (_, model) =>
      Effect.gen(function*() {
        const r = yield* model.generate(request)
        const call = r.toolCalls[0]!
        assert.match(call.id, /^call_[0-9a-z]{8}_0$/)
        assert.deepStrictEqual(call.arguments, { location: "Paris" })
        assert.deepStrictEqual(r.message.content, [{
          type: "reasoning",
          text: "The user wants the weather, so I call the tool."
        }])
      })))

  it.scoped("Ollama: finish_reason stop with tool calls reads as tool-calls", () =>
    withServer([Server.json(P, "ollama-tool-call.json")], (_, model) =>
      Effect.gen(function*() {
        const r = yield* model.generate(request)
        assert.strictEqual(r.finishReason, "tool-calls")
        assert.strictEqual(r.metadata.rawFinishReason, "stop")
        assert.strictEqual(r.toolCalls[0]!.id, "call_ew3osrbk")
      })))

  it.scoped("a body that is not JSON is a ModelProtocolError", () =>
    withServer([{ status: 200, body: Server.fixture(P, "not-json.txt") }], (_, model) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(model.generate(request))
        assert.strictEqual(error._tag, "ModelProtocolError")
        assert.include(error.message, "<html>")
      })))
})

describe("openai-compatible: streaming", () => {
  it.scoped("text deltas (split across writes, UTF-8 intact), usage in the last chunk, then Finish", () =>
    withServer([Server.sse(P, "text.sse")], (_, model) =>
      Effect.gen(function*() {
        const parts = yield* collect(model.stream(request))
        const text = parts.flatMap((p) => p._tag === "TextDelta" ? [p.text] : []).join("")
        assert.strictEqual(text, "Hello there, Jürgen")
        const r = finish(parts)
        assert.strictEqual(r.text, "Hello there, Jürgen")
        assert.strictEqual(r.finishReason, "stop")
        assert.deepStrictEqual(r.usage, {
          inputTokens: 9,
          outputTokens: 4,
          totalTokens: 13,
          cachedInputTokens: 0,
          reasoningTokens: 0
        })
      })))

  it.scoped("parallel tool calls with arguments split across many chunks", () =>
    withServer([Server.sse(P, "tool-calls.sse")], (_, model) =>
      Effect.gen(function*() {
        const parts = yield* collect(model.stream(request))
        assert.deepStrictEqual(
          parts.filter((p) => p._tag === "ToolCallStart"),
          [
            { _tag: "ToolCallStart", index: 0, id: "call_DdmO9pD3xa9XTPNJ32zg2hcA", name: "weather__get" },
            { _tag: "ToolCallStart", index: 1, id: "call_Kq2", name: "web__search_everything" }
          ]
        )
        assert.strictEqual(parts.filter((p) => p._tag === "ToolCallDelta" && p.index === 0).length, 3)
        const r = finish(parts)
        assert.strictEqual(r.finishReason, "tool-calls")
        assert.deepStrictEqual(r.toolCalls, [
          { id: "call_DdmO9pD3xa9XTPNJ32zg2hcA", name: "weather__get", arguments: { location: "Paris" } },
          { id: "call_Kq2", name: "web__search_everything", arguments: { q: "tokyo" } }
        ])
        assert.deepStrictEqual(r.usage.cachedInputTokens, 64)
      })))

  it.scoped("Ollama: a whole tool call in one chunk without an id, finish_reason stop", () =>
    withServer([Server.sse(P, "ollama-tool-call.sse")], (_, model) =>
      Effect.gen(function*() {
        const r = finish(yield* collect(model.stream(request)))
        assert.strictEqual(r.finishReason, "tool-calls")
        assert.match(r.toolCalls[0]!.id, /^call_[0-9a-z]{8}_0$/)
        assert.deepStrictEqual(r.toolCalls[0]!.arguments, { location: "Toronto" })
        assert.deepStrictEqual(r.usage, { inputTokens: 95, outputTokens: 18, totalTokens: 113 })
      })))

  it.scoped("vLLM: streamed tool call without an id, reasoning_content deltas", () =>
    withServer([Server.sse(P, "vllm-tool-call.sse")], (_, model) =>
      Effect.gen(function*() {
        const parts = yield* collect(model.stream(request))
        const r = finish(parts)
        assert.deepStrictEqual(r.message.content, [{ type: "reasoning", text: "Need the weather tool." }])
        assert.deepStrictEqual(r.toolCalls.map((c) => [c.name, c.arguments]), [["weather__get", {
          location: "Berlin"
        }]])
        assert.strictEqual(parts.filter((p) => p._tag === "ReasoningDelta").length, 2)
      })))

  it.scoped("Groq: usage under x_groq in the last chunk", () =>
    withServer([Server.sse(P, "groq.sse")], (_, model) =>
      Effect.gen(function*() {
        const r = finish(yield* collect(model.stream(request)))
        assert.strictEqual(r.text, "Fast answer.")
        assert.deepStrictEqual(r.usage, { inputTokens: 18, outputTokens: 3, totalTokens: 21 })
      })))

  it.scoped("OpenRouter: comment lines are skipped, reasoning and usage kept", () =>
    withServer([Server.sse(P, "openrouter.sse")], (_, model) =>
      Effect.gen(function*() {
        const r = finish(yield* collect(model.stream(request)))
        assert.strictEqual(r.text, "Bonjour!")
        assert.deepStrictEqual(r.message.content, [{ type: "reasoning", text: "Short" }, {
          type: "text",
          text: "Bonjour!"
        }])
        assert.deepStrictEqual(r.usage, {
          inputTokens: 14,
          outputTokens: 9,
          totalTokens: 23,
          cachedInputTokens: 0,
          reasoningTokens: 2
        })
      })))

  it.scoped("OpenRouter: an error event inside a 200 stream fails the stream with the provider's message", () =>
    withServer([Server.sse(P, "openrouter-error.sse")], (_, model) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(collect(model.stream(request)))
        assert.strictEqual(error._tag, "ModelUnavailable")
        assert.include(error.message, "Provider disconnected unexpectedly")
      })))

  it.scoped("a connection dropped mid-stream fails with ModelUnavailable, after the deltas that arrived", () =>
    withServer([Server.sse(P, "tool-calls.sse", { dropAfter: 900, drop: true })], (_, model) =>
      Effect.gen(function*() {
        const seen: Array<Model.StreamPart> = []
        const error = yield* Effect.flip(
          Stream.runForEach(model.stream(request), (p) => Effect.sync(() => seen.push(p)))
        )
        assert.strictEqual(error._tag, "ModelUnavailable")
        assert.isAbove(seen.length, 0)
        assert.isFalse(seen.some((p) => p._tag === "Finish"))
      })))

  it.scoped("a stream that ends cleanly without [DONE] or a finish reason was cut short", () =>
    withServer([Server.sse(P, "tool-calls.sse", { dropAfter: 900 })], (_, model) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(collect(model.stream(request)))
        assert.strictEqual(error._tag, "ModelUnavailable")
        assert.include(error.message, "ended before the model finished")
      })))

  it.scoped("interrupting the stream closes the connection", () =>
    withServer([Server.sse(P, "text.sse", { dropAfter: 600, hang: true })], (server, model) =>
      Effect.gen(function*() {
        const first = yield* model.stream(request).pipe(Stream.take(1), Stream.runCollect)
        assert.strictEqual(Chunk.size(first), 1)
        yield* Server.waitUntil(Effect.sync(() => server.aborted() === 1))
      })))
})

describe("openai-compatible: retries and timeouts (TestClock)", () => {
  /** Waits until the call is asleep on the TestClock (its request went out and the reply was read). */
  const asleep = Server.retrySleeping

  it.scoped("429 with retry-after: waits exactly that long, then succeeds; the retry is logged", () =>
    Effect.gen(function*() {
      const logs: Array<{ message: unknown; annotations: Record<string, unknown> }> = []
      const logger = Logger.make(({ annotations, message }) => {
        const a: Record<string, unknown> = {}
        for (const [k, v] of annotations) a[k] = v
        logs.push({ message, annotations: a })
      })
      const server = yield* Server.make(
        Server.json(P, "error-429.json", 429, { "retry-after": "3" }),
        Server.json(P, "text.json")
      )
      const model = yield* Model.make(resource(server.url))
      const fiber = yield* model.generate(request).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
        Effect.fork
      )
      yield* asleep
      yield* TestClock.adjust("2999 millis")
      yield* Server.tick
      assert.strictEqual(server.requests.length, 1)
      yield* TestClock.adjust("1 millis")
      const r = yield* Fiber.join(fiber)
      assert.strictEqual(r.finishReason, "stop")
      assert.strictEqual(server.requests.length, 2)
      assert.deepStrictEqual(server.requests[1]!.json, server.requests[0]!.json)
      assert.strictEqual(logs.length, 1)
      assert.include(logs[0]!.annotations, { provider: P, status: 429, waitMillis: 3000 })
    }))

  it.scoped("retry-after as an HTTP date, and retry-after-ms", () =>
    Effect.gen(function*() {
      const now = yield* TestClock.currentTimeMillis
      const server = yield* Server.make(
        Server.json(P, "error-429.json", 429, { "retry-after": new Date(now + 5000).toUTCString() }),
        Server.json(P, "error-500.json", 503, { "retry-after-ms": "250" }),
        Server.json(P, "text.json")
      )
      const model = yield* Model.make(resource(server.url))
      const fiber = yield* Effect.fork(model.generate(request))
      yield* asleep
      yield* TestClock.adjust("4999 millis")
      yield* Server.tick
      assert.strictEqual(server.requests.length, 1)
      yield* TestClock.adjust("1 millis")
      yield* Server.waitUntil(Effect.sync(() => server.requests.length === 2))
      yield* asleep
      yield* TestClock.adjust("250 millis")
      yield* Fiber.join(fiber)
      assert.strictEqual(server.requests.length, 3)
    }))

  it.scoped("500 then success, with exponential backoff; 529 is retried too", () =>
    Effect.gen(function*() {
      const server = yield* Server.make(
        Server.json(P, "error-500.json", 500),
        {
          status: 529,
          body: "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}"
        },
        Server.json(P, "text.json")
      )
      const model = yield* Model.make(resource(server.url))
      const fiber = yield* Effect.fork(model.generate(request))
      // The clock moves to the earliest retry sleep's deadline (a sleep due within two minutes: per-attempt
      // timeouts are ten minutes away), and again, until the next request arrives: a backoff registered late
      // (the reply still being read on a loaded machine) is neither stepped over nor overshot. Waiting for
      // "some sleep" and then one fixed step hung the test when the step came first (clean-clone CI, s17).
      const nextRequestAt = (n: number) =>
        Effect.zipRight(
          Server.waitUntil(Effect.gen(function*() {
            if (server.requests.length >= n) return true
            // A call that ended early (an unexpected error) says so here instead of leaving this loop to time out.
            const ended = fiber.unsafePoll()
            if (ended !== null) return yield* Effect.dieMessage(`the call ended before request ${n}: ${String(ended)}`)
            const now = yield* TestClock.currentTimeMillis
            const due = Array.from(yield* TestClock.sleeps()).filter((t) => t - now <= 120_000)
            if (due.length > 0) yield* TestClock.adjust(Math.max(0, Math.min(...due) - now))
            return false
          })),
          TestClock.currentTimeMillis
        )
      const second = yield* nextRequestAt(2) // first backoff: 1 s with jitter (0.8..1.2)
      assert.isAtLeast(second, 800)
      assert.isAtMost(second, 1200)
      const third = yield* nextRequestAt(3) // second: 2 s with jitter (1.6..2.4)
      assert.isAtLeast(third - second, 1600)
      assert.isAtMost(third - second, 2400)
      const r = yield* Fiber.join(fiber)
      assert.strictEqual(r.text.length > 0, true)
      assert.strictEqual(server.requests.length, 3)
    }))

  it.scoped("gives up after maxRetries with the last error", () =>
    Effect.gen(function*() {
      const e500 = Server.json(P, "error-500.json", 500)
      const server = yield* Server.make(e500, e500, e500)
      const model = yield* Model.make(resource(server.url, { options: { maxRetries: 1 } }))
      const fiber = yield* Effect.fork(Effect.flip(model.generate(request)))
      yield* asleep
      yield* TestClock.adjust("10 seconds")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "ModelUnavailable")
      assert.include(error.message, "The server had an error")
      assert.strictEqual(server.requests.length, 2)
    }))

  it.scoped("400, 401, 403 and 404 are never retried; context too long is recognisable", () =>
    Effect.gen(function*() {
      const server = yield* Server.make(
        Server.json(P, "error-context.json", 400),
        Server.json(P, "llamacpp-error-context.json", 400),
        Server.json(P, "error-401.json", 401),
        { status: 403, body: "{\"error\":{\"message\":\"forbidden\"}}" },
        Server.json(P, "ollama-error-404.json", 404),
        Server.json(P, "error-quota.json", 429)
      )
      const model = yield* Model.make(resource(server.url, { apiKey: { _tag: "Value", value: "sk-test" } }))
      const errors = []
      for (let i = 0; i < 6; i++) errors.push(yield* Effect.flip(model.generate(request)))
      assert.deepStrictEqual(errors.map((e) => e._tag), [
        "ModelBadRequest",
        "ModelBadRequest",
        "ModelAuthFailed",
        "ModelAuthFailed",
        "ModelBadRequest",
        "ModelRateLimited"
      ])
      assert.deepStrictEqual(errors.slice(0, 2).map((e) => e._tag === "ModelBadRequest" && e.contextTooLong), [
        true,
        true
      ])
      assert.strictEqual(errors[4]!._tag === "ModelBadRequest" && errors[4]!.contextTooLong, false)
      assert.include(errors[4]!.message, "not found, try pulling it first")
      assert.include(errors[2]!.message, "Incorrect API key provided")
      assert.include(errors[5]!.message, "billing")
      assert.strictEqual(server.requests.length, 6)
    }))

  it.scoped("a connection refused is retried, then reported as ModelUnavailable", () =>
    Effect.gen(function*() {
      const server = yield* Server.make()
      const url = server.url.replace(/:\d+\//, ":1/")
      const model = yield* Model.make(resource(url, { options: { maxRetries: 1 } }))
      const fiber = yield* Effect.fork(Effect.flip(model.generate(request)))
      yield* asleep
      yield* TestClock.adjust("10 seconds")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "ModelUnavailable")
    }))

  it.scoped("a body cut short is retried for generate", () =>
    Effect.gen(function*() {
      const server = yield* Server.make(
        { ...Server.json(P, "text.json"), dropAfter: 100, drop: true },
        Server.json(P, "text.json")
      )
      const model = yield* Model.make(resource(server.url))
      const fiber = yield* Effect.fork(model.generate(request))
      yield* asleep
      yield* TestClock.adjust("2 seconds")
      const r = yield* Fiber.join(fiber)
      assert.strictEqual(r.finishReason, "stop")
      assert.strictEqual(server.requests.length, 2)
    }))

  it.scoped("a slow server: the per-call timeout interrupts the request (ModelTimeout, connection closed)", () =>
    Effect.gen(function*() {
      const server = yield* Server.make({ hang: true }, { hang: true })
      const model = yield* Model.make(resource(server.url, { options: { timeout: "30 seconds" } }))
      const fiber = yield* Effect.fork(Effect.flip(model.generate(request)))
      yield* Server.waitUntil(Effect.sync(() => server.requests.length === 1))
      yield* TestClock.adjust("30 seconds")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "ModelTimeout")
      assert.include(error.message, "30000 ms")
      yield* Server.waitUntil(Effect.sync(() => server.aborted() === 1))
      // a stream that stops sending for longer than the timeout fails the same way
      server.push(Server.sse(P, "text.sse", { dropAfter: 600, hang: true }))
      const streamFiber = yield* Effect.fork(Effect.flip(collect(model.stream(request))))
      yield* Server.waitUntil(Effect.sync(() => server.requests.length === 2))
      yield* Server.waitUntil(Effect.map(TestClock.sleeps(), (s) => s.length > 0))
      yield* TestClock.adjust("30 seconds")
      const streamError = yield* Fiber.join(streamFiber)
      assert.strictEqual(streamError._tag, "ModelTimeout")
    }))
})

describe("openai-compatible: configuration", () => {
  const fail = (spec: Partial<Model.ModelResource["spec"]>, env: ReadonlyArray<[string, string]> = []) =>
    Effect.flip(Model.make(resource("http://127.0.0.1:9/v1", spec))).pipe(
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(env)))
    )

  it.effect("unknown provider lists the known ones", () =>
    Effect.gen(function*() {
      const error = yield* fail({ provider: "open-ai" })
      assert.strictEqual(error.field, "spec.provider")
      assert.include(error.message, "openai-compatible, openai, anthropic, scripted")
    }))

  it.effect("a missing key names the environment variable, when the layer is built", () =>
    Effect.gen(function*() {
      const error = yield* fail({ apiKey: { _tag: "Env", env: "MY_LLM_KEY", required: true } })
      assert.strictEqual(error.field, "spec.apiKey")
      assert.include(error.message, "MY_LLM_KEY")
      const openai = yield* fail({ provider: "openai", endpoint: undefined })
      assert.include(openai.message, "OPENAI_API_KEY")
      const built = yield* Layer.build(Model.layer(resource("http://x/v1", { provider: "anthropic" }))).pipe(
        Effect.scoped,
        Effect.flip,
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
      )
      assert.include(built.message, "ANTHROPIC_API_KEY")
    }))

  it.effect("a missing endpoint and bad options are config errors", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* fail({ endpoint: undefined })).field, "spec.endpoint")
      assert.strictEqual((yield* fail({ options: { maxRetries: -1 } })).field, "spec.options.maxRetries")
      assert.strictEqual((yield* fail({ options: { timeout: "soon" } })).field, "spec.options.timeout")
      assert.strictEqual((yield* fail({ options: { headers: { "x-a": 1 } } })).field, "spec.options.headers.x-a")
    }))
})
