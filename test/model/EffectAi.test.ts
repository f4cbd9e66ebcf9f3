import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import * as Tool from "@effect/ai/Tool"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Layer, Option, Stream, TestClock } from "effect"
import { Model } from "effect-swarm"
import * as EffectAi from "effect-swarm/model/providers/EffectAi"
import * as Server from "./server.js"

const weather = {
  type: "object",
  properties: { location: { type: "string" } },
  required: ["location"],
  additionalProperties: false
} as const

const request: Model.Request = {
  system: "You are terse.",
  messages: [
    { role: "user", content: "Weather in Paris?" },
    {
      role: "assistant",
      content: "",
      toolCalls: [{ id: "c1", name: "weather__get", arguments: { location: "Paris" } }]
    },
    { role: "tool", content: "{\"tempC\":21}", toolCallId: "c1", toolName: "weather__get" }
  ],
  tools: [{ name: "weather__get", description: "Current weather", parameters: weather }]
}

/** A provider at the LLM boundary: answers each call with the next list of encoded parts (or an error). */
const fakeProvider = (
  replies: Array<Array<Response.PartEncoded> | AiError.AiError>,
  seen: Array<LanguageModel.ProviderOptions>,
  streamed: Array<Response.StreamPartEncoded> = []
) =>
  Layer.effect(
    LanguageModel.LanguageModel,
    LanguageModel.make({
      generateText: (options) => {
        seen.push(options)
        const next = replies.shift()!
        return Array.isArray(next) ? Effect.succeed(next) : Effect.fail(next)
      },
      streamText: () => Stream.fromIterable(streamed)
    })
  )

const finish = {
  type: "finish",
  reason: "tool-calls",
  usage: { inputTokens: 30, outputTokens: 5, totalTokens: 35 }
} as const

describe("effect-ai bridge", () => {
  it.effect("sends our prompt and raw schemas; returns tool calls unexecuted with usage and metadata", () => {
    const seen: Array<LanguageModel.ProviderOptions> = []
    return Effect.gen(function*() {
      const model = yield* Model.Model
      const r = yield* model.generate(request)
      assert.deepStrictEqual(r.toolCalls, [{ id: "c2", name: "weather__get", arguments: { location: "Oslo" } }])
      assert.strictEqual(r.finishReason, "tool-calls")
      assert.deepStrictEqual(r.usage, { inputTokens: 30, outputTokens: 5, totalTokens: 35 })
      assert.deepStrictEqual(r.metadata, {
        provider: "effect-ai",
        model: "gemini-x",
        responseId: "resp-1",
        rawFinishReason: "tool-calls"
      })
      const options = seen[0]!
      assert.deepStrictEqual(
        Tool.getJsonSchemaFromSchemaAst((options.tools[0] as EffectAi.BridgeTool).parametersSchema.ast) as unknown,
        weather
      )
      assert.deepStrictEqual(options.prompt.content.map((m) => m.role), ["system", "user", "assistant", "tool"])
      const tool = options.prompt.content[3]!
      assert.deepStrictEqual(tool.role === "tool" && tool.content.map((p) => [p.id, p.result]), [[
        "c1",
        "{\"tempC\":21}"
      ]])
    }).pipe(Effect.provide(
      EffectAi.layer({ model: "gemini" }).pipe(Layer.provide(fakeProvider([[
        { type: "response-metadata", id: "resp-1", modelId: "gemini-x", timestamp: undefined },
        { type: "tool-call", id: "c2", name: "weather__get", params: { location: "Oslo" } },
        finish
      ]], seen)))
    ))
  })

  it.effect("an unknown tool name fails inside @effect/ai: reported as ModelProtocolError (documented limit)", () =>
    Effect.gen(function*() {
      const model = yield* Model.Model
      const error = yield* Effect.flip(model.generate(request))
      assert.strictEqual(error._tag, "ModelProtocolError")
    }).pipe(Effect.provide(
      EffectAi.layer().pipe(Layer.provide(fakeProvider([[
        { type: "tool-call", id: "c2", name: "ghost__tool", params: {} },
        finish
      ]], [])))
    )))

  it.effect("an HTTP 429 from the provider is retried on the shared policy (TestClock), then succeeds", () =>
    Effect.gen(function*() {
      const model = yield* Model.Model
      const fiber = yield* Effect.fork(model.generate(request))
      yield* Server.retrySleeping
      yield* TestClock.adjust("5 seconds")
      const r = yield* Fiber.join(fiber)
      assert.strictEqual(r.text, "Sunny.")
    }).pipe(Effect.provide(
      EffectAi.layer().pipe(Layer.provide(fakeProvider([
        new AiError.HttpResponseError({
          module: "Fake",
          method: "generateText",
          reason: "StatusCode",
          request: { method: "POST", url: "http://x/v1", urlParams: [], hash: Option.none(), headers: {} },
          response: { status: 429, headers: { "retry-after": "2" } },
          body: "{\"error\":{\"message\":\"slow down\"}}"
        }),
        [{ type: "text", text: "Sunny." }, { ...finish, reason: "stop" }]
      ], [])))
    )))

  it.effect("stream: @effect/ai streamText parts become our deltas and Finish", () =>
    Effect.gen(function*() {
      const model = yield* Model.Model
      const parts = Chunk.toReadonlyArray(yield* Stream.runCollect(model.stream(request)))
      assert.deepStrictEqual(parts.map((p) => p._tag), [
        "TextDelta",
        "TextDelta",
        "ToolCallStart",
        "ToolCallDelta",
        "ToolCallDelta",
        "Usage",
        "Finish"
      ])
      const last = parts[parts.length - 1]!
      assert.isTrue(last._tag === "Finish")
      if (last._tag !== "Finish") return
      assert.strictEqual(last.response.text, "Sunny")
      assert.deepStrictEqual(last.response.toolCalls, [{
        id: "c9",
        name: "weather__get",
        arguments: { location: "Oslo" }
      }])
      assert.strictEqual(last.response.metadata.model, "gemini-x")
    }).pipe(Effect.provide(
      EffectAi.layer().pipe(Layer.provide(fakeProvider([], [], [
        { type: "response-metadata", id: "r9", modelId: "gemini-x", timestamp: undefined },
        { type: "text-start", id: "t" },
        { type: "text-delta", id: "t", delta: "Sun" },
        { type: "text-delta", id: "t", delta: "ny" },
        { type: "text-end", id: "t" },
        { type: "tool-params-start", id: "c9", name: "weather__get" },
        { type: "tool-params-delta", id: "c9", delta: "{\"location\":" },
        { type: "tool-params-delta", id: "c9", delta: "\"Oslo\"}" },
        { type: "tool-params-end", id: "c9" },
        { type: "tool-call", id: "c9", name: "weather__get", params: { location: "Oslo" } },
        finish
      ] as Array<Response.StreamPartEncoded>)))
    )))
})
