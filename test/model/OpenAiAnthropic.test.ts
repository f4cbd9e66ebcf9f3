import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Fiber, TestClock } from "effect"
import type { Message } from "effect-swarm"
import { Model } from "effect-swarm"
import { collect, finish } from "./parts.js"
import * as Server from "./server.js"

const weather = {
  type: "object",
  properties: { location: { type: "string" }, unit: { enum: ["c", "f"] } },
  required: ["location"]
} as const

const tools = [{ name: "weather__get", description: "Current weather", parameters: weather }]

const conversation: ReadonlyArray<Message.MessageData> = [
  { role: "user", content: "Weather in Paris?" },
  {
    role: "assistant",
    content: "Checking.",
    toolCalls: [{ id: "call_1", name: "weather__get", arguments: { location: "Paris" } }]
  },
  { role: "tool", content: "{\"tempC\":21}", toolCallId: "call_1", toolName: "weather__get" },
  { role: "user", content: "And in Oslo?" }
]

const request: Model.Request = { system: "You are terse.", messages: conversation, tools }

const make = (provider: "openai" | "anthropic", url: string, options: Record<string, number | string> = {}) =>
  Model.make({
    metadata: { name: provider },
    spec: { provider, model: provider === "openai" ? "gpt-4.1" : "claude-sonnet-4", endpoint: url, options }
  }).pipe(
    Effect.withConfigProvider(ConfigProvider.fromMap(
      new Map([["OPENAI_API_KEY", "sk-openai"], ["ANTHROPIC_API_KEY", "sk-ant"]])
    ))
  )

describe("openai (Responses API)", () => {
  it.scoped("request: instructions, function_call / function_call_output items, tools unchanged with strict: false", () =>
    Effect.gen(function*() {
      const server = yield* Server.make(Server.json("openai", "text.json"))
      const model = yield* make("openai", server.url)
      yield* model.generate({
        ...request,
        toolChoice: "required",
        params: {
          temperature: 0.5,
          maxTokens: 100,
          topP: 0.9,
          stop: ["x"],
          seed: 1,
          providerOptions: { reasoning: { effort: "low" } }
        }
      })
      const sent = server.requests[0]!
      assert.strictEqual(sent.path, "/v1/responses")
      assert.strictEqual(sent.headers.authorization, "Bearer sk-openai")
      assert.deepStrictEqual(sent.json, {
        model: "gpt-4.1",
        instructions: "You are terse.",
        input: [
          { role: "user", content: "Weather in Paris?" },
          { role: "assistant", content: "Checking." },
          { type: "function_call", call_id: "call_1", name: "weather__get", arguments: "{\"location\":\"Paris\"}" },
          { type: "function_call_output", call_id: "call_1", output: "{\"tempC\":21}" },
          { role: "user", content: "And in Oslo?" }
        ],
        tools: [{
          type: "function",
          name: "weather__get",
          description: "Current weather",
          parameters: weather,
          strict: false
        }],
        tool_choice: "required",
        temperature: 0.5,
        max_output_tokens: 100,
        top_p: 0.9,
        store: false,
        reasoning: { effort: "low" }
      })
    }))

  it.scoped("text, tool calls (raw text kept, unknown names kept), reasoning summary, usage, incomplete", () =>
    Effect.gen(function*() {
      const server = yield* Server.make(
        Server.json("openai", "text.json"),
        Server.json("openai", "tool-call.json"),
        Server.json("openai", "incomplete.json")
      )
      const model = yield* make("openai", server.url)
      const text = yield* model.generate(request)
      assert.strictEqual(
        text.text,
        "In a peaceful grove beneath a silver moon, a unicorn named Lumina discovered a hidden pool."
      )
      assert.strictEqual(text.finishReason, "stop")
      assert.deepStrictEqual(text.metadata, {
        provider: "openai",
        model: "gpt-4.1-2025-04-14",
        responseId: "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b",
        rawFinishReason: "completed"
      })
      const tool = yield* model.generate(request)
      assert.strictEqual(tool.finishReason, "tool-calls")
      assert.deepStrictEqual(tool.toolCalls, [
        { id: "call_unLAR8MvFNptuiZK6K6HCy5k", name: "weather__get", arguments: { location: "Boston, MA", unit: "c" } },
        { id: "call_bad", name: "nope__unknown", arguments: "{\"location\":" }
      ])
      assert.deepStrictEqual(tool.usage, {
        inputTokens: 291,
        outputTokens: 23,
        totalTokens: 314,
        cachedInputTokens: 256,
        reasoningTokens: 64
      })
      assert.deepStrictEqual((tool.message.content as ReadonlyArray<Message.ContentPart>)[0], {
        type: "reasoning",
        text: "The user asks for the weather; call the tool."
      })
      const cut = yield* model.generate(request)
      assert.strictEqual(cut.finishReason, "length")
      assert.strictEqual(cut.text, "Once upon a")
    }))

  it.scoped("stream: text deltas, function call arguments in chunks, usage from response.completed", () =>
    Effect.gen(function*() {
      const server = yield* Server.make(Server.sse("openai", "text.sse"), Server.sse("openai", "tool-call.sse"))
      const model = yield* make("openai", server.url)
      const text = finish(yield* collect(model.stream(request)))
      assert.strictEqual(text.text, "Hi there!")
      assert.deepStrictEqual(text.usage.totalTokens, 48)
      assert.strictEqual(server.requests[0]!.json && (server.requests[0]!.json as { stream: boolean }).stream, true)
      const parts = yield* collect(model.stream(request))
      assert.deepStrictEqual(parts.filter((p) => p._tag === "ToolCallStart"), [
        { _tag: "ToolCallStart", index: 0, id: "call_2345", name: "weather__get" }
      ])
      assert.strictEqual(parts.filter((p) => p._tag === "ToolCallDelta").length, 3)
      const r = finish(parts)
      assert.strictEqual(r.finishReason, "tool-calls")
      assert.deepStrictEqual(r.toolCalls, [{ id: "call_2345", name: "weather__get", arguments: { location: "Paris" } }])
    }))

  it.scoped("stream: response.failed is a typed error with the provider's message", () =>
    Effect.gen(function*() {
      const server = yield* Server.make(Server.sse("openai", "failed.sse"))
      const model = yield* make("openai", server.url)
      const error = yield* Effect.flip(collect(model.stream(request)))
      assert.strictEqual(error._tag, "ModelUnavailable")
      assert.include(error.message, "The model failed to generate a response.")
    }))
})

describe("anthropic (Messages API)", () => {
  it.scoped("request: system, tool_use / tool_result blocks, alternating turns, max_tokens default, headers", () =>
    Effect.gen(function*() {
      const server = yield* Server.make(Server.json("anthropic", "text.json"))
      const model = yield* make("anthropic", server.url)
      yield* model.generate({
        ...request,
        messages: [{ role: "system", content: "Answer in French." }, ...conversation],
        toolChoice: { tool: "weather__get" },
        params: { temperature: 0.1, topK: 5, stop: ["END"], seed: 3, frequencyPenalty: 1 }
      })
      const sent = server.requests[0]!
      assert.strictEqual(sent.path, "/v1/messages")
      assert.strictEqual(sent.headers["x-api-key"], "sk-ant")
      assert.strictEqual(sent.headers["anthropic-version"], "2023-06-01")
      assert.strictEqual(sent.headers.authorization, undefined)
      assert.deepStrictEqual(sent.json, {
        model: "claude-sonnet-4",
        max_tokens: 4096,
        system: "You are terse.\n\nAnswer in French.",
        messages: [
          { role: "user", content: [{ type: "text", text: "Weather in Paris?" }] },
          {
            role: "assistant",
            content: [
              { type: "text", text: "Checking." },
              { type: "tool_use", id: "call_1", name: "weather__get", input: { location: "Paris" } }
            ]
          },
          {
            role: "user",
            content: [
              { type: "tool_result", tool_use_id: "call_1", content: "{\"tempC\":21}" },
              { type: "text", text: "And in Oslo?" }
            ]
          }
        ],
        tools: [{ name: "weather__get", description: "Current weather", input_schema: weather }],
        tool_choice: { type: "tool", name: "weather__get" },
        temperature: 0.1,
        top_k: 5,
        stop_sequences: ["END"]
      })
    }))

  it.scoped("providerOptions.cache_control marks the system prompt, the last tool and the last block", () =>
    Effect.gen(function*() {
      const server = yield* Server.make(Server.json("anthropic", "text.json"))
      const model = yield* make("anthropic", server.url)
      yield* model.generate({
        ...request,
        params: {
          maxTokens: 50,
          providerOptions: { cache_control: { type: "ephemeral" }, metadata: { user_id: "u1" } }
        }
      })
      const body = server.requests[0]!.json as {
        system: unknown
        tools: Array<{ cache_control?: unknown }>
        messages: Array<{ content: Array<Record<string, unknown>> }>
        metadata: unknown
        max_tokens: number
      }
      assert.deepStrictEqual(body.system, [{
        type: "text",
        text: "You are terse.",
        cache_control: { type: "ephemeral" }
      }])
      assert.deepStrictEqual(body.tools[0]!.cache_control, { type: "ephemeral" })
      const lastBlocks = body.messages[body.messages.length - 1]!.content
      assert.deepStrictEqual(lastBlocks[lastBlocks.length - 1], {
        type: "text",
        text: "And in Oslo?",
        cache_control: { type: "ephemeral" }
      })
      assert.deepStrictEqual(body.metadata, { user_id: "u1" })
      assert.strictEqual(body.max_tokens, 50)
      assert.isFalse("cache_control" in body)
    }))

  it.scoped("text with cache usage; tool_use with thinking", () =>
    Effect.gen(function*() {
      const server = yield* Server.make(
        Server.json("anthropic", "text.json"),
        Server.json("anthropic", "tool-use.json")
      )
      const model = yield* make("anthropic", server.url)
      const text = yield* model.generate(request)
      assert.strictEqual(text.text, "Hi! My name is Claude.")
      assert.strictEqual(text.finishReason, "stop")
      assert.deepStrictEqual(text.usage, {
        inputTokens: 3995,
        outputTokens: 503,
        totalTokens: 4498,
        cachedInputTokens: 1800,
        cacheWriteInputTokens: 100
      })
      const tool = yield* model.generate(request)
      assert.strictEqual(tool.finishReason, "tool-calls")
      assert.deepStrictEqual(tool.message, {
        role: "assistant",
        content: [
          {
            type: "reasoning",
            text: "Weather needs the tool.",
            signature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
          },
          { type: "text", text: "I'll check the current weather in San Francisco for you." }
        ],
        toolCalls: [{
          id: "toolu_01A09q90qw90lq917835lq9",
          name: "weather__get",
          arguments: { location: "San Francisco, CA", unit: "c" }
        }]
      })
    }))

  it.scoped("stream: text, thinking, tool input in partial_json chunks, a tool without input, usage", () =>
    Effect.gen(function*() {
      const server = yield* Server.make(Server.sse("anthropic", "text.sse"), Server.sse("anthropic", "tool-use.sse"))
      const model = yield* make("anthropic", server.url)
      const text = finish(yield* collect(model.stream(request)))
      assert.strictEqual(text.text, "Hello!")
      assert.deepStrictEqual(text.usage, {
        inputTokens: 25,
        outputTokens: 15,
        totalTokens: 40,
        cachedInputTokens: 0,
        cacheWriteInputTokens: 0
      })
      const parts = yield* collect(model.stream(request))
      const r = finish(parts)
      assert.strictEqual(r.finishReason, "tool-calls")
      assert.strictEqual(r.text, "Okay, let's check the weather for San Francisco, CA:")
      assert.deepStrictEqual(r.toolCalls, [
        { id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", name: "weather__get", arguments: { location: "San Francisco, CA" } },
        { id: "toolu_02", name: "clock__now", arguments: {} }
      ])
      assert.strictEqual(parts.filter((p) => p._tag === "ToolCallDelta").length, 4)
      assert.strictEqual(parts.filter((p) => p._tag === "ReasoningDelta").length, 1)
      assert.deepStrictEqual((r.message.content as ReadonlyArray<Message.ContentPart>)[0], {
        type: "reasoning",
        text: "Need the weather.",
        signature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
      })
    }))

  it.scoped("thinking with its signature is replayed first in the assistant turn (tool-use loop with thinking on)", () =>
    Effect.gen(function*() {
      const server = yield* Server.make(
        Server.json("anthropic", "tool-use.json"),
        Server.json("anthropic", "text.json")
      )
      const model = yield* make("anthropic", server.url)
      const first = yield* model.generate(request)
      yield* model.generate({
        ...request,
        messages: [
          ...conversation,
          first.message,
          { role: "tool", content: "{\"tempC\":14}", toolCallId: first.toolCalls[0]!.id, toolName: "weather__get" }
        ]
      })
      const body = server.requests[1]!.json as {
        messages: Array<{ role: string; content: Array<Record<string, unknown>> }>
      }
      assert.deepStrictEqual(body.messages[3], {
        role: "assistant",
        content: [
          {
            type: "thinking",
            thinking: "Weather needs the tool.",
            signature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
          },
          { type: "text", text: "I'll check the current weather in San Francisco for you." },
          {
            type: "tool_use",
            id: "toolu_01A09q90qw90lq917835lq9",
            name: "weather__get",
            input: { location: "San Francisco, CA", unit: "c" }
          }
        ]
      })
      assert.deepStrictEqual(body.messages[4], {
        role: "user",
        content: [{ type: "tool_result", tool_use_id: "toolu_01A09q90qw90lq917835lq9", content: "{\"tempC\":14}" }]
      })
    }))

  it.scoped("529 overloaded_error is retried with backoff; an overloaded error event fails the stream", () =>
    Effect.gen(function*() {
      const server = yield* Server.make(
        Server.json("anthropic", "overloaded.json", 529),
        Server.json("anthropic", "text.json"),
        Server.sse("anthropic", "overloaded-event.sse")
      )
      const model = yield* make("anthropic", server.url)
      const fiber = yield* Effect.fork(model.generate(request))
      yield* Server.retrySleeping
      yield* TestClock.adjust("1200 millis")
      const r = yield* Fiber.join(fiber)
      assert.strictEqual(r.text, "Hi! My name is Claude.")
      assert.strictEqual(server.requests.length, 2)
      const error = yield* Effect.flip(collect(model.stream(request)))
      assert.strictEqual(error._tag, "ModelUnavailable")
      assert.include(error.message, "Overloaded")
    }))

  it.scoped("errors: prompt too long, bad key, rate limit with retry-after exhausted", () =>
    Effect.gen(function*() {
      const server = yield* Server.make(
        Server.json("anthropic", "error-context.json", 400),
        Server.json("anthropic", "error-401.json", 401),
        Server.json("anthropic", "error-429.json", 429, { "retry-after": "120" })
      )
      const model = yield* make("anthropic", server.url)
      const context = yield* Effect.flip(model.generate(request))
      assert.isTrue(context._tag === "ModelBadRequest" && context.contextTooLong)
      const auth = yield* Effect.flip(model.generate(request))
      assert.strictEqual(auth._tag, "ModelAuthFailed")
      assert.include(auth.message, "invalid x-api-key")
      assert.include(auth.message, "ANTHROPIC_API_KEY")
      // the server asks for two minutes, more than we wait (one minute): the caller gets the wait
      const limited = yield* Effect.flip(model.generate(request))
      assert.isTrue(limited._tag === "ModelRateLimited" && limited.retryAfterMillis === 120000)
      assert.strictEqual(server.requests.length, 3)
    }))
})
